"""Training tokens/s of candidate model sizes, to choose the size that trains well in the time
there is (`python -m benchmarks.model_sizes [--vocab 8400] [--steps 8]`).

Each candidate is poetgen's real compiled step (`poetgen.training.train.make_train_step`) on random
batches of the corpus's typical shape (128 poems x 64 tokens); the candidates are timed in turns,
since this machine's speed drifts within minutes. Printed with each: parameters, and the FLOPs
share of the output layer, which grows with the vocabulary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from poetgen.model.network import ModelConfig, build_model  # noqa: E402

from .speed import batches, interleaved_tokens_per_s, poetgen_trainer  # noqa: E402

# name -> (embedding, LSTM width, LSTM layers, projection before the softmax)
CANDIDATES = {
    "e256-h512x1-p256": (256, 512, 1, 256),
    "e256-h768x1-p384": (256, 768, 1, 384),
    "e384-h1024x1-p384": (384, 1024, 1, 384),
    "e256-h512x2-p256": (256, 512, 2, 256),
    "e256-h768x2-p384": (256, 768, 2, 384),
}


def flops_per_token(cfg: ModelConfig) -> tuple[float, float]:
    """(forward multiply-adds of the whole model, of the output layers) per token."""
    lstm, width = 0, cfg.embed_dim
    for _ in range(cfg.layers):
        lstm += 4 * cfg.hidden * (width + cfg.hidden)
        width = cfg.hidden
    out = cfg.hidden * cfg.proj_dim + cfg.proj_dim * cfg.vocab_size if cfg.proj_dim else cfg.hidden * cfg.vocab_size
    return lstm + out, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=8400, help="vocabulary size (tokens)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per candidate, in 2 turns")
    parser.add_argument("--only", nargs="*", help="candidate names to time (default: all)")
    args = parser.parse_args()

    configs = {name: ModelConfig(vocab_size=args.vocab, embed_dim=e, hidden=h, layers=n, proj_dim=p)
               for name, (e, h, n, p) in CANDIDATES.items() if not args.only or name in args.only}
    trainers = {name: poetgen_trainer(cfg) for name, cfg in configs.items()}
    data = batches(next(iter(configs.values())), args.batch, args.window, args.steps + 3)
    speeds = interleaved_tokens_per_s(trainers, data, args.steps, rounds=2)
    report = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "shape": f"{args.batch}x{args.window}", "vocab": args.vocab, "candidates": {}}
    for name, cfg in configs.items():
        total, out = flops_per_token(cfg)
        report["candidates"][name] = {
            "tokens_per_s": round(speeds[name], 1),
            "parameters": build_model(cfg).count_params(),
            "output_layer_share_of_flops": round(out / total, 3),
            "hours_per_20M_tokens": round(20e6 / speeds[name] / 3600, 2),
        }
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
