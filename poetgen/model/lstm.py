"""The LSTM layer's sequence computation with a hand-written backward pass, for training.

Keras's LSTM runs a generic per-step loop on a CPU (its fused kernel is cuDNN's), and its
automatic gradient does four matmuls per step, two of them weight gradients accumulated step
by step. Fused kernels do the input projection and the weight gradients as large matmuls over
all time steps and keep only h @ U (forward) and dz @ U^T (backward) inside the loop; this
does the same with TensorFlow ops. The arithmetic is Keras's (gates i, f, c, o; sigmoid and
tanh; zero initial state), so a `keras.layers.LSTM`'s weights give its outputs and gradients,
and the model that is saved stays a plain Keras model.
"""

from __future__ import annotations

import tensorflow as tf


def lstm_sequence(x, kernel, recurrent_kernel, bias):
    """x [B, T, D] -> h [B, T, H], as `keras.layers.LSTM(H, return_sequences=True)`."""
    return _lstm_sequence(x, tf.convert_to_tensor(kernel), tf.convert_to_tensor(recurrent_kernel),
                          tf.convert_to_tensor(bias))


@tf.custom_gradient
def _lstm_sequence(x, kernel, recurrent_kernel, bias):
    batch, steps, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    units = tf.shape(recurrent_kernel)[0]
    xs = tf.transpose(x, [1, 0, 2])  # time-major: a step's rows are contiguous
    z_in = tf.reshape(tf.matmul(tf.reshape(xs, [-1, width]), kernel) + bias, [steps, batch, 4 * units])
    zeros = tf.zeros([batch, units], x.dtype)

    def forward(t, h, c, hs, cs, gates):
        z = z_in[t] + tf.matmul(h, recurrent_kernel)
        i, f, g, o = tf.split(z, 4, axis=1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), gates.write(t, tf.concat([i, f, g, o], 1))

    arrays = [tf.TensorArray(x.dtype, size=steps) for _ in range(3)]
    _, _, _, hs, cs, gates = tf.while_loop(lambda t, *_: t < steps, forward, (0, zeros, zeros, *arrays))
    hs, cs, gates = hs.stack(), cs.stack(), gates.stack()  # [T, B, H], [T, B, H], [T, B, 4H]

    def grad(dh_all):
        dhs = tf.transpose(dh_all, [1, 0, 2])
        c_prev = tf.concat([zeros[None], cs[:-1]], axis=0)
        u_t = tf.transpose(recurrent_kernel)

        def backward(t, dh_next, dc_next, dzs):
            i, f, g, o = tf.split(gates[t], 4, axis=1)
            tanh_c = tf.tanh(cs[t])
            dh = dhs[t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            dz = tf.concat([dc * g * i * (1 - i), dc * c_prev[t] * f * (1 - f), dc * i * (1 - g * g),
                            dh * tanh_c * o * (1 - o)], axis=1)
            return t - 1, tf.matmul(dz, u_t), dc * f, dzs.write(t, dz)

        _, _, _, dzs = tf.while_loop(lambda t, *_: t >= 0, backward,
                                     (steps - 1, zeros, zeros, tf.TensorArray(x.dtype, size=steps)))
        dz = tf.reshape(dzs.stack(), [-1, 4 * units])
        # Both weight gradients over every step at once, in one large matmul: the fast kind.
        h_prev = tf.concat([zeros[None], hs[:-1]], axis=0)
        step_inputs = tf.reshape(tf.concat([xs, h_prev], axis=2), [-1, width + units])
        d_weights = tf.matmul(step_inputs, dz, transpose_a=True)
        d_bias = tf.reduce_sum(dz, axis=0)
        dx = tf.reshape(tf.matmul(dz, kernel, transpose_b=True), [steps, batch, width])
        return tf.transpose(dx, [1, 0, 2]), d_weights[:width], d_weights[width:], d_bias

    return tf.transpose(hs, [1, 0, 2]), grad
