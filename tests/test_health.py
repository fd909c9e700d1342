"""Unit health (summary_ops/health.py): measures on constructed arrays, and
through the callback on constructed models, read back from TensorBoard."""

import warnings

import keras
import numpy as np
import pytest

import tb_reading
from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops import health
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

COL = {name: i for i, name in enumerate(health.FIELDS)}


def test_each_measure_on_constructed_units():
    rng = np.random.default_rng(0)
    B, T, U = 3, 10, 5
    h = rng.uniform(-0.5, 0.5, (B, T, U))
    g = rng.uniform(-1, 1, (B, T, U))
    h[..., 0] = 0.0
    g[..., 0] = 0.0  # unit 0: dead
    h[..., 1] = 0.995 * np.sign(rng.normal(size=(B, T)))  # unit 1: saturated everywhere
    g[..., 2] *= 100.0  # unit 2: exploding
    mask = np.ones((B, T), bool)
    mask[0, 8:] = False
    h[0, 8:, 3] = 0.999  # unit 3 saturated only under the mask: not counted
    f = np.full((B, T, U), 0.5)
    f[..., 4] = 0.999  # unit 4: forget gate stuck open
    out = health.unit_health(h, g, mask, bound=1.0, gates=[f])
    assert out.shape == (U, len(health.FIELDS))
    assert list(out[:, COL["dead"]]) == [1, 0, 0, 0, 0]
    assert out[1, COL["saturated_share"]] == 1.0 and out[1, COL["saturated"]] == 1
    assert out[3, COL["saturated_share"]] == 0.0
    assert list(out[:, COL["gate_saturated_share"]]) == [0, 0, 0, 0, 1]
    assert out[2, COL["exploding"]] == 1 and out[2, COL["gradient_ratio"]] > 10
    assert out[[1, 3, 4], COL["exploding"]].sum() == 0
    # An unbounded activation has no saturation; a layer without gates no gate share.
    unbounded = health.unit_health(h, g, None, bound=None, gates=None)
    assert np.isnan(unbounded[:, COL["saturated_share"]]).all()
    assert np.isnan(unbounded[:, COL["gate_saturated_share"]]).all()
    with pytest.raises(ValueError, match="unknown name"):
        health.thresholds_with({"deadness": 1})


def _logged_health(model, logdir, x, **callback_args):
    y = np.zeros((len(x), 1), "float32")
    model.compile(keras.optimizers.SGD(0.0), "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, callbacks=[RNNTensorBoard(
            str(logdir), update_freq=1, probe_data=(x, y), log_weights=False, **callback_args)])
    return tb_reading.read_stats(logdir, metadata.UNIT_HEALTH)["."]


def test_zero_weights_make_every_unit_dead(tmp_path):
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4, name="rnn"), keras.layers.Dense(1)])
    for w in model.weights:
        w.assign(np.zeros(w.shape, "float32"))
    x = np.random.default_rng(1).normal(size=(4, 6, 3)).astype("float32")
    info, steps, values = _logged_health(model, tmp_path, x)["rnn/activation"]
    assert info["fields"] == list(health.FIELDS) and info["thresholds"] == health.DEFAULT_THRESHOLDS
    assert steps == [1] and values[0].shape == (4, len(health.FIELDS))
    assert values[0][:, COL["dead"]].mean() == 1.0  # 100 % dead


def test_huge_inputs_saturate_a_tanh_layer_and_a_forget_bias_of_20_the_gates(tmp_path):
    x = (1e3 * np.random.default_rng(2).normal(size=(4, 6, 3))).astype("float32")
    simple = keras.Sequential([keras.Input((6, 3)), keras.layers.SimpleRNN(4, name="s"), keras.layers.Dense(1)])
    info, _, values = _logged_health(simple, tmp_path / "simple", x)["s/activation"]
    assert values[0][:, COL["saturated"]].mean() == 1.0  # 100 % saturated
    assert np.isnan(values[0][:, COL["gate_saturated_share"]]).all()  # no gates

    lstm = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4, name="l"), keras.layers.Dense(1)])
    bias = np.zeros(16, "float32")
    bias[:8] = 20.0  # input and forget gates pinned open
    lstm.get_layer("l").cell.bias.assign(bias)
    logged = _logged_health(lstm, tmp_path / "lstm", x / 1e3, health_thresholds={"gate_level": 0.02})
    info, _, values = logged["l/activation"]
    assert info["thresholds"]["gate_level"] == 0.02
    assert values[0][:, COL["gate_saturated_share"]].min() == 1.0
