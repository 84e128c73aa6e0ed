"""The one cross-entropy of poetgen: training minimises it, evaluation and scoring report it."""

from __future__ import annotations

import tensorflow as tf


def token_cross_entropy(targets, logits):
    """-log softmax(logits)[target] for every token."""
    return tf.reduce_logsumexp(logits, axis=-1) - tf.gather(logits, targets, batch_dims=targets.shape.rank)
