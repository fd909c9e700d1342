"""End to end: the gradient horizon views over a real TensorBoard.

The horizons are written by tb_rnn_plugin.gradient_horizon with known
values: run_a and run_b have G[b, t, j] = (1 + b) (1 + step / 10) a^(t - j)
for j <= t (a loss at every timestep; a = 0.8 and 0.5), at steps 0, 10, 20;
the op computes their kept horizon_stats (max, effective horizon), which
the tests read back through TensorBoard's data provider. run_a also has a
forget gate with memory timescales [1, 2, 4, 8, +inf] (1 + step / 10) and a
state gradient whose norm is 0.9^(T - 1 - t) (timescale -1/ln 0.9).
run_s2o is sequence-to-one (one loss, targets [T-1]), run_bi a
Bidirectional layer, run_long one loss over 1000 timesteps.

The "labels" series (true and predicted class per timestep) is another
part's work; its backend is not in this branch, so the labels test serves
it through Playwright routes (the /tags entry and the /tensor body the
contract describes) and checks what the tab draws from it.

Set RNN_SCREENSHOTS=<dir> to keep a screenshot of the horizon views.
"""

import json
import math
import os
import urllib.parse

import numpy as np
import pytest

try:
    import browser_util
    import tb_reading
except ImportError:  # tests/ imported as a package
    from tests import browser_util, tb_reading

RUNS = ("run_a", "run_b")
RATES = (0.8, 0.5)
S2O, BI, LONG = "run_s2o", "run_bi", "run_long"
ALL_RUNS = RUNS + (S2O, BI, LONG)
T, SAMPLES, UNITS = 12, 2, 5
LONG_T = 1000
STEPS = (0, 10, 20)
LAST = STEPS[-1]
READY = "#rnn-app[data-state=ready]"
BARS = 'canvas.rnn-horizon-bars[data-run="%s"][data-direction="%s"]'
PROJECTION = 'canvas.rnn-horizon-projection[data-run="%s"]'
OVERVIEW = 'canvas.rnn-horizon-overview[data-run="%s"]'
GATE_SCALES = np.array([1.0, 2.0, 4.0, 8.0, np.inf])


def grow(step):
    return 1.0 + step / 10.0


def horizon(a, step, backward=False, n=T):
    """[samples, n, n]: (1 + b) grow(step) a^lag on the causal side, 0 elsewhere."""
    t = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    lag = (j - t) if backward else (t - j)
    rows = np.where(lag >= 0, a ** np.maximum(lag, 0), 0.0)
    return ((1.0 + np.arange(SAMPLES))[:, None, None] * grow(step) * rows[None]).astype(np.float32)


def one_loss(a, step, n):
    """[samples, 1, n]: the horizon of a sequence-to-one loss at n - 1."""
    j = np.arange(n)
    row = a ** (n - 1 - j)
    return ((1.0 + np.arange(SAMPLES))[:, None, None] * grow(step) * row[None, None, :]).astype(np.float32)


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for run, a in zip(RUNS, RATES):
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for step in STEPS:
                assert tb_rnn_plugin.gradient_horizon(
                    "rnn/gradient_horizon", horizon(a, step), step=step, layer="rnn", cell="LSTM")
                if run != "run_a":
                    continue
                gates = np.full((SAMPLES, T, UNITS), 0.5, np.float32)
                assert tb_rnn_plugin.gate_activation("rnn/gate_f", gates, step=step, gate="f",
                                                     layer="rnn", cell="LSTM")
                assert tb_rnn_plugin.memory_timescales("rnn/gate_f", GATE_SCALES * grow(step), step=step,
                                                       gate="f", layer="rnn", cell="LSTM")
                norms = 0.9 ** (T - 1 - np.arange(T))
                gradient = np.zeros((SAMPLES, T, 2), np.float32)
                gradient[:, :, 0] = norms
                assert tb_rnn_plugin.state_gradient("rnn/state_gradient", gradient, step=step,
                                                    layer="rnn", cell="LSTM")
    with tf.summary.create_file_writer(str(logdir / S2O)).as_default():
        for step in STEPS:
            assert tb_rnn_plugin.gradient_horizon("rnn/gradient_horizon", one_loss(0.7, step, T), step=step,
                                                  targets=[T - 1], layer="rnn", cell="GRU")
    with tf.summary.create_file_writer(str(logdir / BI)).as_default():
        for step in STEPS:
            for direction in ("forward", "backward"):
                assert tb_rnn_plugin.gradient_horizon(
                    "bi/%s/gradient_horizon" % direction, horizon(0.6, step, direction == "backward"),
                    step=step, backward=direction == "backward", layer="bi", cell="GRU", direction=direction)
    with tf.summary.create_file_writer(str(logdir / LONG)).as_default():
        for step in STEPS:
            assert tb_rnn_plugin.gradient_horizon("long/gradient_horizon", one_loss(0.995, step, LONG_T),
                                                  step=step, targets=[LONG_T - 1], layer="long", cell="LSTM")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_horizon", write_logdir, list(ALL_RUNS)) as tb:
        yield tb


@pytest.fixture(scope="module")
def logged(server):
    """{run: {tag: (info, steps, [array])}} of the horizon_stats read back."""
    from tb_rnn_plugin import metadata

    return tb_reading.read_stats(server.logdir_path, metadata.HORIZON_STATS)


def link_state(view, runs, layer, sample_mode, shared=True):
    """A link's state (persist.js, in TensorBoard's hash): runs, layer, quantity, view, newest step,
    and the "Scale: shared across runs" box (always given: a link without it keeps the last one)."""
    state = {"runs": list(runs), "runsChosen": True, "layer": layer, "kind": "gradient_horizon",
             "view": view, "lastStep": True, "sampleMode": sample_mode, "shared": shared}
    return "#rnn&rnn=%s" % urllib.parse.quote(json.dumps(state))


def open_view(browser, server, view, runs=RUNS, layer="rnn", width=1200, before=None, sample_mode="sample"):
    """(context, page, frame) of a new tab opened on a link to `view`."""
    context = browser.new_context(viewport={"width": width, "height": 1400})
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    if before:
        before(page)
    page.goto(server.url + "/" + link_state(view, runs, layer, sample_mode))
    frame = browser_util.plugin_frame(page)
    wait_drawn(frame, view)
    return context, page, frame


def wait_drawn(frame, view):
    frame.wait_for_selector(READY, timeout=30000)
    frame.wait_for_selector("#rnn-panels canvas", timeout=30000)
    assert frame.input_value("#rnn-view") == view


@pytest.fixture(scope="module")
def shared(browser, server):
    """One TensorBoard page for the tests that only read (loading TensorBoard's
    page is most of a test's time); each shows its view through a link."""
    context, page, frame = open_view(browser, server, "horizon")
    yield page, frame
    context.close()


def show(tab, view, runs=RUNS, layer="rnn", sample_mode="sample", shared=True):
    """Follows a link to `view` in the open page, as a pasted link is followed."""
    page, frame = tab
    page.mouse.move(0, 0)
    frame.evaluate("document.querySelector('#rnn-panels').replaceChildren()")
    hash = link_state(view, runs, layer, sample_mode, shared)
    if page.evaluate("location.hash") == hash:
        frame.click("#rnn-reload")  # the same link: no hashchange, draw again
    else:
        page.evaluate("(hash) => { location.hash = hash; }", hash)
    try:
        frame.wait_for_selector("#rnn-panels canvas", timeout=8000)
    except Exception:  # the tab found the link's state already shown
        frame.click("#rnn-reload")
    wait_drawn(frame, view)
    return page, frame


@pytest.fixture
def tab(shared):
    page, _ = shared
    page.console_errors.take()
    yield shared
    errors = page.console_errors.take()
    assert not errors, errors


def close(context, page):
    errors = page.console_errors.take()
    context.close()
    assert not errors, errors


def canvas_box(frame, selector):
    """The canvas' data attributes and its place in the frame."""
    return frame.evaluate("""(s) => { const c = document.querySelector(s); const r = c.getBoundingClientRect();
        return {...Object.fromEntries(Object.entries(c.dataset)), left: r.left, top: r.top}; }""", selector)


def page_point(page, box, x, y):
    origin = page.locator("iframe").element_handle().bounding_box()
    return origin["x"] + box["left"] + x, origin["y"] + box["top"] + y


def columns(frame, selector):
    """Per bar: [(t, lag, value)] of its segments, bottom up."""
    return frame.evaluate("""(s) => document.querySelector(s).rnnHorizon.stack.columns.map(
        (c) => c.segments.map((g) => [g.t, g.lag, g.value]))""", selector)


def test_stacked_bars_split_each_timestep_by_loss_and_lag(tab, logged):
    page, frame = show(tab, "horizon")
    assert frame.text_content("#rnn-step-value") == str(LAST)
    assert frame.is_enabled("#rnn-sample")
    # The Sample control says which samples were logged.
    assert frame.text_content(".rnn-sample-number") == "of 0\u2013%d" % (SAMPLES - 1)
    assert frame.get_attribute(".rnn-sample-number input", "max") == str(SAMPLES - 1)
    for run, a in zip(RUNS, RATES):
        selector = BARS % (run, "none")
        assert frame.get_attribute(selector, "data-bars") == str(T)
        assert frame.get_attribute(selector, "data-binned") == "false"
        assert frame.get_attribute(selector, "data-step") == str(LAST)
        assert frame.get_attribute(selector, "data-sample") == "0"
        G = horizon(a, LAST)[0].astype(np.float64)
        for j, segments in enumerate(columns(frame, selector)):
            # One segment per loss t >= j, the nearest first, sums = the data.
            assert [s[0] for s in segments] == list(range(j, T))
            assert [s[1] for s in segments] == list(range(T - j))
            np.testing.assert_allclose([s[2] for s in segments], G[j:, j], rtol=1e-6)
            assert sum(s[2] for s in segments) == pytest.approx(G[:, j].sum(), rel=1e-6)
        # The overview holds every logged step's max, as logged.
        overview = frame.evaluate("(s) => document.querySelector(s).rnnOverview", OVERVIEW % run)
        _, steps, stats = logged[run]["rnn/gradient_horizon"]
        assert overview["steps"] == list(STEPS) == steps
        np.testing.assert_allclose(overview["values"], [s[0] for s in stats], rtol=1e-6)
        assert overview["values"][-1] == pytest.approx(2 * grow(LAST), rel=1e-6)  # sample 1, lag 0
    # Colour by lag: the bottom segment of bar 0 (lag 0) and the top (lag 11) differ.
    box = canvas_box(frame, BARS % ("run_a", "none"))
    hi, plot_y, plot_h = float(box["hi"]), float(box["plotY"]), float(box["plotHeight"])
    x = float(box["plotX"]) + 0.5 * float(box["barWidth"])
    G = horizon(0.8, LAST)[0].astype(np.float64)

    def rgb_at(value):
        y = plot_y + plot_h * (1 - value / hi)
        return tuple(frame.evaluate("""([s, x, y]) => { const c = document.querySelector(s); const d = Number(c.dataset.dpr);
            return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
                                    [BARS % ("run_a", "none"), x, y])[:3])

    bottom, top = rgb_at(G[0, 0] / 2), rgb_at(G[:, 0].sum() - G[T - 1, 0] / 2)
    assert bottom != top and max(abs(p - q) for p, q in zip(bottom, top)) > 60, (bottom, top)
    assert frame.locator('.rnn-horizon-panel[data-run="run_a"] .rnn-horizon-legend-item').count() == T  # lags 0..11, one colour each
    assert "No labels row" in frame.text_content(".rnn-horizon-labels-missing")
    if os.environ.get("RNN_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_horizon_test.png"), full_page=True)


def test_mean_over_samples(tab):
    page, frame = show(tab, "horizon", runs=("run_a",), sample_mode="mean")
    frame.wait_for_selector(BARS % ("run_a", "none") + '[data-sample="mean"]', timeout=30000)
    G = horizon(0.8, LAST).astype(np.float64).mean(axis=0)
    segments = columns(frame, BARS % ("run_a", "none"))[3]
    np.testing.assert_allclose([s[2] for s in segments], G[3:, 3], rtol=1e-6)


def test_hovering_a_segment_projects_that_losses_horizon(tab):
    page, frame = show(tab, "horizon", runs=("run_a",))
    bars = BARS % ("run_a", "none")
    projection = PROJECTION % "run_a"
    G = horizon(0.8, LAST)[0].astype(np.float64)
    before = frame.evaluate("(s) => document.querySelector(s).rnnProjected", projection)
    assert before["target"] == T - 1  # the last loss until something is hovered
    np.testing.assert_allclose(before["values"], G[T - 1], rtol=1e-6)

    box = canvas_box(frame, bars)
    hi, plot_y, plot_h = float(box["hi"]), float(box["plotY"]), float(box["plotHeight"])
    j, t = 2, 5
    segment = next(s for s in frame.evaluate("""(s) => document.querySelector(s).rnnHorizon.stack.columns[2].segments""",
                                             bars) if s["t"] == t)
    x = float(box["plotX"]) + (j + 0.5) * float(box["barWidth"])
    y = plot_y + plot_h * (1 - (segment["start"] + segment["value"] / 2) / hi)
    page.mouse.move(*page_point(page, box, x, y))
    frame.wait_for_selector('%s[data-target="%d"]' % (projection, t), timeout=5000)
    assert frame.get_attribute(bars, "data-highlight-target") == str(t)
    after = frame.evaluate("(s) => document.querySelector(s).rnnProjected", projection)
    np.testing.assert_allclose(after["values"], G[t], rtol=1e-6)
    assert after["values"][t + 1:] == [0] * (T - 1 - t)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    tip = frame.text_content("#rnn-tooltip")
    for word in ("run_a", "j", "t", "lag", "value"):
        assert word in tip, tip
    assert "lag 3" in frame.text_content("#rnn-readout"), frame.text_content("#rnn-readout")
    assert "Loss at t = 5" in frame.text_content(".rnn-horizon-projection-title")


def test_clicking_an_overview_bar_selects_its_step(tab):
    page, frame = show(tab, "horizon", runs=("run_a",))
    overview = OVERVIEW % "run_a"
    box = canvas_box(frame, overview)
    slot = float(box["plotWidth"]) / len(STEPS)
    x = float(box["plotX"]) + 0.5 * slot  # the bar of step 0
    page.mouse.click(*page_point(page, box, x, 30))
    frame.wait_for_selector(BARS % ("run_a", "none") + '[data-step="0"]', timeout=10000)
    frame.wait_for_selector(READY, timeout=10000)
    assert frame.text_content("#rnn-step-value") == "0"
    assert frame.get_attribute(overview, "data-selected-step") == "0"
    segments = columns(frame, BARS % ("run_a", "none"))[0]
    np.testing.assert_allclose([s[2] for s in segments], horizon(0.8, 0)[0, :, 0], rtol=1e-6)


def test_effective_horizons_of_two_runs_overlay_with_timescales(tab, logged):
    page, frame = show(tab, "horizon_training")
    # Over all steps and samples: the Sample control is off here (on in "horizon").
    assert frame.is_disabled("#rnn-sample") and frame.is_disabled("#rnn-sample-mode")
    chart = 'canvas.rnn-horizon-effective[data-direction="none"]'
    lines = frame.evaluate("(s) => document.querySelector(s).rnnLines", chart)
    assert [line["run"] for line in lines] == list(RUNS)
    assert [line["color"] for line in lines] == ["#ff7043", "#0077bb"]
    for line in lines:
        _, steps, stats = logged[line["run"]]["rnn/gradient_horizon"]
        assert line["steps"] == steps == list(STEPS)
        np.testing.assert_allclose(line["values"], [s[1] for s in stats], rtol=1e-6)
    # A slower decay reaches further back.
    assert lines[0]["values"][-1] > lines[1]["values"][-1] > 0

    scales = frame.evaluate("(s) => document.querySelector(s).rnnTimescales",
                            'canvas.rnn-horizon-timescales[data-direction="none"]')
    a = next(s for s in scales if s["run"] == "run_a")
    assert a["gate"] == "f"
    for entry, step in zip(a["gateScales"], STEPS):
        assert entry["step"] == step
        assert entry["median"] == pytest.approx(3 * grow(step), rel=1e-6)  # of 1, 2, 4, 8
        assert entry["q1"] == pytest.approx(1.75 * grow(step), rel=1e-6)
        assert entry["q3"] == pytest.approx(5 * grow(step), rel=1e-6)
        assert entry["infinite"] == 1
    for entry in a["gradientScales"]:
        assert entry["value"] == pytest.approx(-1 / math.log(0.9), rel=1e-4)
    b = next(s for s in scales if s["run"] == "run_b")
    assert b["gateScales"] is None and b["gradientScales"] is None
    notes = frame.locator(".rnn-horizon-timescale-note").all_text_contents()
    assert any("1 unit(s) +inf" in n for n in notes), notes
    assert any("run_b" in n and "no forget/update gate" in n for n in notes), notes

    # A click selects the nearest logged step (shown as a marker in both charts).
    box = canvas_box(frame, chart)
    x = float(box["plotX"]) + float(box["plotWidth"]) * 10 / 20
    page.mouse.click(*page_point(page, box, x, float(box["plotY"]) + 40))
    frame.wait_for_selector(chart + '[data-selected-step="10"]', timeout=10000)
    # The (disabled) step readout names the selected step too.
    frame.wait_for_function("() => document.querySelector('#rnn-step-value').textContent === '10'",
                            timeout=10000)


def test_sequence_to_one_draws_one_horizon(tab):
    page, frame = show(tab, "horizon", runs=(S2O,))
    selector = BARS % (S2O, "none")
    assert frame.get_attribute(selector, "data-losses") == "1"
    assert "One loss (sequence-to-one): the horizon is ||dL/dh_j|| over j" in frame.text_content(
        '.rnn-horizon-panel[data-run="%s"]' % S2O)
    assert frame.locator(PROJECTION % S2O).count() == 0
    expected = one_loss(0.7, LAST, T)[0, 0]
    got = [sum(s[2] for s in c) for c in columns(frame, selector)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_bidirectional_has_one_chart_per_direction(tab):
    page, frame = show(tab, "horizon", runs=(BI,), layer="bi")
    for direction, backward in (("forward", False), ("backward", True)):
        selector = BARS % (BI, direction)
        segments = columns(frame, selector)
        G = horizon(0.6, LAST, backward)[0].astype(np.float64)
        for j, column in enumerate(segments):
            # Backward: the losses at t <= j reach j, lag j - t.
            assert [s[0] for s in column] == (list(range(j, -1, -1)) if backward else list(range(j, T)))
            assert [s[1] for s in column] == list(range(len(column)))
            assert sum(s[2] for s in column) == pytest.approx(G[:, j].sum(), rel=1e-6)
    heading = frame.text_content('.rnn-horizon-panel[data-direction="backward"] .rnn-panel-heading')
    assert "backward (input-time order)" in heading
    # The backward layer's default loss is the first (it reaches furthest).
    assert frame.evaluate("(s) => document.querySelector(s).rnnProjected.target",
                          'canvas.rnn-horizon-projection[data-direction="backward"]') == 0


def test_a_thousand_timesteps_are_binned_without_sideways_scroll(tab):
    page, _ = tab
    page.set_viewport_size({"width": 1000, "height": 1400})
    try:
        page, frame = show(tab, "horizon", runs=(LONG,), layer="long")
        check_binned(page, frame)
    finally:
        page.set_viewport_size({"width": 1200, "height": 1400})


def check_binned(page, frame):
    selector = BARS % (LONG, "none")
    assert frame.get_attribute(selector, "data-binned") == "true"
    bars = int(frame.get_attribute(selector, "data-bars"))
    assert bars <= float(frame.get_attribute(selector, "data-plot-width")) < LONG_T
    assert "1000 timesteps in %d bars" % bars in frame.text_content('.rnn-horizon-panel[data-run="%s"]' % LONG)
    # Each bar is the mean of its timesteps' values.
    drawn = frame.evaluate("(s) => document.querySelector(s).rnnHorizon.bars.map((b) => [b.j0, b.j1, b.total])",
                           selector)
    row = one_loss(0.995, LAST, LONG_T)[0, 0].astype(np.float64)
    for j0, j1, total in drawn[:: max(1, bars // 20)]:
        assert total == pytest.approx(row[j0:j1].mean(), rel=1e-5)
    assert frame.evaluate("document.documentElement.scrollWidth") <= frame.evaluate(
        "document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1000


LABELS_TAG = "rnn/labels"
VOCABULARY = ["pad", "alpha", "beta", "gamma"]


def labels_tensor():
    """[samples, T, 2]: true class t % 4; predicted right at even t, else off by one; -1 at t = 0."""
    data = np.zeros((SAMPLES, T, 2), np.float32)
    t = np.arange(T)
    data[:, :, 0] = t % 4
    data[:, :, 1] = np.where(t % 2 == 0, t % 4, (t + 1) % 4)
    data[:, 0, :] = -1
    return data


def serve_labels(page):
    """Adds a "labels" series of run_a's layer rnn to /tags and serves its tensor,
    as the contract describes (the backend for it is not in this branch)."""

    def tags(route):
        response = route.fetch()
        body = response.json()
        body["runs"]["run_a"][LABELS_TAG] = {
            "metadata": {"version": 2, "kind": "labels", "axes": ["sample", "timestep", "field"], "layer": "rnn",
                         "cell": "LSTM", "direction": None, "vocabulary": VOCABULARY,
                         "fields": ["true", "predicted"]},
            "description": "", "max_step": LAST,
        }
        route.fulfill(response=response, body=json.dumps(body), headers={**response.headers,
                                                                          "content-type": "application/json"})

    def tensor(route):
        route.fulfill(status=200, body=labels_tensor().astype("<f4").tobytes(), headers={
            "Content-Type": "application/octet-stream", "X-Tensor-Shape": "%d,%d,2" % (SAMPLES, T),
            "X-Tensor-Dtype": "float32"})

    def steps(route):
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            {"steps": list(STEPS), "wall_times": [1.0e9 + s for s in STEPS], "logged_steps": None}))

    page.route("**/data/plugin/rnn/tags", tags)
    page.route(lambda url: "/data/plugin/rnn/steps?" in url and
               urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("tag") == [LABELS_TAG], steps)
    page.route(lambda url: "/data/plugin/rnn/tensor?" in url and
               urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("tag") == [LABELS_TAG], tensor)


def test_labels_row_marks_right_and_wrong_predictions(browser, server):
    context, page, frame = open_view(browser, server, "horizon", runs=("run_a",), before=serve_labels)
    try:
        selector = 'canvas.rnn-horizon-labels[data-run="run_a"]'
        frame.wait_for_selector(selector, timeout=10000)
        assert frame.get_attribute(selector, "data-rows") == "2"
        cells = frame.evaluate("(s) => document.querySelector(s).rnnLabels", selector)
        assert [c["right"] for c in cells] == [None] + [t % 2 == 0 for t in range(1, T)]
        box = canvas_box(frame, BARS % ("run_a", "none"))
        bar_w, plot_x = float(box["barWidth"]), float(box["plotX"])

        def rgb(t):
            return tuple(frame.evaluate("""([s, x, y]) => { const c = document.querySelector(s); const d = Number(c.dataset.dpr);
                return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
                                        [selector, plot_x + t * bar_w + 3, 4])[:3])

        green, red = rgb(2), rgb(3)
        assert green[1] > green[0] + 40, green
        assert red[0] > red[1] + 40, red
        # Hover reads the tokens from the vocabulary.
        labels_box = canvas_box(frame, selector)
        page.mouse.move(*page_point(page, labels_box, plot_x + 3.5 * bar_w, 8))
        frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
        tip = frame.text_content("#rnn-tooltip")
        assert "gamma" in tip and "pad" in tip, tip  # true 3 -> gamma, predicted 0 -> pad
        if os.environ.get("RNN_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_horizon_labels_test.png"))
    finally:
        close(context, page)


def inside_its_wrap(frame, selector):
    """Whether the canvas lies within the (overflow-hidden) box that shows it: nothing of it clipped."""
    return frame.evaluate("""(s) => Array.from(document.querySelectorAll(s)).every((c) => {
        const r = c.getBoundingClientRect(); const w = c.parentElement.getBoundingClientRect();
        return r.width > 0 && r.left >= w.left - 0.5 && r.right <= w.right + 0.5; })""", selector)


def y_tops(frame, selector):
    """{run: data-hi} of the canvases matching selector."""
    return frame.evaluate("""(s) => Object.fromEntries(Array.from(document.querySelectorAll(s)).map(
        (c) => [c.dataset.run, Number(c.dataset.hi)]))""", selector)


def test_shared_scale_gives_every_run_one_y_range(tab):
    # Sample 0 of run_a (a = 0.8) reaches ~2.3x higher than run_b's (a = 0.5).
    own = {run: (grow(LAST) * sum(a ** lag for lag in range(T))) for run, a in zip(RUNS, RATES)}
    page, frame = show(tab, "horizon", shared=True)
    bars = y_tops(frame, "canvas.rnn-horizon-bars")
    assert bars == pytest.approx({run: max(own.values()) for run in RUNS}, rel=1e-5)
    projections = y_tops(frame, "canvas.rnn-horizon-projection")
    assert projections["run_a"] == projections["run_b"] == pytest.approx(grow(LAST), rel=1e-5)  # lag 0, sample 0
    overviews = y_tops(frame, "canvas.rnn-horizon-overview")
    assert overviews["run_a"] == overviews["run_b"] == pytest.approx(2 * grow(LAST), rel=1e-5)
    for run in RUNS:
        assert frame.get_attribute(BARS % (run, "none"), "data-y-range") == "shared"
        panel = '.rnn-horizon-panel[data-run="%s"]' % run
        assert "y range shared across runs" in frame.text_content(panel + " .rnn-horizon-y-range")
        assert "shared across runs" in frame.text_content(panel + " .rnn-horizon-projection-title")

    page, frame = show(tab, "horizon", shared=False)
    bars = y_tops(frame, "canvas.rnn-horizon-bars")
    assert bars == pytest.approx(own, rel=1e-5)
    assert bars["run_a"] > 2 * bars["run_b"]
    for run in RUNS:
        assert frame.get_attribute(BARS % (run, "none"), "data-y-range") == "own"
        assert "this run's own y range" in frame.text_content(
            '.rnn-horizon-panel[data-run="%s"] .rnn-horizon-y-range' % run)


def test_horizon_axes_share_one_exponent_and_are_not_clipped(tab):
    page, frame = show(tab, "horizon")
    labels = frame.evaluate("""() => Array.from(document.querySelectorAll(
        'canvas.rnn-horizon-bars, canvas.rnn-horizon-projection, canvas.rnn-horizon-overview'),
        (c) => [c.dataset.tickLabels, c.dataset.multiplier])""")
    assert len(labels) == 3 * len(RUNS)
    for ticks, multiplier in labels:
        # Plain numbers only; an exponent is written once, as the multiplier.
        assert ticks and all(float(t) >= 0 and "e" not in t for t in ticks.split()), ticks
        assert multiplier == ""  # these values (0.5 .. 14) are moderate
    assert inside_its_wrap(frame, "#rnn-panels canvas.rnn-plot")


def test_training_view_keeps_the_last_step_label_inside_at_1000_px(tab):
    page, _ = tab
    page.set_viewport_size({"width": 1000, "height": 1400})
    try:
        page, frame = show(tab, "horizon_training")
        for chart in ("canvas.rnn-horizon-effective", "canvas.rnn-horizon-timescales"):
            boxes = frame.evaluate("(s) => document.querySelector(s).rnnStepLabels", chart)
            width = frame.evaluate("(s) => document.querySelector(s).getBoundingClientRect().width", chart)
            assert boxes[-1]["text"] == str(LAST)
            assert boxes[0]["left"] >= 0 and boxes[-1]["right"] <= width, (boxes[-1], width)
            assert inside_its_wrap(frame, chart)
    finally:
        page.set_viewport_size({"width": 1200, "height": 1400})


def test_out_of_range_sample_is_refused_not_replaced(browser, server):
    context, page, frame = open_view(browser, server, "horizon", runs=("run_a",))
    try:
        frame.fill("#rnn-sample", "99")
        panel = '.rnn-horizon-panel[data-run="run_a"]'
        frame.wait_for_selector(panel + " .rnn-note-error", timeout=10000)
        assert frame.text_content(panel + " .rnn-note-error") == \
            "This run has %d sample(s); sample 99 is not logged." % SAMPLES
        # Nothing drawn for it, and no other sample in its place.
        assert frame.locator(panel + " canvas").count() == 0
        assert "showing sample" not in frame.text_content("#rnn-panels")
        frame.wait_for_selector("#rnn-app[data-state=error]", timeout=10000)
        # The Sample input is marked with the reason, as in the other views.
        frame.wait_for_selector("#rnn-sample-error:not([hidden])", timeout=10000)
        assert "out of range" in frame.text_content("#rnn-sample-error")
        # A logged sample draws again.
        frame.fill("#rnn-sample", "1")
        frame.wait_for_selector(BARS % ("run_a", "none") + '[data-sample="1"]', timeout=10000)
        assert frame.is_hidden("#rnn-sample-error")
    finally:
        close(context, page)
