"""The page's memory under a long mixed load: `python app.py` on the shipped model, then 1,000
requests of every kind (shi and ci, themes, 换字, rebuilds by id, checks, bad requests) from a
few clients at once, on loopback. Prints the server's resident memory after the first 100 and
after all of them (target: within 20%), and each kind's p50 latency early and late.

    python -m benchmarks.page_memory [--port 7872] [--requests 1000] [--clients 4] [--json]
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
from concurrent.futures import ThreadPoolExecutor

from benchmarks.load import REPO, RawClient, memory_mb, wait_ready

NO_TUNE = "（选词牌）"


def write(form: str, seed: int, theme: str = "", tune: str = NO_TUNE, n: int = 2) -> list:
    return [form, "", "", theme, "自动", "strict", 0.8, 0, 1.0, n, seed, "simplified", "唐", tune]


def request_of(i: int, ids: list[str]) -> tuple[str, str, list]:
    """The i-th request: (kind, endpoint, data), cycling through the page's kinds."""
    kinds = [
        ("七绝", "/write", write("七绝", i)), ("七律", "/write", write("七律", i)),
        ("五律 theme", "/write", write("五律", i, "秋夜 思乡")), ("浣溪沙", "/write", write("词", i, "", "浣溪沙", 1)),
        ("check", "/check", ["白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "自动识别"]),
        ("regenerate", "/regenerate", [ids[i % len(ids)]]),
        ("alternatives", "/alternatives", [ids[i % len(ids)], 2, 3]),
        ("bad", "/write", write("七绝", -i - 1)),  # a refused seed: the error path
    ]
    return kinds[i % len(kinds)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7872)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    url = f"http://127.0.0.1:{args.port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(args.port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    warm = threading.Event()
    threading.Thread(target=lambda: [warm.set() for line in proc.stdout if line.startswith("warm:")],
                     daemon=True).start()
    try:
        wait_ready(url, proc)
        warm.wait(timeout=180)
        client = RawClient(url)
        ids = [client.predict(*write("七律", seed), api_name="/write")[2] for seed in range(4)]
        times: dict[str, list[tuple[int, float]]] = {}
        errors, lock = [0], threading.Lock()
        memory = {}

        def one(i: int) -> None:
            kind, endpoint, data = request_of(i, ids)
            start = time.perf_counter()
            try:
                RawClient(url).predict(*data, api_name=endpoint)
            except (RuntimeError, OSError):  # a refusal, or a connection the server dropped
                if kind != "bad":
                    with lock:
                        errors[0] += 1
            with lock:
                times.setdefault(kind, []).append((i, time.perf_counter() - start))

        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(one, range(100)))
            memory["after_100"] = memory_mb(proc.pid)
            list(pool.map(one, range(100, args.requests)))
            memory[f"after_{args.requests}"] = memory_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    early = {k: statistics.median(t for i, t in v if i < 100) for k, v in times.items()}
    late = {k: statistics.median(t for i, t in v if i >= args.requests - 200) for k, v in times.items()}
    growth = memory[f"after_{args.requests}"]["rss_mb"] / memory["after_100"]["rss_mb"] - 1
    result = {"memory": memory, "growth": round(growth, 3), "unexpected_errors": errors[0],
              "p50_s_first_100": {k: round(v, 3) for k, v in early.items()},
              "p50_s_last_200": {k: round(v, 3) for k, v in late.items()}}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"RSS after 100 requests {memory['after_100']['rss_mb']} MB, after {args.requests} "
          f"{memory[f'after_{args.requests}']['rss_mb']} MB ({growth:+.1%}); peak "
          f"{memory[f'after_{args.requests}']['peak_rss_mb']} MB; unexpected errors {errors[0]}")
    for kind in early:
        print(f"  {kind}: p50 {early[kind]:.3f} s early, {late[kind]:.3f} s late")


if __name__ == "__main__":
    main()
