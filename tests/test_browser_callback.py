"""End to end from training to pixels: RNNTensorBoard -> tensorboard -> Chromium.

Two small models (an LSTM and a GRU, both layers named "rnn") train with the
callback; a real TensorBoard serves the logdir; the tab shows both runs side
by side at a chosen logged step. The sign of what is drawn must match the
logged data, read back independently through TensorBoard's data provider.
"""

import contextlib

import keras
import numpy as np
import pytest

from tb_reading import read_back
from tb_rnn_plugin import RNNTensorBoard

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("gru", "lstm")
TIMESTEPS, UNITS = 10, 6


def train_run(logdir, cell):
    keras.utils.set_random_seed(11)
    inputs = keras.Input((TIMESTEPS, 3))
    x = getattr(keras.layers, cell.upper())(UNITS, return_sequences=True, name="rnn")(inputs)
    x = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, x)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(64, TIMESTEPS, 3)).astype("float32")
    target = data[:, 0, :1] - data[:, -1, 1:2]
    model.fit(data, target, batch_size=16, epochs=2, verbose=0,
              callbacks=[RNNTensorBoard(logdir / cell, update_freq=3, full_every=1)])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    browser_util.require_browser()  # skip (or fail under CI) before any work
    logdir = tmp_path_factory.mktemp("callback_logdir")
    for cell in RUNS:
        train_run(logdir, cell)
    with browser_util.serving(logdir, RUNS) as server:
        yield server, read_back(logdir)


@contextlib.contextmanager
def both_runs_open(server):
    """(page, plugin frame, console errors) of the tab with both runs checked."""
    with browser_util.chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors = browser_util.ConsoleErrors(page)
        page.goto(server.url + "/#rnn")
        frame = browser_util.plugin_frame(page)
        frame.wait_for_selector("#rnn-app[data-state=ready]", timeout=30000)
        for run in RUNS:
            frame.check('#rnn-runs input[data-run="%s"]' % run)
        yield page, frame, errors


def extreme_cells(values):
    """(t, c) of the largest and of the smallest value of sample 0."""
    sample = values[0]
    high = tuple(int(i) for i in np.unravel_index(np.argmax(sample), sample.shape))
    low = tuple(int(i) for i in np.unravel_index(np.argmin(sample), sample.shape))
    assert sample[high] > 0 > sample[low], "test data needs both signs"
    return high, low


def test_two_runs_written_by_the_callback_drawn_with_the_data_sign(served):
    server, logged = served
    _, steps, _ = logged["lstm"]["rnn/state_gradient"]
    # Not the last step: the slider starts there.
    index = len(steps) - 2
    chosen_step = steps[index]
    with both_runs_open(server) as (page, frame, errors):
        frame.select_option("#rnn-quantity", "state_gradient")
        frame.uncheck("#rnn-shared")  # each run's extremes at full colour
        frame.fill("#rnn-step", str(index))
        frame.wait_for_selector("#rnn-app[data-state=ready]", timeout=30000)
        assert frame.text_content("#rnn-step-value").strip() == str(chosen_step)

        for run in RUNS:
            _, run_steps, run_values = logged[run]["rnn/state_gradient"]
            assert run_steps == steps
            panel = '.rnn-panel[data-run="%s"]' % run
            assert frame.get_attribute(panel, "data-step") == str(chosen_step)
            (t_high, c_high), (t_low, c_low) = extreme_cells(run_values[index])
            selector = browser_util.canvas_selector(run)
            assert browser_util.is_positive_colour(
                browser_util.pixel(frame, selector, t_high, c_high)
            ), (run, t_high, c_high)
            assert browser_util.is_negative_colour(
                browser_util.pixel(frame, selector, t_low, c_low)
            ), (run, t_low, c_low)
            vmax = float(frame.get_attribute(panel, "data-vmax"))
            assert vmax == pytest.approx(np.abs(run_values[index][0]).max(), rel=1e-4)
        page.screenshot(path=str(server.logdir) + "/tab.png")
        assert not errors.take()


def test_gate_activations_drawn_one_panel_per_gate_with_the_logged_values(served):
    """The callback's recomputed gates, read in the tab: one labelled panel per
    gate in Keras' order, the sigmoid gates on the 0..1 scale, the most open
    value drawn brighter than the most shut."""
    server, logged = served
    with both_runs_open(server) as (page, frame, errors):
        frame.uncheck("#rnn-shared")
        frame.select_option("#rnn-quantity", "gate_activation")
        frame.wait_for_selector("#rnn-app[data-state=ready]", timeout=30000)
        expected_gates = {"lstm": ["i", "f", "candidate", "o"], "gru": ["z", "r", "candidate"]}
        for run, gates in expected_gates.items():
            panels = '.rnn-panel[data-run="%s"]' % run
            assert frame.eval_on_selector_all(panels, "ps => ps.map(p => p.dataset.gate)") == gates
            keep = "f" if run == "lstm" else "z"
            panel = '%s[data-gate="%s"]' % (panels, keep)
            assert "gate %s" % keep in frame.text_content(panel + " .rnn-gate")
            _, steps, values = logged[run]["rnn/gate_%s" % keep]
            assert frame.get_attribute(panel, "data-step") == str(steps[-1])
            gate = values[-1][0]  # sample 0, [timesteps, units]
            assert 0 < gate.min() and gate.max() < 1
            # A sigmoid gate on its own sequential 0..1 scale (viridis: dark
            # shut, yellow open), whatever range the logged values span.
            assert float(frame.get_attribute(panel, "data-vmax")) == 1.0
            assert frame.get_attribute(panel + " .rnn-colorbar", "data-colormap") == "viridis"
            high = np.unravel_index(np.argmax(gate), gate.shape)
            low = np.unravel_index(np.argmin(gate), gate.shape)
            brightness = [sum(browser_util.pixel(frame, panel + " canvas.rnn-plot", int(t), int(c))[:3])
                          for t, c in (high, low)]
            assert brightness[0] > brightness[1], (run, gate.max(), gate.min(), brightness)
        # The cell state exists for the LSTM only: the GRU is named in one line.
        frame.select_option("#rnn-quantity", "cell_state")
        frame.wait_for_selector("#rnn-app[data-state=ready]", timeout=30000)
        # c_t, and the layer's output h_t beside it, each on its own range.
        panels = frame.locator('.rnn-panel[data-run="lstm"]')
        assert panels.count() == 2
        assert [panels.nth(i).get_attribute("data-tag") for i in range(2)] == ["rnn/cell_state", "rnn/activation"]
        for i, tag in enumerate(("rnn/cell_state", "rnn/activation")):
            _, _, values = logged["lstm"][tag]
            vmax = float(panels.nth(i).get_attribute("data-vmax"))
            assert vmax == pytest.approx(np.abs(values[-1][0]).max(), rel=1e-3), tag
        assert frame.locator('.rnn-panel[data-run="gru"]').count() == 0
        assert "gru" in frame.text_content("#rnn-panels")
        assert not errors.take()
