"""Gate activations recomputed from the cells' weights (summary_ops/gate_activations.py).

Checked against Keras itself (the recomputed h_t equals the layer's own
output sequence, for every supported cell and wrapper) and against a
hand-written numpy LSTM/GRU step (the gates themselves).
"""

import keras
import numpy as np
import pytest

from tb_rnn_plugin.summary_ops import gate_activations as ga

T, FEATURES, UNITS = 7, 3, 4


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _inputs(batch=3, seed=0):
    return np.random.RandomState(seed).randn(batch, T, FEATURES).astype("float32")


def _layer_model(layer, masked=False):
    inputs = keras.Input((T, FEATURES))
    x = keras.layers.Masking(0.0)(inputs) if masked else inputs
    outputs = layer(x)
    return keras.Model(inputs, outputs)


def _randomize(layer, seed=1):
    rng = np.random.RandomState(seed)
    for w in layer.weights:
        w.assign(rng.uniform(-0.8, 0.8, w.shape).astype("float32"))


LAYERS = {
    "lstm": lambda: keras.layers.LSTM(UNITS, return_sequences=True),
    "gru_reset_after": lambda: keras.layers.GRU(UNITS, return_sequences=True, reset_after=True),
    "gru_reset_before": lambda: keras.layers.GRU(UNITS, return_sequences=True, reset_after=False),
    "lstm_go_backwards": lambda: keras.layers.LSTM(UNITS, return_sequences=True, go_backwards=True),
    "bidirectional_lstm": lambda: keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True)),
    "bidirectional_gru": lambda: keras.layers.Bidirectional(
        keras.layers.GRU(UNITS, return_sequences=True), merge_mode="concat"),
    "stacked_lstm_gru": lambda: keras.layers.RNN(
        keras.layers.StackedRNNCells([keras.layers.LSTMCell(5), keras.layers.GRUCell(UNITS)]),
        return_sequences=True),
}


def _keras_sequence(model, x, layer):
    """The layer's own output sequence, in input-time order."""
    out = np.asarray(model(x))
    if isinstance(layer, keras.layers.RNN) and layer.go_backwards:
        out = out[:, ::-1]  # a standalone go_backwards layer returns processing order
    return out


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("masked", [False, True])
def test_recomputed_h_equals_keras_output(name, masked):
    layer = LAYERS[name]()
    model = _layer_model(layer, masked)
    _randomize(layer)
    x = _inputs()
    mask = None
    if masked:
        x[0, 5:] = 0.0  # padding at the end of sample 0
        x[1, :2] = 0.0  # and at the start of sample 1
        mask = np.any(x != 0.0, axis=-1)
    want = _keras_sequence(model, x, layer)
    results = ga.gate_activations(layer, x, mask)
    if isinstance(layer, keras.layers.Bidirectional):
        assert [r["direction"] for r in results] == ["forward", "backward"]
        got = np.concatenate([results[0]["h"], results[1]["h"]], axis=-1)
    else:
        got = results[-1]["h"]  # a stack outputs its last cell's h
    if masked:
        # Keras zeroes (Bidirectional) or repeats outputs at masked steps;
        # the recomputed state is the carried one: compare real steps.
        np.testing.assert_allclose(got[mask], want[mask], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for r in results:
        units = r["h"].shape[-1]
        names = ga.LSTM_GATES if r["cell"] == "LSTM" else ga.GRU_GATES
        assert list(r["gates"]) == list(names)
        for gate in names:
            assert r["gates"][gate].shape == (3, T, units)
        assert (r["cell_state"] is not None) == (r["cell"] == "LSTM")


def _numpy_lstm(cell, x):
    W, U, b = (np.asarray(v, np.float64) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    u = cell.units
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    out = {g: [] for g in ga.LSTM_GATES + ("c", "h")}
    for t in range(x.shape[1]):
        z = x[:, t] @ W + h @ U + b
        i, f, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), _sigmoid(z[:, 3 * u:])
        g = np.tanh(z[:, 2 * u:3 * u])
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, v in zip(ga.LSTM_GATES + ("c", "h"), (i, f, g, o, c, h)):
            out[name].append(v)
    return {k: np.stack(v, axis=1) for k, v in out.items()}


def _numpy_gru(cell, x):
    W, U, b = (np.asarray(v, np.float64) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))
    u = cell.units
    h = np.zeros((x.shape[0], u))
    out = {g: [] for g in ga.GRU_GATES + ("h",)}
    for t in range(x.shape[1]):
        if cell.reset_after:
            mx, mh = x[:, t] @ W + b[0], h @ U + b[1]
            z = _sigmoid(mx[:, :u] + mh[:, :u])
            r = _sigmoid(mx[:, u:2 * u] + mh[:, u:2 * u])
            cand = np.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
        else:
            mx = x[:, t] @ W + b
            z = _sigmoid(mx[:, :u] + h @ U[:, :u])
            r = _sigmoid(mx[:, u:2 * u] + h @ U[:, u:2 * u])
            cand = np.tanh(mx[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
        h = z * h + (1 - z) * cand
        for name, v in zip(ga.GRU_GATES + ("h",), (z, r, cand, h)):
            out[name].append(v)
    return {k: np.stack(v, axis=1) for k, v in out.items()}


@pytest.mark.parametrize("name", ["lstm", "gru_reset_after", "gru_reset_before"])
def test_gates_equal_a_hand_written_step(name):
    layer = LAYERS[name]()
    _layer_model(layer)
    _randomize(layer, seed=4)
    x = _inputs(seed=2)
    [result] = ga.gate_activations(layer, x)
    if name == "lstm":
        want = _numpy_lstm(layer.cell, x.astype(np.float64))
        np.testing.assert_allclose(result["cell_state"], want["c"], rtol=1e-4, atol=1e-5)
    else:
        want = _numpy_gru(layer.cell, x.astype(np.float64))
    for gate in result["gates"]:
        np.testing.assert_allclose(result["gates"][gate], want[gate], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result["h"], want["h"], rtol=1e-4, atol=1e-5)


def test_forget_bias_20_keeps_the_forget_gate_open():
    layer = keras.layers.LSTM(UNITS, return_sequences=True)
    _layer_model(layer)
    bias = np.zeros(4 * UNITS, "float32")
    bias[UNITS:2 * UNITS] = 20.0
    layer.cell.bias.assign(bias)
    [result] = ga.gate_activations(layer, _inputs())
    f = result["gates"]["f"]
    assert f.min() > 1 - 1e-6
    assert (f > 0.99).mean() == 1.0


def test_cells_without_recomputable_gates_are_refused():
    with pytest.raises(ga.UnsupportedCellError, match="SimpleRNNCell"):
        ga.check_supported(keras.layers.SimpleRNN(3))

    class OwnCell(keras.layers.LSTMCell):
        pass

    with pytest.raises(ga.UnsupportedCellError, match="OwnCell"):
        ga.check_supported(keras.layers.RNN(OwnCell(3)))


# ---- logged by the callback, read back through TensorBoard's data provider ----

import warnings  # noqa: E402

import tb_reading  # noqa: E402
from tb_rnn_plugin import metadata  # noqa: E402
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard  # noqa: E402


def _fit_logged(model, logdir, x, **callback_args):
    y = np.zeros((len(x), 1), "float32")
    model.compile(keras.optimizers.SGD(0.0), "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, callbacks=[
            RNNTensorBoard(str(logdir), update_freq=1, probe_data=(x, y), log_weights=False,
                           precision="float32", **callback_args)])
    return tb_reading.read_back(logdir)["."]


def _last_step(series, tag):
    info, steps, arrays = series[tag]
    return info, arrays[-1]


@pytest.mark.parametrize("rnn", ["lstm", "gru", "bidirectional_lstm", "masked_lstm"])
def test_callback_logs_gates_that_rebuild_the_logged_h(tmp_path, rnn):
    """Gates are recomputed; h comes from the probe (Keras' own cell): the
    cell's equations tie them together, so both must be right."""
    layers = {
        "lstm": lambda: keras.layers.LSTM(UNITS, name="rnn"),
        "gru": lambda: keras.layers.GRU(UNITS, name="rnn"),
        "bidirectional_lstm": lambda: keras.layers.Bidirectional(keras.layers.LSTM(UNITS), name="rnn"),
        "masked_lstm": lambda: keras.layers.LSTM(UNITS, name="rnn"),
    }
    inputs = keras.Input((T, FEATURES))
    h = keras.layers.Masking(0.0)(inputs) if rnn == "masked_lstm" else inputs
    model = keras.Model(inputs, keras.layers.Dense(1)(layers[rnn]()(h)))
    x = _inputs(batch=2, seed=9)
    if rnn == "masked_lstm":
        x[1, 4:] = 0.0
    series = _fit_logged(model, tmp_path, x)
    directions = ["forward", "backward"] if rnn.startswith("bidirectional") else [None]
    for direction in directions:
        prefix = "rnn" if direction is None else "rnn/" + direction
        _, h_logged = _last_step(series, prefix + "/activation")
        if rnn == "gru":
            gate_info, z = _last_step(series, prefix + "/gate_z")
            assert gate_info["kind"] == metadata.GATE_ACTIVATION and gate_info["gate"] == "z"
            assert gate_info["cell"] == "GRU"
            _, candidate = _last_step(series, prefix + "/gate_candidate")
            h_prev = np.concatenate([np.zeros_like(h_logged[:, :1]), h_logged[:, :-1]], axis=1)
            np.testing.assert_allclose(z * h_prev + (1 - z) * candidate, h_logged, rtol=1e-4, atol=1e-5)
            assert "%s/cell_state" % prefix not in series
            continue
        gate_info, o = _last_step(series, prefix + "/gate_o")
        assert gate_info["gate"] == "o" and gate_info["direction"] == direction
        state_info, c = _last_step(series, prefix + "/cell_state")
        assert state_info["kind"] == metadata.CELL_STATE
        rebuilt = o * np.tanh(c)
        if rnn == "masked_lstm":
            real = np.any(x != 0.0, axis=-1)
            assert gate_info["mask_tag"] == "rnn/mask"
            np.testing.assert_allclose(rebuilt[real], h_logged[real], rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_allclose(rebuilt, h_logged, rtol=1e-4, atol=1e-5)
        assert {"%s/gate_%s" % (prefix, g) for g in ga.LSTM_GATES} <= set(series)


def test_callback_skips_gates_of_cells_without_them_and_when_off(tmp_path):
    model = keras.Sequential([keras.Input((T, FEATURES)), keras.layers.SimpleRNN(UNITS, name="s"),
                              keras.layers.Dense(1)])
    series = _fit_logged(model, tmp_path / "simple", _inputs(batch=2))
    assert "s/activation" in series
    assert not [t for t in series if "/gate_" in t or t.endswith("/cell_state")]
    lstm = keras.Sequential([keras.Input((T, FEATURES)), keras.layers.LSTM(UNITS, name="l"), keras.layers.Dense(1)])
    series = _fit_logged(lstm, tmp_path / "off", _inputs(batch=2), log_gate_activations=False)
    assert "l/activation" in series
    assert not [t for t in series if "/gate_" in t or t.endswith("/cell_state")]


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_forget_bias_set_for_timescales_T0_logs_T0(tmp_path, rnn):
    """mean f = exp(-1/T0) per unit (the gate's weights zeroed, its bias the
    logit) must log T_u = T0 (Mahto et al.'s -1/ln(mean f))."""
    t0 = np.array([2.0, 5.0, 10.0, 50.0])
    keep = np.exp(-1.0 / t0)
    logit = np.log(keep / (1.0 - keep)).astype("float32")
    layer = keras.layers.LSTM(UNITS, name="rnn") if rnn == "lstm" else keras.layers.GRU(UNITS, name="rnn")
    model = keras.Sequential([keras.Input((T, FEATURES)), layer, keras.layers.Dense(1)])
    block = slice(UNITS, 2 * UNITS) if rnn == "lstm" else slice(0, UNITS)  # f / z columns
    kernel, recurrent = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
    kernel[:, block] = 0.0
    recurrent[:, block] = 0.0
    layer.cell.kernel.assign(kernel)
    layer.cell.recurrent_kernel.assign(recurrent)
    bias = layer.cell.bias.numpy()
    if bias.ndim == 2:  # GRU reset_after: input and recurrent bias rows
        bias[0, block], bias[1, block] = logit, 0.0
    else:
        bias[block] = logit
    layer.cell.bias.assign(bias)
    _fit_logged(model, tmp_path, _inputs(batch=2))
    gate = "f" if rnn == "lstm" else "z"
    logged = tb_reading.read_stats(tmp_path, metadata.MEMORY_TIMESCALE)["."]
    info, steps, arrays = logged["rnn/gate_%s" % gate]
    assert info["gate"] == gate and info["axes"] == ["unit"] and steps == [1]
    np.testing.assert_allclose(arrays[0], t0, rtol=2e-3)


def test_memory_timescales_weigh_only_real_timesteps():
    gate = np.full((2, 4, 1), 0.5)
    gate[1, 2:] = 0.99  # padding: must not count
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    np.testing.assert_allclose(ga.memory_timescales(gate, mask), [-1 / np.log(0.5)])
    assert ga.memory_timescales(np.ones((1, 3, 1)))[0] == np.inf
