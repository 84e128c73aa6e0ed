"""The default writing's speed (search: SEARCH_WIDTH candidates a poem and a scoring pass) against one
sample, the line search and polishing, on the shipped model, warm: the readers' issue's targets
are one 七律 <= 1 s, the page's three poems <= 2 s, one 水调歌头 <= 2 s.

    python -m benchmarks.search_speed [--model DIR] [--repeat 3]

Prints the median seconds of `Poet.write` per request kind, after one untimed call of each.
"""

from __future__ import annotations

import argparse
import statistics
import time

from poetgen import Poet

KINDS = {
    "one 七律": dict(form="七律", n=1), "three 七律 (the page)": dict(form="七律", n=3),
    "three 七绝 (the page)": dict(form="七绝", n=3), "one 水调歌头": dict(cipai="水调歌头", n=1),
    "two 浣溪沙": dict(cipai="浣溪沙", n=2), "one 七律, one sample": dict(form="七律", n=1, search="off"),
    "one 七律, line search": dict(form="七律", n=1, search="lines"),
    "three 七律, line search": dict(form="七律", n=3, search="lines"),
    "one 水调歌头, line search": dict(cipai="水调歌头", n=1, search="lines"),
    "one 七律, polished": dict(form="七律", n=1, polish=True),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    poet = Poet.load(args.model)
    for ask in KINDS.values():
        poet.write(seed=0, **ask)
    print("| request | median (s) |\n| --- | --- |")
    for name, ask in KINDS.items():
        times = []
        for seed in range(1, args.repeat + 1):
            tick = time.perf_counter()
            poet.write(seed=seed, **ask)
            times.append(time.perf_counter() - tick)
        print(f"| {name} | {statistics.median(times):.2f} |")


if __name__ == "__main__":
    main()
