"""Theme: a bias toward the theme's keyword characters and their neighbours. It pulls hard until
a keyword is written, then gently (THEME_FADE of it): every themed poem shows its theme
without drowning in it."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step

THEME_FADE = 0.4


class Theme(Rule):
    name = "theme"
    per_poem = ("bias",)

    def __init__(self, bias: np.ndarray):
        self.bias = bias.astype(np.float32)  # [B, V]: added to the logits

    def inputs(self):
        # Constant over the loop, so made once here: the keywords (the row's largest bias).
        keyword = (self.bias == self.bias.max(axis=1, keepdims=True)) & (self.bias > 0)
        return {"bias": self.bias, "keyword": keyword}

    def init_state(self, batch: int):
        return {"seen": np.zeros(batch, bool)}

    @classmethod
    def specs(cls, env):
        v = env.vocab_size
        return ({"bias": tf.TensorSpec([None, v], tf.float32), "keyword": tf.TensorSpec([None, v], tf.bool)},
                {"seen": tf.TensorSpec([None], tf.bool)})

    @classmethod
    def mask(cls, logits, step: Step):
        # One [B, V] multiply-add: bias * 1.0 and bias * 0.4 round as the bias and its faded copy.
        strength = tf.where(step.state["seen"], np.float32(THEME_FADE), np.float32(1.0))
        return logits + step.inputs["bias"] * strength[:, None]

    @classmethod
    def update(cls, token, step: Step):
        return {"seen": tf.logical_or(step.state["seen"], tf.gather(step.inputs["keyword"], token, batch_dims=1))}
