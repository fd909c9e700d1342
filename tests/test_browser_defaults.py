"""End to end: the tab's defaults show the finding (issue 16, point 5 and
the profile of point 1), over a real TensorBoard and logs written by the
plugin's own summary ops.

Three runs ("gru", "lstm", "simple_rnn") of one layer "rnn":
- state_gradient over T = 30 timesteps for a probe batch of 8 samples whose
  norms over channels are known: samples 0-6 fade as (s + 1) 0.5^(t/10),
  sample 7 grows 11x over the sequence and is 100x larger (the issue's
  LSTM: one sample sets the batch mean). The GRU's values are the LSTM's
  / 300 and the SimpleRNN's / 2, so the GRU and LSTM differ 300x.
- activation, of one size in every run (no reason to split scales);
- the LSTM's forget gate activations, in [0, 1];
- weights with per-gate companions (LSTM: 4 gates, GRU: 3) for the norms view.

Screenshots at 1000 and 1600 px go to $RNN_SCREENSHOTS when set.
"""

import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("gru", "lstm", "simple_rnn")  # the index's (sorted) order
CELLS = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}
SIZE = {"gru": 1 / 300, "lstm": 1.0, "simple_rnn": 0.5}
RUN_COLORS = ["#ff7043", "#0077bb", "#009988"]  # run_colors.js' first three
S, T, C = 8, 30, 4
STEPS = (0, 10)
LAST = STEPS[-1]
READY = "#rnn-app[data-state=ready]"
W = np.array([1.0, 2.0, 2.0, 4.0]) / 5.0  # unit length: the norm over channels is the factor
VIRIDIS_0, VIRIDIS_1 = (68, 1, 84), (253, 231, 37)


def norms(run):
    """[S, T] ||v_t|| of the state gradient: 7 samples fade x0.5 per 10
    timesteps, the 8th grows 11x over the sequence from 100x larger."""
    t = np.arange(T, dtype=np.float64)
    out = np.empty((S, T))
    for s in range(7):
        out[s] = (s + 1) * 0.5 ** (t / 10)
    out[7] = 100 * 11 ** (t / (T - 1))
    return 1e-3 * SIZE[run] * out


def state_gradient(run):
    return (norms(run)[:, :, None] * W[None, None, :]).astype(np.float32)


def gate_values():
    """[S, T, C] forget gate: channel 0 rises 0 -> 1 over t, channel 1 falls 1 -> 0."""
    ramp = np.linspace(0.0, 1.0, T)
    out = np.zeros((S, T, C))
    out[:, :, 0] = ramp
    out[:, :, 1] = 1 - ramp
    out[:, :, 2:] = 0.5
    return out.astype(np.float32)


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    rng = np.random.default_rng(0)
    for run in RUNS:
        cell = CELLS[run]
        gates = {"LSTM": "ifco", "GRU": "zrh", "SimpleRNN": "h"}[cell]
        units = 2
        specs = [{"name": g, "start": k * units, "stop": (k + 1) * units} for k, g in enumerate(gates)]
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for step in STEPS:
                common = dict(step=step, layer="rnn", cell=cell)
                assert tb_rnn_plugin.state_gradient("rnn/state_gradient", state_gradient(run), **common)
                assert tb_rnn_plugin.activation(
                    "rnn/activation", (0.5 + 0.1 * rng.standard_normal((S, T, C))).astype(np.float32), **common)
                if cell == "LSTM":
                    assert tb_rnn_plugin.gate_activation("rnn/f/gate_activation", gate_values(), gate="f", **common)
                for matrix in ("kernel", "recurrent_kernel"):
                    values = (0.1 * (1 + step / 10) * rng.standard_normal((3, units * len(gates)))).astype(np.float32)
                    assert tb_rnn_plugin.weight("rnn/%s/weight" % matrix, values, matrix=matrix,
                                                gates=specs if len(gates) > 1 else None, **common)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_defaults", write_logdir, list(RUNS)) as tb:
        yield tb


def open_tab(browser, server, width=1200, height=1300):
    """The tab as a first visit sees it: no kept state, nothing chosen."""
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector(READY, timeout=30000)
    return context, page, frame


def choose(frame, quantity=None, view=None):
    if quantity:
        frame.select_option("#rnn-quantity", quantity)
        frame.wait_for_selector(READY, timeout=30000)
    if view:
        frame.select_option("#rnn-view", view)
        frame.wait_for_selector(READY, timeout=30000)


def shoot(page, name):
    directory = os.environ.get("RNN_SCREENSHOTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        page.screenshot(path=os.path.join(directory, name), full_page=True)


@pytest.fixture
def tab(browser, server):
    context, page, frame = open_tab(browser, server)
    try:
        yield page, frame
        errors = page.console_errors.take()
        assert not errors, errors
    finally:
        context.close()


def test_every_run_is_shown_at_first(tab):
    page, frame = tab
    for run in RUNS:
        assert frame.is_checked('#rnn-runs input[data-run="%s"]' % run), run
    choose(frame, "state_gradient", "heatmap")
    columns = frame.eval_on_selector_all("section.rnn-run-column", "cs => cs.map(c => c.dataset.run)")
    assert columns == list(RUNS)


def test_runs_300x_apart_get_their_own_scale_with_the_difference_stated(tab):
    page, frame = tab
    choose(frame, "state_gradient", "heatmap")
    panels = frame.locator("#rnn-panels")
    assert panels.get_attribute("data-scale-shared") == "false"
    assert panels.get_attribute("data-scale-shared-by") == "default"
    note = frame.text_content(".rnn-scale-note")
    assert note.startswith("gru's values are 1/300 of lstm's"), note
    assert "each run on its own scale" in note
    assert not frame.is_checked("#rnn-shared")
    vmax = {run: float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax")) for run in RUNS}
    # Sample 0 drawn: its largest |v| is W's largest entry times its largest norm.
    for run in RUNS:
        assert vmax[run] == pytest.approx(float(np.abs(state_gradient(run)[0]).max()), rel=1e-5)
    assert vmax["lstm"] / vmax["gru"] == pytest.approx(300, rel=1e-4)
    shoot(page, "defaults_own_scale_1200.png")

    # The user's choice wins: ticked, every run on the largest range, no note.
    frame.check("#rnn-shared")
    frame.wait_for_selector('#rnn-panels[data-scale-shared="true"][data-scale-shared-by="user"]', timeout=30000)
    assert frame.locator(".rnn-scale-note").count() == 0
    for run in RUNS:
        shared = float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax"))
        assert shared == pytest.approx(vmax["lstm"], rel=1e-6), run


def test_runs_of_one_size_share_a_scale_by_default(tab):
    page, frame = tab
    choose(frame, "activation", "heatmap")
    panels = frame.locator("#rnn-panels")
    assert panels.get_attribute("data-scale-shared") == "true"
    assert frame.locator(".rnn-scale-note").count() == 0
    assert frame.is_checked("#rnn-shared")
    vmax = {float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax")) for run in RUNS}
    assert len(vmax) == 1


def test_profile_draws_the_median_with_its_band_and_a_per_sample_decay(tab):
    page, frame = tab
    choose(frame, "state_gradient", "profile")
    drawn = frame.evaluate("() => document.querySelector('canvas.rnn-profile-plot').rnnProfile")
    assert [d["run"] for d in drawn] == list(RUNS)
    for d in drawn:
        expected = norms(d["run"])
        median = d["lines"][0]
        assert median["kind"] == "median"
        np.testing.assert_allclose(median["values"], np.median(expected, axis=0), rtol=1e-5)
        np.testing.assert_allclose(median["lo"], np.percentile(expected, 10, axis=0), rtol=1e-5)
        np.testing.assert_allclose(median["hi"], np.percentile(expected, 90, axis=0), rtol=1e-5)
        # The median fades though the mean grows (the 8th sample sets it).
        assert median["values"][-1] < median["values"][0]
        assert expected.mean(axis=0)[-1] > expected.mean(axis=0)[0]
        # Fitted per sample: 7 of 8 fits are x0.5, so is their median.
        assert d["per10"] == pytest.approx(0.5, rel=1e-4)
        assert d["lo10"] == pytest.approx(0.5, rel=1e-4)
        # p90 of the slopes at rank 6.3: 0.3 of the way to the growing sample's.
        s0, s7 = np.log10(0.5) / 10, np.log10(11) / (T - 1)
        assert d["hi10"] == pytest.approx(10 ** (10 * (s0 + 0.3 * (s7 - s0))), rel=1e-4)
    item = frame.locator('.rnn-profile-legend-item[data-run="lstm"]')
    assert item.get_attribute("data-color") == RUN_COLORS[1]
    text = item.text_content()
    assert "\u00d70.5 per 10 timesteps, median of 8 sample fits (p10-p90 \u00d70.5-" in text, text
    assert "median, band p10-p90 of 8 samples" in frame.text_content(".rnn-profile-panel")

    # The band is shaded in the run's colour between p10 and p90 (GRU: alone at its height).
    box = frame.evaluate("""() => { const c = document.querySelector('canvas.rnn-profile-plot');
        return Object.fromEntries(Object.entries(c.dataset)); }""")
    lo, hi = np.log10(float(box["lo"])), np.log10(float(box["hi"]))
    t = 5
    gru = norms("gru")
    # Between the median and p10, away from the line: the band's tint, not the background.
    v = np.sqrt(np.median(gru, axis=0)[t] * np.percentile(gru, 10, axis=0)[t])
    x = float(box["plotX"]) + (t + 0.5) * float(box["plotWidth"]) / T
    y = float(box["plotY"]) + float(box["plotHeight"]) * (1 - (np.log10(v) - lo) / (hi - lo))
    rgb = frame.evaluate("""([x, y]) => { const c = document.querySelector('canvas.rnn-profile-plot');
        const d = Number(c.dataset.dpr); return Array.from(c.getContext('2d').getImageData(
        Math.round(x * d), Math.round(y * d), 1, 1).data); }""", [x, y])
    background = frame.evaluate("""() => { const c = document.querySelector('canvas.rnn-profile-plot');
        const d = Number(c.dataset.dpr); return Array.from(c.getContext('2d').getImageData(
        Math.round((Number(c.dataset.plotX) + 3) * d), Math.round((Number(c.dataset.plotY) + 3) * d), 1, 1).data); }""")
    assert tuple(rgb[:3]) != tuple(background[:3])
    orange = tuple(int(RUN_COLORS[0][k:k + 2], 16) for k in (1, 3, 5))
    # A light tint of the GRU's orange: red channel highest, closer to orange than grey.
    assert rgb[0] > rgb[2], rgb
    assert sum(abs(a - b) for a, b in zip(rgb[:3], orange)) < sum(abs(a - b) for a, b in zip(background[:3], orange))

    # The batch mean, on request, is what the outlier drives.
    frame.select_option("#rnn-profile-batch", "mean")
    frame.wait_for_selector(READY, timeout=30000)
    drawn = frame.evaluate("() => document.querySelector('canvas.rnn-profile-plot').rnnProfile")
    assert drawn[1]["lines"][0]["kind"] == "mean" and drawn[1]["per10"] > 1


def test_gate_activations_use_a_sequential_zero_to_one_scale(tab):
    page, frame = tab
    for run in ("gru", "simple_rnn"):
        frame.uncheck('#rnn-runs input[data-run="%s"]' % run)
        frame.wait_for_selector(READY, timeout=30000)
    choose(frame, "gate_activation", "heatmap")
    bar = frame.locator('.rnn-panel[data-run="lstm"] .rnn-colorbar')
    assert bar.get_attribute("data-scale") == "unit"
    assert bar.get_attribute("data-colormap") == "viridis"
    ticks = bar.locator(".rnn-colorbar-tick").all_text_contents()
    assert ticks == ["0", "0.25", "0.5", "0.75", "1"]
    assert frame.get_attribute('.rnn-panel[data-run="lstm"]', "data-range") == "unit"
    selector = browser_util.canvas_selector("lstm")
    # Channel 0 rises from 0 to 1: viridis' dark end at t = 0, its yellow at the last.
    assert max(abs(a - b) for a, b in zip(browser_util.pixel(frame, selector, 0, 0), VIRIDIS_0)) <= 3
    assert max(abs(a - b) for a, b in zip(browser_util.pixel(frame, selector, T - 1, 0), VIRIDIS_1)) <= 3
    assert max(abs(a - b) for a, b in zip(browser_util.pixel(frame, selector, 0, 1), VIRIDIS_1)) <= 3


def test_norms_tell_runs_apart_by_their_colour_and_gates_by_dash(tab):
    page, frame = tab
    choose(frame, "weight", "norms")
    canvas = 'canvas.rnn-ghist-norms[data-matrix="kernel"]'
    frame.wait_for_selector(canvas, timeout=30000)
    lines = frame.evaluate("(s) => document.querySelector(s).rnnNorms", canvas)
    for i, run in enumerate(RUNS):
        mine = [line for line in lines if line["run"] == run]
        assert mine and {line["color"] for line in mine} == {RUN_COLORS[i]}, run
        dashes = [tuple(line["dash"]) for line in mine]
        assert len(set(dashes)) == len(dashes), (run, dashes)  # each gate its own dash
    legend = frame.locator('.rnn-ghist-norm-panel:has(%s) .rnn-norms-legend-runs' % canvas)
    assert legend.locator(".rnn-muted").text_content() == "colour: run"
    for i, run in enumerate(RUNS):
        assert legend.locator('[data-run="%s"]' % run).get_attribute("data-color") == RUN_COLORS[i]
    gates = frame.locator('.rnn-ghist-norm-panel:has(%s) .rnn-norms-legend-gates' % canvas)
    assert gates.locator(".rnn-muted").text_content() == "line style: gate"
    labels = gates.locator(".rnn-ghist-legend-item").all_text_contents()
    assert "LSTM forget gate f" in labels and "GRU candidate h" in labels, labels


@pytest.mark.parametrize("width", [1000, 1600])
def test_screenshots(browser, server, width):
    if not os.environ.get("RNN_SCREENSHOTS"):
        pytest.skip("set RNN_SCREENSHOTS=<dir> to keep screenshots")
    context, page, frame = open_tab(browser, server, width=width, height=1200)
    try:
        for quantity, view, name in (("state_gradient", "profile", "profile"), ("state_gradient", "heatmap", "own_scale"),
                                     ("gate_activation", "heatmap", "gate"), ("weight", "norms", "norms")):
            choose(frame, quantity, view)
            shoot(page, "defaults_%s_%d.png" % (name, width))
        assert not page.console_errors.take()
    finally:
        context.close()
