"""No character more than `limit` times in a poem."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block


class NoRepeat(Rule):
    name = "no_repeat"
    per_poem = ("limit",)
    needs_counts = True

    def __init__(self, limit: int, batch: int):
        self.limit = np.full(batch, limit, np.int32)

    def inputs(self):
        return {"limit": self.limit}

    @classmethod
    def specs(cls, env):
        return {"limit": tf.TensorSpec([None], tf.int32)}, {}

    @classmethod
    def mask(cls, logits, step: Step):
        return block(logits, step.counts >= step.inputs["limit"][:, None])
