"""Search instead of one sample: each poem asked for is drawn `width` times under every rule, and
the candidate kept is the one the models like best as a whole poem (the forward likelihood, plus
the backward model's where there is one: do the later lines make the earlier ones likely), plus
how much each line owes to the rest of its poem (scoring.line_gains: a generic line, likely
anywhere, owes nothing), less what readers fault (repeated characters, clashing seasons;
penalties.py).

Every candidate is itself a one-sample poem of the same seed at its own place in the batch, so
the poem kept carries that sample's id: rebuilding, 换字 and rewrite need no search again."""

from __future__ import annotations

import numpy as np

from ..model.tokenizer import Tokenizer
from .penalties import faults
from .scoring import Scorer

# Weights chosen by blind readers (benchmarks/README.md, "Panels 6 and 7"): the line gains
# (+0.14 and +0.15 over none), and faults weighed three times as before (+0.15).
LINE_GAIN_WEIGHT = 1.0  # of scoring.line_gains: what the rest of a poem adds to its lines' likelihood
REPEAT_PENALTY = 0.3  # per character repeated, in mean log-probability per character
SEASON_PENALTY = 1.0  # for seasons that clash
ECHO_PENALTY = 0.5  # per phrase (3 characters running) a poem shares with a poem already kept in its request


class Search:
    def __init__(self, scorer: Scorer, tokenizer: Tokenizer):
        self.scorer, self.tokenizer = scorer, tokenizer

    def opening(self, row: np.ndarray) -> tuple[int, ...]:
        """The condition tokens a decoded row opened with (collection, form or tune)."""
        tok = self.tokenizer
        body = [t for t in row if t not in (tok.bos, tok.pad)]
        first = next((k for k, t in enumerate(body) if t >= tok.comma), len(body))
        return tuple(int(t) for t in body[:first])

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        """Each decoded row's score as a whole poem: the models' mean log-probability per
        character (summed over directions) and its lines' gains, less the readers' faults."""
        texts = [self.tokenizer.decode(row) for row in tokens]
        out = np.zeros(len(texts))
        by_opening: dict[tuple[int, ...], list[int]] = {}
        for i, row in enumerate(tokens):
            by_opening.setdefault(self.opening(row), []).append(i)
        for opening, rows in by_opening.items():
            out[rows] = self.scorer.scores([texts[i] for i in rows], list(opening), LINE_GAIN_WEIGHT)
        return out - np.array([self.penalty(text) for text in texts])

    def partial_scores(self, tokens: np.ndarray, logprobs: np.ndarray) -> np.ndarray:
        """Poems written up to a line's end, as the line search ranks them: the forward model's
        mean log-probability per character so far (what decoding measured: no model pass) less
        the readers' faults."""
        is_char = tokens >= self.tokenizer.first_char
        mean = np.where(is_char, logprobs, 0).sum(axis=1) / np.maximum(is_char.sum(axis=1), 1)
        return mean - np.array([self.penalty(self.tokenizer.decode(row)) for row in tokens])

    @staticmethod
    def penalty(text: str) -> float:
        repeated, clash = faults(text)
        return REPEAT_PENALTY * repeated + SEASON_PENALTY * clash

    def best(self, tokens: np.ndarray, width: int) -> list[int]:
        """For each run of `width` rows (one poem's candidates), the row kept: in order, each
        less what it echoes of the poems kept before it (three poems of one request ending
        alike, 不知何处是…, read as one poem thrice)."""
        scores = self.scores(tokens)
        kept: list[int] = []
        phrases: set[str] = set()
        for start in range(0, len(tokens), width):
            rows = range(start, min(start + width, len(tokens)))
            own = {row: _phrases(self.tokenizer.decode(tokens[row])) for row in rows}
            best = max(rows, key=lambda row: scores[row] - ECHO_PENALTY * len(own[row] & phrases))
            kept.append(best)
            phrases |= own[best]
        return kept


def _phrases(text: str, size: int = 3) -> set[str]:
    """Every run of `size` characters within a line."""
    lines = text.replace("。", "，").split("，")
    return {line[k:k + size] for line in lines for k in range(len(line) - size + 1)}
