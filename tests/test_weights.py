"""Gate-split weights, weight gradients and per-gate statistics from RNNTensorBoard.

Everything is read back through TensorBoard's data provider (tests/tb_reading.py).
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops import gates
from tb_rnn_plugin.summary_ops import summary
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

import tb_reading
from test_gates import fill_by_gate


_ALL_BLOB_KINDS = metadata.TIMESTEP_KINDS + metadata.WEIGHT_KINDS


def _fit_one_step(model, x, y, logdir, loss="mse", **callback_args):
    """One training step that leaves the weights alone (lr 0), logged at step 1."""
    model.compile(keras.optimizers.SGD(0.0), loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
        model.fit(
            x, y, batch_size=len(x), epochs=1, verbose=0,
            callbacks=[RNNTensorBoard(
                str(logdir), update_freq=1, probe_data=(x, y), precision="float32", **callback_args
            )],
        )


def _prefix(layer, slot):
    parts = [layer.name]
    if slot.direction is not None:
        parts.append(slot.direction)
    if slot.cell_index is not None:
        parts.append("cell_%d" % slot.cell_index)
    return "/".join(parts)


def _models():
    def seq(rnn, shape=(5, 3)):
        return keras.Sequential([keras.Input(shape), rnn, keras.layers.Flatten(), keras.layers.Dense(1)])

    return {
        "lstm": lambda: seq(keras.layers.LSTM(4, name="rnn")),
        "gru_reset_after": lambda: seq(keras.layers.GRU(4, reset_after=True, name="rnn")),
        "gru_reset_before": lambda: seq(keras.layers.GRU(4, reset_after=False, name="rnn")),
        "simple_rnn": lambda: seq(keras.layers.SimpleRNN(4, name="rnn")),
        "bidirectional": lambda: seq(keras.layers.Bidirectional(keras.layers.LSTM(3), name="rnn")),
        "stacked": lambda: seq(
            keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)], name="rnn")
        ),
        "conv_lstm1d": lambda: seq(keras.layers.ConvLSTM1D(2, 3, name="rnn"), shape=(4, 6, 2)),
    }


@pytest.mark.parametrize("model_name", list(_models()))
def test_every_gate_block_reads_back_with_its_constant(tmp_path, model_name):
    model = _models()[model_name]()
    layer = model.get_layer("rnn")
    slots = gates.layer_cells(layer)
    expected = {}
    for slot in slots:
        expected.update(fill_by_gate(slot))
    x = np.random.RandomState(0).rand(2, *model.input_shape[1:]).astype("float32")
    y = np.zeros((2, 1), "float32")
    _fit_one_step(model, x, y, tmp_path)

    series = tb_reading.read_back(tmp_path, _ALL_BLOB_KINDS)["."]
    gate_stats = tb_reading.read_stats(tmp_path, metadata.GATE_STATS)["."]
    weight_tags = {t for t, (info, _, _) in series.items() if info["kind"] == metadata.WEIGHT}
    wanted_tags = set()
    for slot in slots:
        for matrix in slot.matrices():
            tag = "%s/%s/weight" % (_prefix(layer, slot), matrix.name)
            wanted_tags.add(tag)
            info, steps, arrays = series[tag]
            assert steps == [1]
            value = arrays[0]
            assert value.shape == matrix.value().shape
            assert len(info["axes"]) == value.ndim
            assert info["axes"][-1] == "column"
            assert info["matrix"] == matrix.name
            assert info["layer"] == "rnn"
            assert info["direction"] == slot.direction
            assert info["cell_index"] == slot.cell_index
            assert info["gates"] == [
                {"name": g.name, "start": g.start, "stop": g.stop} for g in matrix.gates
            ]
            stats_info, _, stats = gate_stats[tag]
            assert stats_info["fields"] == list(metadata.GATE_STAT_FIELDS)
            mean = list(metadata.GATE_STAT_FIELDS).index("mean")
            for row, gate in enumerate(matrix.gates):
                constant = expected[(slot.direction, slot.cell_index, matrix.name, gate.name)]
                np.testing.assert_array_equal(value[..., gate.start:gate.stop], constant)
                np.testing.assert_allclose(stats[0][row, mean], constant, rtol=1e-6)
            # The gradient is logged alongside, with the same shape and gates.
            grad_info, _, grad = series["%s/%s/weight_gradient" % (_prefix(layer, slot), matrix.name)]
            assert grad[0].shape == value.shape and grad_info["gates"] == info["gates"]
    assert weight_tags == wanted_tags
    if model_name == "gru_reset_after":
        assert "rnn/bias/weight" not in series
        bias = layer.cell.bias.numpy()
        np.testing.assert_array_equal(series["rnn/input_bias/weight"][2][0], bias[0])
        np.testing.assert_array_equal(series["rnn/recurrent_bias/weight"][2][0], bias[1])
        # fill_by_gate gave the two rows different constants
        assert series["rnn/input_bias/weight"][2][0][0] != series["rnn/recurrent_bias/weight"][2][0][0]
    if model_name == "gru_reset_before":
        assert "rnn/bias/weight" in series and "rnn/input_bias/weight" not in series
    if model_name == "conv_lstm1d":
        assert series["rnn/kernel/weight"][0]["axes"] == ["kernel_0", "row", "column"]


def test_weight_gradients_equal_finite_differences_with_regularization(tmp_path):
    keras.config.set_floatx("float64")
    try:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([
            keras.Input((3, 2), dtype="float64"),
            keras.layers.LSTM(
                2, kernel_regularizer=keras.regularizers.L2(0.5), name="rnn", dtype="float64"
            ),
            keras.layers.Dense(1, dtype="float64"),
        ])
        rng = np.random.RandomState(2)
        x = rng.randn(4, 3, 2)
        y = rng.randn(4, 1)
        _fit_one_step(model, x, y, tmp_path, loss=keras.losses.MeanSquaredError(dtype="float64"))
        layer = model.get_layer("rnn")

        def loss():
            prediction = model(x, training=False)
            total = keras.ops.mean(keras.ops.square(prediction - y))
            return float(total + keras.ops.sum(model.losses))

        series = tb_reading.read_back(tmp_path, _ALL_BLOB_KINDS)["."]
        h = 1e-6
        regularized = False
        for matrix in gates.layer_cells(layer)[0].matrices():
            variable = matrix.variable
            base = variable.numpy()
            numeric = np.zeros_like(base)
            for index in np.ndindex(base.shape):
                for sign in (1, -1):
                    moved = base.copy()
                    moved[index] += sign * h
                    variable.assign(moved)
                    numeric[index] += sign * loss() / (2 * h)
            variable.assign(base)
            logged = series["rnn/%s/weight_gradient" % matrix.name][2][0]
            for gate in matrix.gates:
                np.testing.assert_allclose(
                    logged[..., gate.start:gate.stop],
                    numeric[..., gate.start:gate.stop],
                    rtol=1e-4, atol=1e-6, err_msg="%s gate %s" % (matrix.name, gate.name),
                )
            if matrix.name == gates.KERNEL:
                # the regularization term (2 * 0.5 * W) is a visible part of it
                assert np.abs(base).max() > 1e-2
                regularized = not np.allclose(logged, numeric - base, atol=1e-3)
        assert regularized
    finally:
        keras.config.set_floatx("float32")


def _numpy_gate_stats(block):
    values = block.ravel().astype(np.float64)
    finite = values[np.isfinite(values)]
    return [
        np.sqrt(np.sum(finite ** 2)),
        np.max(np.abs(finite)),
        np.mean(finite),
        np.std(finite),
        np.isnan(values).sum(),
        (values == np.inf).sum(),
        (values == -np.inf).sum(),
        (values == 0).sum(),
    ]


@pytest.mark.parametrize("in_graph", [False, True], ids=["eager", "tf.function"])
def test_gate_stats_match_numpy_with_nan_and_inf(tmp_path, in_graph):
    rng = np.random.RandomState(3)
    data = rng.randn(2, 3, 6).astype("float32")  # rank 3, like a ConvLSTM1D kernel
    data[0, 1, 0] = np.nan
    data[1, 2, 3] = np.inf
    data[1, 0, 4] = -np.inf
    data[0, 0, 5] = 0.0
    data[1, 1, 5] = 0.0
    gate_list = [gates.Gate("a", 0, 2), gates.Gate("b", 2, 4), gates.Gate("c", 4, 6)]
    writer = tf.summary.create_file_writer(str(tmp_path))

    def write(values):
        with writer.as_default(step=7):
            return tf.logical_and(
                summary.weight("w/kernel/weight", values, matrix="kernel", gates=gate_list, layer="w"),
                summary.weight("w/other/weight", values, matrix="other", gates=None, layer="w"),
            )

    # As in a user's own training loop, too (the gate statistics are a
    # tf.function of their own).
    assert bool((tf.function(write) if in_graph else write)(tf.constant(data)))
    writer.close()
    stats = tb_reading.read_stats(tmp_path, metadata.GATE_STATS)["."]
    info, steps, arrays = stats["w/kernel/weight"]
    assert steps == [7]
    assert info["of_tag"] == "w/kernel/weight" and info["axes"] == ["gate", "statistic"]
    assert [g["name"] for g in info["gates"]] == ["a", "b", "c"]
    assert arrays[0].shape == (3, len(metadata.GATE_STAT_FIELDS))
    for row, gate in enumerate(gate_list):
        np.testing.assert_allclose(
            arrays[0][row], _numpy_gate_stats(data[..., gate.start:gate.stop]), rtol=1e-5,
        )
    whole_info, _, whole = stats["w/other/weight"]
    assert whole_info["gates"] is None
    np.testing.assert_allclose(whole[0], [_numpy_gate_stats(data)], rtol=1e-5)
    # The blob keeps NaN and Inf as they are.
    np.testing.assert_array_equal(tb_reading.read_back(tmp_path, _ALL_BLOB_KINDS)["."]["w/kernel/weight"][2][0], data)


def _bin_of(value):
    """The histogram bin of a finite value, from the documented rule, by hand."""
    edges = metadata.HISTOGRAM_EDGES
    return sum(1 for edge in edges if edge <= value)


def test_gate_histograms_count_finite_values_in_log_magnitude_bins(tmp_path):
    rng = np.random.RandomState(5)
    # Gradients spanning 12 decades, one huge outlier, NaN/Inf and zeros.
    data = (rng.randn(40, 8) * 10.0 ** rng.uniform(-10, 1, (40, 8))).astype("float32")
    data[0, 0] = 5e6
    data[1, 1] = np.nan
    data[2, 2] = np.inf
    data[3, 3] = -np.inf
    data[4, 4:6] = 0.0
    data[5, 6] = 1e-3  # exactly on an edge (float32 rounding kept as stored)
    gate_list = [gates.Gate("i", 0, 4), gates.Gate("f", 4, 8)]
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(step=3):
        summary.weight_gradient("w/kernel/weight_gradient", data, matrix="kernel", gates=gate_list, layer="w")
    writer.close()
    hists = tb_reading.read_stats(tmp_path, metadata.GATE_HISTOGRAM)["."]
    info, steps, arrays = hists["w/kernel/weight_gradient"]
    assert steps == [3] and info["axes"] == ["gate", "bin"]
    assert info["bin_edges"] == list(metadata.HISTOGRAM_EDGES)
    bins = len(metadata.HISTOGRAM_EDGES) + 1
    assert arrays[0].shape == (2, bins)
    for row, gate in enumerate(gate_list):
        block = data[:, gate.start:gate.stop].ravel()
        expected = np.zeros(bins)
        for value in block[np.isfinite(block)]:
            expected[_bin_of(float(value))] += 1
        np.testing.assert_array_equal(arrays[0][row], expected)
        # NaN and Inf are not in the histogram; they are counted in gate_stats.
        assert arrays[0][row].sum() == np.isfinite(block).sum()
    # The outlier is one count in the open last bin; the rest keep their spread.
    assert arrays[0][0][-1] == 1
    assert np.count_nonzero(arrays[0][0]) > 15
    # Zeros and |v| < 1e-9 share the middle bin.
    middle = len(metadata.HISTOGRAM_EDGES) // 2
    assert metadata.HISTOGRAM_EDGES[middle - 1] == -1e-9 and metadata.HISTOGRAM_EDGES[middle] == 1e-9
    assert arrays[0][1][middle] >= 2


def test_weight_op_rejects_scalars_and_bad_gates(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default(step=0):
        with pytest.raises(ValueError, match="rank >= 1"):
            summary.weight("s", 1.0, matrix="bias")
        with pytest.raises(ValueError, match="inside the last axis"):
            summary.weight("g", np.zeros((2, 4)), matrix="kernel", gates=[gates.Gate("i", 0, 5)])
        with pytest.raises(ValueError, match="kind"):
            summary.weight_tensor("k", np.zeros(3), metadata.ACTIVATION)
    writer.close()


def test_nan_in_weights_keeps_training_and_shows_in_gate_stats(tmp_path):
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, name="rnn"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")
    recurrent = model.get_layer("rnn").cell.recurrent_kernel
    value = recurrent.numpy()
    value[1, 4] = np.nan  # gate f (columns 3:6)
    recurrent.assign(value)
    x = np.random.RandomState(4).rand(6, 4, 2).astype("float32")
    y = np.zeros((6, 1), "float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x, y, batch_size=2, epochs=1, verbose=0,
            callbacks=[RNNTensorBoard(str(tmp_path), update_freq=1)],
        )
    # (The per-timestep probe may drop the layer; the weights must still log.)
    assert not [w for w in caught if "weights" in str(w.message) or "logging failed" in str(w.message)]
    assert len(history.history["loss"]) == 1
    assert int(model.optimizer.iterations.numpy()) == 3
    stats = tb_reading.read_stats(tmp_path, metadata.GATE_STATS)["."]
    nan = list(metadata.GATE_STAT_FIELDS).index("nan_count")
    info, steps, arrays = stats["rnn/recurrent_kernel/weight"]
    assert steps == [1, 2, 3]
    # One NaN spreads through the first update (0 * NaN is NaN); what is
    # counted is what the weights hold.
    final = recurrent.numpy()
    expected = [np.isnan(final[:, k * 3:(k + 1) * 3]).sum() for k in range(4)]
    assert sum(expected) > 0
    np.testing.assert_array_equal(arrays[-1][:, nan], expected)
    # The loss is NaN, so every gradient is; it is counted, not hidden.
    _, _, gradient_stats = stats["rnn/kernel/weight_gradient"]
    assert gradient_stats[-1][:, nan].sum() > 0


def test_log_weights_false_writes_no_weights(tmp_path):
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(2, name="rnn"), keras.layers.Dense(1)])
    x = np.zeros((2, 3, 2), "float32")
    _fit_one_step(model, x, np.zeros((2, 1), "float32"), tmp_path, log_weights=False)
    series = tb_reading.read_back(tmp_path, _ALL_BLOB_KINDS)["."]
    assert "rnn/activation" in series
    assert not [t for t, (info, _, _) in series.items() if info["kind"] in metadata.WEIGHT_KINDS]
