"""A run directory: its configuration and vocabulary, its state after each epoch
(RunState, log, loss curve, the weights of the last epochs), opening and resuming."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import tensorflow as tf

from ..corpus.splits import corpus_hash, load_split
from ..errors import PoetgenError
from ..files import atomic_write_bytes, atomic_write_json, atomic_write_text
from ..model.card import SUBSET_COLUMNS
from ..model.config import ModelConfig, TrainConfig
from ..model.evaluate import perplexity_by_subset
from ..model.network import keras, load_model_dir
from ..model.tokenizer import Tokenizer

if TYPE_CHECKING:  # the checkpoints module reads RunState from here
    from .checkpoints import Checkpoints


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


# ---------------------------------------------------------------------------- run keeping


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
        **{column: round(by_subset[name]["char_perplexity"], 2) for name, (column, _) in SUBSET_COLUMNS.items()
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
    init_weights: list | None = None  # a new run's weights from a model directory (`--init`)


def open_run(corpus_dir, run_dir: Path, model_cfg: dict | None, cfg: TrainConfig, resume: bool,
             chief: bool, limit_poems: int = 0, init: Path | None = None) -> Run:
    """The run in `run_dir` as it was configured (a different configuration is refused unless
    `resume`), or a new one: vocabulary built from the training split and saved, or with `init`
    the vocabulary and model configuration of that model directory, whose weights it starts from."""
    train_rows = load_split(corpus_dir, "train")
    valid_rows = load_split(corpus_dir, "valid")
    if limit_poems:
        train_rows, valid_rows = train_rows[:limit_poems], valid_rows[: max(8, limit_poems // 10)]
    config_path = run_dir / "config.json"
    if config_path.is_file():
        saved = json.loads(config_path.read_text(encoding="utf-8"))
        started_from = saved.get("init")
        if init is not None and (started_from is None or Path(init).resolve() != Path(started_from)):
            raise PoetgenError(f"{run_dir} was started from {started_from or 'fresh weights'}, not from {init}: "
                               "run it without --init, or choose a new --run")
        if not resume:
            saved_model = asdict(ModelConfig.from_dict(saved["model"]))  # fields added since, at their defaults
            # A run from a model has the model's options: those of the command line are not used.
            asked = {"model": saved_model if started_from else {**saved_model, **(model_cfg or {})},
                     "train": asdict(cfg)}
            unchanged = ADJUSTABLE
            differs = asked["model"] != saved_model or any(
                asked["train"][k] != saved["train"].get(k) for k in asked["train"] if k not in unchanged)
            if differs:
                raise PoetgenError(f"{run_dir} already holds a run with another configuration: "
                                   "pass --resume to continue it as it was, or choose a new --run")
        cfg = TrainConfig(**{**saved["train"], **{k: getattr(cfg, k) for k in ADJUSTABLE}})
        if chief and any(saved["train"].get(k) != getattr(cfg, k) for k in ADJUSTABLE if k != "max_minutes"):
            atomic_write_json(config_path, {**saved, "train": asdict(cfg)})  # the run's record follows
        tokenizer = Tokenizer.load(run_dir / "vocab.json")
        weights = None
        no_checkpoint = tf.train.get_checkpoint_state(str(run_dir / "checkpoints")) is None  # as Checkpoints reads
        if started_from and no_checkpoint:  # cut short before its first checkpoint: from the model again
            weights = init_weights(Path(started_from), tokenizer)
        return Run(run_dir, cfg, ModelConfig.from_dict(saved["model"]), tokenizer, train_rows, valid_rows, weights)
    if resume:
        raise PoetgenError(f"nothing to resume in {run_dir}: no config.json and checkpoints")
    weights = None
    if init is not None:  # the model's own vocabulary and shape, the whole directory checked before the run is made
        model, model_config, tokenizer = load_model_dir(init)
        weights = model.get_weights()
    else:
        tokenizer = Tokenizer.build((r["text"] for r in train_rows), min_count=cfg.min_count,
                                    tunes=[r.get("cipai", "") for r in train_rows])
        model_config = ModelConfig(vocab_size=len(tokenizer), **(model_cfg or {}))
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        tokenizer.save(run_dir / "vocab.json")
        record = {"model": asdict(model_config), "train": asdict(cfg)}
        atomic_write_json(config_path, {**record, "init": str(Path(init).resolve())} if init else record)
    return Run(run_dir, cfg, model_config, tokenizer, train_rows, valid_rows, weights)


def init_weights(directory: Path, tokenizer: Tokenizer) -> list:
    """The weights of the model a run started from, which must still be the one it started from."""
    model, _, its_tokenizer = load_model_dir(directory)
    if its_tokenizer.tokens != tokenizer.tokens:
        raise PoetgenError(f"{directory} is no longer the model this run started from (another vocabulary)")
    return model.get_weights()


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
