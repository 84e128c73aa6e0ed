"""Line-by-line search: each poem is written a line at a time as a small beam. At every line's
end the `width` candidate rows of a poem are ranked by the forward model's own mean
log-probability per character so far, less what readers fault (search.partial_scores); the
best `beam` distinct ones survive and are copied into the poem's rows, which then draw the next
line each with their own random numbers. The last line's candidates go to the whole-poem score
of both models (Search.best), as the best-of-several search does.

A form without fixed line ends (free verse) has one stop, its end: there the search is the
best of `width` whole poems. Decoding in chunks gives the tokens of one pass (decoder.py), and
the rows' random numbers depend on (seed, step, row), so a poem is the same whenever its seed,
its place and the poems before it are: an id rebuilds it by searching again."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .decoder import select_rows
from .merging import MergingDecoder
from .params import LINE_BEAM, LINE_WIDTH, Sampling
from .plan import Plan
from .search import Search


def line_stops(plan: Plan) -> list[int]:
    """The columns at which each line but the last has its end mark written, then the plan's
    end (the last line's candidates go to the whole-poem score)."""
    length = plan.forced.shape[1]
    if not plan.layout:
        return [length]
    ends = sorted(col + 2 for (line, position), col in plan.layout.items() if (line, position + 1) not in plan.layout)
    return [stop for stop in ends[:-1] if stop < length] + [length]


class LineSearch:
    def __init__(self, merging: MergingDecoder, search: Search, width: int = LINE_WIDTH, beam: int = LINE_BEAM):
        self.merging, self.search, self.width, self.beam = merging, search, width, beam

    def rows(self, plan: Plan, sampling: Sampling, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(tokens, log-probabilities) of the `count * width` rows after each line's end; the
        last yield holds the finished candidates, poem p's in rows p * width .. (p + 1) * width."""
        wide = plan.take(np.repeat(np.arange(count), self.width))
        tokens = np.zeros((wide.batch, 0), np.int32)
        logprobs = np.zeros((wide.batch, 0), np.float32)
        state = None
        stops = line_stops(plan)
        for stop in stops:
            piece, piece_lp, state = self.merging.decode(wide, sampling, state, stop)
            tokens, logprobs = np.concatenate([tokens, piece], 1), np.concatenate([logprobs, piece_lp], 1)
            if stop == stops[-1] or state["done"].all():
                break
            keep = self.survivors(tokens, logprobs)
            tokens, logprobs, state = tokens[keep], logprobs[keep], select_rows(state, keep)
            yield tokens, logprobs
        length = plan.forced.shape[1]
        pad = length - tokens.shape[1]
        yield (np.pad(tokens, ((0, 0), (0, pad)), constant_values=self.search.tokenizer.pad),
               np.pad(logprobs, ((0, 0), (0, pad))))

    def survivors(self, tokens: np.ndarray, logprobs: np.ndarray) -> np.ndarray:
        """For every row, the row it continues from: each poem's best `beam` distinct partial
        poems, copied in turn over its `width` rows."""
        scores = self.search.partial_scores(tokens, logprobs)
        keep = []
        for start in range(0, len(tokens), self.width):
            rows = sorted(range(start, start + self.width), key=lambda row: (-scores[row], row))
            chosen, seen = [], set()
            for row in rows:
                if tokens[row].tobytes() not in seen and len(chosen) < self.beam:
                    chosen.append(row)
                    seen.add(tokens[row].tobytes())
            keep += [chosen[k % len(chosen)] for k in range(self.width)]
        return np.array(keep)
