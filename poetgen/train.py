"""Training: bucketed batches, Adam with clipping, a custom loop under any tf.distribute
strategy (one device, mirrored devices, several workers), exact validation perplexity each
epoch, checkpoints that a killed run resumes from exactly, and export to a model directory."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import tensorflow as tf

from .config import ModelConfig, TrainConfig
from .corpus import SONG, SONGCI, corpus_hash, load_split
from .errors import ModelError, PoetgenError
from .evaluate import REGULATED_TANG, pad_batch, perplexity_by_subset, subsets
from .files import atomic_write_bytes, atomic_write_json, atomic_write_text
from .model import build_model, forward, keras, round_to_half, save_model_dir
from .tokenizer import PAD, SPECIALS, Tokenizer

PAD_ID = SPECIALS.index(PAD)


@dataclass
class RunState:
    """Everything a run knows besides its weights and optimizer: saved in every checkpoint (as
    JSON) and in state.json. The step is not here: it is the checkpoint's own counter."""

    epoch: int = 0
    corpus_sha256: str = ""
    command: str = ""
    machine: str = ""
    train_seconds: float = 0.0
    tokens_seen: int = 0
    history: list[dict] = field(default_factory=list)
    best_val_loss: float | None = None
    best_epoch: int = 0
    best_val: dict = field(default_factory=dict)
    wait: int = 0  # epochs since the best one
    stopped: str = ""  # why the run ended early ("" while it goes on)
    # the epoch under way
    epoch_seconds: float = 0.0
    epoch_tokens: int = 0
    epoch_loss_sum: float = 0.0
    epoch_steps: int = 0
    # set when training returns
    steps: int = 0
    weights_sha256: str = ""
    lstm_path: str = ""  # the LSTM gradient the last session trained with (`choose_lstm_path`)

    @classmethod
    def from_dict(cls, data: dict) -> RunState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and v is not None or k == "best_val_loss"})

    def to_dict(self) -> dict:
        return asdict(self)

    def add_step(self, seconds: float, tokens: int, loss: float) -> None:
        self.epoch_seconds += seconds
        self.epoch_tokens += tokens
        self.epoch_loss_sum += loss
        self.epoch_steps += 1


# ---------------------------------------------------------------------------- data

def encode_corpus(rows: list[dict], tokenizer: Tokenizer, max_len: int, reverse: bool = False) -> list[np.ndarray]:
    """One id sequence per poem (read backward when `reverse`); poems longer than max_len+1
    become windows at couplet ends, each opening with <bos> and the poem's opening tokens, only
    the last one closing with <eos>."""
    seqs = []
    for row in rows:
        text, opening = row["text"], tokenizer.row_opening(row)
        if reverse:  # windows of the reversed text: the first window holds the poem's end
            text = text[::-1]
        budget = max_len - len(opening)  # room for <bos>, the opening and the next-token shift
        pieces, start = [], 0
        while len(text) - start > budget:
            cut = text.rfind("。", start, start + budget) + 1
            if cut <= start:
                cut = start + budget
            pieces.append(text[start:cut])
            start = cut
        pieces.append(text[start:])
        for i, piece in enumerate(pieces):
            ids = tokenizer.encode(piece, opening=opening, eos=i == len(pieces) - 1)
            seqs.append(np.asarray(ids, dtype=np.int32))
    return seqs


def batch_plan(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index batches of sequences of similar length, so padding costs almost nothing."""
    order = rng.permutation(len(lengths))
    order = order[np.argsort(lengths[order], kind="stable")]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def batches_from(seqs: list[np.ndarray], batch_size: int, seed: int, start_step: int, pad: int):
    """Endless (inputs, targets) batches; pass k is shuffled by (seed, k), so a resumed run
    continues at exactly the batch where it stopped."""
    lengths = np.array([len(s) for s in seqs])
    per_pass = math.ceil(len(seqs) / batch_size)
    step = start_step
    while True:
        epoch_pass, offset = divmod(step, per_pass)
        plan = batch_plan(lengths, batch_size, np.random.default_rng([seed, epoch_pass]))
        for idx in plan[offset:]:
            batch = pad_batch([seqs[i] for i in idx], pad)
            yield batch[:, :-1], batch[:, 1:]
            step += 1


def token_loss_sum(targets, logits, compiled: bool = False):
    """Summed cross-entropy over real tokens: the caller divides by the global token count, so
    the mean is exact whichever way a batch is split across replicas or workers."""
    mask = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    cross_entropy = compiled_cross_entropy if compiled else token_cross_entropy
    return tf.reduce_sum(cross_entropy(targets, tf.cast(logits, tf.float32)) * mask)


def token_cross_entropy(targets, logits):
    """-log softmax(logits)[target] for every token."""
    return tf.reduce_logsumexp(logits, axis=-1) - tf.gather(logits, targets, batch_dims=targets.shape.rank)


# XLA fuses the log-sum-exp and its gradient into a couple of passes over the [tokens, vocabulary]
# logits: half the time of TensorFlow's sparse_softmax_cross_entropy_with_logits at the shipped
# model's size. It compiles once per batch shape (about 0.5 s), which pays only for large logits.
compiled_cross_entropy = tf.function(token_cross_entropy, jit_compile=True)
COMPILED_LOSS_MIN_VOCAB = 2048


# ---------------------------------------------------------------------------- distribution

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(name: str = "default", cpu_devices: int = 0) -> tf.distribute.Strategy:
    """The tf.distribute strategy to train under. `cpu_devices` splits the CPU into that many
    logical devices (to try `mirrored` without GPUs); it must run before TensorFlow starts."""
    if name not in STRATEGIES:
        raise PoetgenError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:
            raise PoetgenError("--cpu-devices must be set before TensorFlow starts (use a new process)") from None
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise PoetgenError("--strategy multiworker needs TF_CONFIG describing the cluster (see the README)")
        try:
            config = json.loads(os.environ["TF_CONFIG"])
            config["cluster"], config["task"]["type"], config["task"]["index"]
        except (ValueError, KeyError, TypeError):
            raise PoetgenError("TF_CONFIG is not valid: it needs 'cluster' and 'task' {type, index}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_role(strategy: tf.distribute.Strategy) -> tuple[bool, int]:
    """(is this the chief, worker index). Only the chief writes checkpoints, logs and models."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True, 0
    kind, index = resolver.task_type, resolver.task_id or 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return kind == "chief" or (kind == "worker" and index == 0 and not has_chief), index


def split_rows(batch: np.ndarray, replicas: int) -> list[np.ndarray]:
    """A global batch cut into one slice per replica; too few rows are topped up with padding
    rows, which carry no loss."""
    if len(batch) < replicas:
        filler = np.full((replicas - len(batch), batch.shape[1]), PAD_ID, batch.dtype)
        batch = np.concatenate([batch, filler])
    return np.array_split(batch, replicas)


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop after the current step and save a checkpoint."""

    def __init__(self):
        self.received: str | None = None
        self._previous = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame):
        import signal

        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class TrainingInterrupted(PoetgenError):
    """Training stopped on a signal after saving a checkpoint."""


class CheckpointError(PoetgenError):
    """No usable checkpoint, or one from another model or vocabulary."""


# ---------------------------------------------------------------------------- checkpoints

def fingerprint(model_config: ModelConfig, tokenizer: Tokenizer) -> str:
    model = asdict(model_config)
    if not model_config.reverse:
        del model["direction"]  # forward runs from before the field existed keep their fingerprint
    blob = json.dumps({"model": model, "vocab": tokenizer.tokens}, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Checkpoints:
    """Weights, optimizer state, step, dropout RNG state and the run's own state (history,
    early stopping) in one tf.train.Checkpoint, the last `keep` of them kept.

    The data position is the step: batches are a pure function of (seed, step). TensorFlow
    writes each checkpoint to a temporary name and renames it, and the index of checkpoints
    is replaced atomically, so a kill during a save leaves the previous one in charge."""

    FINGERPRINT_KEY = "fingerprint/.ATTRIBUTES/VARIABLE_VALUE"

    def __init__(self, run_dir: Path, model, optimizer, print_: str, keep: int, chief: bool, worker: int):
        self.directory = run_dir / "checkpoints"
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.state = tf.Variable("{}", dtype=tf.string, trainable=False)
        self.fingerprint = print_
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, step=self.step, state=self.state,
            fingerprint=tf.Variable(print_, dtype=tf.string, trainable=False),
            # Dropout's seed generators are not reachable from the optimizer's variables.
            rng=[v.value for v in model.non_trainable_variables],
        )
        self.chief, self.scratch = chief, run_dir / f".worker-{worker}-scratch"
        if chief:
            self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=keep)

    def save(self, step: int, state: RunState) -> None:
        self.step.assign(step)
        self.state.assign(json.dumps(state.to_dict(), ensure_ascii=False))
        if self.chief:
            self.manager.save(checkpoint_number=step)
        else:
            # Every worker must take part in a save (it may run collectives); only the chief's
            # copy is kept.
            import shutil

            self.checkpoint.write(str(self.scratch / "ckpt"))
            shutil.rmtree(self.scratch, ignore_errors=True)

    def restore(self) -> tuple[int, RunState] | None:
        """The newest readable checkpoint's (step, state), falling back past damaged ones."""
        index = tf.train.get_checkpoint_state(str(self.directory))
        if index is None:
            return None
        paths = list(index.all_model_checkpoint_paths)[::-1]
        for path in paths:
            try:
                found = tf.train.load_checkpoint(path).get_tensor(self.FINGERPRINT_KEY)
            except Exception as e:  # noqa: BLE001 - a damaged file fails in many ways
                warn(f"checkpoint {path} is unreadable ({type(e).__name__}); trying the previous one")
                continue
            if found.decode() != self.fingerprint:
                raise CheckpointError(f"{path} was written by a different model or vocabulary: "
                                      "refusing to load it (choose a new --run)")
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as e:  # noqa: BLE001 - a damaged file fails in many ways
                warn(f"checkpoint {path} is damaged ({type(e).__name__}: {str(e)[:120]}); "
                     "trying the previous one")
                continue
            return int(self.step.numpy()), RunState.from_dict(json.loads(self.state.numpy().decode()))
        raise CheckpointError(f"no readable checkpoint in {self.directory}: all {len(paths)} are damaged")


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- run keeping

SUBSET_COLUMNS = {REGULATED_TANG: "tang_regulated_ppl", SONG: "song_ppl", SONGCI: "ci_ppl"}


def scheduled_halving(cfg: TrainConfig | None, epoch: int) -> bool:
    """Whether the schedule (lr_halve_from, lr_halve_every) halves the rate after this epoch."""
    if cfg is None or not cfg.lr_halve_every or not cfg.lr_halve_from or epoch < cfg.lr_halve_from:
        return False
    return (epoch - cfg.lr_halve_from) % cfg.lr_halve_every == 0


def end_epoch(model, state: RunState, valid: tuple[list, dict], tokenizer: Tokenizer, optimizer,
              cfg: TrainConfig | None = None) -> tuple[dict, bool]:
    """Validate, update the history, early stopping and the learning rate (halved on a plateau,
    and where `cfg`'s schedule says). Returns the epoch's log row and whether it improved. Every
    worker runs this and reaches the same decisions. valid: the validation sequences and the
    subsets to report (`evaluate.subsets`)."""
    by_subset = perplexity_by_subset(model, tokenizer, *valid)
    val = by_subset["all"]
    val_loss = math.log(val["token_perplexity"])
    seconds, tokens = state.epoch_seconds, state.epoch_tokens
    state.epoch += 1
    state.train_seconds += seconds
    state.tokens_seen += tokens
    lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    row = {
        "epoch": state.epoch,
        "train_loss": round(state.epoch_loss_sum / max(state.epoch_steps, 1), 5),
        "val_loss": round(val_loss, 5),
        "val_char_ppl": round(val["char_perplexity"], 3),
        "val_token_ppl": round(val["token_perplexity"], 3),
        "learning_rate": lr,
        "epoch_seconds": round(seconds, 1),
        "train_hours": round(state.train_seconds / 3600, 4),
        "tokens_per_s": round(tokens / max(seconds, 1e-9), 1),
        **{column: round(by_subset[name]["char_perplexity"], 2) for name, column in SUBSET_COLUMNS.items()
           if name in by_subset},
    }
    state.history.append(row)
    state.epoch_seconds, state.epoch_tokens, state.epoch_loss_sum, state.epoch_steps = 0.0, 0, 0.0, 0
    best = state.best_val_loss if state.best_val_loss is not None else float("inf")
    improved = val_loss < best - 1e-4
    if improved:
        state.best_val_loss, state.best_epoch, state.wait, state.best_val = val_loss, state.epoch, 0, val
    else:
        state.wait += 1
        # Halve the step size on a plateau: the cheapest reliable gain for LSTM LMs.
        optimizer.learning_rate.assign(lr * 0.5)
    if improved and scheduled_halving(cfg, state.epoch):
        optimizer.learning_rate.assign(lr * 0.5)
    return row, improved


EPOCHS_DIR = "epochs"  # the weights at the end of the last keep_epochs epochs, for averaging


def write_run_files(run_dir: Path, model, state: RunState, improved: bool, keep_epochs: int = 0) -> None:
    if improved:
        tmp = run_dir / ".best.tmp.keras"
        model.save(tmp)
        os.replace(tmp, run_dir / "best.keras")
    if keep_epochs:
        kept = run_dir / EPOCHS_DIR
        kept.mkdir(exist_ok=True)
        tmp = kept / ".epoch.tmp.keras"
        model.save(tmp)
        os.replace(tmp, kept / f"epoch-{state.epoch}.keras")
        for old in kept.glob("epoch-*.keras"):
            if int(old.stem.split("-")[1]) <= state.epoch - keep_epochs:
                old.unlink()
    atomic_write_json(run_dir / "state.json", state.to_dict())
    history = state.history
    buf = io.StringIO()
    # Columns of every row, in order of appearance: a run continued by a newer poetgen logs
    # more columns than its first epochs did (those stay empty there).
    columns = list(dict.fromkeys(key for row in history for key in row))
    writer = csv.DictWriter(buf, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(run_dir / "log.csv", buf.getvalue())
    atomic_write_bytes(run_dir / "loss.png", loss_curve_png(history))


def loss_curve_png(history: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [h["train_hours"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(hours, [h["train_loss"] for h in history], "o-", label="train loss")
    ax.plot(hours, [h["val_loss"] for h in history], "s-", label="validation loss")
    ax.set_xlabel("training time (hours)")
    ax.set_ylabel("cross-entropy per token (nats)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# ---------------------------------------------------------------------------- entry points

# Settings that may change between sessions of one run: they change no checkpoint's meaning.
ADJUSTABLE = ("epochs", "max_minutes", "lr_halve_from", "lr_halve_every", "keep_epochs")


@dataclass
class Run:
    """A run directory opened for training: its configuration, vocabulary and data."""

    directory: Path
    cfg: TrainConfig
    model_config: ModelConfig
    tokenizer: Tokenizer
    train_rows: list[dict]
    valid_rows: list[dict]


def open_run(corpus_dir, run_dir: Path, model_cfg: dict | None, cfg: TrainConfig, resume: bool,
             chief: bool, limit_poems: int = 0) -> Run:
    """The run in `run_dir` as it was configured (a different configuration is refused unless
    `resume`), or a new one: vocabulary built from the training split and saved."""
    train_rows = load_split(corpus_dir, "train")
    valid_rows = load_split(corpus_dir, "valid")
    if limit_poems:
        train_rows, valid_rows = train_rows[:limit_poems], valid_rows[: max(8, limit_poems // 10)]
    config_path = run_dir / "config.json"
    if config_path.is_file():
        saved = json.loads(config_path.read_text(encoding="utf-8"))
        if not resume:
            saved_model = asdict(ModelConfig.from_dict(saved["model"]))  # fields added since, at their defaults
            asked = {"model": {**saved_model, **(model_cfg or {})}, "train": asdict(cfg)}
            unchanged = ADJUSTABLE
            differs = asked["model"] != saved_model or any(
                asked["train"][k] != saved["train"].get(k) for k in asked["train"] if k not in unchanged)
            if differs:
                raise PoetgenError(f"{run_dir} already holds a run with another configuration: "
                                   "pass --resume to continue it as it was, or choose a new --run")
        cfg = TrainConfig(**{**saved["train"], **{k: getattr(cfg, k) for k in ADJUSTABLE}})
        if chief and any(saved["train"].get(k) != getattr(cfg, k) for k in ADJUSTABLE if k != "max_minutes"):
            atomic_write_json(config_path, {**saved, "train": asdict(cfg)})  # the run's record follows
        return Run(run_dir, cfg, ModelConfig.from_dict(saved["model"]), Tokenizer.load(run_dir / "vocab.json"),
                   train_rows, valid_rows)
    if resume:
        raise PoetgenError(f"nothing to resume in {run_dir}: no config.json and checkpoints")
    tokenizer = Tokenizer.build((r["text"] for r in train_rows), min_count=cfg.min_count,
                                tunes=[r.get("cipai", "") for r in train_rows])
    model_config = ModelConfig(vocab_size=len(tokenizer), **(model_cfg or {}))
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        tokenizer.save(run_dir / "vocab.json")
        atomic_write_json(config_path, {"model": asdict(model_config), "train": asdict(cfg)})
    return Run(run_dir, cfg, model_config, tokenizer, train_rows, valid_rows)


def restore_or_start(run: Run, checkpoints: Checkpoints, resume: bool, corpus_dir) -> tuple[int, RunState]:
    """(step, state) of the newest checkpoint, or of a fresh start."""
    restored = checkpoints.restore()
    if restored:
        step, state = restored
        if resume:
            state.stopped = ""  # an explicit --resume continues past an early stop
        return step, state
    if (run.directory / "last.keras").is_file():
        # A run of the earlier fit-based trainer: starting over would overwrite its best.keras.
        raise PoetgenError(f"{run.directory} holds a run made by an older poetgen (last.keras, no checkpoints/): "
                           "it cannot be continued here; export it, or choose a new --run")
    if resume:
        raise PoetgenError(f"nothing to resume in {run.directory}: no checkpoint")
    return 0, RunState(corpus_sha256=corpus_hash(corpus_dir), command=" ".join(sys.argv),
                       machine=machine_description())


def machine_description() -> str:
    """This machine in a few words, for the model card: CPU model, cores, vector units."""
    import platform

    model, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
        model = re.search(r"model name\s*:\s*(.+)", info).group(1).strip()
        flags = re.search(r"flags\s*:\s*(.+)", info).group(1)
    except (OSError, AttributeError):
        pass
    vector = "AVX-512" if "avx512f" in flags.split() else "AVX2" if "avx2" in flags.split() else ""
    gpus = len(tf.config.list_physical_devices("GPU"))
    return f"{os.cpu_count()} CPU cores ({model}{', ' + vector if vector else ''}), " + (
        f"{gpus} GPU(s)" if gpus else "no GPU")


class Trainer:
    """The loop of one training: optimizer steps over prefetched batches, checkpoints every
    few steps, validation and run files at each epoch's end, stops on a signal or a time limit."""

    def __init__(self, run: Run, strategy, verbose: int, chief: bool, worker: int):
        self.run, self.strategy, self.verbose, self.chief = run, strategy, verbose if chief else 0, chief
        cfg = run.cfg
        keras.utils.set_random_seed(cfg.seed)
        with strategy.scope():
            self.model = build_model(run.model_config)
            self.optimizer = keras.optimizers.Adam(cfg.learning_rate, clipnorm=cfg.clipnorm)
            self.optimizer.build(self.model.trainable_variables)
        self.checkpoints = Checkpoints(run.directory, self.model, self.optimizer,
                                       fingerprint(run.model_config, run.tokenizer), cfg.keep_checkpoints,
                                       chief, worker)
        self.replicas = strategy.num_replicas_in_sync
        self.lstm_path = choose_lstm_path()
        self.train_step = make_train_step(self.model, self.optimizer, strategy, self.lstm_path)

    def batches(self, step: int):
        """Batches from `step` on, prepared ahead in tf.data's own thread; where they start is the
        step, so the prefetched batches a kill throws away are made again, identically, on restart."""
        run, tok = self.run, self.run.tokenizer
        seqs = encode_corpus(run.train_rows, tok, run.cfg.max_len, run.model_config.reverse)
        self.steps_per_epoch = run.cfg.steps_per_epoch or math.ceil(len(seqs) / (run.cfg.batch_size * self.replicas))
        return iter(tf.data.Dataset.from_generator(
            lambda: batches_from(seqs, run.cfg.batch_size * self.replicas, run.cfg.seed, step, tok.pad),
            output_signature=(tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32)),
        ).prefetch(4))

    def distribute(self, array: np.ndarray):
        parts = split_rows(array, self.replicas)
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(parts[ctx.replica_id_in_sync_group]))

    def one_step(self, batches, state: RunState) -> float:
        inputs, targets = (t.numpy() for t in next(batches))
        tick = time.time()
        tokens = int(np.count_nonzero(targets != self.run.tokenizer.pad))
        loss = float(self.train_step(self.distribute(inputs), self.distribute(targets),
                                     tf.constant(float(max(tokens, 1)))))
        state.add_step(time.time() - tick, tokens, loss)
        return loss

    def epoch(self, step: int, state: RunState, batches, signals: StopSignals) -> int:
        """The rest of the current epoch from `step`; returns the step it ends at."""
        position = step - state.epoch * self.steps_per_epoch
        every = self.run.cfg.checkpoint_every or self.steps_per_epoch
        bar = keras.utils.Progbar(self.steps_per_epoch, verbose=1) if self.verbose == 1 else None
        while position < self.steps_per_epoch:
            loss = self.one_step(batches, state)
            step, position = step + 1, position + 1
            if bar:
                bar.update(position, [("loss", loss)])
            if position < self.steps_per_epoch and step % every == 0:
                self.checkpoints.save(step, state)
            if agree(self.strategy, signals.received is not None):
                self.checkpoints.save(step, state)
                raise TrainingInterrupted(f"training stopped by {signals.received or 'another worker'} "
                                          f"at step {step}: checkpoint saved; run the same command again to continue")
        return step

    def finish_epoch(self, step: int, state: RunState, valid: tuple[list, dict], started: float) -> bool:
        """Validation, early stopping, run files and a checkpoint; True when out of time."""
        cfg = self.run.cfg
        row, improved = end_epoch(self.model, state, valid, self.run.tokenizer, self.optimizer, cfg)
        if state.wait >= cfg.patience:
            if self.verbose:
                print(f"early stop: no improvement for {state.wait} epochs", flush=True)
            state.stopped = "early stop"
        out_of_time = bool(cfg.max_minutes) and agree(self.strategy, time.time() - started > cfg.max_minutes * 60)
        # Run files first: a kill before the checkpoint below only repeats this epoch's end.
        if self.chief:
            write_run_files(self.run.directory, self.model, state, improved, cfg.keep_epochs)
        if self.verbose:
            print(f"epoch {row['epoch']}: step {step} loss {row['train_loss']:.4f} "
                  f"val_loss {row['val_loss']:.4f} val char ppl {row['val_char_ppl']:.1f} "
                  f"({row['tokens_per_s']:.0f} tokens/s)" + (" *best*" if improved else ""), flush=True)
        self.checkpoints.save(step, state)
        if out_of_time and self.verbose:
            print(f"time budget of {cfg.max_minutes} minutes used: stopping (the same command continues)", flush=True)
        return out_of_time


def train(corpus_dir: str | Path, run_dir: str | Path, model_cfg: dict | None = None,
          train_cfg: TrainConfig | None = None, resume: bool = False, verbose: int | None = None,
          limit_poems: int = 0, strategy: tf.distribute.Strategy | None = None) -> RunState:
    """Train in `run_dir`, or continue the run there from its newest checkpoint when it holds
    one of the same configuration (the same command continues; resume=True insists on it).
    Returns the run state."""
    strategy = strategy or tf.distribute.get_strategy()
    chief, worker = worker_role(strategy)
    run = open_run(corpus_dir, Path(run_dir), model_cfg, train_cfg or TrainConfig(), resume, chief, limit_poems)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    trainer = Trainer(run, strategy, verbose, chief, worker)
    step, state = restore_or_start(run, trainer.checkpoints, resume, corpus_dir)
    state.lstm_path = trainer.lstm_path
    batches = trainer.batches(step)
    valid_seqs = [np.asarray(run.tokenizer.encode(r["text"], opening=run.tokenizer.row_opening(r),
                                                  reverse=run.model_config.reverse), np.int32)
                  for r in run.valid_rows]
    valid = (valid_seqs, subsets(run.valid_rows))
    if trainer.verbose:
        print(f"{type(strategy).__name__} over {trainer.replicas} replica(s): global batch "
              f"{run.cfg.batch_size * trainer.replicas}, {trainer.steps_per_epoch} steps per epoch, "
              f"starting at step {step}; LSTM gradient: {LSTM_PATHS[trainer.lstm_path]}", flush=True)
    started = time.time()
    with StopSignals() as signals:
        while state.epoch < run.cfg.epochs and not state.stopped:
            step = trainer.epoch(step, state, batches, signals)
            if trainer.finish_epoch(step, state, valid, started):
                break
    state.steps = step
    state.weights_sha256 = weights_digest(trainer.model)
    return state


def weights_digest(model) -> str:
    """Identifies trained weights: workers of one run must agree on it bit for bit."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


LSTM_PATHS = {
    "fused": "poetgen's fused LSTM gradient (poetgen/lstm.py), the fast one on a CPU",
    "keras": "Keras's own LSTM layers (cuDNN on a GPU)",
}


def choose_lstm_path(gpus: int | None = None) -> str:
    """Which LSTM gradient trains: Keras's own (cuDNN) where a GPU is visible, else poetgen's
    fused one; $POETGEN_LSTM (fused or keras) overrides."""
    chosen = os.environ.get("POETGEN_LSTM", "")
    if chosen:
        if chosen not in LSTM_PATHS:
            raise PoetgenError(f"POETGEN_LSTM must be one of {', '.join(LSTM_PATHS)}, got {chosen!r}")
        return chosen
    if gpus is None:
        gpus = len(tf.config.list_physical_devices("GPU"))
    return "keras" if gpus else "fused"


def make_train_step(model, optimizer, strategy: tf.distribute.Strategy | None = None, lstm: str = "fused"):
    """One optimizer step, compiled: (inputs, targets, global token count) -> summed loss.
    Under a strategy, inputs and targets are per-replica values. The model's own layers run;
    its LSTMs take `lstm_sequence`'s faster gradient (same values) unless lstm="keras"."""
    strategy = strategy or tf.distribute.get_strategy()
    compiled = model.get_layer("logits").units >= COMPILED_LOSS_MIN_VOCAB

    def replica_step(inputs, targets, total_tokens):
        with tf.GradientTape() as tape:
            logits = forward(model, inputs, training=True, lstm=lstm)
            loss = token_loss_sum(targets, logits, compiled) / total_tokens
        return tape.gradient(loss, model.trainable_variables), loss

    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets, total_tokens):
        grads, loss = strategy.run(replica_step, args=(inputs, targets, total_tokens))
        # Summed across replicas before clipping, so clipping sees the whole batch's gradient
        # exactly as a single device would.
        grads = [strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in grads]
        optimizer.apply(grads, model.trainable_variables)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)

    return train_step


def agree(strategy: tf.distribute.Strategy, flag: bool) -> bool:
    """True on every worker if it is true on any: workers must stop together or hang."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return flag
    votes = strategy.run(lambda: tf.constant(1.0 if flag else 0.0))
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, votes, axis=None).numpy() > 0)


def export(run_dir: str | Path, model_dir: str | Path, command: str | None = None,
           corpus_dir: str | Path | None = None, half: bool = False, average: int = 1) -> dict:
    """Copy the best checkpoint of a run, without optimizer state, into a model directory; with
    the corpus, the card also reports validation perplexity per collection and form. half:
    float16 weights; average: the mean of the weights of the best epoch and the average - 1
    epochs before it (kept by the run in epochs/). Both change the weights, so every figure is
    measured again on the exported ones, which needs the corpus."""
    from .card import model_card

    if (half or average > 1) and corpus_dir is None:
        raise ModelError("a float16 or averaged export needs the corpus: "
                         "its figures are measured on the exported weights")
    run_dir = Path(run_dir)
    best = run_dir / "best.keras"
    if not best.is_file():
        raise ModelError(f"{best} not found: the run has finished no epoch yet")
    saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    state = RunState.from_dict(json.loads((run_dir / "state.json").read_text(encoding="utf-8")))
    model_config = ModelConfig.from_dict(saved["model"])
    tokenizer = Tokenizer.load(run_dir / "vocab.json")
    epochs = list(range(state.best_epoch - average + 1, state.best_epoch + 1))
    model = build_model(model_config)
    model.set_weights(averaged_weights([best] if average <= 1 else epoch_files(run_dir, epochs)))
    if half:
        round_to_half(model)
    history = state.history
    best_row = next(h for h in history if h["epoch"] == state.best_epoch)
    metrics = {
        "val_char_perplexity": round(state.best_val["char_perplexity"], 3),
        "val_token_perplexity": round(state.best_val["token_perplexity"], 3),
        "val_chars": state.best_val["chars"],
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "train_seconds_to_best": round(sum(h["epoch_seconds"] for h in history[: state.best_epoch]), 1),
        "train_seconds_total": round(state.train_seconds, 1),
        "train_tokens_per_s": round(float(np.median([h["tokens_per_s"] for h in history])), 1),
        "corpus_sha256": state.corpus_sha256,
        "parameters": int(model.count_params()),
        "machine": state.machine or machine_description(),
        "lstm_path": state.lstm_path or "fused",
        "history": history,
    }
    if corpus_dir is not None:
        measure_exported(metrics, model, tokenizer, corpus_dir, half, epochs if average > 1 else [])
    train_cfg = {**saved["train"], "command": command or state.command}
    card = model_card(model_config, train_cfg, metrics, best_row)
    save_model_dir(model_dir, model, model_config, tokenizer, train_cfg, metrics, card, half=half)
    loss_png = run_dir / "loss.png"
    if loss_png.is_file():
        atomic_write_bytes(Path(model_dir) / "loss.png", loss_png.read_bytes())
    return metrics


def measure_exported(metrics: dict, model, tokenizer: Tokenizer, corpus_dir, half: bool, averaged: list[int]) -> None:
    """Validation perplexity per subset of the exported weights; when they are not the best
    epoch's as trained (float16, averaged), the headline figures become theirs too."""
    from .evaluate import split_perplexity

    report = split_perplexity(model, tokenizer, load_split(corpus_dir, "valid"))
    metrics["valid_by_subset"] = {name: {"poems": r["poems"], "chars": r["chars"],
                                         "char_perplexity": round(r["char_perplexity"], 2)}
                                  for name, r in report.items()}
    if half or averaged:
        metrics["weights"] = "float16" if half else "float32"
        metrics["averaged_epochs"] = averaged
        metrics["val_char_perplexity_best_epoch"] = metrics["val_char_perplexity"]
        metrics["val_char_perplexity"] = round(report["all"]["char_perplexity"], 3)
        metrics["val_token_perplexity"] = round(report["all"]["token_perplexity"], 3)


def epoch_files(run_dir: Path, epochs: list[int]) -> list[Path]:
    """The weights kept at the end of these epochs (`write_run_files`); a clear error for any missing."""
    if epochs[0] < 1:
        raise ModelError(f"cannot average {len(epochs)} epochs: the best epoch of the run is epoch {epochs[-1]}")
    paths = [run_dir / EPOCHS_DIR / f"epoch-{e}.keras" for e in epochs]
    missing = [e for e, p in zip(epochs, paths) if not p.is_file()]
    if missing:
        raise ModelError(f"cannot average epochs {epochs[0]}–{epochs[-1]}: the run keeps no weights of epoch(s) "
                         f"{', '.join(map(str, missing))} in {run_dir / EPOCHS_DIR} (it keeps the last keep_epochs)")
    return paths


def averaged_weights(paths: list[Path]) -> list[np.ndarray]:
    """The mean of the saved models' weights, in float64 before rounding back to float32."""
    weights = [keras.saving.load_model(p, compile=False, safe_mode=True).get_weights() for p in paths]
    return [np.mean([w[i].astype(np.float64) for w in weights], axis=0).astype(np.float32)
            for i in range(len(weights[0]))]
