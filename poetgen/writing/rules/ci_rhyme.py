"""Ci rhyme: at a rhyme position of a 词牌, only a character of a 词林正韵 部 still open to its
rhyme chain (韵段), read in the tone the position asks for (a 部's 平 characters, or its 仄:
上去, or 入 for the 入声 部), and never one already written in the ci. A tune that changes rhyme
(菩萨蛮) has several chains, each narrowing on its own; one whose 平 and 仄 ends share a 部
(西江月) has one chain read in two tones."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block

MAX_CHAINS = 8  # rhyme chains of a tune (the most any derived tune has is 4)


class CiRhyme(Rule):
    name = "ci_rhyme"
    per_poem = ("chain_at", "tone_at", "open_bu")
    needs_counts = True

    def __init__(self, chain_at: np.ndarray, tone_at: np.ndarray, open_bu: np.ndarray):
        self.chain_at = chain_at  # int32 [B, T]: the chain whose rhyme a column is, or -1
        self.tone_at = tone_at  # int32 [B, T]: 0 for a 平 rhyme, 1 for a 仄 one
        self.open_bu = open_bu  # bool [B, MAX_CHAINS, 部]: the 部 each chain may take before it starts

    def inputs(self):
        return {"chain_at": self.chain_at, "tone_at": self.tone_at}

    def init_state(self, batch: int):
        return {"open": self.open_bu}

    @classmethod
    def tables(cls, env):
        members = env.ci_members  # bool [V, 2, 部]
        return {"members": tf.constant(members, tf.bool),
                "ping_t": tf.constant(members[:, 0].T, tf.float32),
                "ze_t": tf.constant(members[:, 1].T, tf.float32)}

    @classmethod
    def specs(cls, env):
        n_bu = env.ci_members.shape[2]
        return ({"chain_at": tf.TensorSpec([None, None], tf.int32), "tone_at": tf.TensorSpec([None, None], tf.int32)},
                {"open": tf.TensorSpec([None, MAX_CHAINS, n_bu], tf.bool)})

    @classmethod
    def mask(cls, logits, step: Step):
        chain = step.inputs["chain_at"][:, step.t]
        here = chain >= 0

        def rhymes():
            open_now = tf.cast(tf.gather(step.state["open"], tf.maximum(chain, 0), batch_dims=1), tf.float32)
            ping = tf.matmul(open_now, step.tables["ping_t"]) > 0
            ze = tf.matmul(open_now, step.tables["ze_t"]) > 0
            allowed = tf.where((step.inputs["tone_at"][:, step.t] == 0)[:, None], ping, ze)
            allowed = tf.logical_and(allowed, tf.equal(step.counts, 0))
            return block(logits, tf.logical_and(here[:, None], tf.logical_not(allowed)))

        return tf.cond(tf.reduce_any(here), rhymes, lambda: logits)  # most columns rhyme in no poem

    @classmethod
    def update(cls, token, step: Step):
        chain = step.inputs["chain_at"][:, step.t]
        tone = step.inputs["tone_at"][:, step.t]
        opened = step.state["open"]
        readings = tf.gather_nd(step.tables["members"], tf.stack([token, tone], axis=1))  # [B, 部]
        narrowed = tf.logical_and(tf.gather(opened, tf.maximum(chain, 0), batch_dims=1), readings)
        which = tf.logical_and(tf.one_hot(tf.maximum(chain, 0), MAX_CHAINS, on_value=True, off_value=False),
                               (chain >= 0)[:, None])
        return {"open": tf.where(which[:, :, None], narrowed[:, None, :], opened)}
