"""The default search's time at 16 and at 32 candidates a poem, in turns in one process, on the
shipped model, warm: one 七律 (median of 5 seeds) and the page's three 七律 (one seed).

    python -m benchmarks.width_speed
"""

from __future__ import annotations

import statistics
import time

from poetgen import Poet
from poetgen.writing import writer


def main() -> None:
    poet = Poet.load()
    for width in (16, 32, 16, 32):
        writer.SEARCH_WIDTH = width
        poet.write(form="七律", seed=0)
        times = []
        for seed in range(1, 6):
            start = time.perf_counter()
            poet.write(form="七律", seed=seed)
            times.append(time.perf_counter() - start)
        print(width, "one 七律", round(statistics.median(times), 3))
        start = time.perf_counter()
        poet.write(form="七律", seed=9, n=3)
        print(width, "three", round(time.perf_counter() - start, 3))


if __name__ == "__main__":
    main()
