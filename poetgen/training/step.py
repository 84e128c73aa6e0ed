"""One optimizer step: the loss (the one cross-entropy of poetgen), the LSTM's gradient
path (fused on a CPU, Keras's cuDNN kernel on a GPU) and the compiled step over
replicas."""

from __future__ import annotations

import os

import tensorflow as tf

from ..errors import PoetgenError
from ..model.loss import token_cross_entropy
from ..model.network import forward
from .data import PAD_ID


def token_loss_sum(targets, logits, compiled: bool = False):
    """Summed cross-entropy over real tokens: the caller divides by the global token count, so
    the mean is exact whichever way a batch is split across replicas or workers."""
    mask = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    cross_entropy = compiled_cross_entropy if compiled else token_cross_entropy
    return tf.reduce_sum(cross_entropy(targets, tf.cast(logits, tf.float32)) * mask)


COMPILED_LOSS_MIN_VOCAB = 2048


# XLA fuses the log-sum-exp and its gradient into a couple of passes over the [tokens, vocabulary]
# logits: half the time of TensorFlow's sparse_softmax_cross_entropy_with_logits at the shipped
# model's size. It compiles once per batch shape (about 0.5 s), which pays only for large logits.
compiled_cross_entropy = tf.function(token_cross_entropy, jit_compile=True)


LSTM_PATHS = {
    "fused": "poetgen's fused LSTM gradient (poetgen/lstm.py), the fast one on a CPU",
    "keras": "Keras's own LSTM layers (cuDNN on a GPU)",
}


def choose_lstm_path(gpus: int | None = None) -> str:
    """Which LSTM gradient trains: Keras's own (cuDNN) where a GPU is visible, else poetgen's
    fused one; $POETGEN_LSTM (fused or keras) overrides."""
    chosen = os.environ.get("POETGEN_LSTM", "")
    if chosen:
        if chosen not in LSTM_PATHS:
            raise PoetgenError(f"POETGEN_LSTM must be one of {', '.join(LSTM_PATHS)}, got {chosen!r}")
        return chosen
    if gpus is None:
        gpus = len(tf.config.list_physical_devices("GPU"))
    return "keras" if gpus else "fused"


def make_train_step(model, optimizer, strategy: tf.distribute.Strategy | None = None, lstm: str = "fused"):
    """One optimizer step, compiled: (inputs, targets, global token count) -> summed loss.
    Under a strategy, inputs and targets are per-replica values. The model's own layers run;
    its LSTMs take `lstm_sequence`'s faster gradient (same values) unless lstm="keras"."""
    strategy = strategy or tf.distribute.get_strategy()
    compiled = model.get_layer("logits").units >= COMPILED_LOSS_MIN_VOCAB

    def replica_step(inputs, targets, total_tokens):
        with tf.GradientTape() as tape:
            logits = forward(model, inputs, training=True, lstm=lstm)
            loss = token_loss_sum(targets, logits, compiled) / total_tokens
        return tape.gradient(loss, model.trainable_variables), loss

    def train_step(inputs, targets, total_tokens):
        grads, loss = strategy.run(replica_step, args=(inputs, targets, total_tokens))
        # Summed across replicas before clipping, so clipping sees the whole batch's gradient
        # exactly as a single device would.
        grads = [strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in grads]
        optimizer.apply(grads, model.trainable_variables)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)

    if strategy is tf.distribute.get_strategy() and not tf.distribute.has_strategy():
        # One device, plain tensors: traced once for every batch shape (batches vary in length,
        # and a pass's last one in rows), not again for each new shape (a second of tracing each);
        # its control flow is TensorFlow's own, so AutoGraph's conversion would only cost time.
        batch = tf.TensorSpec([None, None], tf.int32)
        return tf.function(train_step, input_signature=[batch, batch, tf.TensorSpec([], tf.float32)],
                           autograph=False)
    return tf.function(train_step, reduce_retracing=True)  # per-replica values
