"""Hand-written reverse steps of Keras' LSTM, GRU and SimpleRNN cells.

The gradient horizon's reverse recurrence carries A cotangents (one per
active target) of a step's states back through the cell, for the same B
samples. A generic VJP (pfor over a one-step tape) spends about a third of
its time copying; for Keras' own cells the VJP is a few elementwise
products with per-sample factors saved by the forward step, and one matmul
of all A*B cotangents with the recurrent kernel. No weight gradients.

Each class mirrors its Keras cell's call (inference: no dropout) with the
input projection x K + b taken for all timesteps at once:

  LSTM: z = xk + h R, i f g o = ra(z_i) ra(z_f) a(z_g) ra(z_o),
        c = f c_prev + i g, h = o a(c)
  GRU:  h = z h_prev + (1 - z) a(x_h + r (h_prev R_h + b_h))   (reset_after)
            z h_prev + (1 - z) a(x_h + (r h_prev) R_h)        (reset_after=False)
  SimpleRNN: h = a(xk + h_prev R)

(a: the cell's activation, ra: its recurrent_activation.) A cell whose
activations are not in _DERIVATIVES, a subclass (it may compute otherwise)
or a stack gets None from `reverse_cell`: the caller keeps the generic VJP.
The first horizon call checks the forward against the layer's own output.
"""

import keras
import tensorflow as tf


def _sigmoid_derivative(y):
    return y * (1.0 - y)


def _tanh_derivative(y):
    return 1.0 - tf.square(y)


def _linear_derivative(y):
    return tf.ones_like(y)


def _relu_derivative(y):
    return tf.cast(y > 0, y.dtype)


# Each activation's derivative as a function of its output y = a(z).
_DERIVATIVES = {
    keras.activations.sigmoid: _sigmoid_derivative,
    keras.activations.tanh: _tanh_derivative,
    keras.activations.linear: _linear_derivative,
    keras.activations.relu: _relu_derivative,
}


def reverse_cell(cell, dtype):
    """The hand-written reverse step of `cell`, or None when it has none."""
    kinds = {keras.layers.LSTMCell: _LSTM, keras.layers.GRUCell: _GRU,
             keras.layers.SimpleRNNCell: _SimpleRNN}
    kind = kinds.get(type(cell))  # exact types: a subclass may compute otherwise
    if kind is None:
        return None
    activations = [cell.activation] + ([] if kind is _SimpleRNN else [cell.recurrent_activation])
    if not all(a in _DERIVATIVES for a in activations):
        return None
    return kind(cell, dtype)


class _Cell:
    """Shared plumbing: weights cast to the compute dtype, the input
    projection over all timesteps, and the recurrent matmul of A*B rows."""

    def __init__(self, cell, dtype):
        self.cell = cell
        self.dtype = dtype
        self.units = cell.units
        self.kernel = tf.cast(cell.kernel, dtype)
        self.recurrent = tf.cast(cell.recurrent_kernel, dtype)
        self.recurrent_t = self.transposed(self.recurrent)
        self.act = cell.activation
        self.act_derivative = _DERIVATIVES[cell.activation]

    def input_bias(self):
        return tf.cast(self.cell.bias, self.dtype) if self.cell.use_bias else None

    def project(self, xs):
        """x_t K (+ input bias) for every step: [B, T, in] -> [B, T, n U]."""
        xk = tf.einsum("bti,ig->btg", xs, self.kernel)
        bias = self.input_bias()
        return xk if bias is None else xk + bias

    @staticmethod
    def transposed(matrix):
        """matrix^T, made outside the reverse loop: oneDNN's matmul with
        transpose_b runs at 2/3 of the plain one's speed (1/7 for 16 rows)
        on a CPU, and grappler folds a transpose made next to the matmul
        into transpose_b."""
        return tf.transpose(matrix)

    @staticmethod
    def times(cotangent, matrix):
        """[A, B, n] @ matrix [n, m] -> [A, B, m], as one matmul of A*B rows."""
        shape = tf.shape(cotangent)
        product = tf.matmul(tf.reshape(cotangent, [-1, shape[-1]]), matrix)
        return tf.reshape(product, tf.concat([shape[:-1], tf.shape(matrix)[1:]], 0))


class _LSTM(_Cell):
    n_saved = 6

    def __init__(self, cell, dtype):
        super().__init__(cell, dtype)
        self.rec_act = cell.recurrent_activation
        self.rec_derivative = _DERIVATIVES[cell.recurrent_activation]

    def step(self, xk, states):
        """(h, new states, saved factors) of one forward step for B samples."""
        h_prev, c_prev = states
        z = xk + tf.matmul(h_prev, self.recurrent)
        z_i, z_f, z_g, z_o = tf.split(z, 4, axis=-1)
        i, f, o = self.rec_act(z_i), self.rec_act(z_f), self.rec_act(z_o)
        g = self.act(z_g)
        c = f * c_prev + i * g
        tanh_c = self.act(c)
        h = o * tanh_c
        saved = [
            o * self.act_derivative(tanh_c),  # dc from dh
            g * self.rec_derivative(i), c_prev * self.rec_derivative(f),
            i * self.act_derivative(g), tanh_c * self.rec_derivative(o),
            f,  # dc_prev from dc
        ]
        return h, [h, c], saved

    def backward(self, saved, dh, rest):
        """Cotangents [A, B, U] of (h_prev, c_prev) from those of h (output
        and state) and c."""
        dc_from_dh, f_i, f_f, f_g, f_o, f = saved
        dc = rest[0] + dh * dc_from_dh
        dz = tf.concat([dc * f_i, dc * f_f, dc * f_g, dh * f_o], axis=-1)
        return [self.times(dz, self.recurrent_t), dc * f]


class _GRU(_Cell):
    def __init__(self, cell, dtype):
        super().__init__(cell, dtype)
        self.rec_act = cell.recurrent_activation
        self.rec_derivative = _DERIVATIVES[cell.recurrent_activation]
        self.reset_after = cell.reset_after
        self.n_saved = 4 if self.reset_after else 5
        units = self.units
        if not self.reset_after:
            self.recurrent_zr = self.recurrent[:, :2 * units]
            self.recurrent_h = self.recurrent[:, 2 * units:]
            self.recurrent_zr_t = self.transposed(self.recurrent_zr)
            self.recurrent_h_t = self.transposed(self.recurrent_h)

    def input_bias(self):
        bias = super().input_bias()
        return bias[0] if bias is not None and self.reset_after else bias

    def step(self, xk, states):
        h_prev = states[0]
        x_z, x_r, x_h = tf.split(xk, 3, axis=-1)
        if self.reset_after:
            inner = tf.matmul(h_prev, self.recurrent)
            if self.cell.use_bias:
                inner = inner + tf.cast(self.cell.bias[1], self.dtype)
            rec_z, rec_r, rec_h = tf.split(inner, 3, axis=-1)
        else:
            rec_z, rec_r = tf.split(tf.matmul(h_prev, self.recurrent_zr), 2, axis=-1)
        z, r = self.rec_act(x_z + rec_z), self.rec_act(x_r + rec_r)
        if self.reset_after:
            candidate = self.act(x_h + r * rec_h)
        else:
            candidate = self.act(x_h + tf.matmul(r * h_prev, self.recurrent_h))
        h = z * h_prev + (1.0 - z) * candidate
        f_z = (h_prev - candidate) * self.rec_derivative(z)
        f_h = (1.0 - z) * self.act_derivative(candidate)
        if self.reset_after:
            saved = [z, f_z, f_h * rec_h * self.rec_derivative(r), f_h * r]
        else:
            saved = [z, f_z, f_h, r, h_prev * self.rec_derivative(r)]
        return h, [h], saved

    def backward(self, saved, dh, rest):
        if self.reset_after:
            z, f_z, f_r, f_rec_h = saved
            dz = tf.concat([dh * f_z, dh * f_r, dh * f_rec_h], axis=-1)
            return [dh * z + self.times(dz, self.recurrent_t)]
        z, f_z, f_h, r, f_r = saved
        d_reset_h = self.times(dh * f_h, self.recurrent_h_t)  # of r * h_prev
        dz = tf.concat([dh * f_z, d_reset_h * f_r], axis=-1)
        return [dh * z + d_reset_h * r + self.times(dz, self.recurrent_zr_t)]


class _SimpleRNN(_Cell):
    n_saved = 1

    def step(self, xk, states):
        h = self.act(xk + tf.matmul(states[0], self.recurrent))
        return h, [h], [self.act_derivative(h)]

    def backward(self, saved, dh, rest):
        return [self.times(dh * saved[0], self.recurrent_t)]
