"""Where the shipped model and corpus are, and how large a request may be: shared by the API,
the CLI and the page without loading TensorFlow (the page answers before the model is in)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelError

DEFAULT_MODEL = "poetgen-lstm512"
MAX_POEMS = 256
MAX_FREE_TOKENS = 200
MAX_TEXT = 200  # characters of start text, acrostic or theme
MAX_SEED = 2**31 - 2  # the decoder's random streams are keyed by 31-bit seeds
MAX_TEMPERATURE = 10.0  # past this a draw is as good as uniform
MAX_CHECK_TEXT = 2000  # characters of a text to check
REPO = Path(__file__).resolve().parent.parent


def default_model_dir() -> Path:
    """$POETGEN_MODEL, else the model shipped in the repository's models/ folder (found from an
    editable install or from the current directory)."""
    env = os.environ.get("POETGEN_MODEL")
    if env:
        return Path(env)
    for root in (REPO, Path.cwd()):
        candidate = root / "models" / DEFAULT_MODEL
        if candidate.is_dir():
            return candidate
    raise ModelError(f"no model found: set POETGEN_MODEL to a model directory (e.g. the repository's "
                     f"models/{DEFAULT_MODEL}; an installed copy of poetgen does not hold the model) or pass --model")


def model_directory(model: str | Path | None) -> Path:
    """The model directory asked for (None: the default one), checked to be one by its config:
    without TensorFlow, so that a wrong one is named at once (the page's loader, `python app.py`)."""
    directory = Path(model) if model else default_model_dir()
    if not (directory / "config.json").is_file():
        raise ModelError(f"{directory} is not a poetgen model directory (no config.json)")
    return directory


def default_corpus_dir() -> Path | None:
    """$POETGEN_CORPUS, else the repository's corpus/ (for the no-copy rule); None without one."""
    env = os.environ.get("POETGEN_CORPUS")
    if env:
        return Path(env)
    for root in (REPO, Path.cwd()):
        if any((root / "corpus" / name).is_file() for name in ("train.jsonl.gz", "train.jsonl")):
            return root / "corpus"
    return None
