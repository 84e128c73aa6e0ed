"""One decoding pass at a time, and requests that arrive together merged into it: each caller
queues its plan; whoever gets the decoder next runs every queued plan of the same merge key
(up to MAX_MERGED_ROWS poems) in one batched pass and hands each caller exactly its own rows."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .decoder import Decoder
from .params import SEARCH_WIDTH, Sampling
from .plan import MergeKey, Plan

MAX_MERGED_ROWS = 8 * SEARCH_WIDTH  # rows of a pass: eight searched poems (the page's three are 48)


@dataclass(eq=False)  # compared by identity: it holds arrays
class _Waiting:
    plan: Plan
    sampling: Sampling
    key: MergeKey
    start: dict | None = None
    result: tuple | None = None
    error: Exception | None = None


class MergingDecoder:
    def __init__(self, decoder: Decoder):
        self.decoder = decoder
        self.busy = threading.Lock()  # one pass at a time: the two cores are shared anyway
        self.guard = threading.Lock()  # guards `waiting`
        self.waiting: list[_Waiting] = []

    def decode(self, plan: Plan, sampling: Sampling, start: dict | None = None,
               stop_at: int | None = None) -> tuple:
        """(tokens, log-probabilities, state) of positions start["t"] .. stop_at - 1 of a plan."""
        stop_at = stop_at or plan.forced.shape[1]
        me = _Waiting(plan, sampling, self.decoder.merge_key(plan, sampling, start, stop_at), start)
        with self.guard:
            self.waiting.append(me)
        with self.busy:
            if me.result is None and me.error is None:
                self._run(self._take_group(me), stop_at)
        if me.error is not None:
            raise me.error
        return me.result

    def _take_group(self, me: _Waiting) -> list[_Waiting]:
        with self.guard:
            group, rows = [], 0
            for w in list(self.waiting):
                if w.key == me.key and (w is me or rows + w.plan.batch <= MAX_MERGED_ROWS):
                    group.append(w)
                    rows += w.plan.batch
                    self.waiting.remove(w)
            return group

    def _run(self, group: list[_Waiting], stop_at: int) -> None:
        try:
            results = self.decoder.advance_many([(w.plan, w.sampling, w.start) for w in group], stop_at)
        except Exception as e:  # noqa: BLE001 - handed to the caller it belongs to
            for w in group:
                w.error = e
        else:
            for w, result in zip(group, results):
                w.result = result
