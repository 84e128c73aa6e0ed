"""Generation time of two copies of poetgen's code on one model, timed in turns: did a change of
the decoding code slow it? (`python -m benchmarks.generation_ab OLD_SRC NEW_SRC --model DIR --corpus DIR`,
each SRC a folder holding a `poetgen/` package, e.g. a `git worktree` of an older commit.)

Each round starts one process per copy; each process loads the Poet and prints the median
milliseconds of a 七绝 with the form only, with every constraint, and a batch of 64 七律 with
every constraint. The report gives each copy's median over the rounds and the ratio new/old.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time, statistics
from poetgen.api import Poet
poet = Poet.load(sys.argv[1], sys.argv[2])
FORM_ONLY = dict(form="七绝", tones="off", no_copy=False, max_repeat=0, script="traditional")
EVERYTHING = dict(form="七绝", tones="strict", rhyme="陽", acrostic="春夏秋冬", theme="思念故乡",
                  top_k=40, top_p=0.9, no_copy=True, max_repeat=2, script="traditional")
def median_ms(fn, repeats):
    fn(); fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
print(json.dumps({
    "qijue_form_only_ms": median_ms(lambda: poet.write(n=1, seed=1, **FORM_ONLY), 15),
    "qijue_every_constraint_ms": median_ms(lambda: poet.write(n=1, seed=1, **EVERYTHING), 15),
    "qilv_batch64_every_constraint_ms": median_ms(lambda: poet.write(n=64, seed=1, **{**EVERYTHING, "form": "七律",
                                                                                        "acrostic": ""}), 5),
}))
"""


def run(src: str, model: str, corpus: str) -> dict:
    env = {**os.environ, "PYTHONPATH": src, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, model, corpus], env=env, cwd=src, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--model", required=True, help="a model directory both copies can load")
    parser.add_argument("--corpus", required=True,
                        help="the corpus whose lines both copies' no-copy rule reads (the same for both)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name in ("old", "new"):
            results[name].append(run(getattr(args, name), os.path.abspath(args.model), os.path.abspath(args.corpus)))
    report = {}
    for key in results["old"][0]:
        old, new = (statistics.median(r[key] for r in results[n]) for n in ("old", "new"))
        report[key] = {"old": round(old, 1), "new": round(new, 1), "new/old": round(new / old, 3)}
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
