"""The page under load, on loopback: start `python app.py` on the shipped model, time until
the page answers, one client's 七绝 round trips, then 16 concurrent clients x 10 requests.

    python -m benchmarks.load [--port 7871] [--clients 16] [--requests 10] [--json]

Prints page-ready seconds, p50/p95 latency (ms) with one client and under load, errors, the
same load on /check (the cost of Gradio and its client with almost no work behind them), and
the server's resident memory (now and peak).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

REPO = Path(__file__).resolve().parent.parent
CHECKED = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"


def qijue_args(seed: int) -> list:
    # form, start, acrostic, theme, rhyme, tones, temperature, top-k, top-p, poems, seed, script, style, 词牌
    return ["七绝", "", "", "", "自动", "strict", 0.8, 0, 1.0, 1, seed, "simplified", "唐", "（选词牌）"]


class RawClient:
    """Gradio's HTTP protocol by hand (POST the call, read its server-sent events): what a
    browser does, without gradio_client's own threads competing for the two cores."""

    def __init__(self, url: str):
        self.url = url

    def predict(self, *data, api_name: str):
        body = json.dumps({"data": list(data)}).encode()
        request = urllib.request.Request(f"{self.url}gradio_api/call{api_name}", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            event_id = json.loads(response.read())["event_id"]
        with urllib.request.urlopen(f"{self.url}gradio_api/call{api_name}/{event_id}", timeout=60) as stream:
            event = None
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    if event == "error":
                        raise RuntimeError(line[5:].strip())
                    return json.loads(line[5:])
        raise RuntimeError("the stream ended without a result")


def wait_ready(url: str, proc: subprocess.Popen, limit: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the page was not ready within {limit} s")


def memory_mb(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024)
    return {"rss_mb": fields.get("VmRSS"), "peak_rss_mb": fields.get("VmHWM")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--client", choices=["gradio", "raw"], default="gradio",
                        help="gradio_client, or plain HTTP with server-sent events (lighter)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(args.port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    warm = threading.Event()

    def watch() -> None:
        for line in proc.stdout:
            if line.startswith("warm:"):
                warm.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        ready_s = wait_ready(url, proc)
        warm.wait(timeout=120)  # the page answers before its decoding loops are compiled
        warm_s = time.monotonic() - started
        make_client = (lambda: Client(url, verbose=False)) if args.client == "gradio" else (lambda: RawClient(url))
        client = make_client()
        single = []
        for seed in range(21):
            start = time.perf_counter()
            client.predict(*qijue_args(seed), api_name="/write")
            single.append((time.perf_counter() - start) * 1000)
        single = single[1:]  # the first request warms the client's connection

        def one_client(k: int, endpoint: str) -> tuple[list[float], int]:
            own = make_client()
            times, errors = [], 0
            for r in range(args.requests):
                call = qijue_args(1000 + k * args.requests + r) if endpoint == "/write" else [CHECKED, "自动识别"]
                start = time.perf_counter()
                try:
                    own.predict(*call, api_name=endpoint)
                    times.append((time.perf_counter() - start) * 1000)
                except Exception:  # noqa: BLE001 - every failure counts as an error
                    errors += 1
            return times, errors

        def load(endpoint: str) -> tuple[list, float]:
            start = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(one_client, range(args.clients), [endpoint] * args.clients))
            return results, time.perf_counter() - start

        results, wall = load("/write")
        loaded = [t for times, _ in results for t in times]
        # The same load on /check (about 1 ms of work): what Gradio and its client cost alone.
        floor_results, floor_wall = load("/check")
        floor = [t for times, _ in floor_results for t in times]
        report = {
            "client": args.client,
            "page_ready_s": round(ready_s, 1),
            "all_loops_compiled_s": round(warm_s, 1),
            "single_client_ms": {"p50": round(statistics.median(single)), "p95": round(percentile(single, 0.95))},
            "load": {
                "clients": args.clients, "requests_each": args.requests,
                "errors": sum(e for _, e in results), "ok": len(loaded),
                "p50_ms": round(statistics.median(loaded)) if loaded else None,
                "p95_ms": round(percentile(loaded, 0.95)) if loaded else None,
                "requests_per_s": round(len(loaded) / wall, 1),
            },
            "same_load_on_check": {
                "errors": sum(e for _, e in floor_results),
                "p50_ms": round(statistics.median(floor)) if floor else None,
                "p95_ms": round(percentile(floor, 0.95)) if floor else None,
                "requests_per_s": round(len(floor) / floor_wall, 1),
            },
            "server_memory": memory_mb(proc.pid),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(report, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))


if __name__ == "__main__":
    main()
