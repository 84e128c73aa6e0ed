"""What each constraint adds to a batch of 64 七律: the batch timed with the rules switched on one
after another, in turns (`paired_ms`), against the same batch unconstrained.

    python -m benchmarks.batch_rules [--model DIR] [--repeats 9]

The last line ("every constraint") is the batch of `benchmarks.constraints`: strict tones, no
copying, at most 2 of a character, theme, 藏头, rhyme group 陽, top-k 40 + top-p 0.9.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.constraints import EVERY_RULE, FREE_OF_RULES, TRUNCATED  # noqa: E402
from benchmarks.generation import paired_ms  # noqa: E402
from poetgen.api import Poet  # noqa: E402

STRICT = dict(tones="strict", no_copy=False, max_repeat=0)
CASES = {
    "unconstrained": FREE_OF_RULES,
    "+ top-k 40, top-p 0.9": {**FREE_OF_RULES, **TRUNCATED},
    "+ strict tones and rhyme": {**STRICT, **TRUNCATED},
    "+ no copying": {**STRICT, "no_copy": True, **TRUNCATED},
    "+ at most 2 of a character": {**EVERY_RULE, **TRUNCATED},
    "+ theme": {**EVERY_RULE, **TRUNCATED, "theme": "思念故乡"},
    "every constraint (+ 藏头, rhyme 陽)": {**EVERY_RULE, **TRUNCATED, "theme": "思念故乡",
                                           "acrostic": "春夏秋冬花鳥風月", "rhyme": "陽"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    poet = Poet.load(args.model)
    times = paired_ms({name: (lambda kw=kw: poet.write(form="七律", n=64, seed=1, **kw))
                       for name, kw in CASES.items()}, args.repeats)
    plain = times["unconstrained"]
    for name, ms in times.items():
        print(f"{name:36s} {ms:7.1f} ms  {ms / plain:.2f}x")


if __name__ == "__main__":
    main()
