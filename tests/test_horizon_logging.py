"""RNNTensorBoard(gradient_horizon=...): the horizon logged during training,
read back through TensorBoard's data provider, against a second method."""

import warnings

import keras
import numpy as np
import pytest

import tb_reading
from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard
from tb_rnn_plugin.summary_ops.horizon import GradientHorizon, horizon_statistics

B, T, D, UNITS, KEEP = 4, 6, 3, 5, 3


def fit_logged(layer, logdir, **horizon_options):
    """One training step at learning rate 0 (weights unchanged), logged."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((T, D))
    model = keras.Model(inp, keras.layers.Dense(2)(layer(inp)))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype("float32")
    y = rng.normal(size=(B, T, 2)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
        model.fit(x, y, batch_size=B, epochs=1, verbose=0, callbacks=[RNNTensorBoard(
            str(logdir), update_freq=1, probe_data=(x, y), max_samples=KEEP, log_weights=False,
            log_gate_activations=False, gradient_horizon=horizon_options,
            precision="float32")])
    logged = tb_reading.read_back(logdir, (metadata.GRADIENT_HORIZON,))["."]
    kept = {kind: tb_reading.read_stats(logdir, kind).get(".", {})
            for kind in (metadata.HORIZON_STATS, metadata.LAG_PROFILE)}
    return model, x, y, logged, kept


@pytest.mark.parametrize("method", [None, "tile"])  # None: the default, "reverse"
def test_logged_horizon_equals_a_loop_of_backward_passes(tmp_path, method):
    layer = keras.layers.LSTM(UNITS, return_sequences=True, name="rnn")
    model, x, y, logged, kept = fit_logged(layer, tmp_path, **({"method": method} if method else {}))
    info, steps, values = logged["rnn/gradient_horizon"]
    assert steps == [1]
    assert info["kind"] == metadata.GRADIENT_HORIZON and info["axes"] == ["sample", "target", "timestep"]
    assert info["targets"] is None and info["max_lag"] is None and info["cell"] == "LSTM"
    [expected] = GradientHorizon(model, layer).loop(x, y)["directions"]  # the second method
    G = values[0]
    assert G.shape == (KEEP, T, T)
    np.testing.assert_allclose(G, expected["horizon"][:KEEP], rtol=1e-4, atol=1e-9)
    assert np.all(np.triu(G, 1) == 0)  # a forward layer: no gradient from later losses
    stats_info, _, stats = kept[metadata.HORIZON_STATS]["rnn/gradient_horizon"]
    assert stats_info["fields"] == ["max", "effective_horizon"]
    want = horizon_statistics(expected["horizon"][:KEEP])
    np.testing.assert_allclose(stats[0], [want["max"], want["effective_horizon"]], rtol=1e-4)
    _, _, profile = kept[metadata.LAG_PROFILE]["rnn/gradient_horizon"]
    np.testing.assert_allclose(profile[0], want["profile"], rtol=1e-4)
    assert profile[0][0] == pytest.approx(1.0)  # lag 0 is each row's own diagonal
    # The vectors dL_t/dh_j summed over the losses t are the state gradient
    # dL/dh_j the same step logged (read back from the event file).
    [vectors] = GradientHorizon(model, layer, return_vectors=True)(x, y)["directions"]
    _, state_steps, state_gradient = tb_reading.read_back(tmp_path)["."]["rnn/state_gradient"]
    assert state_steps == [1]
    np.testing.assert_allclose(vectors["vectors"][:KEEP].sum(axis=1), state_gradient[0],
                               rtol=1e-4, atol=1e-7)


def test_bidirectional_directions_and_options(tmp_path):
    layer = keras.layers.Bidirectional(keras.layers.GRU(UNITS, return_sequences=True), name="bi")
    _, _, _, logged, kept = fit_logged(layer, tmp_path, max_lag=2, targets=[1, 4])
    for direction in ("forward", "backward"):
        info, _, values = logged["bi/%s/gradient_horizon" % direction]
        assert info["targets"] == [1, 4] and info["max_lag"] == 2
        G = values[0]
        assert G.shape == (KEEP, 2, T)
        for row, t in enumerate((1, 4)):
            j = np.arange(T)
            lag = t - j if direction == "forward" else j - t
            assert np.all(G[:, row, (lag < 0) | (lag > 2)] == 0), (direction, t)
            assert np.all(G[:, row, t] > 0)
        _, _, profile = kept[metadata.LAG_PROFILE]["bi/%s/gradient_horizon" % direction]
        assert len(profile[0]) == 3  # lags 0..max_lag


def test_unknown_horizon_option_is_refused_at_once():
    with pytest.raises(ValueError, match="unknown option"):
        RNNTensorBoard("logs", gradient_horizon={"max_lags": 3})
    with pytest.raises(ValueError, match="None, True or a dict"):
        RNNTensorBoard("logs", gradient_horizon="yes")


def test_on_delayed_recall_the_lstm_gradient_reaches_lag_k_and_the_simplernn_does_not():
    """The demo's delayed-recall task (label at t = token at t - k), trained
    640 steps: the LSTM's normalised horizon at lag k stays measurable, the
    SimpleRNN's has vanished (a^k for its per-step decay a < 1)."""
    from tb_rnn_plugin import demo
    from tb_rnn_plugin.summary_ops.horizon import lag_profile

    k, timesteps = 20, 40
    x, y = demo.make_delayed_recall_data(2048, timesteps, k, seed=0)
    probe_x, probe_y = demo.make_delayed_recall_data(16, timesteps, k, seed=1)
    assert np.array_equal(probe_y[:, k:], probe_x[:, :-k]) and not probe_y[:, :k].any()
    at_lag_k = {}
    for cell in ("LSTM", "SimpleRNN"):
        keras.utils.set_random_seed(1)
        model = demo.build_model(cell, timesteps, 64, every_step=True)
        model.fit(x, y, batch_size=64, epochs=20, verbose=0)
        horizon = GradientHorizon(model, model.get_layer("rnn"))
        [entry] = horizon(probe_x, probe_y)["directions"]
        at_lag_k[cell] = lag_profile(entry["horizon"])[k]
    assert at_lag_k["LSTM"] > 0.01, at_lag_k
    assert at_lag_k["LSTM"] > 50 * at_lag_k["SimpleRNN"], at_lag_k
