"""Generation latency of a model (the shipped one by default), after warm-up.

    python -m benchmarks.generation [--model DIR] [--repeats 30] [--json]

Measures, each as a median over repeats (the single poems in turns, see `paired_ms`):
- one 七绝 (32 tokens) with the form only, and with every constraint on;
- a batch of 64 七绝, form only and every constraint on;
- one 浣溪沙 (42 characters) unconstrained (its shape only) and with every constraint on;
- the way the Keras char-LSTM example generates: `model.predict` on the growing sequence,
  one call per token (a few poems only: it is slow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from poetgen.api import Poet  # noqa: E402

FORM_ONLY = dict(form="七绝", tones="off", no_copy=False, max_repeat=0)
EVERYTHING = dict(form="七绝", tones="strict", rhyme="陽", acrostic="春夏秋冬", theme="思念故乡",
                  no_copy=True, max_repeat=2, top_k=40, top_p=0.9)
CI_SHAPE_ONLY = dict(cipai="浣溪沙", tones="off", no_copy=False, max_repeat=0)
CI_EVERYTHING = dict(cipai="浣溪沙", tones="strict", rhyme="第七部", acrostic="春夏秋冬花月", theme="思念故乡",
                     no_copy=True, max_repeat=2, top_k=40, top_p=0.9)


def median_ms(fn, repeats: int) -> float:
    fn()  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def paired_ms(fns: dict, repeats: int) -> dict:
    """Median ms of each function, run in turns (one call of each per round), so that a slow
    spell of the machine falls on all of them alike: ratios between them hold better."""
    for fn in fns.values():
        fn()
        fn()
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def predict_loop_ms(poet: Poet, tokens: int = 32, poems: int = 2) -> float:
    """One poem by re-running the whole prefix through model.predict for every token."""
    tok = poet.tokenizer
    rng = np.random.default_rng(0)
    times = []
    for _ in range(poems):
        start = time.perf_counter()
        seq = [tok.bos, tok.form_token("七绝")]
        for _ in range(tokens):
            logits = poet.model.predict(np.array([seq]), verbose=0)[0, -1]
            p = np.exp((logits - logits.max()) / 0.8)
            seq.append(int(rng.choice(len(p), p=p / p.sum())))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    poet = Poet.load(args.model)
    load_s = time.perf_counter() - start
    r = args.repeats
    single = paired_ms({
        "single_form_only_ms": lambda: poet.write(n=1, seed=1, **FORM_ONLY),
        "single_all_constraints_ms": lambda: poet.write(n=1, seed=1, **EVERYTHING),
        "single_huanxisha_shape_only_ms": lambda: poet.write(n=1, seed=1, **CI_SHAPE_ONLY),
        "single_huanxisha_all_constraints_ms": lambda: poet.write(n=1, seed=1, **CI_EVERYTHING),
    }, r)
    result = {
        "model": str(poet.model_dir),
        "load_s": round(load_s, 2),
        **single,
        "batch64_form_only_ms": median_ms(lambda: poet.write(n=64, seed=1, **FORM_ONLY), max(3, r // 5)),
        "batch64_all_constraints_ms": median_ms(lambda: poet.write(n=64, seed=1, **EVERYTHING), max(3, r // 5)),
        "predict_loop_single_ms": predict_loop_ms(poet),
    }
    result["huanxisha_all_over_shape_only"] = (result["single_huanxisha_all_constraints_ms"]
                                               / result["single_huanxisha_shape_only_ms"])
    result["speedup_vs_predict_loop"] = result["predict_loop_single_ms"] / result["single_form_only_ms"]
    result = {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}
    result["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print_report(result, args.json)


def print_report(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    width = max(map(len, result)) + 2
    for key, value in result.items():
        print(f"{key:{width}} {value}")


if __name__ == "__main__":
    main()
