"""Training tokens/s of poetgen's step across batch shapes (`python -m benchmarks.train_shapes`).

A real run trains on batches of whole poems sorted by length, from 五绝 of 27 tokens to
windows of 128. This shows whether short batches cost more per token (a fixed
cost per step: optimizer, clipping, launch overhead) than the single shape `benchmarks.speed`
times, the shapes taken in turns because this machine's speed drifts within minutes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from poetgen.defaults import default_model_dir
from poetgen.model.network import read_config

from .speed import batches, interleaved_tokens_per_s, poetgen_trainer

SHAPES = ((128, 8), (128, 27), (128, 54), (128, 128), (256, 27), (512, 27))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per shape, in 2 turns")
    args = parser.parse_args()

    cfg, _ = read_config(Path(args.model) if args.model else default_model_dir())
    # One trainer per shape: each step is traced for its own shape alone.
    trainers, data = {}, {}
    for batch, window in SHAPES:
        name = f"{batch}x{window}"
        trainers[name] = poetgen_trainer(cfg)
        data[name] = batches(cfg, batch, window, args.steps + 3)
    speeds = interleaved_tokens_per_s(trainers, data, args.steps, rounds=2)
    print(json.dumps({name: round(v, 1) for name, v in speeds.items()}, indent=1))


if __name__ == "__main__":
    main()
