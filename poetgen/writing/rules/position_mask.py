"""The allowed tokens of each position, fixed before decoding: a character slot of a regulated
form (平 or 仄 where the pattern fixes the tone), the body of a free poem, its form token."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import NEG_INF, Rule, Step


class PositionMask(Rule):
    name = "position_mask"
    per_poem = ("mask_id",)

    def __init__(self, mask_id: np.ndarray, masks: np.ndarray):
        self.mask_id = mask_id  # int32 [B, T]: which row of `masks` applies at each column
        self.masks = masks  # bool [K, V]

    def inputs(self) -> dict[str, np.ndarray]:
        return {"mask_id": self.mask_id, "masks": self.masks}

    @classmethod
    def merge(cls, inputs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        # Each request brings its own masks: its mask ids move past the masks stacked before.
        offsets = np.cumsum([0] + [len(i["masks"]) for i in inputs[:-1]])
        return {"mask_id": np.concatenate([i["mask_id"] + o for i, o in zip(inputs, offsets)]),
                "masks": np.concatenate([i["masks"] for i in inputs])}

    @classmethod
    def specs(cls, env):
        return {"mask_id": tf.TensorSpec([None, None], tf.int32),
                "masks": tf.TensorSpec([None, env.vocab_size], tf.bool)}, {}

    @classmethod
    def mask(cls, logits, step: Step):
        allowed = tf.gather(step.inputs["masks"], step.inputs["mask_id"][:, step.t])
        return tf.where(allowed, logits, NEG_INF)
