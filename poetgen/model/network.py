"""Embedding -> LSTM -> Dense language model over characters, and its self-describing directory.

A model directory holds config.json (ModelConfig and the training config), vocab.json, its
weights, metrics.json and a model card README.md. The weights are model.keras (float32, loaded
in Keras safe mode) or weights.f16.npz (float16, half the bytes: the shipped model, whose
metrics are measured on exactly these weights; the layers are built from config.json).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from ..errors import ModelError
from .config import ModelConfig
from .tokenizer import Tokenizer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE, METRICS_FILE, CARD_FILE = (
    "config.json",
    "vocab.json",
    "model.keras",
    "metrics.json",
    "README.md",
)
HALF_WEIGHTS_FILE = "weights.f16.npz"


def build_model(config: ModelConfig) -> keras.Model:
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(config.vocab_size, config.embed_dim, name="embedding")(tokens)
    for i in range(config.layers):
        x = keras.layers.LSTM(config.hidden, return_sequences=True, name=f"lstm_{i}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    if config.proj_dim:
        x = keras.layers.Dense(config.proj_dim, name="projection")(x)
    logits = keras.layers.Dense(config.vocab_size, name="logits")(x)
    return keras.Model(tokens, logits, name="poetgen_lstm")


def forward(model: keras.Model, tokens, training: bool = False, lstm: str = "fused"):
    """The model's logits, computed by its own layers except the LSTMs, which run
    `lstm_sequence` on their weights: the same function, with a faster gradient for training on
    a CPU. lstm="keras": the model's own layers throughout (on a GPU, Keras's LSTM is cuDNN's)."""
    from .lstm import lstm_sequence

    if lstm == "keras":
        return model(tokens, training=training)
    x = model.get_layer("embedding")(tokens)
    names = {layer.name for layer in model.layers}
    i = 0
    while f"lstm_{i}" in names:
        cell = model.get_layer(f"lstm_{i}").cell
        x = lstm_sequence(x, cell.kernel, cell.recurrent_kernel, cell.bias)
        x = model.get_layer(f"dropout_{i}")(x, training=training)
        i += 1
    if "projection" in names:
        x = model.get_layer("projection")(x)
    return model.get_layer("logits")(x)


def save_model_dir(
    directory: str | Path,
    model: keras.Model,
    config: ModelConfig,
    tokenizer: Tokenizer,
    train_config: dict | None = None,
    metrics: dict | None = None,
    card: str | None = None,
    half: bool = False,
) -> None:
    """Write a complete model directory next to `directory`, then swap it in at once. half:
    float16 weights (`round_to_half` them first for metrics that hold for what is saved)."""
    from ..files import atomic_replace_dir, atomic_write_json, atomic_write_text

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir()
    atomic_write_json(tmp / CONFIG_FILE, {"model": asdict(config), "train": train_config or {}})
    tokenizer.save(tmp / VOCAB_FILE)
    if half:
        save_half_weights(tmp / HALF_WEIGHTS_FILE, model)
    else:
        model.save(tmp / WEIGHTS_FILE)
    atomic_write_json(tmp / METRICS_FILE, metrics or {})
    if card:
        atomic_write_text(tmp / CARD_FILE, card)
    atomic_replace_dir(tmp, directory)


def read_config(directory: str | Path) -> tuple[ModelConfig, dict]:
    path = Path(directory) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelConfig.from_dict(data["model"]), data.get("train", {})
    except FileNotFoundError:
        raise ModelError(f"{path} not found: not a poetgen model directory") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ModelError(f"{path} is corrupt: {e}") from None


def load_model_dir(directory: str | Path) -> tuple[keras.Model, ModelConfig, Tokenizer]:
    """Load and cross-check a model directory; safe mode always (nothing is unpickled)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"model directory not found: {directory}")
    config, _ = read_config(directory)
    tokenizer = Tokenizer.load(directory / VOCAB_FILE)
    weights = weights_path(directory)
    if weights.name == HALF_WEIGHTS_FILE:
        model = build_model(config)
        model.set_weights(load_half_weights(weights, model))
    else:
        try:
            model = keras.saving.load_model(weights, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises many types for a damaged archive
            raise ModelError(f"{weights} cannot be loaded: {type(e).__name__}: {str(e)[:200]}") from None
    check_consistent(model, config, tokenizer, directory)
    return model, config, tokenizer


def weights_path(directory: Path) -> Path:
    """The directory's weights file: model.keras, else weights.f16.npz."""
    for name in (WEIGHTS_FILE, HALF_WEIGHTS_FILE):
        if (directory / name).is_file():
            return directory / name
    raise ModelError(f"{directory / WEIGHTS_FILE} not found: the model directory is incomplete")


def round_to_half(model: keras.Model) -> None:
    """The model's weights rounded to float16 (kept in float32): what saving them as half keeps,
    so that figures measured after this hold for the saved model exactly."""
    model.set_weights([w.astype(np.float16).astype(np.float32) for w in model.get_weights()])


def save_half_weights(path: Path, model: keras.Model) -> None:
    # Named by their order and variable path, so that a mismatch on loading names the weight.
    arrays = {f"{i:03d}_{v.path.replace('/', '_')}": np.asarray(v.numpy(), np.float16)
              for i, v in enumerate(model.weights)}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_half_weights(path: Path, model: keras.Model) -> list[np.ndarray]:
    """The float16 weights as float32 (exact), in the model's order, checked against its shapes."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [data[name] for name in sorted(data.files)]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ModelError(f"{path} cannot be loaded: {type(e).__name__}: {str(e)[:200]}") from None
    want = [tuple(v.shape) for v in model.weights]
    got = [a.shape for a in arrays]
    if got != want or any(a.dtype != np.float16 for a in arrays):
        raise ModelError(f"{path} does not fit config.json: {len(got)} float16 arrays of shapes {got[:4]}…, "
                         f"the model needs {len(want)} of shapes {want[:4]}…")
    return [a.astype(np.float32) for a in arrays]


def check_consistent(model: keras.Model, config: ModelConfig, tokenizer: Tokenizer, where: Path) -> None:
    embedding_rows = model.get_layer("embedding").input_dim
    output_size = model.get_layer("logits").units
    sizes = {len(tokenizer), config.vocab_size, embedding_rows, output_size}
    if len(sizes) != 1:
        raise ModelError(
            f"{where}: vocabulary and model disagree: vocab.json has {len(tokenizer)} tokens, "
            f"config says {config.vocab_size}, the embedding has {embedding_rows} rows and the "
            f"output layer {output_size} units"
        )
