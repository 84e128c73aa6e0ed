"""Polishing a finished poem, after the iterative polishing of Yan (2016, "i, Poet"): the
characters the models find least likely where they stand (the forward model given what comes
before, plus the backward model given what follows, where there is one) are revisited, and the
change that raises the whole poem's score most (search.py: both models, less the readers'
faults) is made; again, while a change still raises it.

A change keeps every rule the poem was written under: the character is allowed there (its tone,
its rhyme: allowed.py), is not already in the poem, makes no line of the corpus, and leaves the
places the request fixed (start text, acrostic, tail, theme keywords) alone; the poem must
still check 合律 as before. So polishing never breaks a rule and never lowers the score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .allowed import Allowed
from .rules.no_copy import extend_hash, line_hash, sorted_unique
from .search import Search

POLISH_PLACES = 4  # the weakest characters revisited in a round
POLISH_CHOICES = 6  # the characters tried at each: the models' likeliest that keep the rules
POLISH_ROUNDS = 4  # changes at most; polishing stops sooner when no change raises the score
MIN_GAIN = 1e-4  # a rise in score smaller than this is rounding, not a better poem


@dataclass(frozen=True)
class Change:
    line: int  # counted from 0
    position: int  # counted from 0
    before: str
    after: str

    def to_dict(self) -> dict:
        return {"line": self.line, "position": self.position, "from": self.before, "to": self.after}


class Polisher:
    def __init__(self, search: Search, allowed: Allowed, corpus_lines: np.ndarray | None):
        self.search, self.allowed, self.tokenizer = search, allowed, search.tokenizer
        self.scorer = search.scorer
        lines = corpus_lines if corpus_lines is not None and len(corpus_lines) else np.zeros((0, 2), np.int64)
        self.corpus = sorted_unique(extend_hash(lines[:, 0], lines[:, 1]))

    def copied(self, line_ids: np.ndarray) -> bool:
        h = line_hash(line_ids)
        at = np.searchsorted(self.corpus, h)
        return bool(at < len(self.corpus) and self.corpus[at] == h)

    def polish(self, poem, row: np.ndarray, fixed: set[int], tones: str,
               remake: Callable[[np.ndarray], object],
               as_read: bool = False) -> tuple[object, np.ndarray, list[Change]]:
        """(the polished poem, its tokens, the changes in order). `fixed`: the places (indices
        among the poem's characters) not to touch; `remake`: tokens -> Poem, with its check;
        `as_read`: a new rhyme is held to its reading (Allowed)."""
        changes: list[Change] = []
        if int((row >= self.tokenizer.first_char).sum()) != len(places_of(poem)):
            return poem, row, changes  # a free poem cut at its length cap: not its whole text
        score = self.search.scores(row[None])[0]
        for _ in range(POLISH_ROUNDS):
            tries = self.candidates(poem, row, fixed, tones, as_read)
            if not tries:
                break
            scores = self.search.scores(np.stack([new for _, _, new in tries]))
            for k in np.argsort(-scores, kind="stable"):
                if scores[k] < score + MIN_GAIN:
                    break
                place, token, new = tries[k]
                polished = remake(new)
                if polished.report.get("ok", True) >= poem.report.get("ok", True):
                    line, position = places_of(poem)[place]
                    changes.append(Change(line, position, poem.lines[line][position], polished.lines[line][position]))
                    poem, row, score = polished, new, scores[k]
                    break
            else:
                break
        return poem, row, changes

    def candidates(self, poem, row: np.ndarray, fixed: set[int], tones: str,
                   as_read: bool = False) -> list[tuple[int, int, np.ndarray]]:
        """(place, token, the changed row) for the likeliest allowed characters at the weakest
        places that are free to change."""
        tok = self.tokenizer
        cols = np.flatnonzero(row >= tok.first_char)
        logp = self.scorer.next_char_logprobs(tok.decode(row), list(self.search.opening(row)))
        current = row[cols]
        weakness = logp[np.arange(len(cols)), current]
        weakest = [k for k in np.argsort(weakness, kind="stable") if k not in fixed][:POLISH_PLACES]
        places = places_of(poem)
        tries = []
        for k in weakest:
            line, position = places[k]
            allowed = self.allowed(poem, tones, line, position, as_read)
            if as_read and tones != "off":  # a change in place must not misread the rhyme after it
                allowed &= self.allowed.keeps_reading(poem, line, position)
            choice = np.where(allowed, logp[k], -np.inf)
            choice[current] = -np.inf  # nor a character the poem already has
            line_cols = cols[[n for n, (i, _) in enumerate(places) if i == line]]
            for token in np.argsort(-choice, kind="stable")[:POLISH_CHOICES]:
                if not np.isfinite(choice[token]):
                    break
                new = row.copy()
                new[cols[k]] = token
                if not self.copied(new[line_cols]):
                    tries.append((k, int(token), new))
        return tries


def places_of(poem) -> list[tuple[int, int]]:
    """(line, position) of each of the poem's characters, in order."""
    return [(line, position) for line, text in enumerate(poem.lines) for position in range(len(text))]
