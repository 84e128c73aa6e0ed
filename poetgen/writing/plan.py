"""A plan: what the decoder is asked to write, made by the planners (planning.py,
plan_ci.py) and read by the decoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .rules import Rule


@dataclass
class Plan:
    """forced[b, t] >= 0 forces token t+1 of poem b (position 0 is always <bos>); elsewhere the
    rules, in order, say what may be drawn."""

    forced: np.ndarray  # int32 [B, T]
    rules: tuple[Rule, ...] = ()
    layout: dict | None = None  # (line, position) -> column, for a regulated form

    @property
    def batch(self) -> int:
        return self.forced.shape[0]

    def take(self, rows: np.ndarray) -> Plan:
        """The plan of the poems `rows` (a row may repeat: a search's candidates of one poem)."""
        return Plan(self.forced[rows], tuple(rule.take(rows) for rule in self.rules), self.layout)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


class MergeKey(NamedTuple):
    """Requests with equal keys share one pass: the same compiled loop, positions and sampling;
    only their seeds, rules' data and states differ."""

    rules: tuple[str, ...]
    greedy: bool
    use_top_k: bool
    use_top_p: bool
    length: int
    temperature: float
    top_k: int
    top_p: float
    start: int
    stop: int

    @property
    def loop(self) -> tuple[str, ...]:
        """What selects the compiled loop: the rules alone (the way of drawing is the loop's input)."""
        return self.rules
