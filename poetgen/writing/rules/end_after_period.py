"""Free form: a poem may end only after 。"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block


class EndAfterPeriod(Rule):
    name = "end_after_period"

    @classmethod
    def tables(cls, env):
        is_eos = np.zeros(env.vocab_size, bool)
        is_eos[env.tokenizer.eos] = True
        return {"is_eos": tf.constant(is_eos), "period": tf.constant(env.tokenizer.period, tf.int32)}

    @classmethod
    def mask(cls, logits, step: Step):
        after_other = tf.not_equal(step.prev, step.tables["period"])
        return block(logits, tf.logical_and(after_other[:, None], step.tables["is_eos"][None, :]))
