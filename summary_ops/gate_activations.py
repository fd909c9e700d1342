"""Gate activations and the cell state per timestep, recomputed from a cell's weights.

Keras' LSTM and GRU cells hand back only h_t (and the LSTM's c_t as a
state): the gates never leave the cell. This module reruns each cell step
by step on the layer's own inputs, computing the gates from the cell's
current weights with the same formulas as Keras' cells (inference: no
dropout), inside keras.layers.RNN so that masking and go_backwards behave
as in the layer. It returns h_t as well, so callers (and tests) can check
that the recomputation reproduces the layer.

  LSTM: z = x W + h_{t-1} U + b split into four blocks;
        i = sigma(z_i), f = sigma(z_f), candidate = tanh(z_c), o = sigma(z_o),
        c_t = f c_{t-1} + i candidate, h_t = o tanh(c_t).
  GRU:  z (update), r (reset), candidate; h_t = z h_{t-1} + (1 - z) candidate
        (reset_after=True: r multiplies h_{t-1} U_h + b_h; False: r
        multiplies h_{t-1} before U_h).
(sigma and tanh stand for the cell's recurrent_activation and activation.)

SimpleRNN has no gates; ConvLSTM and users' own cells are not recomputed
(`UnsupportedCellError` says so).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tb_rnn_plugin import kinds
from tb_rnn_plugin.summary_ops.probe import quiet_first_trace

LSTM_GATES = kinds.LSTM.activation_gates
GRU_GATES = kinds.GRU.activation_gates


# The gate that keeps the old state: its mean sets the memory timescale.
KEEP_GATE = {cell.name: cell.memory_gate for cell in (kinds.LSTM, kinds.GRU)}


def memory_timescales(keep_gate, mask=None):
    """T_u = -1 / ln(mean g_u) per unit, over samples and real timesteps.

    keep_gate: [B, T, units] activations of the gate that keeps the old
    state (KEEP_GATE); mask: [B, T] bool or None. A gate that stays at 1
    gives +inf (remembers forever), at 0 gives 0. Units with no real
    timestep give NaN.
    """
    values = np.asarray(keep_gate, np.float64)
    weights = np.ones(values.shape[:2]) if mask is None else np.asarray(mask, np.float64)
    total = weights.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.einsum("bt,btu->u", weights, values) / total
        # ln(1) is +0: -1/+0 would read -inf for a gate that never forgets.
        return np.where(mean >= 1.0, np.inf, -1.0 / np.log(mean))


class UnsupportedCellError(ValueError):
    """The cell's gates cannot be recomputed; the message says why."""


def _gate_names(cell):
    # Exact types, not subclasses: a subclass may compute its gates otherwise.
    if type(cell) is keras.layers.LSTMCell:
        return LSTM_GATES
    if type(cell) is keras.layers.GRUCell:
        return GRU_GATES
    raise UnsupportedCellError(
        "gate activations are recomputed for Keras' own LSTM and GRU cells; "
        "this is a %s" % type(cell).__name__
    )


def _leaves(cell):
    if isinstance(cell, keras.layers.StackedRNNCells):
        return [leaf for sub in cell.cells for leaf in _leaves(sub)]
    return [cell]


def _lstm_step(cell, x, states):
    h_tm1, c_tm1 = states[0], states[1]
    z = ops.matmul(x, cell.kernel) + ops.matmul(h_tm1, cell.recurrent_kernel)
    if cell.use_bias:
        z = z + cell.bias
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    i = cell.recurrent_activation(z_i)
    f = cell.recurrent_activation(z_f)
    candidate = cell.activation(z_c)
    o = cell.recurrent_activation(z_o)
    c = f * c_tm1 + i * candidate
    h = o * cell.activation(c)
    return [i, f, candidate, o], c, h, [h, c]


def _gru_step(cell, x, states):
    h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
    units = cell.units
    input_bias = recurrent_bias = None
    if cell.use_bias:
        if cell.reset_after:
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
        else:
            input_bias = cell.bias
    matrix_x = ops.matmul(x, cell.kernel)
    if input_bias is not None:
        matrix_x = matrix_x + input_bias
    x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
    if cell.reset_after:
        matrix_inner = ops.matmul(h_tm1, cell.recurrent_kernel)
        if recurrent_bias is not None:
            matrix_inner = matrix_inner + recurrent_bias
        rec_z, rec_r, rec_h = ops.split(matrix_inner, 3, axis=-1)
    else:
        rec_z, rec_r = ops.split(ops.matmul(h_tm1, cell.recurrent_kernel[:, : 2 * units]), 2, axis=-1)
    z = cell.recurrent_activation(x_z + rec_z)
    r = cell.recurrent_activation(x_r + rec_r)
    if cell.reset_after:
        rec_h = r * rec_h
    else:
        rec_h = ops.matmul(r * h_tm1, cell.recurrent_kernel[:, 2 * units :])
    candidate = cell.activation(x_h + rec_h)
    h = z * h_tm1 + (1 - z) * candidate
    return [z, r, candidate], None, h, [h]


def _step(cell, x, states):
    """(gates, cell state or None, h, new states) of one cell at one timestep."""
    if type(cell) is keras.layers.LSTMCell:
        return _lstm_step(cell, x, states)
    return _gru_step(cell, x, states)


class _GateRecordingCell(keras.layers.Layer):
    """A cell (or stack) that outputs, per leaf cell, its gates, cell state
    (LSTM) and h, all [batch, units], concatenated in that order."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.leaves = _leaves(cell)
        for leaf in self.leaves:
            _gate_names(leaf)
        self.state_size = cell.state_size
        self.output_size = sum(self.record_width(leaf) for leaf in self.leaves)

    @staticmethod
    def record_width(leaf):
        blocks = len(_gate_names(leaf)) + (2 if type(leaf) is keras.layers.LSTMCell else 1)
        return blocks * leaf.units

    def build(self, input_shape):
        self.built = True  # the wrapped cell is built: its layer ran

    def get_initial_state(self, batch_size=None):
        return self.cell.get_initial_state(batch_size=batch_size)

    def call(self, inputs, states, training=False):
        records = []
        if isinstance(self.cell, keras.layers.StackedRNNCells):
            x, new_states = inputs, []
            for sub, sub_states in zip(self.cell.cells, states):
                nested = isinstance(sub_states, (list, tuple))
                gates, c, x, sub_new = _step(sub, x, list(sub_states) if nested else [sub_states])
                records.extend(gates + ([c] if c is not None else []) + [x])
                new_states.append(sub_new if nested or len(sub_new) > 1 else sub_new[0])
            return ops.concatenate(records, axis=-1), new_states
        gates, c, h, new_states = _step(self.cell, inputs, states)
        records.extend(gates + ([c] if c is not None else []) + [h])
        return ops.concatenate(records, axis=-1), new_states


def _directions(layer):
    if isinstance(layer, keras.layers.Bidirectional):
        return [(layer.forward_layer, "forward"), (layer.backward_layer, "backward")]
    if isinstance(layer, keras.layers.RNN):
        return [(layer, None)]
    raise UnsupportedCellError("it is not a keras.layers.RNN or Bidirectional")


def check_supported(layer):
    """Raises UnsupportedCellError unless every cell of `layer` can be recomputed."""
    for sub, _ in _directions(layer):
        for leaf in _leaves(sub.cell):
            _gate_names(leaf)


class GateRecorder:
    """Recomputes a layer's gates; built once per layer (its RNNs and a
    traced function), then called at each logging step.

    Raises:
      UnsupportedCellError: a cell is not Keras' own LSTMCell or GRUCell.
    """

    def __init__(self, layer):
        check_supported(layer)
        self.layer = layer
        self._directions = []
        for sub, direction in _directions(layer):
            recording = _GateRecordingCell(sub.cell, dtype=sub.dtype_policy)
            rnn = keras.layers.RNN(
                recording, return_sequences=True, go_backwards=sub.go_backwards,
                dtype=sub.dtype_policy,
            )
            self._directions.append((sub, direction, recording, rnn))
        self._sequences = tf.function(self._sequences_eager, reduce_retracing=True, autograph=False)

    def _sequences_eager(self, inputs, mask, initial_states):
        sequences = []
        for (sub, _, _, rnn), initial_state in zip(self._directions, initial_states):
            sequence = rnn(inputs, initial_state=initial_state, mask=mask, training=False)
            sequences.append(ops.flip(sequence, axis=1) if sub.go_backwards else sequence)
        return sequences

    def __call__(self, inputs, mask=None, initial_states=None):
        """See gate_activations; initial_states: per direction, its initial
        state (a list of arrays) or None for zeros."""
        inputs = tf.convert_to_tensor(inputs, dtype=self.layer.compute_dtype)
        if mask is not None:
            mask = tf.convert_to_tensor(mask, dtype=tf.bool)
        if initial_states is None:
            initial_states = [None] * len(self._directions)
        # One trace per layer (and per initial-state structure): with several
        # layers TensorFlow would warn of frequent retracing into the
        # user's training log.
        with quiet_first_trace():
            sequences = self._sequences(inputs, mask, list(initial_states))
        results = []
        for (sub, direction, recording, _), sequence in zip(self._directions, sequences):
            results.extend(_split_record(np.asarray(sequence), recording, direction))
        return results


def _split_record(sequence, recording, direction):
    """One direction's concatenated record -> a dict per leaf cell."""
    stacked = isinstance(recording.cell, keras.layers.StackedRNNCells)
    results = []
    offset = 0
    for index, leaf in enumerate(recording.leaves):
        units = leaf.units

        def take():
            nonlocal offset
            block = sequence[..., offset : offset + units]
            offset += units
            return block

        names = _gate_names(leaf)
        gates = {name: take() for name in names}
        cell_state = take() if type(leaf) is keras.layers.LSTMCell else None
        results.append({
            "direction": direction,
            "cell": "LSTM" if names is LSTM_GATES else "GRU",
            "cell_index": index if stacked else None,
            "gates": gates,
            "cell_state": cell_state,
            "h": take(),
        })
    return results


def gate_activations(layer, inputs, mask=None):
    """Recomputes the gates of every cell of a recurrent layer.

    Args:
      layer: a keras.layers.RNN subclass (LSTM, GRU, RNN over Keras' LSTM or
        GRU cells or a stack of them) or a Bidirectional over one.
      inputs: the layer's input sequence [B, T, features].
      mask: [B, T] bool or None, as the layer receives it.

    Returns:
      One dict per direction and leaf cell (forward cells first, then
      backward; a stack's cells in call order): "direction" (None,
      "forward", "backward"), "cell" ("LSTM" or "GRU"), "cell_index" (in a
      stack, else None), "gates" {name: [B, T, units] numpy} (LSTM_GATES or
      GRU_GATES), "cell_state" ([B, T, units] for LSTM, else None) and "h"
      ([B, T, units]), all in input-time order. At a masked timestep the
      values repeat the last unmasked step's, as the layer's own output does.

    Raises:
      UnsupportedCellError: a cell is not Keras' own LSTMCell or GRUCell.
    """
    return GateRecorder(layer)(inputs, mask)
