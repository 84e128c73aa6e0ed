"""The theme's pull on the logits: its keyword characters, and more gently their nearest
neighbours in the model's embedding space (characters used in the same contexts)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import tensorflow as tf

from ..model.tokenizer import Tokenizer

NEIGHBOURS = 12
# The pull of a theme on the logits. Measured per model: 3.0 gave the Tang model 95-100% of
# themed poems showing their theme but the three-collection model only 85.5-93%; 4.5 gives it
# 93.5-98.5% for a small loss of variety (benchmarks/README.md, "Constraints").
STRENGTH = 4.5


class ThemeBias:
    def __init__(self, embedding: tf.Tensor, tokenizer: Tokenizer):
        self.embedding, self.tokenizer = embedding, tokenizer

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Every token's nearest characters by cosine in the model's embedding space, and those
        similarities: computed once (about half a second), so that a theme costs a lookup (it
        cost 5 ms of a 50 ms poem computed per request)."""
        emb = self.embedding.numpy()
        unit = tf.constant(emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9))
        unit_t = tf.transpose(unit)
        size = len(self.tokenizer)
        is_char = tf.range(size) >= self.tokenizer.first_char
        k = min(NEIGHBOURS + 1, size)
        indices, values = [], []
        # In TensorFlow, not numpy: OpenBLAS's threads keep spinning after a matmul and would
        # slow the decoding pass that follows by a third (measured).
        for rows in range(0, size, 1024):
            sims = tf.where(is_char[None, :], tf.matmul(unit[rows:rows + 1024], unit_t), -1.0)
            top = tf.math.top_k(sims, k)  # the first is the character itself
            indices.append(top.indices[:, 1:].numpy())
            values.append(top.values[:, 1:].numpy())
        return np.concatenate(indices), np.concatenate(values)

    def __call__(self, keywords: list[str], strength: float = STRENGTH) -> np.ndarray:
        """A logit bias [V]: `strength` on the keyword characters, up to 40% of it on their
        neighbours by similarity."""
        ids = sorted({self.tokenizer.index[ch] for word in keywords for ch in word})
        neighbours, sims = self.neighbours
        bias = np.zeros(len(self.tokenizer), np.float32)
        for i in ids:
            near = neighbours[i]
            bias[near] = np.maximum(bias[near], strength * 0.4 * np.clip(sims[i], 0, 1))
        bias[ids] = strength
        return bias
