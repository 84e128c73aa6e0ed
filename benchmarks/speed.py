"""Training and generation speed against PyTorch and against the machine's own limits.

    python -m benchmarks [--json] [--steps 30] [--batch 64] [--window 64]

Side by side in one run, on the shipped model's architecture and vocabulary:
- the machine: float32 matmul peak (numpy, all cores) and memory read bandwidth;
- training tokens/s of poetgen's own compiled step (`poetgen.training.train.make_train_step`: Adam with
  clipping, masked cross-entropy, the LSTM's hand-written gradient), of the same step with
  Keras's own LSTM gradient, and of the same model in PyTorch (`nn.LSTM`, the same shapes,
  batch and vocabulary; install it with `pip install -e ".[bench]"`), their ratio, and the
  fraction of the matmul peak each reaches (FLOPs per token computed from the model);
- generation: one 七绝 and a batch of 64, form only and with every constraint on, against the
  `model.predict` loop and against the floors (one poem: the weights read once per step; a
  batch of 64: its matmul FLOPs at peak);
- the process's peak memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As `poetgen train` runs (set before TensorFlow loads): oneDNN's kernels train faster here.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402

from benchmarks.generation import (  # noqa: E402
    EVERYTHING,
    FORM_ONLY,
    median_ms,
    paired_ms,
    predict_loop_ms,
    print_report,
)
from poetgen.api import Poet  # noqa: E402
from poetgen.model.network import ModelConfig, build_model, keras, read_config  # noqa: E402

QIJUE_STEPS = 34  # <form> + 28 characters + 4 marks + <eos>


def matmul_peak_gflops(n: int = 2048, repeats: int = 7) -> float:
    """The machine's float32 matmul peak: the best of TensorFlow's own matmul (oneDNN, what
    training runs) and numpy's. numpy runs in a child process with OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE unset (this machine sets them for old OpenBLAS builds, and they slow a
    current one), so that no fraction of this peak can pass 1."""
    import subprocess
    import sys

    import tensorflow as tf

    a = tf.random.normal((n, n))
    tf.matmul(a, a).numpy()
    best_tf = min(_timed(lambda: tf.matmul(a, a).numpy()) for _ in range(repeats))
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    child = subprocess.run([sys.executable, "-c", NUMPY_PEAK, str(n), str(repeats)], env=env,
                           capture_output=True, text=True, check=True)
    best = min(best_tf, float(child.stdout))
    return 2 * n**3 / best / 1e9


NUMPY_PEAK = """
import sys, time
import numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = a.T.copy()
a @ b
times = []
for _ in range(repeats):
    start = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - start)
print(min(times))
"""


def read_bandwidth_gbs(mb: int = 512, repeats: int = 5) -> float:
    data = np.ones(mb * 2**20 // 4, np.float32)
    data.sum()
    best = min(_timed(data.sum) for _ in range(repeats))
    return data.nbytes / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def forward_flops_per_token(cfg: ModelConfig) -> float:
    """Multiply-adds x 2 of the matmuls; the embedding lookup and the gates' elementwise work
    are small beside them."""
    flops, width = 0.0, cfg.embed_dim
    for _ in range(cfg.layers):
        flops += 2 * 4 * cfg.hidden * (width + cfg.hidden)
        width = cfg.hidden
    if cfg.proj_dim:
        flops += 2 * cfg.hidden * cfg.proj_dim
        width = cfg.proj_dim
    return flops + 2 * width * cfg.vocab_size


def step_weight_bytes(cfg: ModelConfig) -> int:
    """float32 bytes of every matrix one decoding step reads (not the embedding: one row)."""
    params, width = 0, cfg.embed_dim
    for _ in range(cfg.layers):
        params += 4 * cfg.hidden * (width + cfg.hidden + 1)
        width = cfg.hidden
    if cfg.proj_dim:
        params += cfg.hidden * cfg.proj_dim + cfg.proj_dim
        width = cfg.proj_dim
    return 4 * (params + width * cfg.vocab_size + cfg.vocab_size)


def batches(cfg: ModelConfig, batch: int, window: int, count: int):
    rng = np.random.default_rng(1)
    return [rng.integers(4, cfg.vocab_size, size=(batch, window + 1)).astype(np.int32) for _ in range(count)]


def poetgen_trainer(cfg: ModelConfig, keras_lstm: bool = False):
    """One training step of poetgen's (batch -> None); keras_lstm: the same step with Keras's
    own LSTM and gradient and TensorFlow's own cross-entropy kernel (what poetgen's replaces)."""
    import tensorflow as tf

    from poetgen.training.step import make_train_step

    keras.utils.set_random_seed(1)
    model = build_model(cfg)
    optimizer = keras.optimizers.Adam(2e-3, clipnorm=1.0)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer) if not keras_lstm else keras_lstm_step(model, optimizer)

    def run(batch):
        float(step(tf.constant(batch[:, :-1]), tf.constant(batch[:, 1:]), tf.constant(float(batch[:, 1:].size))))

    return run


def keras_lstm_step(model, optimizer):
    import tensorflow as tf

    @tf.function
    def step(inputs, targets, total_tokens):
        with tf.GradientTape() as tape:
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, model(inputs, training=True))
            loss = tf.reduce_sum(ce) / total_tokens
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    return step


def torch_trainer(cfg: ModelConfig):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(cfg.vocab_size, cfg.embed_dim)
            self.lstm = torch.nn.LSTM(cfg.embed_dim, cfg.hidden, num_layers=cfg.layers, batch_first=True)
            self.projection = torch.nn.Linear(cfg.hidden, cfg.proj_dim) if cfg.proj_dim else torch.nn.Identity()
            self.logits = torch.nn.Linear(cfg.proj_dim or cfg.hidden, cfg.vocab_size)

        def forward(self, x):
            return self.logits(self.projection(self.lstm(self.embedding(x))[0]))

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)

    def run(batch):
        batch = torch.from_numpy(batch.astype(np.int64))
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(batch[:, :-1]).reshape(-1, cfg.vocab_size),
                                                 batch[:, 1:].reshape(-1), ignore_index=0)
        loss.backward()
        for p in net.parameters():  # per-tensor clipping, as Keras's clipnorm
            torch.nn.utils.clip_grad_norm_([p], 1.0)
        optimizer.step()

    return run


def interleaved_tokens_per_s(trainers: dict, data, steps: int, rounds: int = 4) -> dict[str, float]:
    """Median tokens/s of each trainer, timed in turns (a block of steps each, `rounds` times):
    this machine's speed drifts by 10% and more within minutes, and a ratio of figures taken
    at different moments would measure the drift. `data`: one list of batches for all, or a
    dict of lists by trainer name."""
    data_of = data if isinstance(data, dict) else dict.fromkeys(trainers, data)
    for name, run in trainers.items():
        for batch in data_of[name][:3]:  # trace and warm up
            run(batch)
    times: dict[str, list[float]] = {name: [] for name in trainers}
    per_round = max(1, steps // rounds)
    for r in range(rounds):
        for name, run in trainers.items():
            timed = data_of[name][3:]
            block = timed[(r * per_round) % len(timed):][:per_round] or timed[:per_round]
            times[name] += [_timed(lambda b=b, run=run: run(b)) for b in block]
    return {name: data_of[name][0][:, 1:].size / statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps for each, in 4 turns")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--window", type=int, default=64, help="tokens per sequence")
    parser.add_argument("--repeats", type=int, default=20, help="timed generations")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    poet = Poet.load(args.model)
    cfg, _ = read_config(poet.model_dir)
    peak = matmul_peak_gflops()
    bandwidth = read_bandwidth_gbs()
    train_flops = 3 * forward_flops_per_token(cfg)  # forward, and backward at twice its cost
    data = batches(cfg, args.batch, args.window, args.steps + 3)
    trainers = {"poetgen": poetgen_trainer(cfg), "keras_lstm": poetgen_trainer(cfg, keras_lstm=True),
                "torch": torch_trainer(cfg)}
    speeds = interleaved_tokens_per_s({k: v for k, v in trainers.items() if v}, data, args.steps)
    ours, keras_lstm, theirs = speeds["poetgen"], speeds["keras_lstm"], speeds.get("torch")

    # In turns: the ratio to the floor is of the constrained poem, not of a slow spell.
    paired = paired_ms({"single": lambda: poet.write(n=1, seed=1, **FORM_ONLY),
                        "all": lambda: poet.write(n=1, seed=1, **EVERYTHING)}, args.repeats)
    single, single_all = paired["single"], paired["all"]
    batch64 = median_ms(lambda: poet.write(n=64, seed=1, **FORM_ONLY), max(3, args.repeats // 5))
    batch64_all = median_ms(lambda: poet.write(n=64, seed=1, **EVERYTHING), max(3, args.repeats // 5))
    predict_loop = predict_loop_ms(poet, tokens=QIJUE_STEPS)
    floor_single = QIJUE_STEPS * step_weight_bytes(cfg) / (bandwidth * 1e9) * 1000
    floor_batch64 = QIJUE_STEPS * 64 * forward_flops_per_token(cfg) / (peak * 1e9) * 1000

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "model": f"Embedding({cfg.vocab_size},{cfg.embed_dim}) -> LSTM({cfg.hidden})x{cfg.layers} -> "
                 f"Dense({cfg.proj_dim}) -> Dense({cfg.vocab_size})",
        "train_shape": f"batch {args.batch} x {args.window} tokens, float32",
        "matmul_peak_gflops": peak,
        "read_bandwidth_gbs": bandwidth,
        "train_flops_per_token": train_flops,
        "train_tokens_per_s": ours,
        "keras_lstm_train_tokens_per_s": keras_lstm,
        "torch_train_tokens_per_s": theirs,
        "train_ratio_vs_torch": ours / theirs if theirs else None,
        "train_fraction_of_peak": ours * train_flops / (peak * 1e9),
        "torch_train_fraction_of_peak": theirs * train_flops / (peak * 1e9) if theirs else None,
        "gen_ms_single": single,
        "gen_ms_single_all_constraints": single_all,
        "gen_ms_batch64": batch64,
        "gen_ms_batch64_all_constraints": batch64_all,
        "gen_floor_ms_single": floor_single,
        "gen_floor_ms_batch64": floor_batch64,
        "gen_single_all_constraints_vs_floor": single_all / floor_single,
        "gen_batch64_fraction_of_peak": floor_batch64 / batch64,
        "gen_ms_predict_loop": predict_loop,
        "gen_speedup_vs_predict_loop": predict_loop / single,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print_report({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, args.json)


if __name__ == "__main__":
    main()
