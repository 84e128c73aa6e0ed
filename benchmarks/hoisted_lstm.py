"""Experiment: does hoisting the LSTM's input projection out of the recurrence (one matmul for
all time steps, only h @ recurrent_kernel inside tf.scan) speed up training on this CPU?

    python -m benchmarks.hoisted_lstm [--rounds 2]

Prints tokens/s of poetgen's train step with Keras's LSTM and with the hoisted layer,
alternating, on the shipped model's shapes (batch 64 x 64 tokens, oneDNN on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from poetgen.train import make_train_step  # noqa: E402

V, E, H, P, B, T = 6738, 256, 512, 256, 64, 64


class HoistedLSTM(keras.layers.Layer):
    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, shape):
        gates = 4 * self.units
        self.kernel = self.add_weight((shape[-1], gates), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight((self.units, gates), initializer="orthogonal", name="recurrent")
        self.bias = self.add_weight((gates,), initializer="zeros", name="bias")

    def call(self, x):
        projected = tf.einsum("bte,eg->tbg", x, self.kernel) + self.bias  # every step at once

        def step(carry, z):
            h, c = carry
            i, f, g, o = tf.split(z + tf.matmul(h, self.recurrent_kernel), 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            return tf.sigmoid(o) * tf.tanh(c), c

        zeros = tf.zeros([tf.shape(x)[0], self.units])
        hs, _ = tf.scan(step, projected, initializer=(zeros, zeros))
        return tf.transpose(hs, [1, 0, 2])


def tokens_per_s(hoisted: bool, data) -> float:
    keras.utils.set_random_seed(1)
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(V, E)(tokens)
    x = HoistedLSTM(H)(x) if hoisted else keras.layers.LSTM(H, return_sequences=True)(x)
    model = keras.Model(tokens, keras.layers.Dense(V)(keras.layers.Dense(P)(x)))
    optimizer = keras.optimizers.Adam(2e-3, clipnorm=1.0)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer)
    count = tf.constant(float(B * T))
    times = []
    for i, batch in enumerate(data):
        start = time.perf_counter()
        float(step(tf.constant(batch[:, :-1]), tf.constant(batch[:, 1:]), count))
        if i >= 3:  # after tracing and warm-up
            times.append(time.perf_counter() - start)
    return B * T / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = [rng.integers(4, V, size=(B, T + 1)).astype(np.int32) for _ in range(25)]
    for _ in range(args.rounds):
        for hoisted in (False, True):
            name = "hoisted" if hoisted else "keras LSTM"
            print(f"{name:12} {tokens_per_s(hoisted, data):7.0f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
