"""End to end: the gradient horizon views on what the real callback logs.

The demo's delayed-recall task (tb_rnn_plugin.demo, tiny: 8 timesteps,
4 units, 2 epochs, every step logged) trains an LSTM and a SimpleRNN with
RNNTensorBoard(gradient_horizon=...); the tab must draw what TensorBoard's
data provider reads back: the stacked bars sum to the logged G, and the
effective horizons over training are the logged ones. The constructed-value
tests are in test_browser_horizon.py.
"""

import os

import numpy as np
import pytest

try:
    import browser_util
    import tb_reading
    from test_browser_horizon import BARS, columns, wait_drawn, link_state
except ImportError:  # tests/ imported as a package
    from tests import browser_util, tb_reading
    from tests.test_browser_horizon import BARS, columns, wait_drawn, link_state

RUNS = ("lstm", "simplernn")
TIMESTEPS = 8
TAG = "rnn/gradient_horizon"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    browser_util.require_browser()  # skip (or fail under CI) before any work
    from tb_rnn_plugin import demo

    logdir = tmp_path_factory.mktemp("rnn_horizon_demo")
    demo.train(str(logdir), ["LSTM", "SimpleRNN"], epochs=2, timesteps=TIMESTEPS, units=4, update_freq=1,
               samples=128, task="delayed", delay=3)
    with browser_util.serving(logdir, list(RUNS)) as tb:
        yield tb


def demo_tokens():
    from tb_rnn_plugin import demo

    return demo.TOKENS


def open_link(browser, server, view):
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    page.goto(server.url + "/" + link_state(view, RUNS, "rnn", "sample"))
    frame = browser_util.plugin_frame(page)
    wait_drawn(frame, view)
    return context, page, frame


def test_callback_horizons_draw_as_logged(browser, server):
    from tb_rnn_plugin import metadata

    logged = tb_reading.read_back(server.logdir_path, kinds=(metadata.GRADIENT_HORIZON, metadata.LABELS))
    stats = tb_reading.read_stats(server.logdir_path, metadata.HORIZON_STATS)
    context, page, frame = open_link(browser, server, "horizon")
    try:
        for run in RUNS:
            info, steps, arrays = logged[run][TAG]
            assert info["targets"] is None  # a loss at every timestep
            selector = BARS % (run, "none")
            assert frame.get_attribute(selector, "data-bars") == str(TIMESTEPS)
            assert frame.get_attribute(selector, "data-step") == str(steps[-1])
            G = arrays[-1][0].astype(np.float64)  # sample 0, [target, timestep]
            assert G.shape == (TIMESTEPS, TIMESTEPS)
            for j, segments in enumerate(columns(frame, selector)):
                # Forward layer: only the losses at t >= j reach h_j.
                assert all(s[0] >= j and s[1] == s[0] - j for s in segments)
                assert sum(s[2] for s in segments) == pytest.approx(G[j:, j][G[j:, j] > 0].sum(), rel=1e-5)
            # The labels row: the callback's true and predicted ids at that step, sample 0.
            label_info, label_steps, label_arrays = logged[run]["rnn/labels"]
            assert label_info["vocabulary"] == list(demo_tokens())
            labels = label_arrays[label_steps.index(steps[-1])][0]
            cells = frame.evaluate("(s) => document.querySelector(s).rnnLabels",
                                   'canvas.rnn-horizon-labels[data-run="%s"]' % run)
            assert [(c["truth"], c["predicted"]) for c in cells] == [tuple(v) for v in labels.tolist()]
            assert any(c["right"] is not None for c in cells)
            overview = frame.evaluate("(s) => document.querySelector(s).rnnOverview",
                                      'canvas.rnn-horizon-overview[data-run="%s"]' % run)
            assert overview["steps"] == stats[run][TAG][1]
        # Real gradients are small: each axis writes one exponent once ("x1e-3"), never
        # a label of its own in another notation; and the runs share one y range.
        axes = frame.evaluate("""() => Array.from(document.querySelectorAll(
            'canvas.rnn-horizon-bars, canvas.rnn-horizon-projection, canvas.rnn-horizon-overview'),
            (c) => ({labels: c.dataset.tickLabels.split(' '), multiplier: c.dataset.multiplier, hi: c.dataset.hi,
                     kind: c.className, run: c.dataset.run}))""")
        assert len(axes) == 3 * len(RUNS)
        for axis in axes:
            assert all("e" not in label for label in axis["labels"]), axis
            assert axis["multiplier"] == "" or axis["multiplier"].startswith("\u00d71e"), axis
        for kind in {axis["kind"] for axis in axes}:
            assert len({axis["hi"] for axis in axes if axis["kind"] == kind}) == 1, kind
        if os.environ.get("RNN_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_horizon_demo_test.png"),
                            full_page=True)
        assert not page.console_errors.take()
    finally:
        context.close()

    context, page, frame = open_link(browser, server, "horizon_training")
    try:
        lines = frame.evaluate("(s) => document.querySelector(s).rnnLines", "canvas.rnn-horizon-effective")
        assert [line["run"] for line in lines] == list(RUNS)
        for line in lines:
            _, steps, values = stats[line["run"]][TAG]
            assert line["steps"] == steps and len(steps) >= 2
            np.testing.assert_allclose(line["values"], [v[1] for v in values], rtol=1e-6)
        scales = frame.evaluate("(s) => document.querySelector(s).rnnTimescales", "canvas.rnn-horizon-timescales")
        by_run = {s["run"]: s for s in scales}
        assert by_run["lstm"]["gate"] == "f" and len(by_run["lstm"]["gateScales"]) == len(lines[0]["steps"])
        assert by_run["simplernn"]["gateScales"] is None
        assert any("simplernn" in n and "no forget/update gate" in n
                   for n in frame.locator(".rnn-horizon-timescale-note").all_text_contents())
        assert not page.console_errors.take()
    finally:
        context.close()
