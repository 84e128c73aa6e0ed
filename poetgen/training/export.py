"""A run's best (or averaged) weights as a self-describing model directory, in
float32 or float16, every figure of its card measured on the exported weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..corpus.splits import load_split
from ..errors import ModelError
from ..files import atomic_write_bytes
from ..model.config import ModelConfig
from ..model.network import build_model, keras, round_to_half, save_model_dir
from ..model.tokenizer import Tokenizer
from .run import EPOCHS_DIR, RunState, machine_description


def export(run_dir: str | Path, model_dir: str | Path, command: str | None = None,
           corpus_dir: str | Path | None = None, half: bool = False, average: int = 1) -> dict:
    """Copy the best checkpoint of a run, without optimizer state, into a model directory; with
    the corpus, the card also reports validation perplexity per collection and form. half:
    float16 weights; average: the mean of the weights of the best epoch and the average - 1
    epochs before it (kept by the run in epochs/). Both change the weights, so every figure is
    measured again on the exported ones, which needs the corpus."""
    from ..model.card import model_card

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
    if saved.get("init"):
        metrics["init"] = started_from(Path(saved["init"]))
    if corpus_dir is not None:
        measure_exported(metrics, model, tokenizer, corpus_dir, half, epochs if average > 1 else [],
                         model_config.reverse)
    train_cfg = {**saved["train"], "command": command or state.command}
    card = model_card(model_config, train_cfg, metrics, best_row)
    save_model_dir(model_dir, model, model_config, tokenizer, train_cfg, metrics, card, half=half)
    loss_png = run_dir / "loss.png"
    if loss_png.is_file():
        atomic_write_bytes(Path(model_dir) / "loss.png", loss_png.read_bytes())
    return metrics


def started_from(init_dir: Path) -> dict:
    """What a run begun with `--init` started from, for the card: the model's name and, while its
    directory is still there, its own validation figure (the figure the run had to beat)."""
    record = {"model": init_dir.name}
    try:
        metrics = json.loads((init_dir / "metrics.json").read_text(encoding="utf-8"))
        record["val_char_perplexity"] = metrics["val_char_perplexity"]
    except (OSError, ValueError, KeyError):
        pass  # the directory was a starting point, not a dependency: gone now, its name still says it
    return record


def measure_exported(metrics: dict, model, tokenizer: Tokenizer, corpus_dir, half: bool, averaged: list[int],
                     reverse: bool = False) -> None:
    """Validation perplexity per subset of the exported weights; when they are not the best
    epoch's as trained (float16, averaged), the headline figures become theirs too."""
    from ..model.evaluate import split_perplexity

    report = split_perplexity(model, tokenizer, load_split(corpus_dir, "valid"), reverse=reverse)
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
