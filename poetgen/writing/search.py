"""Search instead of one sample: each poem asked for is drawn `width` times under every rule, and
the candidate kept is the one the models like best as a whole poem (the forward likelihood, plus
the backward model's where there is one: do the later lines make the earlier ones likely), plus
how much each line owes to the rest of its poem (scoring.line_gains: a generic line, likely
anywhere, owes nothing), less what readers fault (repeated characters, clashing seasons;
penalties.py).

Every candidate is itself a one-sample poem of the same seed at its own place in the batch, so
the poem kept carries that sample's id: rebuilding, 换字 and rewrite need no search again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.tokenizer import Tokenizer
from .penalties import faults
from .scoring import Scorer

ECHO_PENALTY = 0.5  # per phrase (3 characters running) a poem shares with a poem already kept in its request
SHORTLIST = 8  # candidates a poem whose line gains are measured (the best by the rest of the score)


@dataclass(frozen=True)
class Weights:
    """How a candidate's score is made of its parts."""

    line_gain: float = 0.0  # of scoring.line_gains: what the rest of a poem adds to its lines' likelihood
    weak: float = 0.0  # of the mean of a poem's weakest characters (scoring.weakest), both models summed
    repeat: float = 0.1  # per character repeated, in mean log-probability per character
    season: float = 0.3  # for seasons that clash


# Chosen by blind readers (benchmarks/README.md, "Panels 6 to 10"): the line gains (+0.14 and
# +0.15 over none), faults weighed three times as before (+0.15), the weakest places (+0.19, +0.06).
READERS = Weights(line_gain=1.0, weak=0.25, repeat=0.3, season=1.0)
# The line search and polishing score as they did when their ids were first made: such an id is
# rebuilt by searching (or polishing) again, so its score may never change.
REBUILT = Weights()


class Search:
    def __init__(self, scorer: Scorer, tokenizer: Tokenizer, weights: Weights = READERS):
        self.scorer, self.tokenizer, self.weights = scorer, tokenizer, weights

    def opening(self, row: np.ndarray) -> tuple[int, ...]:
        """The condition tokens a decoded row opened with (collection, form or tune)."""
        tok = self.tokenizer
        body = [t for t in row if t not in (tok.bos, tok.pad)]
        first = next((k for k, t in enumerate(body) if t >= tok.comma), len(body))
        return tuple(int(t) for t in body[:first])

    def scores(self, tokens: np.ndarray, width: int | None = None) -> np.ndarray:
        """Each decoded row's score as a whole poem: the models' mean log-probability per
        character (summed over directions) with its weakest places, and its lines' gains, less
        the readers' faults. With `width` (rows per poem), only each poem's SHORTLIST best by the
        rest of the score have their gains measured, and the others score -inf: the lines read
        alone are most of the scoring's work."""
        texts = [self.tokenizer.decode(row) for row in tokens]
        out = -np.array([self.penalty(text) for text in texts])
        by_opening: dict[tuple[int, ...], list[int]] = {}
        for i, row in enumerate(tokens):
            by_opening.setdefault(self.opening(row), []).append(i)
        in_poem = {}
        for opening, rows in by_opening.items():
            in_poem[opening] = self.scorer.char_logprobs([texts[i] for i in rows], list(opening))
            out[rows] += self.scorer.likelihood(in_poem[opening], self.weights.weak)
        if not self.weights.line_gain:
            return out
        measured = _shortlist(out, width) if width else np.ones(len(texts), bool)
        for opening, rows in by_opening.items():
            picked = [k for k, row in enumerate(rows) if measured[row]]
            if picked:
                gains = self.scorer.line_gains([texts[rows[k]] for k in picked], list(opening),
                                               [lp[picked] for lp in in_poem[opening]])
                out[[rows[k] for k in picked]] += self.weights.line_gain * gains
        return np.where(measured, out, -np.inf)

    def partial_scores(self, tokens: np.ndarray, logprobs: np.ndarray) -> np.ndarray:
        """Poems written up to a line's end, as the line search ranks them: the forward model's
        mean log-probability per character so far (what decoding measured: no model pass) less
        the readers' faults."""
        is_char = tokens >= self.tokenizer.first_char
        mean = np.where(is_char, logprobs, 0).sum(axis=1) / np.maximum(is_char.sum(axis=1), 1)
        return mean - np.array([self.penalty(self.tokenizer.decode(row)) for row in tokens])

    def penalty(self, text: str) -> float:
        repeated, clash = faults(text)
        return self.weights.repeat * repeated + self.weights.season * clash

    def best(self, tokens: np.ndarray, width: int) -> list[int]:
        """For each run of `width` rows (one poem's candidates), the row kept: in order, each
        less what it echoes of the poems kept before it (three poems of one request ending
        alike, 不知何处是…, read as one poem thrice)."""
        scores = self.scores(tokens, width)
        kept: list[int] = []
        phrases: set[str] = set()
        for start in range(0, len(tokens), width):
            rows = range(start, min(start + width, len(tokens)))
            own = {row: _phrases(self.tokenizer.decode(tokens[row])) for row in rows}
            best = max(rows, key=lambda row: scores[row] - ECHO_PENALTY * len(own[row] & phrases))
            kept.append(best)
            phrases |= own[best]
        return kept


def _shortlist(scores: np.ndarray, width: int) -> np.ndarray:
    """Of each run of `width` rows, the SHORTLIST best-scored."""
    chosen = np.zeros(len(scores), bool)
    for start in range(0, len(scores), width):
        order = np.argsort(-scores[start:start + width], kind="stable")
        chosen[start + order[:SHORTLIST]] = True
    return chosen


def _phrases(text: str, size: int = 3) -> set[str]:
    """Every run of `size` characters within a line."""
    lines = text.replace("。", "，").split("，")
    return {line[k:k + size] for line in lines for k in range(len(line) - size + 1)}
