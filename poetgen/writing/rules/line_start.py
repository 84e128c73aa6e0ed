"""Free form: after a line mark or an opening token a line begins, so no punctuation and no end."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block


class LineStart(Rule):
    name = "line_start"

    @classmethod
    def tables(cls, env):
        tok = env.tokenizer
        opens_line = np.zeros(env.vocab_size, bool)
        opens_line[[tok.comma, tok.period, tok.bos, *tok.form_ids]] = True
        not_opener = np.zeros(env.vocab_size, bool)
        not_opener[[tok.comma, tok.period, tok.eos]] = True
        return {"opens_line": tf.constant(opens_line), "not_line_opener": tf.constant(not_opener)}

    @classmethod
    def mask(cls, logits, step: Step):
        at_start = tf.gather(step.tables["opens_line"], step.prev)
        return block(logits, tf.logical_and(at_start[:, None], step.tables["not_line_opener"][None, :]))
