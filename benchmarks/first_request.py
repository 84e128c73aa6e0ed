"""The page's first request of each kind against the same request again, on the shipped model:
what a visitor waits for right after the page says it is ready.

    python -m benchmarks.first_request [--model DIR] [--json]

The page's own handlers (poetgen.app.handlers.Handlers) over a LoadingPoet, exactly as `python app.py`
builds them, without HTTP (benchmarks.load times the HTTP side). It waits until the loader says
the decoding loops are warm, then times each kind twice in a row with other seeds.
"""

from __future__ import annotations

import argparse
import json
import time

from poetgen.app.handlers import NO_TUNE, Handlers, LoadingPoet

CHECKED = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
SEEDS = (101, 202)


def write_args(form: str, seed: int, theme: str = "", cipai: str = NO_TUNE, n: int = 3) -> list:
    # form, start, acrostic, theme, rhyme, tones, temperature, top-k, top-p, poems, seed, script, style, 词牌
    return [form, "", "", theme, "自动", "strict", 0.8, 0, 1.0, n, seed, "simplified", "唐", cipai]


def kinds(handlers: Handlers, first_id: dict) -> dict:
    """Each kind of request the page makes, as a function of a seed."""
    def write(*args):
        return lambda seed: list(handlers.write(*write_args(*args[:1], seed, *args[1:])))[-1]


    return {
        "七绝": write("七绝"), "五绝": write("五绝"), "七律": write("七律"),
        "五律 with a theme": write("五律", "江雪 孤舟"), "七律 with a theme": write("七律", "思念故乡"),
        "浣溪沙": write("词", "", "浣溪沙"), "水调歌头": write("词", "", "水调歌头", 1),
        "alternatives": lambda seed: handlers.alternatives(first_id[seed], 2, 3),
        "repair": lambda seed: handlers.repair("白天依山尽，黄河入海流。欲穷千里目，更上一层楼。"),
        "check": lambda seed: handlers.check(CHECKED),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    poet = LoadingPoet(args.model)
    handlers = Handlers(poet)
    poet.warm.wait()
    ready = time.perf_counter() - started
    rows, first_id = {}, {}
    for name, call in kinds(handlers, first_id).items():
        times = []
        if name == "alternatives":
            first_id.update((seed, list(handlers.write(*write_args("七律", seed)))[-1][2]) for seed in SEEDS)
        for seed in SEEDS:
            tick = time.perf_counter()
            call(seed)
            times.append(time.perf_counter() - tick)
        rows[name] = {"first_s": round(times[0], 3), "again_s": round(times[1], 3)}
    if args.json:
        print(json.dumps({"warm_after_s": round(ready, 2), "kinds": rows}, ensure_ascii=False, indent=2))
        return
    print(f"loaded and warm after {ready:.1f} s")
    print("| request | first (s) | again (s) | first − again (s) |\n| --- | --- | --- | --- |")
    for name, row in rows.items():
        print(f"| {name} | {row['first_s']:.2f} | {row['again_s']:.2f} | {row['first_s'] - row['again_s']:+.2f} |")


if __name__ == "__main__":
    main()
