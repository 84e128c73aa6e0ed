"""Time and memory of `Poet.load()` on the shipped model and corpus, in a fresh process each
run (TensorFlow's import included), and what a first 七绝 then costs.

    python -m benchmarks.poet_load [--model DIR] [--runs 3] [--json]

Prints, per run: seconds to import poetgen's API (TensorFlow with it), to load the Poet (model,
vocabulary, the no-copy table of every corpus line), to write a first 七绝 (tracing the
compiled loop), and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from poetgen.api import Poet
imported = time.perf_counter()
poet = Poet.load(sys.argv[1] or None)
loaded = time.perf_counter()
poet.write(form="七绝", n=1, seed=1)
written = time.perf_counter()
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported, "first_qijue_s": written - loaded,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "corpus_lines": int(poet.decoder.has_corpus)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="model directory (default: the shipped model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", CHILD, args.model], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report = {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}
    report["runs"] = runs
    print(json.dumps(report, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
