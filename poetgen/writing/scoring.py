"""What the models say of whole poems: the mean log-probability per character of texts under
the forward model and, when one is at hand, the backward model (which reads each poem from
its end: do the later lines make the earlier ones likely). Search, polishing and repair rank
by it. One batched pass per call, no compiled decoding loop."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..model.evaluate import pad_batch
from ..model.tokenizer import Tokenizer

MARKS = "，。"
WEAKEST = 3  # characters: a poem's weakest places, by both models (what a reader stumbles on)


@dataclass
class Direction:
    model: object
    reverse: bool

    def __post_init__(self):
        # One compiled graph for every batch shape (an eager Keras LSTM steps in Python, and a
        # graph traced per shape would make each new poem length wait for a trace).
        self.log_probs = tf.function(lambda ids: tf.nn.log_softmax(tf.cast(self.model(ids, training=False),
                                                                            tf.float32)),
                                     input_signature=[tf.TensorSpec([None, None], tf.int32)])
        # Only the next tokens' log-probabilities leave the graph: the whole [B, T, V] array
        # was most of a polishing round's time in copies alone.
        ids = tf.TensorSpec([None, None], tf.int32)
        self.picked = tf.function(lambda ids, targets: tf.gather(self.log_probs(ids), targets, batch_dims=2),
                                  input_signature=[ids, ids])


def weakest(logprobs: np.ndarray, count: int = WEAKEST) -> np.ndarray:
    """Per row, the mean of its `count` lowest values (NaN past a text's end sorts last: a text
    shorter than `count` is the mean of what it has)."""
    return np.nanmean(np.sort(logprobs, axis=1)[:, :count], axis=1)


class Scorer:
    def __init__(self, tokenizer: Tokenizer, forward, backward=None):
        self.tokenizer = tokenizer
        self.directions = [Direction(forward, False)] + ([Direction(backward, True)] if backward is not None else [])

    def _ids(self, texts: list[str], opening: list[int], reverse: bool) -> np.ndarray:
        return pad_batch([np.asarray(self.tokenizer.encode(t, opening=opening, reverse=reverse), np.int32)
                          for t in texts], self.tokenizer.pad)

    @staticmethod
    def _places(text: str, opening: list[int], reverse: bool) -> np.ndarray:
        """Where each character of `text` (not its marks) is predicted, in the shifted targets; a
        character the vocabulary lacks is a place too (its <unk> is scored)."""
        read = text[::-1] if reverse else text
        at = np.array([len(opening) + i for i, ch in enumerate(read) if ch not in MARKS], int)
        return at[::-1] if reverse else at  # in reading order

    def char_logprobs(self, texts: list[str], opening: list[int]) -> list[np.ndarray]:
        """Per direction, [len(texts), max chars] log-probabilities of each text's characters in
        reading order (NaN past a text's end); marks and specials count for nothing."""
        out = []
        for d in self.directions:
            batch = self._ids(texts, opening, d.reverse)
            picked = d.picked(tf.constant(batch[:, :-1], tf.int32), tf.constant(batch[:, 1:], tf.int32)).numpy()
            rows = [row[self._places(text, opening, d.reverse)] for text, row in zip(texts, picked)]
            width = max(len(r) for r in rows)
            out.append(np.array([np.pad(r, (0, width - len(r)), constant_values=np.nan) for r in rows]))
        return out

    def scores(self, texts: list[str], opening: list[int]) -> np.ndarray:
        """Each text's mean log-probability per character, summed over the directions."""
        return self.likelihood(self.char_logprobs(texts, opening))

    @staticmethod
    def likelihood(in_poem: list[np.ndarray], weak_weight: float = 0.0) -> np.ndarray:
        """char_logprobs' arrays -> each text's mean log-probability per character summed over
        the directions, plus `weak_weight` × the mean of its weakest characters (both summed)."""
        total = sum(np.nanmean(lp, axis=1) for lp in in_poem)
        return total + weak_weight * weakest(sum(in_poem)) if weak_weight else total

    def line_gains(self, texts: list[str], opening: list[int], in_poem: list[np.ndarray] | None = None) -> np.ndarray:
        """How much the rest of each poem makes its lines likely: per character, summed over the
        directions, the log-probability of each line read in its poem less that of the same line
        read alone (pointwise mutual information of a line and its context). A generic line is
        likely anywhere and gains little; a line that answers the others gains."""
        pieces = [re.findall(f"[^{MARKS}]+[{MARKS}]?", text) for text in texts]
        alone = [piece for lines in pieces for piece in lines]
        in_poem = in_poem if in_poem is not None else self.char_logprobs(texts, opening)
        by_itself = self.char_logprobs(alone, opening)
        gains = np.zeros(len(texts))
        for in_dir, alone_dir in zip(in_poem, by_itself):
            line_sums = np.nansum(alone_dir, axis=1)
            start = 0
            for i, lines in enumerate(pieces):
                chars = int(np.sum(~np.isnan(in_dir[i])))
                gains[i] += (np.nansum(in_dir[i]) - line_sums[start:start + len(lines)].sum()) / max(chars, 1)
                start += len(lines)
        return gains

    def next_char_logprobs(self, text: str, opening: list[int]) -> np.ndarray:
        """[characters of text, vocabulary]: the forward model's log-probabilities of every token
        at each character's place given what precedes it, plus the backward model's given what
        follows it (where there is one). Marks are not places."""
        total = None
        for d in self.directions:
            batch = self._ids([text], opening, d.reverse)
            logp = d.log_probs(tf.constant(batch[:, :-1], tf.int32)).numpy()[0]
            places = logp[self._places(text, opening, d.reverse)]
            total = places if total is None else total + places
        return total
