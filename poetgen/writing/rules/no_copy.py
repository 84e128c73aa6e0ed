"""No line copied verbatim from the corpus: at a line's last character, block every character
that would complete a corpus line; in free form, block the line mark after one.

Completions are looked up by the hash of the line so far (one binary search per poem) in the
corpus lines sorted by the hash of all but their last character."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Rule, Step, block

HASH_BASE, HASH_MOD = 1_000_003, 2_147_483_647
TOKEN_SPAN = 1 << 20  # above any vocabulary size: (hash, token) packed as hash * TOKEN_SPAN + token


def extend_hash(h, token):
    """Polynomial hash of a line, one token more. Same arithmetic in numpy and TF (int64)."""
    return (h * HASH_BASE + token + 1) % HASH_MOD


def line_hash(ids) -> int:
    h = 0
    for t in ids:
        h = (h * HASH_BASE + int(t) + 1) % HASH_MOD
    return h


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique of a 1-D array by sorting: np.unique itself took 4 s for 2.7 million int64 here."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def corpus_tables(lines: np.ndarray | None) -> dict:
    """lines: int64 [N, 2] of (hash of a corpus line but its last character, that character)."""
    if lines is None or len(lines) == 0:
        lines = np.array([[-1, 0]], np.int64)
    if not (np.diff(lines[:, 0]) >= 0).all():  # corpus_lines gives them sorted already
        lines = lines[np.argsort(lines[:, 0], kind="stable")]
    return {
        "corpus_prefix": tf.constant(lines[:, 0].astype(np.int64)),
        "corpus_last": tf.constant(lines[:, 1].astype(np.int32)),
        "corpus_lines": tf.constant(sorted_unique(extend_hash(lines[:, 0], lines[:, 1])).astype(np.int64)),
    }


class NoCopy(Rule):
    name = "no_copy"
    per_poem = ("line_end",)

    def __init__(self, line_end: np.ndarray):
        self.line_end = line_end  # bool [B, T]: the last character of a regulated line

    def inputs(self):
        return {"line_end": self.line_end}

    def init_state(self, batch: int):
        return {"line_hash": np.zeros(batch, np.int64), "line_len": np.zeros(batch, np.int32)}

    @classmethod
    def tables(cls, env):
        is_char = np.arange(env.vocab_size) >= env.tokenizer.first_char
        line_mark = np.zeros(env.vocab_size, bool)
        line_mark[[env.tokenizer.comma, env.tokenizer.period]] = True
        return {**corpus_tables(env.corpus_lines), "is_char": tf.constant(is_char),
                "is_line_mark": tf.constant(line_mark)}

    @classmethod
    def specs(cls, env):
        return ({"line_end": tf.TensorSpec([None, None], tf.bool)},
                {"line_hash": tf.TensorSpec([None], tf.int64), "line_len": tf.TensorSpec([None], tf.int32)})

    @classmethod
    def mask(cls, logits, step: Step):
        tables, h = step.tables, step.state["line_hash"]
        full, prefix, last = tables["corpus_lines"], tables["corpus_prefix"], tables["corpus_last"]
        line_end = step.inputs["line_end"][:, step.t]

        def block_completions():
            lo = tf.searchsorted(prefix, h, side="left")
            hi = tf.where(line_end, tf.searchsorted(prefix, h, side="right"), lo)
            rows = tf.repeat(tf.range(tf.shape(h)[0]), hi - lo)
            tokens = tf.gather(last, tf.ragged.range(lo, hi).flat_values)
            hits = tf.scatter_nd(tf.stack([rows, tokens], axis=1), tf.ones_like(tokens), tf.shape(logits))
            return block(logits, hits > 0)

        logits = tf.cond(tf.reduce_any(line_end), block_completions, lambda: logits)
        pos = tf.minimum(tf.searchsorted(full, h), tf.size(full) - 1)
        copied = tf.logical_and(tf.equal(tf.gather(full, pos), h), step.state["line_len"] > 0)
        # Rarely any poem has just written a whole corpus line: the [B, V] mask is skipped else.
        return tf.cond(tf.reduce_any(copied),
                       lambda: block(logits, tf.logical_and(copied[:, None], tables["is_line_mark"][None, :])),
                       lambda: logits)

    @classmethod
    def update(cls, token, step: Step):
        is_char = tf.gather(step.tables["is_char"], token)
        return {"line_hash": tf.where(is_char, extend_hash(step.state["line_hash"], tf.cast(token, tf.int64)), 0),
                "line_len": tf.where(is_char, step.state["line_len"] + 1, 0)}


def corpus_lines(texts: list[str], tokenizer) -> np.ndarray | None:
    """Every corpus line as (hash of all but its last character, that character), as the rule
    looks them up (None without texts). Vectorized over code points: this runs at every start-up."""
    if not texts:
        return None
    points = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32)
    # Token id by code point (-1: a mark, or a character unknown): one gather for 20 million
    # characters, where a binary search took seconds.
    chars = tokenizer.tokens[tokenizer.first_char:]
    id_of = np.full(max(int(points.max()), *(ord(c) for c in chars)) + 1, -1, np.int64)
    id_of[[ord(c) for c in chars]] = [tokenizer.index[c] for c in chars]
    ids = id_of[points]
    marks = np.flatnonzero((points == ord("，")) | (points == ord("。")))
    starts = np.concatenate([[0], marks[:-1] + 1])
    lengths = marks - starts
    hashes = []
    for length in np.unique(lengths[lengths > 0]):
        rows = ids[starts[lengths == length][:, None] + np.arange(length)]
        rows = rows[(rows >= 0).all(axis=1)]  # the sampler never writes <unk>: such lines cannot recur
        h = np.zeros(len(rows), np.int64)
        for column in rows[:, :-1].T:
            h = extend_hash(h, column)
        hashes.append(h * TOKEN_SPAN + rows[:, -1])
    # Deduplicated and sorted as one int64 key (hash, then token): np.unique over rows
    # (axis=0) took seconds for the 2.7 million lines of the corpus.
    keys = sorted_unique(np.concatenate(hashes))
    return np.stack([keys // TOKEN_SPAN, keys % TOKEN_SPAN], axis=1)
