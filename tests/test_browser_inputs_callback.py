"""End to end for the input on screen: models trained with RNNTensorBoard
(an Embedding feeding the layer, input_vocabulary= and input_dependency=)
-> tensorboard -> Chromium. The text view shows the probe batch's tokens,
named by the vocabulary, in order and at one x per position in every run;
the input dependency view colours the values logged; the "different
inputs" notice names the run whose probe batch differs, and only it.
The expected values are read back independently through TensorBoard's
data provider.
"""

import json
import urllib.parse

import keras
import numpy as np
import pytest

from tb_reading import read_back
from tb_rnn_plugin import RNNTensorBoard, metadata

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

VOCABULARY = ["_", "a", "b", "c", "d", "e"]
TIMESTEPS, SAMPLES = 7, 4
# Two runs on one probe batch, a third on another.
SAME = ("gru", "lstm")
OTHER = "lstm_other_probe"
RUNS = SAME + (OTHER,)
READY = "#rnn-app[data-state=ready]"


def data(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, len(VOCABULARY), size=(32, TIMESTEPS)).astype("int32")
    return x, np.roll(x, 1, axis=1)  # the label at t: the token before it


def train_run(logdir, run, cell, probe_seed):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((TIMESTEPS,), dtype="int32")
    x = keras.layers.Embedding(len(VOCABULARY), 4)(inputs)
    x = getattr(keras.layers, cell)(5, return_sequences=True, name="rnn")(x)
    outputs = keras.layers.Dense(len(VOCABULARY), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = data(0)
    probe_x, probe_y = data(probe_seed)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[RNNTensorBoard(
        str(logdir / run), update_freq=1, full_every=1, max_samples=SAMPLES,
        probe_data=(probe_x[:SAMPLES], probe_y[:SAMPLES]), input_vocabulary=VOCABULARY,
        input_dependency=True)])


def write_logdir(logdir):
    train_run(logdir, "gru", "GRU", probe_seed=1)
    train_run(logdir, "lstm", "LSTM", probe_seed=1)
    train_run(logdir, OTHER, "LSTM", probe_seed=2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_inputs_callback", write_logdir, RUNS) as tb:
        yield tb


@pytest.fixture(scope="module")
def logged(server):
    return read_back(server.logdir_path, (metadata.TOKENS, metadata.INPUT_DEPENDENCY))


def open_view(browser, server, view, runs):
    state = {"runs": list(runs), "runsChosen": True, "layer": "rnn",
             "kind": "input_dependency" if view == "input_dependency" else "activation",
             "view": view, "lastStep": True, "sampleMode": "sample", "sample": 0}
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    errors = browser_util.ConsoleErrors(page)
    page.goto(server.url + "/#rnn&rnn=" + urllib.parse.quote(json.dumps(state)))
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=60000)
    frame.wait_for_selector(".rnn-token-strip", timeout=60000)
    return context, frame, errors


def token_cells(frame, run):
    return frame.evaluate(
        """(run) => [...document.querySelectorAll('.rnn-token-strip')].filter((s) => s.dataset.run === run)
          .flatMap((s) => [...s.querySelectorAll('.rnn-token')]).map((c) => ({
            text: c.textContent, value: c.dataset.value === undefined ? null : Number(c.dataset.value),
            x: c.getBoundingClientRect().left }))""", run)


def test_the_text_view_shows_the_logged_tokens_by_name_in_every_run(browser, server, logged):
    _, _, ids = logged["lstm"]["rnn/tokens"]
    probe_x, _ = data(1)
    np.testing.assert_array_equal(ids[-1], probe_x[:SAMPLES])  # what the callback wrote
    context, frame, errors = open_view(browser, server, "text", SAME)
    try:
        cells = {run: token_cells(frame, run) for run in SAME}
        expected = [VOCABULARY[int(i)] for i in probe_x[0]]
        for run in SAME:
            assert [c["text"] for c in cells[run]] == expected
        assert [c["x"] for c in cells["gru"]] == [c["x"] for c in cells["lstm"]]
        # One probe batch: the notice compared the fingerprints and stays hidden.
        frame.wait_for_selector("#rnn-probe-notice[data-groups]", state="attached", timeout=15000)
        assert frame.get_attribute("#rnn-probe-notice", "data-groups") == "1"
        assert not errors.take()
    finally:
        context.close()


def test_a_run_on_another_probe_batch_is_named_by_the_notice(browser, server):
    context, frame, errors = open_view(browser, server, "text", RUNS)
    try:
        frame.wait_for_selector("#rnn-probe-notice:not([hidden])", timeout=15000)
        groups = frame.evaluate("() => [...document.querySelectorAll('#rnn-probe-notice li')].map((li) => "
                                "[...li.querySelectorAll('.rnn-probe-run')].map((s) => s.textContent))")
        assert sorted(groups) == sorted([list(SAME), [OTHER]])
        assert not errors.take()
    finally:
        context.close()


def test_the_input_dependency_view_draws_the_logged_values(browser, server, logged):
    _, _, values = logged["lstm"]["rnn/input_dependency"]
    context, frame, errors = open_view(browser, server, "input_dependency", ("lstm",))
    try:
        # The default position: the last loss; its row of sample 0, token by token.
        drawn = [c["value"] for c in token_cells(frame, "lstm")]
        np.testing.assert_allclose(drawn, values[-1][0, TIMESTEPS - 1], rtol=1e-5)
        assert drawn[-1] > 0  # the loss at t depends on its own input
        assert not errors.take()
    finally:
        context.close()
