"""Rhyme as read: at a rhyme position, a 多音字 only in a group the poets rhymed it in after the
character before it (verse/readings.py: 送君行 rhymes in 庚, never in 陽, though 行 is in both).
Beside `Rhyme`, which keeps the groups of the table: this rule keeps its own open groups,
narrowed by the groups each rhyme is read in, so every rhyme of a poem is read in one group. A
rule of its own rather than a change of Rhyme's table, so that a request made before it
(rhyme_as_read off: pg6 ids and older) plans without it and rebuilds its poem exactly.

Contract: at a rhyme position a character is allowed when one of the rule's open groups is among
those it is read in after the character before it; writing it narrows the open groups to those.
A forced character read in none of them (a user's 藏尾) narrows by the table instead, so the
poem goes on under `Rhyme` alone rather than with nothing allowed."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Step, block
from .rhyme import RhymeGroups


class RhymeReading(RhymeGroups):
    name = "rhyme_reading"

    @staticmethod
    def narrow(groups: np.ndarray, rhyme_at: np.ndarray, tokens: np.ndarray, env) -> np.ndarray:
        """The groups still open after `tokens` were written (host side: a rewrite's state)."""
        for t in np.flatnonzero(rhyme_at):
            read = env.reads.after(tokens[t - 1] if t else -1)[tokens[t]]
            narrowed = groups & read
            groups = narrowed if narrowed.any() else groups & env.group_members[tokens[t]]
        return groups

    @classmethod
    def tables(cls, env):
        reads = env.reads
        return {"as_read": tf.constant(reads.as_read, tf.bool), "as_read_t": tf.constant(reads.as_read.T, tf.float32),
                "members": tf.constant(env.group_members, tf.bool),
                "pair_prev": tf.constant(reads.pair_prev, tf.int32),
                "pair_char": tf.constant(reads.pair_char, tf.int32),
                "pair_groups": tf.constant(reads.pair_groups, tf.bool)}

    @classmethod
    def mask(cls, logits, step: Step):
        here = step.inputs["rhyme_at"][:, step.t]

        def rhymes():
            tables, open_groups = step.tables, tf.cast(step.state["groups"], tf.float32)
            allowed = tf.matmul(open_groups, tables["as_read_t"]) > 0  # [B, V]
            # The pairs opened by each poem's last character override their characters' rows.
            at = tf.where(tf.equal(tables["pair_prev"][None, :], step.prev[:, None]))  # [M, 2]: (poem, pair)
            pair_ok = tf.reduce_any(tf.logical_and(tf.gather(tables["pair_groups"], at[:, 1]),
                                                   tf.gather(step.state["groups"], at[:, 0])), axis=1)
            where = tf.stack([at[:, 0], tf.cast(tf.gather(tables["pair_char"], at[:, 1]), tf.int64)], axis=1)
            allowed = tf.tensor_scatter_nd_update(allowed, where, pair_ok)
            return block(logits, tf.logical_and(here[:, None], tf.logical_not(allowed)))

        return tf.cond(tf.reduce_any(here), rhymes, lambda: logits)

    @classmethod
    def update(cls, token, step: Step):
        here = step.inputs["rhyme_at"][:, step.t]
        tables, groups = step.tables, step.state["groups"]

        def narrowed():
            pair = tf.logical_and(tf.equal(tables["pair_prev"][None, :], step.prev[:, None]),
                                  tf.equal(tables["pair_char"][None, :], token[:, None]))  # [B, K]: one at most
            by_pair = tf.matmul(tf.cast(pair, tf.float32), tf.cast(tables["pair_groups"], tf.float32)) > 0
            read = tf.where(tf.reduce_any(pair, axis=1, keepdims=True), by_pair, tf.gather(tables["as_read"], token))
            kept = tf.logical_and(groups, read)
            by_table = tf.logical_and(groups, tf.gather(tables["members"], token))
            kept = tf.where(tf.reduce_any(kept, axis=1, keepdims=True), kept, by_table)
            return tf.where(here[:, None], kept, groups)

        return {"groups": tf.cond(tf.reduce_any(here), narrowed, lambda: groups)}
