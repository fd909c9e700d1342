"""End to end: a go_backwards layer's gradient horizon, from training to the
stacked bars.

An LSTM with go_backwards=True (not in a Bidirectional) trains with
RNNTensorBoard(gradient_horizon=True). Such a layer processes timestep T-1
first, so the loss at input time t reaches the states h_j with j >= t: its
lags count j - t. Nothing but the horizon's metadata can tell the tab so
(the layer has no direction); the stacked bar of timestep j must hold the
losses t = j, j-1, ..., 0 at lags 0, 1, ..., j, summing to the logged
column, not one lag-0 segment. The logged horizon is read back through
TensorBoard's data provider.
"""

import json
import urllib.parse

import numpy as np
import pytest

try:
    import browser_util
    import tb_reading
except ImportError:  # tests/ imported as a package
    from tests import browser_util, tb_reading

RUN, LAYER, TAG = "back", "back", "back/gradient_horizon"
T, FEATURES, UNITS = 6, 2, 4
BARS = 'canvas.rnn-horizon-bars[data-run="%s"][data-direction="none"]' % RUN


def train(logdir):
    import keras

    from tb_rnn_plugin import RNNTensorBoard

    keras.utils.set_random_seed(5)
    inputs = keras.Input((T, FEATURES))
    x = keras.layers.LSTM(UNITS, return_sequences=True, go_backwards=True, name=LAYER)(inputs)
    outputs = keras.layers.Dense(1)(x)  # time-local: one loss per timestep
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(32, T, FEATURES)).astype("float32")
    target = np.cumsum(data[:, :, :1], axis=1)
    model.fit(data, target, batch_size=8, epochs=1, verbose=0, callbacks=[RNNTensorBoard(
        logdir / RUN, layers=[LAYER], update_freq=2, gradient_horizon=True, full_every=1,
        precision="float32", log_weights=False)])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_horizon_go_backwards", train, [RUN]) as tb:
        yield tb


@pytest.fixture(scope="module")
def logged(server):
    """(parsed metadata, steps, arrays) of the horizon as TensorBoard holds it."""
    from tb_rnn_plugin import metadata

    return tb_reading.read_back(server.logdir_path, (metadata.GRADIENT_HORIZON,))[RUN][TAG]


def link():
    state = {"runs": [RUN], "runsChosen": True, "layer": LAYER, "kind": "gradient_horizon",
             "view": "horizon", "lastStep": True, "sampleMode": "sample", "shared": True}
    return "#rnn&rnn=%s" % urllib.parse.quote(json.dumps(state))


def test_the_logged_horizon_runs_backwards(logged):
    meta, _, arrays = logged
    assert meta["direction"] is None and meta["backward"] is True
    G = np.asarray(arrays[-1], np.float64)[0]
    # Losses reach only states at or after their own timestep.
    assert np.all(np.tril(G, -1) == 0) and np.all(np.triu(G, 1).sum(axis=0)[1:] > 0)


def test_stacked_bars_hold_the_lags_the_data_has(browser, server, logged):
    _, steps, arrays = logged
    G = np.asarray(arrays[-1], np.float64)[0]  # sample 0: [target t, timestep j]
    page = browser.new_page(viewport={"width": 1200, "height": 1200})
    errors = browser_util.ConsoleErrors(page)
    page.goto(server.url + "/" + link())
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector("#rnn-app[data-state=ready]", timeout=30000)
    frame.wait_for_selector(BARS, timeout=30000)
    assert frame.get_attribute(BARS, "data-step") == str(steps[-1])
    assert frame.get_attribute(BARS, "data-sample") == "0"
    columns = frame.evaluate("""(s) => document.querySelector(s).rnnHorizon.stack.columns.map(
        (c) => c.segments.map((g) => [g.t, g.lag, g.value]))""", BARS)
    assert len(columns) == T
    for j, segments in enumerate(columns):
        assert [s[1] for s in segments] == list(range(j + 1))  # lags j - t, nearest loss first
        assert [s[0] for s in segments] == list(range(j, -1, -1))
        np.testing.assert_allclose([s[2] for s in segments], G[j::-1, j], rtol=1e-5, atol=1e-12)
        assert sum(s[2] for s in segments) == pytest.approx(G[:, j].sum(), rel=1e-5)
    assert max(s[1] for s in columns[-1] if s[2] > 0) > 0, "only lag 0 is drawn"
    legend = frame.text_content('.rnn-horizon-panel[data-run="%s"]' % RUN)
    assert "backward layer" in legend
    assert not errors.take()
    page.close()
