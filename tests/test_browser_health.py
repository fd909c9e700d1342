"""End to end: the health overview over a real TensorBoard in Chromium.

`nan_run`'s state gradient holds NaN from step 30 on, first at sample 1,
timesteps 4-5, channel 2; its vanishing ratio falls below 1e-3 at step 40.
`ok_run` is healthy; one of its 4 units carries 20x the median unit's
gradient: a dominant unit, shown as information (not red). The overview (folded to its red line,
opened by a click) shows
the NaN row with its step; a click on it switches to the state gradient's
heatmap at step 30, sample 1, where those cells are drawn magenta; a click
on the vanishing cell opens the profile view at step 40.

Set RNN_SCREENSHOTS=<dir> to keep rnn_health_1000.png and rnn_health_1600.png.
"""

import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

NAN_RUN, OK_RUN = "nan_run", "ok_run"
STEPS = (0, 10, 20, 30, 40, 50)
S, T, C = 2, 8, 4
READY = "#rnn-app[data-state=ready]"
NAN_RGB = (255, 0, 255)  # colormap.js NAN_RGB


def state_gradient(step, bad):
    """||dL/dh_0|| / ||dL/dh_7|| = 10^(-step / 10); NaN from step 30 in `bad`."""
    a = 10.0 ** (-(step / 10) * (T - 1 - np.arange(T)) / (T - 1))
    g = np.broadcast_to(a[None, :, None], (S, T, C)).astype(np.float32).copy()
    if bad and step >= 30:
        g[1, 4:6, 2] = np.nan
    return g


FIELDS = ("dead", "saturated_share", "saturated", "gate_saturated_share", "gradient_ratio", "exploding")


def one_dominant_unit():
    """[C units, FIELDS]: unit 0's gradient 20x the median unit's."""
    out = np.zeros((C, len(FIELDS)), np.float32)
    out[:, FIELDS.index("gradient_ratio")] = 1.0
    out[0, FIELDS.index("gradient_ratio")] = 20.0
    out[0, FIELDS.index("exploding")] = 1.0
    return out


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for run, bad in ((NAN_RUN, True), (OK_RUN, False)):
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for step in STEPS:
                common = dict(step=step, layer="lstm", cell="LSTM")
                assert tb_rnn_plugin.activation("lstm/activation", np.full((S, T, C), 0.2), **common)
                sg = state_gradient(step, bad) if bad else np.full((S, T, C), 0.1, np.float32)
                assert tb_rnn_plugin.state_gradient("lstm/state_gradient", sg, **common)
                if not bad:
                    assert tb_rnn_plugin.unit_health("lstm/activation", one_dominant_unit(), fields=list(FIELDS),
                                                     thresholds={"exploding": 10.0}, **common)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_health", write_logdir, [NAN_RUN, OK_RUN]) as tb:
        yield tb


def open_tab(browser, server, width):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, 1000)
    browser_util.forget_kept_state(page)
    page.reload()
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=30000)
    frame.wait_for_selector("#rnn-health[data-state=ready]", timeout=30000)
    return context, page, frame


def cell(frame, run, column):
    return frame.locator('#rnn-health tr[data-run="%s"] td[data-column="%s"]' % (run, column))


def test_the_overview_shows_the_nan_and_a_click_shows_the_nan_cells(browser, server):
    context, page, frame = open_tab(browser, server, 1200)
    try:
        assert frame.evaluate("document.querySelector('#rnn-health').open") is False
        frame.click("#rnn-health > summary")
        assert frame.evaluate("document.querySelector('#rnn-health').open") is True
        assert frame.get_attribute("#rnn-health", "data-problems") == "1"
        summary = frame.text_content("#rnn-health summary")
        assert "1 of 2 layers with a problem" in summary
        assert "nan_run \u00b7 lstm at step 30 (state gradient, timestep 4\u20135, sample 1)" in summary
        nan_cell = cell(frame, NAN_RUN, "nonfinite")
        assert nan_cell.get_attribute("data-problem") == "true"
        assert nan_cell.locator(".rnn-health-value").text_content() == "step 30"
        assert "timestep 4\u20135, sample 1" in nan_cell.text_content()
        assert cell(frame, OK_RUN, "nonfinite").text_content() == "none"
        assert cell(frame, OK_RUN, "nonfinite").get_attribute("data-problem") == "false"
        vanishing = cell(frame, NAN_RUN, "vanishing")
        assert vanishing.get_attribute("data-problem") == "true"
        assert "since step 40" in vanishing.text_content()
        # The median per-sample ratio with its spread (both samples alike).
        assert "p10\u2013p90 1e-5\u20131e-5" in vanishing.text_content()
        assert cell(frame, NAN_RUN, "exploding").get_attribute("data-problem") == "false"
        dominant = cell(frame, OK_RUN, "dominant")
        assert dominant.locator(".rnn-health-value").text_content() == "25 %"
        assert dominant.get_attribute("data-problem") == "false"
        assert "rnn-health-info" in dominant.get_attribute("class")
        assert dominant.evaluate("(td) => getComputedStyle(td).backgroundColor") in ("rgba(0, 0, 0, 0)", "transparent")
        # Problems are highlighted in the theme's error colours.
        background = nan_cell.evaluate("(td) => getComputedStyle(td).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")

        # Start elsewhere (activation, the newest step), then click the NaN.
        frame.uncheck('#rnn-runs input[data-run="%s"]' % NAN_RUN)
        frame.wait_for_selector(READY, timeout=30000)
        nan_cell.click()
        frame.wait_for_selector(READY, timeout=30000)
        frame.wait_for_selector('canvas.rnn-plot[data-run="%s"]' % NAN_RUN, timeout=30000)
        assert frame.input_value("#rnn-quantity") == "state_gradient"
        assert frame.input_value("#rnn-view") == "heatmap"
        assert frame.text_content("#rnn-step-value") == "30"
        assert frame.input_value("#rnn-sample") == "1"
        assert frame.is_checked('#rnn-runs input[data-run="%s"]' % NAN_RUN)
        selector = browser_util.canvas_selector(NAN_RUN)
        for t in (4, 5):
            assert browser_util.pixel(frame, selector, t, 2) == NAN_RGB
        assert browser_util.pixel(frame, selector, 3, 2) != NAN_RGB
        panel = frame.locator('.rnn-panel[data-run="%s"]' % NAN_RUN)
        assert panel.get_attribute("data-step") == "30"
        assert "2 NaN (magenta)" in panel.text_content()

        # The vanishing gradient: the profile over timesteps at step 40.
        cell(frame, NAN_RUN, "vanishing").click()
        frame.wait_for_selector(READY, timeout=30000)
        assert frame.input_value("#rnn-view") == "profile"
        assert frame.text_content("#rnn-step-value") == "40"
        assert not page.console_errors.take()
    finally:
        context.close()


def test_screenshots_fit_without_sideways_scrolling(browser, server):
    shots = os.environ.get("RNN_SCREENSHOTS")
    for width in (1000, 1600):
        context, page, frame = open_tab(browser, server, width)
        try:
            overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (width, overflow)
            table = frame.evaluate("""() => { const t = document.querySelector('.rnn-health-table');
                return [t.getBoundingClientRect().right, document.documentElement.clientWidth]; }""")
            assert table[0] <= table[1], (width, table)
            if shots:
                page.screenshot(path=os.path.join(shots, "rnn_health_%d.png" % width))
            assert not page.console_errors.take()
        finally:
            context.close()
