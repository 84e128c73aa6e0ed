"""Checkpoints of a run: weights, optimizer, step and history, written atomically,
the newest restored (a damaged one falls back to the one before)."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

import tensorflow as tf

from ..errors import PoetgenError
from ..model.config import ModelConfig
from ..model.tokenizer import Tokenizer
from .run import RunState


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
