"""Validation perplexity of a run's kept epoch weights and of their means: whether averaging
the last epochs helps, and how many to average.

    python -m benchmarks.average_epochs RUN "14,15;13,14,15" [--corpus corpus] [--subset NAME]

RUN: a run directory (its epochs/ holds the weights of its last epochs). Each ';'-separated
group of epochs is averaged (one epoch: its weights as trained) and scored on the whole
validation split, per collection.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from poetgen.corpus.splits import load_split
from poetgen.model.config import ModelConfig  # noqa: E402
from poetgen.model.evaluate import REGULATED_TANG, split_perplexity  # noqa: E402
from poetgen.model.network import build_model  # noqa: E402
from poetgen.model.tokenizer import Tokenizer  # noqa: E402
from poetgen.text.forms import SONG, SONGCI  # noqa: E402
from poetgen.training.export import averaged_weights, epoch_files  # noqa: E402

SHOWN = ("all", REGULATED_TANG, SONG, SONGCI)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("groups", help='epochs to average, e.g. "14,15;13,14,15"')
    parser.add_argument("--corpus", default="corpus")
    args = parser.parse_args()
    run = Path(args.run)
    tokenizer = Tokenizer.load(run / "vocab.json")
    model = build_model(ModelConfig.from_dict(json.loads((run / "config.json").read_text(encoding="utf-8"))["model"]))
    rows = load_split(args.corpus, "valid")
    for group in args.groups.split(";"):
        epochs = [int(e) for e in group.split(",")]
        model.set_weights(averaged_weights(epoch_files(run, epochs)))
        start = time.perf_counter()
        report = split_perplexity(model, tokenizer, rows)
        figures = "  ".join(f"{name} {report[name]['char_perplexity']:.2f}" for name in SHOWN if name in report)
        print(f"epochs {group}: {figures}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
