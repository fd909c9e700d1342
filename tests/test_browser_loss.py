"""End to end: the loss strip over a real TensorBoard in Chromium.

`falling` logs a probe loss that falls from 2 to 0.5 (with an accuracy);
`spiking` one that is flat at 1 but for x5 at step 30 and NaN at step 50;
`old` has RNN series but no probe loss (logs from before it). The strip
draws one line per run that has one, in the run's colour, marks the spike
and the NaN, and a click selects that step in the tab (slider and label).

Set RNN_SCREENSHOTS=<dir> to keep rnn_loss_1000.png and rnn_loss_1600.png.
"""

import json
import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

FALLING, SPIKING, OLD = "falling", "spiking", "old"
STEPS = (0, 10, 20, 30, 40, 50)
LOSSES = {
    FALLING: [2.0, 1.6, 1.2, 0.9, 0.7, 0.5],
    SPIKING: [1.0, 1.0, 1.0, 5.0, 1.0, float("nan")],
}
READY = "#rnn-app[data-state=ready]"
STRIP = "#rnn-loss-canvas"


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for run in (FALLING, SPIKING, OLD):
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for i, step in enumerate(STEPS):
                assert tb_rnn_plugin.activation(
                    "lstm/activation", np.full((2, 6, 3), 0.1 * i), step=step, layer="lstm", cell="LSTM")
                if run in LOSSES:
                    loss = LOSSES[run][i]
                    assert tb_rnn_plugin.probe_loss([loss, 1.0 - loss / 4], ["loss", "accuracy"], step=step)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_loss", write_logdir, [FALLING, SPIKING, OLD]) as tb:
        yield tb


def open_tab(browser, server, width):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, 900)
    browser_util.forget_kept_state(page)
    page.reload()
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=30000)
    # Both runs with a probe loss shown (the default may show fewer or more).
    for run in (FALLING, SPIKING):
        box = '#rnn-runs input[data-run="%s"]' % run
        if not frame.is_checked(box):
            frame.check(box)
            frame.wait_for_selector(READY, timeout=30000)
    frame.wait_for_function(
        "() => { const c = document.querySelector('%s'); return c && c.dataset.runs &&"
        " JSON.parse(c.dataset.runs).length === 2; }" % STRIP, timeout=30000)
    return context, page, frame


def data(frame, key):
    return json.loads(frame.get_attribute(STRIP, "data-" + key))


def x_of(frame, step):
    layout = data(frame, "layout")
    return layout["plotX"] + (step - layout["x0"]) / (layout["x1"] - layout["x0"]) * layout["plotW"]


def column_colours(frame, x):
    """The distinct RGB colours of the strip canvas's pixel column at CSS x."""
    return {tuple(c) for c in frame.evaluate("""([selector, x]) => {
        const canvas = document.querySelector(selector);
        const dpr = Number(canvas.dataset.dpr) || 1;
        const pixels = canvas.getContext('2d').getImageData(Math.round(x * dpr), 0, 1, canvas.height).data;
        const out = [];
        for (let i = 0; i < pixels.length; i += 4) out.push([pixels[i], pixels[i + 1], pixels[i + 2]]);
        return out; }""", [STRIP, x])}


def pixel_at(frame, x, y):
    return tuple(frame.evaluate("""([selector, x, y]) => {
        const canvas = document.querySelector(selector);
        const dpr = Number(canvas.dataset.dpr) || 1;
        return Array.from(canvas.getContext('2d').getImageData(
            Math.round(x * dpr), Math.round(y * dpr), 1, 1).data.slice(0, 3)); }""", [STRIP, x, y]))


def run_colour(frame, run):
    hex_colour = frame.get_attribute('#rnn-runs label[data-run="%s"] .rnn-run-swatch' % run, "data-color")
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_one_line_per_run_the_spike_and_nan_marked_and_a_click_selects_the_step(browser, server):
    context, page, frame = open_tab(browser, server, 1200)
    try:
        assert data(frame, "runs") == [FALLING, SPIKING]  # `old` has no probe loss: no line
        assert frame.get_attribute(STRIP, "data-metric") == "loss"
        # Each run's line passes the column of step 10, in its own colour.
        colours = column_colours(frame, x_of(frame, 10))
        for run in (FALLING, SPIKING):
            assert run_colour(frame, run) in colours, run
        # The x5 step is marked, a triangle in the spiking run's colour; NaN too.
        spikes = data(frame, "spikes")
        assert [s[:2] for s in spikes] == [[SPIKING, 30]]
        _, _, x, y = spikes[0]
        assert pixel_at(frame, x, y) == run_colour(frame, SPIKING)
        assert data(frame, "nonfinite") == [[SPIKING, 50]]
        assert (255, 0, 255) in column_colours(frame, x_of(frame, 50))
        # The metric selector offers the accuracy.
        options = frame.eval_on_selector_all("#rnn-loss-metric option", "os => os.map(o => o.value)")
        assert options == ["loss", "accuracy"]

        # Hover reads the step and both runs' values.
        box = frame.locator(STRIP).bounding_box()
        frame.locator(STRIP).hover(position={"x": x_of(frame, 30), "y": box["height"] / 2})
        readout = frame.text_content("#rnn-readout")
        assert "step 30" in readout and "spiking 5" in readout and "falling 0.9" in readout

        # A click at step 20 selects it: the step label and slider follow.
        frame.locator(STRIP).click(position={"x": x_of(frame, 20) + 3, "y": box["height"] / 2})
        frame.wait_for_selector(READY, timeout=30000)
        frame.wait_for_function("() => document.querySelector('#rnn-step-value').textContent === '20'",
                                timeout=30000)
        assert frame.input_value("#rnn-step") == str(STEPS.index(20))
        assert frame.get_attribute(STRIP, "data-selected") == "20"
        # The selected step's dashed line is drawn there.
        assert any(c != (255, 255, 255) for c in column_colours(frame, round(x_of(frame, 20)) + 0.5))
        assert page.console_errors.take() == []
    finally:
        context.close()


def test_the_strip_is_absent_without_a_probe_loss(browser, server):
    context, page, frame = open_tab(browser, server, 1200)
    try:
        for run in (FALLING, SPIKING):
            frame.uncheck('#rnn-runs input[data-run="%s"]' % run)
            frame.wait_for_selector(READY, timeout=30000)
        frame.check('#rnn-runs input[data-run="%s"]' % OLD)
        frame.wait_for_selector(READY, timeout=30000)
        assert frame.evaluate("document.querySelector('#rnn-loss').hidden") is True
        assert page.console_errors.take() == []
    finally:
        context.close()


def test_layout_at_1000_and_1600_px(browser, server):
    shots = os.environ.get("RNN_SCREENSHOTS")
    for width in (1000, 1600):
        context, page, frame = open_tab(browser, server, width)
        try:
            overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (width, overflow)
            right = frame.evaluate("document.querySelector('%s').getBoundingClientRect().right" % STRIP)
            assert right <= frame.evaluate("document.documentElement.clientWidth"), (width, right)
            if shots:
                os.makedirs(shots, exist_ok=True)
                page.screenshot(path=os.path.join(shots, "rnn_loss_%d.png" % width), full_page=True)
        finally:
            context.close()
