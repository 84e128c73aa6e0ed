"""The training fast path: the hand-written LSTM gradient and the compiled loss give what Keras
and TensorFlow's own give, on the same weights."""

import numpy as np
import pytest
import tensorflow as tf

from poetgen.model.lstm import lstm_sequence
from poetgen.model.network import ModelConfig, build_model, forward, keras
from poetgen.training.step import COMPILED_LOSS_MIN_VOCAB, make_train_step, token_loss_sum


def values_and_grads(fn, x, weights, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
        total = tf.reduce_sum(out * upstream)
    return out, tape.gradient(total, [x, *weights])


@pytest.mark.parametrize("compiled", [False, True])
def test_lstm_sequence_matches_keras_lstm_values_and_gradients(compiled):
    keras.utils.set_random_seed(3)
    layer = keras.layers.LSTM(24, return_sequences=True)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((5, 9, 7)), tf.float32)
    layer(x)
    cell = layer.cell
    # Trained weights are not the initial ones: make the bias and gates far from symmetric.
    cell.bias.assign(rng.standard_normal(cell.bias.shape).astype(np.float32))
    weights = [cell.kernel.value, cell.recurrent_kernel.value, cell.bias.value]
    upstream = tf.constant(rng.standard_normal((5, 9, 24)), tf.float32)

    def ours(inputs):
        return lstm_sequence(inputs, cell.kernel, cell.recurrent_kernel, cell.bias)

    run = tf.function(values_and_grads, autograph=False) if compiled else values_and_grads
    expected, expected_grads = values_and_grads(layer, x, weights, upstream)
    got, got_grads = run(ours, x, weights, upstream)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    for a, b in zip(got_grads, expected_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert np.abs(np.asarray(b)).max() > 1e-3  # a real gradient, not zeros on both sides


def test_forward_is_the_model_itself():
    keras.utils.set_random_seed(4)
    model = build_model(ModelConfig(vocab_size=40, embed_dim=8, hidden=16, layers=2, proj_dim=6))
    tokens = np.random.default_rng(1).integers(0, 40, (3, 11)).astype(np.int32)
    np.testing.assert_allclose(forward(model, tokens), model(tokens), atol=1e-5)


@pytest.mark.parametrize("vocab", [37, COMPILED_LOSS_MIN_VOCAB])
def test_loss_matches_tensorflow_cross_entropy_with_padding(vocab):
    rng = np.random.default_rng(vocab)
    logits = tf.constant(rng.standard_normal((4, 6, vocab)) * 3, tf.float32)
    targets = rng.integers(1, vocab, (4, 6)).astype(np.int32)
    targets[:, -2:] = 0  # padding: no loss there
    targets = tf.constant(targets)
    mask = tf.cast(targets != 0, tf.float32)
    for compiled in (False, True):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(logits)
            ours = token_loss_sum(targets, logits, compiled)
            reference = tf.reduce_sum(mask * tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
        np.testing.assert_allclose(ours, reference, rtol=1e-6)
        np.testing.assert_allclose(tape.gradient(ours, logits), tape.gradient(reference, logits), atol=1e-6)


def test_a_train_step_on_the_fast_path_equals_keras_autodiff():
    """One Adam step through forward() + the compiled loss moves the weights exactly as
    Keras's own LSTM and TensorFlow's own loss would."""
    cfg = ModelConfig(vocab_size=COMPILED_LOSS_MIN_VOCAB, embed_dim=8, hidden=16, proj_dim=8, dropout=0.0)
    tokens = np.random.default_rng(2).integers(1, cfg.vocab_size, (4, 13)).astype(np.int32)
    inputs, targets = tf.constant(tokens[:, :-1]), tf.constant(tokens[:, 1:])
    keras.utils.set_random_seed(5)
    fast = build_model(cfg)
    reference = build_model(cfg)
    reference.set_weights(fast.get_weights())
    fast_opt, ref_opt = (keras.optimizers.Adam(1e-2, clipnorm=1.0) for _ in range(2))
    fast_opt.build(fast.trainable_variables)
    ref_opt.build(reference.trainable_variables)
    loss = make_train_step(fast, fast_opt)(inputs, targets, tf.constant(48.0))

    with tf.GradientTape() as tape:
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, reference(inputs, training=True))
        ref_loss = tf.reduce_sum(ce) / 48.0
    ref_opt.apply(tape.gradient(ref_loss, reference.trainable_variables), reference.trainable_variables)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    for a, b in zip(fast.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
