"""What a decoding rule is: one constraint over the next-token logits, with its own state.

A rule object carries its per-poem data (numpy, made when a request is planned); its graph side
(`tables`, `specs`, `mask`, `update`) is class-level, so one compiled loop serves every request
with the same kinds of rules. In the manner of Hugging Face's LogitsProcessor list: the decoding
loop applies the plan's rules in turn, each masking what it forbids (NEG_INF), then lets each
update its state with the token chosen.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import tensorflow as tf

from ...model.tokenizer import Tokenizer

NEG_INF = -1e9  # a finite "-inf": keeps softmax arithmetic free of NaN


class ReadTables(NamedTuple):
    """The groups a character rhymes in as the poets rhymed it (verse/readings.py), over the
    model's vocabulary: its own row, and the pairs whose first character tells otherwise."""

    as_read: np.ndarray  # bool [V, 平 groups]
    pair_prev: np.ndarray  # int32 [K]: the character before
    pair_char: np.ndarray  # int32 [K]: the rhyme
    pair_groups: np.ndarray  # bool [K, 平 groups]: the groups that pair is read in

    def after(self, before: int) -> np.ndarray:
        """[V, G]: the groups each character rhymes in after the token `before`."""
        rows = self.as_read.copy()
        here = self.pair_prev == before
        rows[self.pair_char[here]] = self.pair_groups[here]
        return rows


@dataclass(frozen=True)
class Env:
    """What rules may precompute their tables from, once per decoder."""

    tokenizer: Tokenizer
    vocab_size: int
    group_members: np.ndarray  # bool [V, 平水韵 平 groups]
    corpus_lines: np.ndarray | None  # int64 [N, 2]: (hash of a line but its last character, that character)
    ci_members: np.ndarray | None = None  # bool [V, 2, 词林正韵 部]: a character's 平 and 仄 部
    read_tables: ReadTables | None = None  # None: every character read as group_members says

    @property
    def n_groups(self) -> int:
        return self.group_members.shape[1]

    @property
    def reads(self) -> ReadTables:
        if self.read_tables is not None:
            return self.read_tables
        none = np.zeros(0, np.int32)
        return ReadTables(self.group_members, none, none, np.zeros((0, self.n_groups), bool))


class Step(NamedTuple):
    """What a rule sees at one decoding step (graph values)."""

    t: Any  # the column being chosen
    prev: Any  # int32 [B]: the token before it
    counts: Any  # int32 [B, V]: characters written so far (kept only if some rule reads it)
    tables: dict  # the rule's own tables (constant tensors)
    inputs: dict  # the rule's own inputs (per poem, all columns)
    state: dict  # the rule's own state


class Rule:
    """Base of the rules. Subclasses set `name` and override what they use."""

    name: ClassVar[str] = ""
    needs_counts: ClassVar[bool] = False  # reads Step.counts
    per_poem: ClassVar[tuple[str, ...]] = ()  # the attributes holding one row per poem (batch first)

    # -- host side, per request -------------------------------------------------------
    def inputs(self) -> dict[str, np.ndarray]:
        """Per-poem arrays (batch first) the rule reads in the loop."""
        return {}

    def init_state(self, batch: int) -> dict[str, np.ndarray]:
        """The rule's state before the first token."""
        return {}

    def take(self, rows: np.ndarray) -> Rule:
        """The rule for the poems `rows` (repeated as often as named): a search widens one
        poem's plan into its candidates' rows this way."""
        taken = copy.copy(self)
        for name in self.per_poem:
            setattr(taken, name, getattr(self, name)[rows])
        return taken

    @classmethod
    def merge(cls, inputs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Inputs of several requests decoded together: rows stacked."""
        return {k: np.concatenate([i[k] for i in inputs]) for k in inputs[0]}

    # -- graph side, shared by every request -------------------------------------------
    @classmethod
    def tables(cls, env: Env) -> dict[str, tf.Tensor]:
        """Constant tensors over the vocabulary, made once per decoder."""
        return {}

    @classmethod
    def specs(cls, env: Env) -> tuple[dict[str, tf.TensorSpec], dict[str, tf.TensorSpec]]:
        """(inputs, state) signatures of the compiled loop."""
        return {}, {}

    @classmethod
    def mask(cls, logits, step: Step):
        """The logits with what the rule forbids set to NEG_INF."""
        return logits

    @classmethod
    def update(cls, token, step: Step) -> dict:
        """The rule's state after `token` (int32 [B]) was written at step.t."""
        return step.state


def block(logits, blocked):
    """NEG_INF where `blocked` (broadcast to the logits)."""
    return tf.where(blocked, NEG_INF, logits)
