"""Drawing the next token from logits inside the compiled loop: top-p and top-k cuts,
and one uniform number per row turned into a token, all in TensorFlow ops."""

from __future__ import annotations

import tensorflow as tf

from .rules import (
    NEG_INF,
)

# ----------------------------------------------------------------------------- filters

def nucleus(sorted_logits, p, log_z=None):
    """The logits (sorted, largest first) with NEG_INF past the smallest head whose probability
    reaches p, and that head's mass. log_z: the row's normalizer, when these are only its top."""
    if log_z is None:
        log_z = tf.reduce_logsumexp(sorted_logits, axis=-1, keepdims=True)
    probs = tf.exp(sorted_logits - log_z)
    before = tf.cumsum(probs, axis=-1, exclusive=True)
    return tf.where(before < p, sorted_logits, NEG_INF), tf.reduce_sum(probs, axis=-1)


def top_p_filter(logits, p, candidates: int = 256):
    """Keep the smallest set of most likely tokens whose probability reaches p.

    Sorting the whole vocabulary at every step is the slow part on a CPU, so the nucleus is
    looked for among the top `candidates` first; only when some row's candidates hold less
    than p of the mass is the whole vocabulary sorted. The result is exact either way."""
    def cut_of(sorted_logits, log_z):
        kept, mass = nucleus(sorted_logits, p, log_z)
        return tf.reduce_min(tf.where(kept > NEG_INF, kept, tf.float32.max), axis=-1, keepdims=True), mass

    log_z = log_normalizer(logits)[:, None]
    top_values = tf.math.top_k(logits, k=min(candidates, int(logits.shape[-1])), sorted=True).values
    cut, mass = cut_of(top_values, log_z)
    cut = tf.cond(tf.reduce_all(mass >= p), lambda: cut,
                  lambda: cut_of(tf.sort(logits, axis=-1, direction="DESCENDING"), log_z)[0])
    return tf.where(logits < cut, NEG_INF, logits)


def sample_top_k(logits, k, u, temperature=1.0, top_p=None):
    """One token per row drawn from softmax(logits / temperature) among its k most likely (and,
    given top_p, from the nucleus of those): the draw runs over k candidates instead of masking
    and summing the whole vocabulary, which was most of a truncated step's cost (1.4x an
    untruncated batch of 64). The temperature keeps the order, so it divides k values only."""
    values, indices = tf.math.top_k(logits, k=k, sorted=True)
    values = values / temperature
    if top_p is not None:
        values, _ = nucleus(values, top_p)
    return tf.gather(indices, sample_rows(values, u), batch_dims=1)


# ----------------------------------------------------------------------------- sampling

def log_normalizer(logits):
    """log sum exp over each row: fewer passes over [B, V] than tf.reduce_logsumexp."""
    top = tf.reduce_max(logits, axis=-1)
    return top + tf.math.log(tf.reduce_sum(tf.exp(logits - top[:, None]), axis=-1))


SAMPLE_BLOCK = 64


def sample_rows(logits, u):
    """One token per row drawn from softmax(logits), by inverting its distribution at u [B]
    in [0, 1): a row's token depends on its logits and its own u only.

    One uniform number per row instead of Gumbel noise over the whole vocabulary (whose random
    numbers and logarithms were most of a step's cost at batch 64), and a two-level search:
    cumulative sums over blocks of SAMPLE_BLOCK tokens, then within the chosen block, since a
    cumulative sum over the whole vocabulary is slow on a CPU."""
    batch, vocab = tf.shape(logits)[0], tf.shape(logits)[1]
    blocks = (vocab + SAMPLE_BLOCK - 1) // SAMPLE_BLOCK
    weights = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    weights = tf.reshape(tf.pad(weights, [[0, 0], [0, blocks * SAMPLE_BLOCK - vocab]]),
                         [batch, blocks, SAMPLE_BLOCK])
    block_cumulative = tf.cumsum(tf.reduce_sum(weights, axis=2), axis=1)
    block = _first_above(block_cumulative, u * block_cumulative[:, -1])
    before = tf.gather(tf.pad(block_cumulative, [[0, 0], [1, 0]]), block, batch_dims=1)
    within = tf.cumsum(tf.gather(weights, block, batch_dims=1), axis=1)
    return block * SAMPLE_BLOCK + _first_above(within, u * block_cumulative[:, -1] - before)


def _first_above(cumulative, target):
    """The first index whose cumulative weight exceeds target: always one of nonzero weight,
    as target is kept below the total whatever rounding did."""
    target = tf.clip_by_value(target, 0.0, tf.math.nextafter(cumulative[:, -1], 0.0))
    return tf.searchsorted(cumulative, target[:, None], side="right")[:, 0]
