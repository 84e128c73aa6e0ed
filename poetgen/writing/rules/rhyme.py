"""Rhyme: at a rhyme position only a character of a 平水韵 group still open to the poem, and
never one already written in it (重韵). The open groups narrow as rhymes are written; this
file is the one place where they do."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block


class RhymeGroups(Rule):
    """What a rule over the rhyme positions and the groups still open to a poem is given and
    keeps (Rhyme's groups by the table, RhymeReading's by the readings)."""

    per_poem = ("rhyme_at", "groups")

    def __init__(self, rhyme_at: np.ndarray, groups: np.ndarray):
        self.rhyme_at = rhyme_at  # bool [B, T]: the columns that rhyme
        self.groups = groups  # bool [B, G]: the groups a poem may rhyme in before it starts

    def inputs(self):
        return {"rhyme_at": self.rhyme_at}

    def init_state(self, batch: int):
        return {"groups": self.groups}

    @classmethod
    def specs(cls, env):
        return ({"rhyme_at": tf.TensorSpec([None, None], tf.bool)},
                {"groups": tf.TensorSpec([None, env.n_groups], tf.bool)})


class Rhyme(RhymeGroups):
    name = "rhyme"
    needs_counts = True

    @staticmethod
    def narrow(groups: np.ndarray, rhyme_at: np.ndarray, tokens: np.ndarray, members: np.ndarray) -> np.ndarray:
        """The groups still open after `tokens` were written (host side: a rewrite's state)."""
        for t in np.flatnonzero(rhyme_at):
            groups = groups & members[tokens[t]]
        return groups

    @classmethod
    def tables(cls, env):
        return {"group_members": tf.constant(env.group_members, tf.bool),
                "group_members_t": tf.constant(env.group_members.T, tf.float32)}

    @classmethod
    def mask(cls, logits, step: Step):
        here = step.inputs["rhyme_at"][:, step.t]

        def rhymes():
            open_groups = tf.cast(step.state["groups"], tf.float32)
            allowed = tf.matmul(open_groups, step.tables["group_members_t"]) > 0
            allowed = tf.logical_and(allowed, tf.equal(step.counts, 0))
            return block(logits, tf.logical_and(here[:, None], tf.logical_not(allowed)))

        # Most columns rhyme in no poem: the [B, V] work is skipped there.
        return tf.cond(tf.reduce_any(here), rhymes, lambda: logits)

    @classmethod
    def update(cls, token, step: Step):
        here = step.inputs["rhyme_at"][:, step.t]
        groups = step.state["groups"]
        narrowed = tf.logical_and(groups, tf.gather(step.tables["group_members"], token))
        return {"groups": tf.where(here[:, None], narrowed, groups)}
