"""End to end: a real TensorBoard, Debian's Chromium, the RNN tab.

The logdir is written with the summary ops and a known pattern, so the test
knows which cells must be drawn in the positive (red) and negative (blue)
colours, which timesteps are masked and where NaN/Inf are.
"""

import contextlib
import json

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUN_A = "run_a"
RUN_B = "run_b"
RUN_STEPS = {RUN_A: (0, 10, 20), RUN_B: (0, 15)}
SAMPLES, TIMESTEPS, CHANNELS = 2, 12, 6
# Sample 0 of every "lstm" series: the last timesteps are padding.
MASKED_TIMESTEPS = (9, 10, 11)
# (t, c) cells of sample 0: clearly positive / clearly negative.
POSITIVE_CELL = (2, 1)
NEGATIVE_CELL = (7, 4)
# run_b's state gradient at (t, c) of sample 0 is NaN / +Inf / -Inf.
NAN_CELL = (0, 5)
INF_CELL = (1, 5)
NEG_INF_CELL = (3, 5)
KIND_SCALE = {"activation": 1.0, "output_gradient": 0.01, "state_gradient": 0.1}


def step_scale(step):
    """How large values are at a step, so the test can tell steps apart."""
    return 1.0 + step / 10.0


def lstm_pattern(step, kind):
    """[samples, timesteps, channels]: sample 0 positive where t < 6 and
    c < 3, negative where t >= 6 and c >= 3, small elsewhere, zero at the
    masked timesteps; sample 1 is the negative of the unmasked pattern."""
    rng = np.random.default_rng(step)
    base = rng.uniform(-0.1, 0.1, size=(TIMESTEPS, CHANNELS))
    base[:6, :3] = np.linspace(0.6, 1.0, 18).reshape(6, 3)
    base[6:, 3:] = -np.linspace(0.6, 1.0, 18).reshape(6, 3)
    values = np.stack([base, -base]) * step_scale(step) * KIND_SCALE[kind]
    values[0, list(MASKED_TIMESTEPS), :] = 0.0
    return values.astype(np.float32)


def lstm_mask():
    mask = np.ones((SAMPLES, TIMESTEPS), np.float32)
    mask[0, list(MASKED_TIMESTEPS)] = 0.0
    return mask


def write_fixture_logdir(logdir):
    """Writes two runs with a unidirectional "lstm" layer (all three
    quantities, a mask) and a bidirectional GRU layer (forward positive,
    backward negative). Returns what the test needs to know about it."""
    import tensorflow as tf

    import tb_rnn_plugin

    writers = {}
    for run, steps in RUN_STEPS.items():
        writer = tf.summary.create_file_writer(str(logdir / run))
        writers[run] = writer
        with writer.as_default():
            for step in steps:
                tb_rnn_plugin.timestep_mask("lstm/mask", lstm_mask(), step=step, layer="lstm")
                for kind, write in (
                    ("activation", tb_rnn_plugin.activation),
                    ("output_gradient", tb_rnn_plugin.output_gradient),
                    ("state_gradient", tb_rnn_plugin.state_gradient),
                ):
                    values = lstm_pattern(step, kind)
                    if run == RUN_B and kind == "state_gradient":
                        values[0, NAN_CELL[0], NAN_CELL[1]] = np.nan
                        values[0, INF_CELL[0], INF_CELL[1]] = np.inf
                        values[0, NEG_INF_CELL[0], NEG_INF_CELL[1]] = -np.inf
                    write(
                        "lstm/%s" % kind, values, step=step,
                        layer="lstm", cell="LSTM", mask_tag="lstm/mask",
                    )
                shape = (SAMPLES, TIMESTEPS, 4)
                for direction, sign in (("forward", 1.0), ("backward", -1.0)):
                    values = sign * np.full(shape, 0.5, np.float32)
                    values[:, :, 0] *= np.linspace(0.2, 1.0, TIMESTEPS)
                    tb_rnn_plugin.activation(
                        "bidirectional/%s/activation" % direction, values, step=step,
                        layer="bidirectional", cell="GRU", direction=direction,
                    )
        writer.flush()
        writer.close()
    return {"runs": sorted(RUN_STEPS)}


# ---- fixtures ---------------------------------------------------------------

UNION_STEPS = sorted(set(RUN_STEPS[RUN_A]) | set(RUN_STEPS[RUN_B]))
VIEWPORT = {"width": 1400, "height": 1000}
READY = "#rnn-app[data-state=ready]"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two TensorBoards: one over the fixture logdir, one over an empty one."""
    browser_util.chromium_path()  # skip (or fail under CI) before any work
    browser_util.sync_playwright()
    logdir = tmp_path_factory.mktemp("rnn_logdir")
    empty = tmp_path_factory.mktemp("empty_logdir")
    started = []
    try:
        # Start TensorBoard on the empty logdir while the fixture is written.
        started.append(browser_util.TensorBoardServer(empty))
        write_fixture_logdir(logdir)
        started.append(browser_util.TensorBoardServer(logdir))
        empty_tb, tb = started
        tb.wait_until_serving()
        empty_tb.wait_until_serving()
        tb.wait_for_runs([RUN_A, RUN_B])
        yield {"data": tb, "empty": empty_tb}
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def browser(servers):
    with browser_util.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def tab(browser, servers):
    """TensorBoard at #rnn, opened once; tests reload only the plugin's frame."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    page.goto(servers["data"].url + "/#rnn")
    browser_util.plugin_frame(page)
    try:
        yield page
    finally:
        context.close()


def check_console(page):
    errors = page.console_errors.take()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


@pytest.fixture
def frame(tab):
    """The plugin document inside TensorBoard, freshly loaded for this test.

    Fails the test on any console error or uncaught page error.
    """
    frame = browser_util.plugin_frame(tab)
    tab.console_errors.take()
    # Each test starts from the defaults, not the selection the last one kept.
    browser_util.forget_kept_state(tab)
    frame.goto(frame.url)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=20000)
    yield frame
    check_console(tab)


def settle(frame):
    """Waits for the redraw a control change started."""
    frame.wait_for_selector(READY, timeout=20000)


def choose(frame, layer=None, kind=None, step=None, sample=None):
    if layer is not None:
        frame.select_option("#rnn-layer", layer)
        settle(frame)
    if kind is not None:
        frame.select_option("#rnn-quantity", kind)
        settle(frame)
    if step is not None:
        frame.fill("#rnn-step", str(UNION_STEPS.index(step)))
        settle(frame)
    if sample is not None:
        frame.fill("#rnn-sample", str(sample))
        settle(frame)


# How many distinct colours the plot area holds, and how many of them are
# neither white nor grey (chromatic).
_COLOURS_JS = """(selector) => {
  const canvas = document.querySelector(selector);
  const d = canvas.dataset;
  const dpr = Number(d.dpr);
  const x = Math.ceil(Number(d.plotX) * dpr), y = Math.ceil(Number(d.plotY) * dpr);
  const w = Math.floor(Number(d.plotWidth) * dpr), h = Math.floor(Number(d.plotHeight) * dpr);
  const px = canvas.getContext("2d").getImageData(x, y, w, h).data;
  const all = new Set(), chromatic = new Set();
  for (let i = 0; i < px.length; i += 4) {
    const key = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
    all.add(key);
    if (Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 40) chromatic.add(key);
  }
  return [all.size, chromatic.size];
}"""




# ---- tests ------------------------------------------------------------------


def test_chromium_available():
    """Fails under CI=true without Chromium (skips elsewhere), saying how to install."""
    browser_util.chromium_path()
    browser_util.sync_playwright()


def test_runs_side_by_side_with_signs_steps_and_readout(frame):
    names = frame.locator("#rnn-runs label").all_text_contents()
    assert [n.strip() for n in names] == [RUN_A, RUN_B]
    for run in (RUN_A, RUN_B):
        frame.check('#rnn-runs input[data-run="%s"]' % run)
    settle(frame)
    choose(frame, layer="lstm", kind="activation", step=20)
    assert frame.text_content("#rnn-step-value").strip() == "20"

    # Each run shows the logged step actually drawn: run_b has no step 20.
    assert frame.get_attribute('.rnn-panel[data-run="run_a"]', "data-step") == "20"
    assert frame.get_attribute('.rnn-panel[data-run="run_b"]', "data-step") == "15"
    assert "step 15" in frame.text_content('.rnn-panel[data-run="run_b"] .rnn-panel-heading')
    titles = frame.locator(".rnn-run-column .rnn-run-title").all_text_contents()
    assert titles == [RUN_A, RUN_B]

    for run in (RUN_A, RUN_B):
        selector = browser_util.canvas_selector(run)
        distinct, chromatic = frame.evaluate(_COLOURS_JS, selector)
        assert distinct > 5 and chromatic > 5, (run, distinct, chromatic)
        assert browser_util.is_positive_colour(browser_util.pixel(frame, selector, *POSITIVE_CELL)), run
        assert browser_util.is_negative_colour(browser_util.pixel(frame, selector, *NEGATIVE_CELL)), run

    # Auto range, shared: max |v| shown is run_a's at step 20.
    vmax = {
        run: float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax"))
        for run in (RUN_A, RUN_B)
    }
    assert vmax[RUN_A] == pytest.approx(step_scale(20), rel=1e-5)
    assert vmax[RUN_B] == vmax[RUN_A]
    # Independent scales: run_b's own maximum proves step 15's data is drawn.
    frame.uncheck("#rnn-shared")
    settle(frame)
    vmax_b = float(frame.get_attribute('.rnn-panel[data-run="run_b"]', "data-vmax"))
    assert vmax_b == pytest.approx(step_scale(15), rel=1e-5)

    # Earlier step: run_b falls back to the nearest step not above it.
    choose(frame, step=10)
    assert frame.get_attribute('.rnn-panel[data-run="run_a"]', "data-step") == "10"
    assert frame.get_attribute('.rnn-panel[data-run="run_b"]', "data-step") == "0"
    vmax_a = float(frame.get_attribute('.rnn-panel[data-run="run_a"]', "data-vmax"))
    assert vmax_a == pytest.approx(step_scale(10), rel=1e-5)

    # The readout names run, timestep, channel and value under the cursor.
    selector = browser_util.canvas_selector(RUN_A)
    box = frame.evaluate(
        """(s) => { const d = document.querySelector(s).dataset;
           return [Number(d.plotX), Number(d.plotY), Number(d.cellWidth), Number(d.cellHeight)]; }""",
        selector,
    )
    t, c = POSITIVE_CELL
    frame.hover(selector, position={"x": box[0] + (t + 0.5) * box[2], "y": box[1] + (c + 0.5) * box[3]})
    readout = frame.text_content("#rnn-readout")
    expected = lstm_pattern(10, "activation")[0, t, c]
    assert "run_a" in readout and "timestep %d" % t in readout and "channel %d" % c in readout
    assert ("%.3g" % expected)[:3] in readout, readout

    # Another sample: sample 1 holds the negated pattern.
    choose(frame, sample=1)
    assert browser_util.is_negative_colour(browser_util.pixel(frame, selector, *POSITIVE_CELL))
    assert browser_util.is_positive_colour(browser_util.pixel(frame, selector, *NEGATIVE_CELL))


def test_fixed_colour_range(frame):
    choose(frame, layer="lstm", kind="activation", step=20)
    frame.select_option("#rnn-range-mode", "fixed")
    frame.fill("#rnn-range-value", "100")
    settle(frame)
    for run in (RUN_A, RUN_B):
        assert float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax")) == 100
        # At +-100 the pattern (|v| <= 3) is close to the zero colour.
        r, g, b = browser_util.pixel(frame, browser_util.canvas_selector(run), *POSITIVE_CELL)
        assert r > 230 and g > 220 and b > 220 and r >= b


def shown_abs_values(step, kind, sample):
    """|v| of what a panel shows and the auto range is taken over: the
    finite values of one sample, masked timesteps left out."""
    values = lstm_pattern(step, kind)[sample].astype(np.float64)
    shown = values[lstm_mask()[sample] > 0]
    return np.abs(shown[np.isfinite(shown)])


def test_robust_colour_range(frame):
    choose(frame, layer="lstm", kind="activation", step=20)
    frame.uncheck("#rnn-shared")
    settle(frame)
    frame.select_option("#rnn-range-mode", "robust")
    settle(frame)
    assert frame.is_enabled("#rnn-shared") and frame.is_disabled("#rnn-range-value")
    panel = '.rnn-panel[data-run="%s"]' % RUN_A
    selector = browser_util.canvas_selector(RUN_A)
    colorbar = panel + " .rnn-colorbar"

    # Sample 0: masked timesteps are left out, as the auto range does.
    values = lstm_pattern(20, "activation")[0]
    expected = np.percentile(shown_abs_values(20, "activation", 0), 99)
    vmax = float(frame.get_attribute(panel, "data-vmax"))
    assert vmax == pytest.approx(expected, rel=1e-9)
    assert float(frame.get_attribute(selector, "data-vmax")) == vmax
    assert vmax < 0.999 * np.abs(values).max()  # below max |v| shown
    # The largest cell, (5, 2), is beyond vmax: drawn in the saturated
    # positive end colour, as the colour bar's end says.
    assert values[5, 2] > vmax
    saturated = frame.get_attribute(colorbar, "data-positive-color")
    rgb = browser_util.pixel(frame, selector, 5, 2)
    assert rgb == (103, 0, 31) and saturated == "rgb(103, 0, 31)", rgb
    # A cell inside the range is red but not saturated.
    assert 0 < values[5, 1] < vmax
    inside = browser_util.pixel(frame, selector, 5, 1)
    assert browser_util.is_positive_colour(inside) and inside != rgb, inside
    # The colour bar says so and shows the numbers at its ends.
    bar_text = frame.text_content(colorbar)
    assert "robust range (99th pct)" in bar_text and "clipped" in bar_text
    assert "(1 cell)" in bar_text
    numbers = frame.locator(colorbar + " .rnn-colorbar-numbers span").all_text_contents()
    assert numbers == ["-%.3g" % vmax, "0", "%.3g" % vmax]

    # Sample 1 (negated pattern, nothing masked): two cells at |v| = 3 tie
    # for the largest, so the 99th percentile reaches them; the negative one
    # is drawn in the saturated negative end colour.
    choose(frame, sample=1)
    values = lstm_pattern(20, "activation")[1]
    expected = np.percentile(shown_abs_values(20, "activation", 1), 99)
    vmax = float(frame.get_attribute(panel, "data-vmax"))
    assert vmax == pytest.approx(expected, rel=1e-9)
    assert values[5, 2] <= -vmax * (1 - 1e-6)
    assert frame.get_attribute(colorbar, "data-negative-color") == "rgb(5, 48, 97)"
    assert browser_util.pixel(frame, selector, 5, 2) == (5, 48, 97)

    # Shared across runs: the percentile of both panels' values together
    # (run_b draws its step 15).
    choose(frame, sample=0)
    frame.check("#rnn-shared")
    settle(frame)
    pooled = np.concatenate([
        shown_abs_values(20, "activation", 0), shown_abs_values(15, "activation", 0),
    ])
    for run in (RUN_A, RUN_B):
        vmax = float(frame.get_attribute('.rnn-panel[data-run="%s"]' % run, "data-vmax"))
        assert vmax == pytest.approx(np.percentile(pooled, 99), rel=1e-9), run


def test_masked_timesteps_are_grey_not_zero(frame):
    choose(frame, layer="lstm", kind="output_gradient", step=20, sample=0)
    selector = browser_util.canvas_selector(RUN_A)
    zero_like = browser_util.pixel(frame, selector, 8, 0)  # small value, near white
    for t in MASKED_TIMESTEPS:
        rgb = browser_util.pixel(frame, selector, t, 0)
        assert browser_util.is_grey(rgb) and max(rgb) < 225, (t, rgb)
        assert rgb != zero_like
    panel_text = frame.text_content('.rnn-panel[data-run="run_a"]')
    assert "masked" in panel_text
    # The data under the mask is 0; unmasked sample 1 is drawn in colour there.
    choose(frame, sample=1)
    assert not browser_util.is_grey(browser_util.pixel(frame, selector, MASKED_TIMESTEPS[0], 4))


def test_nan_and_inf_drawn_and_counted(frame):
    choose(frame, layer="lstm", kind="state_gradient", step=15, sample=0)
    selector = browser_util.canvas_selector(RUN_B)
    assert browser_util.pixel(frame, selector, *NAN_CELL) == (255, 0, 255)
    assert browser_util.pixel(frame, selector, *INF_CELL) == (0, 0, 0)
    assert browser_util.pixel(frame, selector, *NEG_INF_CELL) == (0, 160, 60)
    note = frame.text_content('.rnn-panel[data-run="run_b"]')
    assert "1 NaN" in note and "1 +Inf" in note and "1 \u2212Inf" in note
    # Non-finite values do not set the auto range.
    vmax = float(frame.get_attribute('.rnn-panel[data-run="run_b"]', "data-vmax"))
    assert vmax == pytest.approx(step_scale(15) * KIND_SCALE["state_gradient"], rel=1e-5)


def test_bidirectional_layer_has_labelled_panels(frame):
    choose(frame, layer="bidirectional", kind="activation", step=20)
    for run in (RUN_A, RUN_B):
        for direction, label, check in (
            ("forward", "forward", browser_util.is_positive_colour),
            ("backward", "backward (input-time order)", browser_util.is_negative_colour),
        ):
            heading = frame.text_content(
                '.rnn-panel[data-run="%s"][data-direction="%s"] .rnn-direction' % (run, direction)
            )
            assert heading.strip() == label
            assert check(browser_util.pixel(frame, browser_util.canvas_selector(run, direction), 5, 2)), (run, direction)


def test_lines_view_draws_one_line_per_channel(frame):
    choose(frame, layer="lstm", kind="activation", step=20)
    frame.select_option("#rnn-view", "lines")
    settle(frame)
    assert frame.locator("canvas.rnn-plot[data-view=heatmap]").count() == 0
    for run in (RUN_A, RUN_B):
        selector = browser_util.canvas_selector(run, view="lines")
        _, chromatic = frame.evaluate(_COLOURS_JS, selector)
        assert chromatic >= CHANNELS, (run, chromatic)
        assert frame.get_attribute(selector, "data-channels") == str(CHANNELS)


@contextlib.contextmanager
def failing_route(tab, pattern, status, body):
    """Answers requests matching `pattern` with an error; yields the reloaded frame."""
    tab.route(
        pattern,
        lambda route: route.fulfill(status=status, body=body, content_type="text/plain"),
    )
    try:
        frame = browser_util.plugin_frame(tab)
        browser_util.forget_kept_state(tab)
        frame.goto(frame.url)
        frame.wait_for_selector("#rnn-app[data-state=error]", timeout=20000)
        yield frame
    finally:
        tab.unroute(pattern)


def test_failed_tensor_fetch_shows_status_and_server_text(tab):
    with failing_route(tab, "**/data/plugin/rnn/tensor?*", 500, "simulated failure") as frame:
        note = frame.text_content(".rnn-panel .rnn-note-error")
        assert "500" in note and "simulated failure" in note
        assert "could not be drawn" in frame.text_content("#rnn-status")
    # Chromium logs the failed loads themselves; nothing else may be logged.
    others = [m for m in tab.console_errors.take() if "status of 500" not in m]
    assert not others, others


def test_failed_index_fetch_shows_message(tab):
    with failing_route(tab, "**/data/plugin/rnn/tags", 503, "index unavailable") as frame:
        message = frame.text_content("#rnn-message")
        assert "503" in message and "index unavailable" in message
    others = [m for m in tab.console_errors.take() if "status of 503" not in m]
    assert not others, others
    # Reload, with the server answering again, draws the tab.
    frame.click("#rnn-message button")
    frame.wait_for_selector(READY, timeout=20000)
    assert frame.locator("canvas.rnn-plot").count() > 0


def test_empty_logdir_shows_message(browser, servers):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        console = browser_util.ConsoleErrors(page)
        page.goto(servers["empty"].url + "/#rnn")
        frame = browser_util.plugin_frame(page)
        frame.wait_for_selector("#rnn-app[data-state=empty]", timeout=20000)
        message = frame.text_content("#rnn-message")
        assert "No RNN data found" in message
        assert "RNNTensorBoard" in message
        assert frame.is_hidden("#rnn-controls")
        assert not console.take()
    finally:
        context.close()


# Fields the backend adds to its answers (served here by rewriting them in
# the browser): series it could not read, and how many steps were logged
# where TensorBoard kept a sample.
SKIPPED = [
    {"run": RUN_A, "tag": "lstm/broken", "reason": "unreadable plugin metadata: <b>not json</b>"},
    {"run": "run_c", "tag": None, "reason": "could not read the run"},
]
SAMPLING_FACTOR = 4


def _profile_entry(layer, axes):
    metadata = {"version": 2, "kind": "profile", "layer": layer, "cell": "LSTM", "axes": axes}
    return {"metadata": metadata, "description": "", "max_step": 20}


def _index_with_new_fields(route):
    """./tags with a skipped list and series of a kind the views do not draw."""
    body = route.fetch().json()
    body["runs"][RUN_A]["lstm/profile"] = _profile_entry("lstm", ["timestep", "statistic"])
    body["runs"][RUN_A]["profiles/only"] = _profile_entry("profiles_only", ["timestep"])
    body["skipped"] = SKIPPED
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def _steps_with_logged_count(route):
    """./steps saying run_a's series were sampled (and run_b's were not)."""
    body = route.fetch().json()
    sampled = "run=%s&" % RUN_A in route.request.url
    body["logged_steps"] = len(body["steps"]) * (SAMPLING_FACTOR if sampled else 1)
    route.fulfill(status=200, content_type="application/json", body=json.dumps(body))


def test_skipped_and_sampled_series_are_noted_not_drawn(tab):
    tab.console_errors.take()
    frame = browser_util.plugin_frame(tab)
    browser_util.forget_kept_state(tab)
    frame.goto(frame.url)
    settle(frame)
    # Today's answers, without the fields: no notice.
    assert frame.is_hidden("#rnn-skipped") and frame.is_hidden("#rnn-sampling")

    routes = (
        ("**/data/plugin/rnn/tags", _index_with_new_fields),
        ("**/data/plugin/rnn/steps?*", _steps_with_logged_count),
    )
    for pattern, handler in routes:
        tab.route(pattern, handler)
    try:
        frame.goto(frame.url)
        settle(frame)
        # A one-line notice, collapsed; the view is drawn below it.
        summary = frame.text_content("#rnn-skipped summary")
        assert "2 series skipped" in summary
        assert frame.is_hidden("#rnn-skipped li")
        assert frame.locator("canvas.rnn-plot").count() > 0
        assert frame.text_content("#rnn-status").strip() == ""
        frame.click("#rnn-skipped summary")
        items = [t.strip() for t in frame.locator("#rnn-skipped li").all_text_contents()]
        assert items == [
            "run_a \u00b7 lstm/broken: unreadable plugin metadata: <b>not json</b>",
            "run_c (whole run): could not read the run",
        ]
        assert frame.locator("#rnn-skipped b").count() == 0  # text, not markup

        # "profile" series are in no menu.
        layers = frame.locator("#rnn-layer option").evaluate_all("(os) => os.map((o) => o.value)")
        assert layers == ["bidirectional", "lstm"]
        choose(frame, layer="lstm")
        kinds = frame.locator("#rnn-quantity option").evaluate_all("(os) => os.map((o) => o.value)")
        assert kinds == ["activation", "output_gradient", "state_gradient"]

        # By the step slider: run_a was sampled, run_b was not.
        note = frame.text_content("#rnn-sampling").strip()
        assert note == (
            "run_a: showing 3 of 12 logged steps \u2014 TensorBoard keeps a sample of "
            "large tensors; start it with --samples_per_plugin rnn=0 to keep all "
            "(uses more memory)"
        )
        frame.uncheck('#rnn-runs input[data-run="%s"]' % RUN_A)
        settle(frame)
        assert frame.is_hidden("#rnn-sampling")
    finally:
        for pattern, handler in routes:
            tab.unroute(pattern, handler)
    check_console(tab)
