"""The probe on Keras' other cells: stacks of cells, ConvLSTM, a user's own.

In float64, against references that use neither keras.layers.RNN nor the
probe: reverse mode on a hand-unrolled loop over the layer's own cells, which
adds eps^k_t to each cell's h^k_t (fed to the next cell of a stack at the
same step and to the cell itself at the next), and finite differences of the
loss on that loop for a few entries. Also: the first call rejects a cell whose
output is not its state, and a layer whose output is not its cell's run.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tb_rnn_plugin.summary_ops import probe as probe_lib
from probes import make_probe  # noqa: F401 (a fixture)
from tb_rnn_plugin.summary_ops.probe import UnsupportedLayerError

try:
    from test_gradients import FD_EPS, float64  # noqa: F401 (autouse fixture)
except ImportError:
    from tests.test_gradients import FD_EPS, float64  # noqa: F401

B = 2
L = keras.layers


class MinimalRNNCell(L.Layer):
    """Keras' documentation example of a user's cell: output = new state."""

    def __init__(self, units, output_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_scale = output_scale

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="rk")

    def call(self, inputs, states):
        h = tf.tanh(tf.matmul(inputs, self.kernel) + tf.matmul(states[0], self.recurrent_kernel))
        return self.output_scale * h, [h]


# -- the hand-unrolled reference ------------------------------------------


def leaves(cell):
    if isinstance(cell, L.StackedRNNCells):
        return [leaf for sub in cell.cells for leaf in leaves(sub)]
    return [cell]


def initial_states(cell, batch):
    if hasattr(cell, "get_initial_state"):
        states = cell.get_initial_state(batch_size=batch)
    else:
        sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
        states = [tf.zeros((batch, n), tf.float64) for n in sizes]
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _keep(mask_t, like):
    return tf.reshape(tf.constant(mask_t), (-1,) + (1,) * (len(like.shape) - 1))


def unroll(rnn, x, eps=None, mask=None):
    """Steps rnn's cells by hand, as a Keras RNN with a mask would.

    eps: {(k, t): tensor} added to h^k at input time t. Returns (per cell k,
    h^k as [B, T, ...] in input-time order; the layer's output).
    """
    cells = leaves(rnn.cell)
    states = [initial_states(cell, x.shape[0]) for cell in cells]
    timesteps = x.shape[1]
    times = range(timesteps - 1, -1, -1) if rnn.go_backwards else range(timesteps)
    hs = [[None] * timesteps for _ in cells]
    processed = []
    for t in times:
        inputs = tf.constant(x[:, t])
        for k, cell in enumerate(cells):
            output, new = cell(inputs, states[k])
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            h = output + eps[(k, t)] if eps and (k, t) in eps else output
            new[0] = inputs = h
            if mask is not None:  # a masked step keeps every state
                keep = _keep(mask[:, t], h)
                new = [tf.where(keep, n, s) for n, s in zip(new, states[k])]
            states[k] = new
            hs[k][t] = new[0]
        processed.append(states[-1][0])
    sequences = [tf.stack(h, axis=1) for h in hs]
    output = tf.stack(processed, axis=1) if rnn.return_sequences else processed[-1]
    return sequences, output


class Reference:
    """The hand-unrolled loop of `layer` on x, and a loss of its output."""

    def __init__(self, layer, x, loss, mask=None):
        self.layer = layer
        self.x = x
        self.loss = loss
        self.mask = mask

    def directions(self):
        if isinstance(self.layer, L.Bidirectional):
            return [self.layer.forward_layer, self.layer.backward_layer]
        return [self.layer]

    def run(self, eps=None):
        """(per direction, per cell h sequences; the layer's output)."""
        eps = eps or [None] * len(self.directions())
        runs = [unroll(rnn, self.x, e, self.mask) for rnn, e in zip(self.directions(), eps)]
        outputs = [output for _, output in runs]
        if len(outputs) == 2:
            forward, backward = outputs
            if self.layer.return_sequences:
                backward = tf.reverse(backward, axis=[1])
            outputs = [tf.concat([forward, backward], axis=-1)]  # merge_mode concat
        return [sequences for sequences, _ in runs], outputs[0]

    def reference(self):
        """Activations and state gradients by reverse mode on the hand loop."""
        sequences, _ = self.run()
        eps = [
            {(k, t): tf.zeros_like(seq[:, t]) for k, seq in enumerate(seqs) for t in range(seq.shape[1])}
            for seqs in sequences
        ]
        with tf.GradientTape() as tape:
            tape.watch([list(e.values()) for e in eps])
            _, output = self.run(eps)
            loss = self.loss(output)
        grads = tape.gradient(loss, eps)
        state_gradients = [
            [
                np.stack([grads[d][(k, t)].numpy() for t in range(seq.shape[1])], axis=1)
                for k, seq in enumerate(seqs)
            ]
            for d, seqs in enumerate(sequences)
        ]
        return sequences, state_gradients

    def fd_state_gradient(self, direction, k, t, index):
        """dL/dh^k_t[index] by central differences on the hand loop."""
        sequences, _ = self.run()
        delta = np.zeros(sequences[direction][k][:, t].shape)
        delta[index] = FD_EPS
        losses = []
        for sign in (1, -1):
            eps = [None] * len(sequences)
            eps[direction] = {(k, t): tf.constant(sign * delta)}
            losses.append(float(self.loss(self.run(eps)[1])))
        return (losses[0] - losses[1]) / (2 * FD_EPS)

    def output_gradient(self):
        """dL/d(layer output), the output held fixed."""
        held = tf.constant(self.run()[1])
        with tf.GradientTape() as tape:
            tape.watch(held)
            loss = self.loss(held)
        return tape.gradient(loss, held).numpy()


class Case(Reference):
    """input -> layer -> Flatten -> Dense(2), loss mse."""

    def __init__(self, layer, input_shape, seed=0):
        self.flatten = L.Flatten()
        self.dense = L.Dense(2)
        inp = keras.Input(input_shape)
        self.model = keras.Model(inp, self.dense(self.flatten(layer(inp))))
        self.model.compile(loss="mse")
        assert layer.compute_dtype == "float64"  # finite differences need it
        rng = np.random.default_rng(seed)
        self.y = rng.normal(size=(B, 2))
        super().__init__(layer, rng.normal(size=(B,) + tuple(input_shape)), self.mse)

    def mse(self, layer_output):
        return tf.reduce_mean((self.dense(self.flatten(layer_output)) - self.y) ** 2)


def flat(array):
    """[B, T, ...] -> [B, T, C] in C order, as the probe reports."""
    return np.reshape(array, array.shape[:2] + (-1,))


def assert_matches_reference(case, result, fd_points=1):
    """Every cell's activation and state gradient equal the hand loop's, and
    a few state-gradient entries equal finite differences."""
    sequences, state_gradients = case.reference()
    entries = iter(result["directions"])
    rng = np.random.default_rng(7)
    for d, (seqs, grads) in enumerate(zip(sequences, state_gradients)):
        for k, (seq, grad) in enumerate(zip(seqs, grads)):
            entry = next(entries)
            assert entry["activation"].shape == flat(seq.numpy()).shape
            np.testing.assert_allclose(entry["activation"], flat(seq.numpy()), atol=1e-12)
            np.testing.assert_allclose(entry["state_gradient"], flat(grad), rtol=1e-9, atol=1e-13)
            # The gradient reaches back through the recurrence to t = 0.
            assert np.abs(entry["state_gradient"][:, 0]).max() > 0
            for _ in range(fd_points):
                t = int(rng.integers(seq.shape[1]))
                index = tuple(int(rng.integers(n)) for n in seq.shape[:1] + seq.shape[2:])
                fd = case.fd_state_gradient(d, k, t, index)
                assert grad[(index[0], t) + index[1:]] == pytest.approx(fd, abs=1e-8)
    assert next(entries, None) is None


# -- stacks of cells ---------------------------------------------------------


def two_cells():
    return [L.LSTMCell(3), L.GRUCell(2)]


def three_cells():
    # A stack inside a stack: its cells are logged in call order as 0, 1, 2.
    return [L.SimpleRNNCell(3), L.StackedRNNCells([L.GRUCell(2, reset_after=False), L.LSTMCell(4)])]


@pytest.mark.parametrize(
    "make_cells, names, units",
    [(two_cells, ["LSTM", "GRU"], [3, 2]), (three_cells, ["SimpleRNN", "GRU", "LSTM"], [3, 2, 4])],
    ids=["LSTM-GRU", "SimpleRNN-(GRU-LSTM)"],
)
def test_stacked_cells_each_get_their_own_state_gradient(make_cells, names, units, make_probe):
    case = Case(L.RNN(make_cells(), return_sequences=True), (4, 3))
    result = make_probe(case.model, case.layer)(case.x, case.y)
    entries = result["directions"]
    assert [e["cell"] for e in entries] == names
    assert [e["cell_index"] for e in entries] == list(range(len(names)))
    assert [e["direction"] for e in entries] == [None] * len(names)
    assert [e["channel_shape"] for e in entries] == [None] * len(names)
    assert [e["activation"].shape for e in entries] == [(B, 4, u) for u in units]
    assert_matches_reference(case, result)
    # Only the last cell's h is the layer's output.
    assert all(e["output_gradient"] is None for e in entries[:-1])
    np.testing.assert_allclose(entries[-1]["output_gradient"], case.output_gradient(), atol=1e-12)
    # The last cell's h is the layer's output in the model.
    layer_output = keras.Model(case.model.inputs, case.layer.output)(case.x).numpy()
    np.testing.assert_allclose(entries[-1]["activation"], layer_output, atol=1e-12)


def test_stacked_cells_return_sequences_false_in_bidirectional(make_probe):
    layer = L.Bidirectional(L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)]))
    case = Case(layer, (4, 3), seed=1)
    result = make_probe(case.model, layer)(case.x, case.y)
    entries = result["directions"]
    assert [(e["direction"], e["cell"], e["cell_index"]) for e in entries] == [
        ("forward", "LSTM", 0), ("forward", "SimpleRNN", 1),
        ("backward", "LSTM", 0), ("backward", "SimpleRNN", 1),
    ]
    assert_matches_reference(case, result)
    assert entries[0]["output_gradient"] is None and entries[2]["output_gradient"] is None
    # Only the last processed step's output reaches the loss: input time 3
    # forward, 0 backward.
    dl_dy = case.output_gradient()
    forward, backward = entries[1]["output_gradient"], entries[3]["output_gradient"]
    np.testing.assert_allclose(forward[:, 3], dl_dy[:, :2], atol=1e-12)
    np.testing.assert_allclose(backward[:, 0], dl_dy[:, 2:], atol=1e-12)
    assert np.count_nonzero(forward[:, :3]) == 0 and np.count_nonzero(backward[:, 1:]) == 0


def test_masked_stacked_cells(make_probe):
    inp = keras.Input((5,), dtype="int32")
    embedded = L.Embedding(6, 3, mask_zero=True)(inp)
    layer = L.RNN([L.GRUCell(3), L.LSTMCell(2)], return_sequences=True)
    after = L.GRU(2)
    dense = L.Dense(1)
    model = keras.Model(inp, dense(after(layer(embedded))))
    model.compile(loss="mse")
    x = np.array([[1, 2, 3, 0, 0], [4, 5, 1, 2, 3]])
    y = np.array([[0.5], [-1.0]])
    result = make_probe(model, layer)(x, y)
    np.testing.assert_array_equal(result["mask"], x != 0)

    # The same reference loop, on the embedded input, the mask downstream too.
    real = x != 0
    case = Reference(
        layer,
        keras.Model(inp, embedded)(x).numpy(),
        lambda out: tf.reduce_mean((dense(after(out, mask=tf.constant(real))) - y) ** 2),
        mask=real,
    )
    assert_matches_reference(case, result, fd_points=2)
    for entry in result["directions"]:
        assert np.all(entry["state_gradient"][0, 3:] == 0)
        assert np.abs(entry["state_gradient"][0, :3]).min() > 0
        # Over the padding the output carries the last real step's h.
        np.testing.assert_array_equal(entry["activation"][0, 3:], entry["activation"][0, [2, 2]])


# -- ConvLSTM ----------------------------------------------------------------


@pytest.mark.parametrize(
    "layer_type, kwargs, input_shape, channel_shape",
    [
        # width (9 - 3) // 2 + 1 = 4
        (L.ConvLSTM1D, dict(filters=2, kernel_size=3, strides=2), (3, 9, 2), [4, 2]),
        # (5 - 2) // 2 + 1 = 2 by 6 - 3 + 1 = 4
        (L.ConvLSTM2D, dict(filters=2, kernel_size=(2, 3), strides=(2, 1)), (3, 5, 6, 1), [2, 4, 2]),
    ],
    ids=["ConvLSTM1D", "ConvLSTM2D"],
)
def test_conv_lstm_flattens_spatial_positions_and_filters(
    layer_type, kwargs, input_shape, channel_shape, make_probe
):
    layer = layer_type(padding="valid", return_sequences=True, **kwargs)
    case = Case(layer, input_shape)
    result = make_probe(case.model, layer)(case.x, case.y)
    (entry,) = result["directions"]
    assert entry["cell"] == layer_type.__name__
    assert entry["cell_index"] is None
    assert entry["channel_shape"] == channel_shape
    steps = input_shape[0]
    assert entry["activation"].shape == (B, steps, int(np.prod(channel_shape)))
    assert_matches_reference(case, result, fd_points=2)
    # C order over (spatial..., filters): unflattened, it is the layer's output.
    layer_output = keras.Model(case.model.inputs, layer.output)(case.x).numpy()
    np.testing.assert_allclose(
        entry["activation"].reshape((B, steps) + tuple(channel_shape)), layer_output, atol=1e-12
    )
    np.testing.assert_allclose(entry["output_gradient"], flat(case.output_gradient()), atol=1e-12)


def test_conv_lstm_last_step_only(make_probe):
    layer = L.ConvLSTM1D(2, 2, padding="same", go_backwards=True)
    case = Case(layer, (3, 4, 1), seed=2)
    result = make_probe(case.model, layer)(case.x, case.y)
    (entry,) = result["directions"]
    assert entry["channel_shape"] == [4, 2]
    assert_matches_reference(case, result)
    # Processing ends at input time 0.
    np.testing.assert_allclose(
        entry["output_gradient"][:, 0], case.output_gradient().reshape(B, -1), atol=1e-12
    )
    assert np.count_nonzero(entry["output_gradient"][:, 1:]) == 0


def test_channels_first_conv_lstm_is_reported_filters_last():
    # TensorFlow on a CPU has no channels_first convolution gradient, so this
    # checks the reordering on its own: a state (filters, H, W) comes back as
    # (H, W, filters), C order.
    cell = probe_lib._ConvLSTMCell(2, filters=3, kernel_size=2, data_format="channels_first")
    cell.build((None, 1, 4, 5))
    leaf = probe_lib._Leaf(cell, None, (1, 4, 5))
    assert leaf.shape == (3, 3, 4) and leaf.channel_shape == [3, 4, 3]
    state = np.random.default_rng(0).normal(size=(B, 2, 3, 3, 4))  # B, T, F, H, W
    expected = np.moveaxis(state, 2, -1).reshape(B, 2, -1)
    np.testing.assert_array_equal(leaf.to_report_layout(state.reshape(B, 2, -1)), expected)


# -- a user's own cell ---------------------------------------------------------


def test_custom_cell_whose_output_is_its_state(make_probe):
    case = Case(L.RNN(MinimalRNNCell(3), return_sequences=True), (4, 2))
    result = make_probe(case.model, case.layer)(case.x, case.y)
    (entry,) = result["directions"]
    assert (entry["cell"], entry["cell_index"], entry["channel_shape"]) == ("MinimalRNNCell", None, None)
    assert_matches_reference(case, result, fd_points=3)
    np.testing.assert_allclose(entry["output_gradient"], case.output_gradient(), atol=1e-12)


@pytest.mark.parametrize("stacked", [False, True], ids=["alone", "in-a-stack"])
def test_cell_whose_output_is_not_its_state_is_rejected_on_the_first_call(stacked, make_probe):
    cell = MinimalRNNCell(3, output_scale=2.0)
    layer = L.RNN([cell, L.GRUCell(2)] if stacked else cell)
    case = Case(layer, (4, 2))
    probe = make_probe(case.model, layer)  # known only on a batch
    for _ in range(2):  # and it stays rejected
        with pytest.raises(UnsupportedLayerError) as error:
            probe(case.x, case.y)
        message = str(error.value)
        assert "its cell's output is not its first state (output != new_states[0]" in message
        assert "dL/dh_t cannot be separated from the output" in message
        assert ("cell 0 of its stack" in message) == stacked


def test_cell_whose_output_size_is_not_its_state_size_is_rejected(make_probe):
    class Projected(MinimalRNNCell):
        output_size = 2

        def call(self, inputs, states):
            h = super().call(inputs, states)[1][0]
            return h[:, :2], [h]

    layer = L.RNN(Projected(3))
    case = Case(layer, (4, 2))
    # The split probe knows at once; in place, on the first pass (shapes).
    with pytest.raises(UnsupportedLayerError, match="its cell's output is not its first state"):
        make_probe(case.model, layer)(case.x, case.y)


def test_layer_whose_output_is_not_its_cells_run_is_rejected(make_probe):
    class Doubled(L.SimpleRNN):
        def call(self, sequences, initial_state=None, mask=None, training=False):
            return 2 * super().call(sequences, initial_state, mask, training)

    layer = Doubled(3)
    case = Case(layer, (4, 2))
    with pytest.raises(UnsupportedLayerError, match="does not reproduce its output"):
        make_probe(case.model, layer)(case.x, case.y)


def test_first_call_check_leaves_dropout_seeds_alone(make_probe):
    # Running a layer with dropout advances its seed generator even with
    # training=False; the training run must not see the check.
    layer = L.LSTM(3, dropout=0.3, recurrent_dropout=0.3)
    case = Case(layer, (4, 2))
    before = [np.array(v.numpy()) for v in layer.non_trainable_variables]
    assert before  # the seed generator's state
    make_probe(case.model, layer)(case.x, case.y)
    for value, variable in zip(before, layer.non_trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), value)
