"""Gate layouts: each gate's columns hold that gate's weights, per cell type.

Every gate block of every matrix is filled with its own constant through
Keras' own weight API; the layout must find each constant where it says.
"""

import keras
import numpy as np
import pytest

from tb_rnn_plugin.summary_ops import gates


def fill_by_gate(slot):
    """Sets every gate block to a distinct constant; returns {(matrix, gate): value}."""
    expected = {}
    for m_index, matrix in enumerate(slot.matrices()):
        value = matrix.variable.numpy()
        target = value if matrix.row is None else value[matrix.row]
        for g_index, gate in enumerate(matrix.gates):
            constant = 10 * (m_index + 1) + g_index + 0.5 * (slot.cell_index or 0) + (
                0.25 if slot.direction == "backward" else 0
            )
            target[..., gate.start:gate.stop] = constant
            expected[(slot.direction, slot.cell_index, matrix.name, gate.name)] = constant
        matrix.variable.assign(value)
    return expected


def check_blocks(layer, expected):
    for slot in gates.layer_cells(layer):
        for matrix in slot.matrices():
            value = matrix.value()
            for gate in matrix.gates:
                block = value[..., gate.start:gate.stop]
                np.testing.assert_array_equal(
                    block, expected[(slot.direction, slot.cell_index, matrix.name, gate.name)]
                )


def built(layer, shape):
    layer(np.zeros(shape, "float32"))
    return layer


def set_gate_bias(slot, matrix_name, values):
    """Sets the bias blocks of `matrix_name` to {gate: value}; other gates to 0."""
    matrix = next(m for m in slot.matrices() if m.name == matrix_name)
    value = matrix.variable.numpy()
    target = value if matrix.row is None else value[matrix.row]
    target[...] = 0
    for gate in matrix.gates:
        target[..., gate.start:gate.stop] = values.get(gate.name, 0.0)
    matrix.variable.assign(value)


def run(layer, x):
    return np.asarray(layer(x))


X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")


def test_lstm_labels_match_what_keras_computes():
    """Forget gate shut open (f = 1) and input gate closed (i = 0) through
    the blocks the layout names: the cell state never leaves 0, so h = 0.
    The same two blocks swapped let the input in."""
    layer = built(keras.layers.LSTM(4, return_sequences=True), X.shape)
    (slot,) = gates.layer_cells(layer)
    set_gate_bias(slot, "bias", {"f": 30.0, "i": -30.0})
    np.testing.assert_allclose(run(layer, X), 0.0, atol=1e-6)
    set_gate_bias(slot, "bias", {"i": 30.0, "f": -30.0})  # the same blocks swapped: input gets in
    assert np.abs(run(layer, X)).max() > 1e-3


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_labels_match_what_keras_computes(reset_after):
    """Keras: h = z * h_prev + (1 - z) * candidate. z = 1 through the "z"
    block keeps h at its initial 0."""
    layer = built(keras.layers.GRU(4, return_sequences=True, reset_after=reset_after), X.shape)
    (slot,) = gates.layer_cells(layer)
    bias_name = "input_bias" if reset_after else "bias"
    set_gate_bias(slot, bias_name, {"z": 30.0})
    np.testing.assert_allclose(run(layer, X), 0.0, atol=1e-6)
    set_gate_bias(slot, bias_name, {"r": 30.0})
    assert np.abs(run(layer, X)).max() > 1e-3


@pytest.mark.parametrize("make, shape, gate_names, matrices", [
    (lambda: keras.layers.LSTM(3), (1, 4, 2), ("i", "f", "c", "o"), ["kernel", "recurrent_kernel", "bias"]),
    (lambda: keras.layers.GRU(3), (1, 4, 2), ("z", "r", "h"), ["kernel", "recurrent_kernel", "input_bias", "recurrent_bias"]),
    (lambda: keras.layers.GRU(3, reset_after=False), (1, 4, 2), ("z", "r", "h"), ["kernel", "recurrent_kernel", "bias"]),
    (lambda: keras.layers.SimpleRNN(3), (1, 4, 2), ("h",), ["kernel", "recurrent_kernel", "bias"]),
    (lambda: keras.layers.ConvLSTM1D(3, 2), (1, 4, 5, 2), ("i", "f", "c", "o"), ["kernel", "recurrent_kernel", "bias"]),
    (lambda: keras.layers.Bidirectional(keras.layers.GRU(3)), (1, 4, 2), ("z", "r", "h"), None),
    (lambda: keras.layers.RNN([keras.layers.LSTMCell(2), keras.layers.GRUCell(3)]), (1, 4, 2), None, None),
])
def test_each_gate_block_holds_its_constant(make, shape, gate_names, matrices):
    layer = built(make(), shape)
    slots = gates.layer_cells(layer)
    expected = {}
    for slot in slots:
        if gate_names is not None:
            assert slot.gate_names == gate_names
        if matrices is not None:
            assert [m.name for m in slot.matrices()] == matrices
        expected.update(fill_by_gate(slot))
    check_blocks(layer, expected)
    if isinstance(layer, keras.layers.Bidirectional):
        assert [s.direction for s in slots] == ["forward", "backward"]
    if isinstance(layer.cell if hasattr(layer, "cell") else None, keras.layers.StackedRNNCells):
        assert [(s.cell_index, s.gate_names) for s in slots] == [
            (0, ("i", "f", "c", "o")), (1, ("z", "r", "h"))
        ]


def test_gru_input_and_recurrent_bias_are_bias_rows():
    layer = built(keras.layers.GRU(2), (1, 3, 2))
    bias = layer.cell.bias
    bias.assign(np.stack([np.full(6, 1.0), np.full(6, 2.0)]).astype("float32"))
    by_name = {m.name: m for m in gates.layer_cells(layer)[0].matrices()}
    np.testing.assert_array_equal(by_name["input_bias"].value(), 1.0)
    np.testing.assert_array_equal(by_name["recurrent_bias"].value(), 2.0)


class OwnCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

    def call(self, inputs, states):
        h = inputs @ self.w + states[0]
        return h, [h]


def test_own_cell_weights_whole_without_gates():
    layer = built(keras.layers.RNN(OwnCell(3)), (1, 4, 2))
    (slot,) = gates.layer_cells(layer)
    assert slot.gate_names is None
    (matrix,) = slot.matrices()
    assert (matrix.name, matrix.gates, matrix.value().shape) == ("w", None, (2, 3))
