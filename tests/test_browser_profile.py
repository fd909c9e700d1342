"""End to end: the profile and flow-over-training views over a real TensorBoard.

Two runs of an "lstm" layer whose state gradient is constructed so that its
norm over channels is known: at the last logged step it decays as
10^(-t/100) over T = 1000 timesteps; at earlier steps it decays faster and
is smaller (the gradient "reaches back" further as training goes on). 120
steps are logged, more than TensorBoard keeps of the big series, and the
profile must hold all of them. A third run holds a version-1 series (no
profile), as older logs do.

Set RNN_SCREENSHOTS=<dir> to keep rnn_profile.png and rnn_flow.png (1200 px).
"""

import json
import math
import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("run_a", "run_b")
OLD_RUN = "run_old"
BI_RUN = "run_bi"  # a Bidirectional layer "bi": forward and backward series
T, C, SAMPLES = 1000, 4, 2
STEPS = tuple(range(0, 1200, 10))  # 120 logged steps
LAST = STEPS[-1]
READY = "#rnn-app[data-state=ready]"
RUN_COLORS = ["#ff7043", "#0077bb", "#009988", "#ee3377", "#7e57c2"]
CHANNEL_W = np.array([1.0, 0.5, 0.25, 2.0])


def rate(step):
    """Decades lost per timestep at `step`: 1.5/100 at the start, 1/100 at the end."""
    return (1 + 0.5 * (1 - step / LAST)) / 100


def values(run_index, step):
    """[samples, T, C] state gradient; its norm over channels is
    scale(run, step) * (1 + sample) * ||w|| * 10^(-rate(step) * t)."""
    t = np.arange(T, dtype=np.float64)
    size = (1.0, 0.5)[run_index] * (0.2 + step / LAST)
    profile = size * 10.0 ** (-rate(step) * t)
    out = profile[None, :, None] * (1.0 + np.arange(SAMPLES))[:, None, None] * CHANNEL_W[None, None, :]
    return out.astype(np.float32)


def expected_norms(run_index, step):
    """[samples, T]: the L2 norm over channels, from the data as written."""
    return np.linalg.norm(values(run_index, step).astype(np.float64), axis=-1)


def write_logdir(logdir):
    import tensorflow as tf
    from tensorboard.compat.proto import summary_pb2

    import tb_rnn_plugin
    from tb_rnn_plugin import metadata

    for i, run in enumerate(RUNS):
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for step in STEPS:
                assert tb_rnn_plugin.state_gradient(
                    "lstm/state_gradient", values(i, step), step=step, layer="lstm", cell="LSTM")
    content = json.dumps({"version": 1, "kind": "state_gradient", "layer": "lstm",
                          "cell": "LSTM", "axes": ["sample", "timestep", "channel"]}).encode()
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=content),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    with tf.summary.create_file_writer(str(logdir / BI_RUN)).as_default():
        for step in (0, 10, 20):
            for sign, direction in ((1, "forward"), (-2, "backward")):
                assert tb_rnn_plugin.state_gradient(
                    "bi/%s/state_gradient" % direction, sign * values(0, step)[:, :50],
                    step=step, layer="bi", cell="GRU", direction=direction)
    with tf.summary.create_file_writer(str(logdir / OLD_RUN)).as_default():
        for step in (0, 10):
            tf.summary.write("lstm/state_gradient", tf.constant(values(0, step)[:, :50]),
                             step=step, metadata=md)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_profile", write_logdir, list(RUNS) + [OLD_RUN, BI_RUN]) as tb:
        yield tb


def open_view(browser, server, view, width=1200, height=1400, runs=RUNS, layer="lstm"):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=30000)
    for run in (OLD_RUN, BI_RUN) + RUNS:
        box = '#rnn-runs input[data-run="%s"]' % run
        if run in runs:
            frame.check(box)
        else:
            frame.uncheck(box)
        frame.wait_for_selector(READY + ", #rnn-app[data-state=error]", timeout=30000)
    frame.select_option("#rnn-layer", layer)
    frame.select_option("#rnn-quantity", "state_gradient")
    frame.select_option("#rnn-view", view)
    frame.wait_for_selector(READY, timeout=30000)
    # Every run is ticked at first (the "bi" layer's 3 steps came first): to the last step.
    last = frame.get_attribute("#rnn-step", "max")
    if frame.input_value("#rnn-step") != last:
        frame.fill("#rnn-step", last)
        frame.wait_for_selector(READY, timeout=30000)
    return context, page, frame


@pytest.fixture
def tab(browser, server, request):
    context, page, frame = open_view(browser, server, request.param)
    try:
        yield page, frame
        errors = page.console_errors.take()
        assert not errors, errors
    finally:
        context.close()


PROFILE = 'canvas.rnn-profile-plot[data-direction="none"]'


@pytest.mark.parametrize("tab", ["profile"], indirect=True)
def test_profile_draws_the_norms_with_fitted_decay_and_run_colours(tab):
    page, frame = tab
    assert frame.text_content("#rnn-step-value") == str(LAST)
    drawn = frame.evaluate("(s) => document.querySelector(s).rnnProfile", PROFILE)
    assert [d["run"] for d in drawn] == list(RUNS)
    for i, d in enumerate(drawn):
        assert d["step"] == LAST
        norms = expected_norms(i, LAST)
        median, sample = d["lines"]
        assert median["kind"] == "median" and sample["kind"] == "sample"
        # Two samples: the median is their mean; the band p10-p90 between them.
        np.testing.assert_allclose(median["values"], np.median(norms, axis=0), rtol=1e-5)
        np.testing.assert_allclose(median["lo"], np.percentile(norms, 10, axis=0), rtol=1e-5)
        np.testing.assert_allclose(median["hi"], np.percentile(norms, 90, axis=0), rtol=1e-5)
        np.testing.assert_allclose(sample["values"], norms[0], rtol=1e-5)
        # Fitted per sample (both x10^-0.1), summarised by the median.
        assert d["per10"] == pytest.approx(10 ** -0.1, rel=1e-4)
        assert d["lo10"] == pytest.approx(10 ** -0.1, rel=1e-4) and d["hi10"] == pytest.approx(10 ** -0.1, rel=1e-4)

    legend = frame.locator(".rnn-profile-legend-item")
    assert legend.count() == 2
    for i, run in enumerate(RUNS):
        item = frame.locator('.rnn-profile-legend-item[data-run="%s"]' % run)
        assert item.get_attribute("data-color") == RUN_COLORS[i]
        assert "\u00d70.79 per 10 timesteps" in item.text_content()
    assert frame.get_attribute(PROFILE, "data-scale") == "log"

    # Each run's line is drawn in its colour: sample the median line's pixels.
    box = frame.evaluate("""(s) => { const c = document.querySelector(s); const r = c.getBoundingClientRect();
        return {...Object.fromEntries(Object.entries(c.dataset)), left: r.left, top: r.top}; }""", PROFILE)
    lo, hi = math.log10(float(box["lo"])), math.log10(float(box["hi"]))
    plot_x, plot_y = float(box["plotX"]), float(box["plotY"])
    plot_w, plot_h = float(box["plotWidth"]), float(box["plotHeight"])

    def at(t, v):
        return (plot_x + (t + 0.5) * plot_w / T,
                plot_y + plot_h * (1 - (math.log10(v) - lo) / (hi - lo)))

    for i, run in enumerate(RUNS):
        t = 300
        x, y = at(t, expected_norms(i, LAST).mean(axis=0)[t])
        rgb = frame.evaluate("""([s, x, y]) => { const c = document.querySelector(s); const d = Number(c.dataset.dpr);
            return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
                             [PROFILE, x, y])
        want = tuple(int(RUN_COLORS[i][k:k + 2], 16) for k in (1, 3, 5))
        assert max(abs(a - b) for a, b in zip(rgb[:3], want)) <= 40, (run, rgb, want)

    # The tooltip at the cursor reads the run, timestep and value of the nearest line.
    origin = page.locator("iframe").element_handle().bounding_box()
    t = 250
    value = expected_norms(1, LAST).mean(axis=0)[t]
    x, y = at(t, value)
    page.mouse.move(origin["x"] + box["left"] + x, origin["y"] + box["top"] + y)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    tip = frame.locator("#rnn-tooltip")
    text = tip.text_content()
    assert RUNS[1] in text and "timestep %d" % t in text, text
    assert float(tip.get_attribute("data-value")) == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize("tab", ["flow"], indirect=True)
def test_flow_has_every_logged_step_and_log_colours_over_the_whole_length(tab):
    page, frame = tab
    for i, run in enumerate(RUNS):
        selector = 'canvas.rnn-flow-plot[data-run="%s"]' % run
        assert frame.get_attribute(selector, "data-steps") == str(len(STEPS))
        assert frame.get_attribute(selector, "data-rows") == str(len(STEPS))  # one row per step
        flow = frame.evaluate("""(s) => { const f = document.querySelector(s).rnnFlow;
            return {steps: f.steps, rows: f.rows, cols: f.cols, values: Array.from(f.values)}; }""", selector)
        assert flow["steps"] == list(STEPS)
        values = np.array(flow["values"]).reshape(flow["rows"], flow["cols"])
        # Columns binned by max when T exceeds the pixels: each bin's first
        # timestep holds its largest (decaying) value.
        bins = np.floor(np.arange(flow["cols"] + 1) * T / flow["cols"]).astype(int)[:-1]
        for row in (0, len(STEPS) // 2, len(STEPS) - 1):
            np.testing.assert_allclose(values[row], expected_norms(i, STEPS[row]).mean(axis=0)[bins], rtol=1e-5)

        # Pixel colours along the last row change over the whole length (10
        # decades); along the first (15 decades) over the 12 decades shown.
        d = frame.evaluate("(s) => ({...document.querySelector(s).dataset})", selector)
        for row, end in ((len(STEPS) - 1, T), (0, 700)):
            y = float(d["plotY"]) + (row + 0.5) * float(d["plotHeight"]) / len(STEPS)
            colours = []
            for t in range(0, end, 100):
                x = float(d["plotX"]) + (t + 0.5) * float(d["plotWidth"]) / T
                colours.append(tuple(frame.evaluate(
                    """([s, x, y]) => { const c = document.querySelector(s); const k = Number(c.dataset.dpr);
                    return Array.from(c.getContext('2d').getImageData(Math.floor(x * k), Math.floor(y * k), 1, 1).data).slice(0, 3); }""",
                    [selector, x, y])))
            assert len(set(colours)) == len(colours), (row, colours)
    assert "log" in frame.text_content(".rnn-flow-colorbar")

    # Clicking a row selects its step in the tab's step slider.
    selector = 'canvas.rnn-flow-plot[data-run="%s"]' % RUNS[0]
    d = frame.evaluate("(s) => { const c = document.querySelector(s); const r = c.getBoundingClientRect(); "
                       "return {...c.dataset, left: r.left, top: r.top}; }", selector)
    origin = page.locator("iframe").element_handle().bounding_box()
    row = 30
    # The tooltip at the cursor reads that cell: run, step, timestep, value.
    x = float(d["plotX"]) + 300.5 * float(d["plotWidth"]) / T
    y = float(d["plotY"]) + (row + 0.5) * float(d["plotHeight"]) / len(STEPS)
    page.mouse.move(origin["x"] + d["left"] + x, origin["y"] + d["top"] + y)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    tip = frame.locator("#rnn-tooltip")
    text = tip.text_content()
    assert RUNS[0] in text and "step %d" % STEPS[row] in text and "timestep" in text, text
    col = int(x - float(d["plotX"])) * int(d["cols"]) // round(float(d["plotWidth"]))
    t0 = col * T // int(d["cols"])
    assert float(tip.get_attribute("data-value")) == pytest.approx(
        expected_norms(0, STEPS[row]).mean(axis=0)[t0], rel=1e-3)
    page.mouse.click(origin["x"] + d["left"] + float(d["plotX"]) + 50,
                     origin["y"] + d["top"] + float(d["plotY"]) + (row + 0.5) * float(d["plotHeight"]) / len(STEPS))
    frame.wait_for_function("(s) => document.querySelector('#rnn-step-value').textContent === s",
                            arg=str(STEPS[row]), timeout=10000)


def test_series_without_profile_say_so(browser, server):
    context, page, frame = open_view(browser, server, "profile", runs=(RUNS[0], OLD_RUN))
    try:
        for view in ("profile", "flow"):
            frame.select_option("#rnn-view", view)
            frame.wait_for_selector(READY, timeout=30000)
            note = frame.text_content(".rnn-profile-missing")
            assert OLD_RUN in note and "no profile" in note, note
        assert frame.locator('canvas.rnn-flow-plot[data-run="%s"]' % RUNS[0]).count() == 1
        assert not page.console_errors.take()
    finally:
        context.close()


_CORNER_JS = """(selector) => {
  const canvas = document.querySelector(selector);
  return Array.from(canvas.getContext("2d").getImageData(2, 2, 1, 1).data).slice(0, 3);
}"""


def test_profile_and_flow_follow_tensorboards_dark_mode(browser, server):
    """The canvases' background follows the theme chosen in TensorBoard's menu."""
    context, page, frame = open_view(browser, server, "profile", runs=(RUNS[0],))
    try:
        flow = 'canvas.rnn-flow-plot[data-run="%s"]' % RUNS[0]
        assert min(frame.evaluate(_CORNER_JS, PROFILE)) > 200  # light: white
        page.click('button[aria-label="Menu for changing light or dark theme"]')
        page.click('button[mat-menu-item]:has-text("Dark")')
        frame.wait_for_function("() => document.documentElement.classList.contains('rnn-dark')", timeout=10000)
        frame.wait_for_selector(READY, timeout=30000)
        frame.wait_for_function(
            "(s) => { const c = document.querySelector(s); if (!c) return false;"
            " const d = c.getContext('2d').getImageData(2, 2, 1, 1).data; return d[0] < 90; }",
            arg=PROFILE, timeout=10000)
        frame.select_option("#rnn-view", "flow")
        frame.wait_for_selector(READY, timeout=30000)
        assert max(frame.evaluate(_CORNER_JS, flow)) < 90
        assert not page.console_errors.take()
    finally:
        context.close()


def test_screenshots(browser, server, tmp_path):
    out = os.environ.get("RNN_SCREENSHOTS") or str(tmp_path)
    os.makedirs(out, exist_ok=True)
    for view, name in (("profile", "rnn_profile.png"), ("flow", "rnn_flow.png")):
        context, page, frame = open_view(browser, server, view, width=1200, height=1600)
        try:
            if view == "profile":
                frame.fill("#rnn-sample", "1")
                frame.wait_for_selector(READY, timeout=30000)
            frame.locator("#rnn-app").screenshot(path=os.path.join(out, name))
            sizes = frame.evaluate(
                "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
            assert sizes[0] <= sizes[1], sizes
            assert not page.console_errors.take()
        finally:
            context.close()


def test_bidirectional_layer_has_a_chart_per_direction(browser, server):
    context, page, frame = open_view(browser, server, "profile", runs=(BI_RUN,), layer="bi")
    try:
        for direction, factor in (("forward", 1), ("backward", 2)):
            selector = 'canvas.rnn-profile-plot[data-direction="%s"]' % direction
            drawn = frame.evaluate("(s) => document.querySelector(s).rnnProfile", selector)
            assert [d["run"] for d in drawn] == [BI_RUN] and drawn[0]["step"] == 20
            np.testing.assert_allclose(drawn[0]["lines"][0]["values"],
                                       factor * expected_norms(0, 20)[:, :50].mean(axis=0), rtol=1e-5)
        frame.select_option("#rnn-view", "flow")
        frame.wait_for_selector(READY, timeout=30000)
        for direction in ("forward", "backward"):
            selector = 'canvas.rnn-flow-plot[data-run="%s"][data-direction="%s"]' % (BI_RUN, direction)
            assert frame.get_attribute(selector, "data-rows") == "3"
        assert not page.console_errors.take()
    finally:
        context.close()
