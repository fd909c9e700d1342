"""End to end: the lines view past 10 channels, the Sample choices and the
all-samples grid, over a real TensorBoard in headless Chromium.

Two runs of a 64-channel "wide" layer ([4 samples, 30 timesteps, 64
channels], run b is run a times 0.5) whose channel c peaks at a known
|v| (so the top-k channels are known), with a mask (timesteps 28, 29
masked in every sample, 20..27 in sample 3 only, where the data holds 50
so that a mean that ignored the mask would show it), and a "bad" layer
holding NaN, +Inf and -Inf at known timesteps.

Set RNN_SCREENSHOTS=<dir> to keep screenshots at 1200 px wide.
"""

import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("lines_a", "lines_b")
RUN_SCALE = {"lines_a": 1.0, "lines_b": 0.5}
S, T, C = 4, 30, 64
WEIGHTS = np.array([1.0, -0.5, 2.0, -1.5])
# Channel c's amplitude: a permutation of 1 .. 8.875 in steps of 1/8.
AMPLITUDE = 1.0 + ((np.arange(C) * 37) % 64) / 8.0
TOP = [int(c) for c in np.argsort(-AMPLITUDE, kind="stable")]
MASKED_EVERYWHERE = (28, 29)
MASKED_IN_3 = tuple(range(20, 28))
MASKED_VALUE = 50.0
# The "bad" layer: [1, 20, 6], NaN / +Inf / -Inf at (t, c).
BAD_T, BAD_C = 20, 6
NAN_AT, POS_INF_AT, NEG_INF_AT = (3, 1), (7, 2), (12, 4)
READY = "#rnn-app[data-state=ready]"
SETTLED = "#rnn-app:not([data-state=loading])"
NAN_RGB, POS_INF_RGB, NEG_INF_RGB = (255, 0, 255), (0, 0, 0), (0, 160, 60)
MASK_RGB = (185, 185, 185)


def wide(run):
    """[S, T, C]: amplitude[c] * weight[s] * cos(2 pi (t + c) / 10) (|cos| = 1
    at t = -c mod 10), MASKED_VALUE where masked."""
    t = np.arange(T)[None, :, None]
    c = np.arange(C)[None, None, :]
    values = AMPLITUDE[c] * WEIGHTS[:, None, None] * np.cos(2 * np.pi * (t + c) / 10.0)
    values = values * RUN_SCALE[run]
    mask = wide_mask()
    values[mask == 0] = MASKED_VALUE
    return values.astype(np.float32)


def wide_mask():
    mask = np.ones((S, T), np.float32)
    mask[:, list(MASKED_EVERYWHERE)] = 0
    mask[3, list(MASKED_IN_3)] = 0
    return mask


def bad():
    t = np.arange(BAD_T)[:, None]
    c = np.arange(BAD_C)[None, :]
    values = (0.2 + 0.1 * c) * np.sin(t / 3.0 + c)
    values[NAN_AT] = np.nan
    values[POS_INF_AT] = np.inf
    values[NEG_INF_AT] = -np.inf
    return values[None].astype(np.float32)


DEMO_S, DEMO_T, DEMO_C = 8, 100, 128


def demo():
    """[8, 100, 128] for the screenshots: a few strong channels oscillating
    and fading towards early timesteps, many weak ones; each sample its own
    scale and sign, sample s padded after 100 - 6 s timesteps."""
    rng = np.random.default_rng(3)
    t = np.arange(DEMO_T)[None, :, None]
    c = np.arange(DEMO_C)[None, None, :]
    amp = 0.05 + 0.95 * rng.random(DEMO_C) ** 6
    period = rng.uniform(8, 30, DEMO_C)
    phase = rng.uniform(0, 2 * np.pi, (DEMO_S, 1, DEMO_C))
    scale = rng.uniform(0.4, 1.0, (DEMO_S, 1, 1)) * np.where(np.arange(DEMO_S) % 3 == 2, -1, 1)[:, None, None]
    values = scale * amp[c] * np.exp(-(DEMO_T - 1 - t) / 40.0) * np.sin(2 * np.pi * t / period[c] + phase)
    values = values + 0.02 * rng.standard_normal((DEMO_S, DEMO_T, DEMO_C))
    values[demo_mask() == 0] = 0
    return values.astype(np.float32)


def demo_mask():
    mask = np.ones((DEMO_S, DEMO_T), np.float32)
    for s in range(DEMO_S):
        mask[s, DEMO_T - 6 * s:] = 0
    return mask


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for run in RUNS:
        writer = tf.summary.create_file_writer(str(logdir / run))
        with writer.as_default():
            tb_rnn_plugin.timestep_mask("wide/mask", wide_mask(), step=0, layer="wide")
            tb_rnn_plugin.activation(
                "wide/activation", wide(run), step=0, layer="wide", cell="LSTM", mask_tag="wide/mask")
            tb_rnn_plugin.activation("bad/activation", bad(), step=0, layer="bad", cell="GRU")
            tb_rnn_plugin.timestep_mask("demo/mask", demo_mask(), step=0, layer="demo")
            tb_rnn_plugin.activation(
                "demo/activation", demo(), step=0, layer="demo", cell="LSTM", mask_tag="demo/mask")
        writer.flush()
        writer.close()




def close_rgb(a, b, tol=3):
    return max(abs(x - y) for x, y in zip(a, b)) <= tol


def is_mask_colour(rgb):
    """The mask's grey or its darker hatch; not the near-white of small values."""
    return browser_util.is_grey(rgb) and max(rgb) <= MASK_RGB[0] + 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_lines", write_logdir, list(RUNS)) as tb:
        yield tb


def open_tab(browser, server, width=1200, height=1100):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector(SETTLED, timeout=30000)
    frame.select_option("#rnn-layer", "wide")
    frame.wait_for_selector(READY, timeout=30000)
    return context, page, frame


@pytest.fixture
def tab(browser, server):
    context, page, frame = open_tab(browser, server)
    try:
        yield page, frame
        errors = page.console_errors.take()
        assert not errors, errors
    finally:
        context.close()


def settle(frame):
    frame.wait_for_selector(SETTLED, timeout=30000)


def choose(frame, selector, value):
    frame.select_option(selector, value)
    settle(frame)


def shown_channels(frame, run):
    text = frame.get_attribute(browser_util.canvas_selector(run, view="lines"), "data-shown-channels")
    return [int(c) for c in text.split(",") if c != ""]


def legend_channels(frame, run):
    items = frame.locator('.rnn-panel[data-run="%s"] .rnn-channel-item' % run)
    return [int(items.nth(i).get_attribute("data-channel")) for i in range(items.count())]


_CANVAS_PIXEL_JS = """([selector, x, y]) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return null;
  const dpr = Number(canvas.dataset.dpr);
  return Array.from(canvas.getContext("2d").getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data);
}"""


def canvas_pixel(frame, selector, x, y):
    rgba = frame.evaluate(_CANVAS_PIXEL_JS, [selector, x, y])
    assert rgba is not None, selector
    return tuple(rgba[:3])


def canvas_layout(frame, selector):
    return frame.evaluate(
        """(s) => { const d = document.querySelector(s).dataset;
           return { plotX: +d.plotX, plotY: +d.plotY, plotW: +d.plotWidth, plotH: +d.plotHeight,
                    cellW: +d.cellWidth, vmax: +d.vmax }; }""",
        selector,
    )


# ---- lines view: top-k, picker, colours, markers ----------------------------


def test_lines_view_shows_top_10_then_k(tab):
    _, frame = tab
    choose(frame, "#rnn-view", "lines")
    assert frame.is_visible("#rnn-top-k") and frame.is_visible("#rnn-channels")
    for run in RUNS:
        assert shown_channels(frame, run) == TOP[:10]
        assert legend_channels(frame, run) == TOP[:10]
        caption = frame.text_content('.rnn-panel[data-run="%s"] .rnn-lines-legend-caption' % run)
        assert "top 10 of 64 channels by max |v|" in caption, caption
    frame.fill("#rnn-top-k", "3")
    settle(frame)
    for run in RUNS:
        assert shown_channels(frame, run) == TOP[:3]
        assert len(legend_channels(frame, run)) == 3
    # Not a count: marked with its reason, the last k stays.
    frame.fill("#rnn-top-k", "0")
    assert "rnn-invalid" in frame.get_attribute("#rnn-top-k", "class")
    assert "1 or more" in frame.text_content("#rnn-top-k-error")
    assert frame.input_value("#rnn-top-k") == "0"
    assert shown_channels(frame, RUNS[0]) == TOP[:3]


def test_channel_picker_overrides_and_marks_invalid_input(tab):
    _, frame = tab
    choose(frame, "#rnn-view", "lines")
    frame.fill("#rnn-channels", "2, 5-6")
    settle(frame)
    for run in RUNS:
        assert shown_channels(frame, run) == [2, 5, 6]
        assert legend_channels(frame, run) == [2, 5, 6]
    # The y range fits the picked channels (shared by both runs: run a's).
    shown = wide(RUNS[0])[0][wide_mask()[0] > 0][:, [2, 5, 6]]
    vmax = float(frame.get_attribute(browser_util.canvas_selector(RUNS[0], view="lines"), "data-vmax"))
    assert vmax == pytest.approx(np.max(np.abs(shown)), rel=1e-5)
    frame.fill("#rnn-channels", "0")
    settle(frame)
    vmax = float(frame.get_attribute(browser_util.canvas_selector(RUNS[0], view="lines"), "data-vmax"))
    assert vmax == pytest.approx(AMPLITUDE[0], rel=1e-5)  # 1, of up to 8.875
    frame.fill("#rnn-channels", "2, 5-6")
    settle(frame)
    frame.fill("#rnn-channels", "abc")
    assert "rnn-invalid" in frame.get_attribute("#rnn-channels", "class")
    error = frame.text_content("#rnn-channels-error")
    assert '"abc" is not a channel number' in error, error
    assert frame.input_value("#rnn-channels") == "abc"  # never replaced
    assert shown_channels(frame, RUNS[0]) == [2, 5, 6]
    frame.fill("#rnn-channels", "1, 70")
    settle(frame)
    assert shown_channels(frame, RUNS[0]) == [1]
    assert "70" in frame.text_content('.rnn-panel[data-run="%s"] .rnn-missing-channels' % RUNS[0])
    frame.fill("#rnn-channels", "")
    settle(frame)
    assert shown_channels(frame, RUNS[0]) == TOP[:10]


def test_channel_colour_is_the_same_in_both_runs(tab):
    page, frame = tab
    choose(frame, "#rnn-view", "lines")
    frame.fill("#rnn-channels", "3, 17")
    settle(frame)
    colours = {}
    for run in RUNS:
        for c in (3, 17):
            item = '.rnn-panel[data-run="%s"] .rnn-channel-item[data-channel="%d"]' % (run, c)
            colours[run, c] = (
                frame.get_attribute(item, "data-color"),
                frame.evaluate("(s) => getComputedStyle(document.querySelector(s)).backgroundColor",
                               item + " .rnn-swatch"),
            )
    assert colours[RUNS[0], 3] == colours[RUNS[1], 3]
    assert colours[RUNS[0], 17] == colours[RUNS[1], 17]
    assert colours[RUNS[0], 3] != colours[RUNS[0], 17]
    # The same channel keeps its colour when top-k picks it instead.
    frame.fill("#rnn-channels", "")
    settle(frame)
    top = TOP[0]
    item = '.rnn-panel[data-run="%s"] .rnn-channel-item[data-channel="%d"]' % (RUNS[1], top)
    frame.fill("#rnn-channels", str(top))
    settle(frame)
    assert frame.get_attribute(item, "data-color") == frame.get_attribute(
        '.rnn-panel[data-run="%s"] .rnn-channel-item[data-channel="%d"]' % (RUNS[0], top), "data-color")


def test_nan_and_inf_markers_at_their_timesteps(tab):
    _, frame = tab
    choose(frame, "#rnn-layer", "bad")
    choose(frame, "#rnn-view", "lines")
    selector = browser_util.canvas_selector(RUNS[0], view="lines")
    box = canvas_layout(frame, selector)
    assert frame.get_attribute(selector, "data-nan-steps") == str(NAN_AT[0])
    assert frame.get_attribute(selector, "data-pos-inf-steps") == str(POS_INF_AT[0])
    assert frame.get_attribute(selector, "data-neg-inf-steps") == str(NEG_INF_AT[0])

    def x_of(t):
        return box["plotX"] + (t + 0.5) * box["cellW"]

    zero_line = box["plotY"] + box["plotH"] / 2
    top = box["plotY"] + 5
    bottom = box["plotY"] + box["plotH"] - 5
    assert close_rgb(canvas_pixel(frame, selector, x_of(NAN_AT[0]), zero_line), NAN_RGB)
    assert close_rgb(canvas_pixel(frame, selector, x_of(POS_INF_AT[0]), top), POS_INF_RGB)
    assert close_rgb(canvas_pixel(frame, selector, x_of(NEG_INF_AT[0]), bottom), NEG_INF_RGB)
    # Nothing marked where there is nothing to mark.
    for t in (0, 10, 17):
        assert not close_rgb(canvas_pixel(frame, selector, x_of(t), top), POS_INF_RGB)
        assert not close_rgb(canvas_pixel(frame, selector, x_of(t), bottom), NEG_INF_RGB)
    panel = frame.text_content('.rnn-panel[data-run="%s"]' % RUNS[0])
    assert "1 NaN (magenta)" in panel and "1 +Inf (black)" in panel and "1 \u2212Inf (green)" in panel
    assert "NaN (on the 0 line)" in panel and "+Inf (top edge)" in panel


# ---- sample choices ---------------------------------------------------------


def expected_mean(run, absolute):
    values = wide(run).astype(np.float64)
    mask = wide_mask() > 0.5
    v = np.abs(values) if absolute else values
    masked = np.ma.masked_array(v, mask=~np.broadcast_to(mask[:, :, None], v.shape))
    return masked.mean(axis=0).filled(np.nan)  # [T, C]; NaN where masked everywhere


@pytest.mark.parametrize("mode, absolute", [("mean", False), ("meanAbs", True)])
def test_mean_over_samples_heatmap_pixels(tab, mode, absolute):
    page, frame = tab
    choose(frame, "#rnn-sample-mode", mode)
    assert frame.is_disabled("#rnn-sample")
    means = {run: expected_mean(run, absolute) for run in RUNS}
    vmax = max(np.nanmax(np.abs(m)) for m in means.values())
    for run in RUNS:
        selector = browser_util.canvas_selector(run)
        assert float(frame.get_attribute(selector, "data-vmax")) == pytest.approx(vmax, rel=1e-5)
        info = frame.text_content('.rnn-panel[data-run="%s"] .rnn-panel-info' % run)
        assert ("mean |v| over 4 samples" if absolute else "mean over 4 samples") in info, info
        for t, c in ((0, 0), (3, 7), (5, 10), (22, 8), (24, 6), (12, 41)):
            value = means[run][t, c]
            rgb = browser_util.pixel(frame, selector, t, c)
            assert close_rgb(rgb, browser_util.diverging(value / vmax)), (run, t, c, value, rgb)
        # Masked in every sample: the mask's grey in the mean too.
        assert is_mask_colour(browser_util.pixel(frame, selector, 29, 5))
    # The tooltip says what the value is.
    selector = browser_util.canvas_selector(RUNS[0])
    box = frame.locator(selector).bounding_box()
    d = canvas_layout(frame, selector)
    cell_h = float(frame.get_attribute(selector, "data-cell-height"))
    page.mouse.move(box["x"] + d["plotX"] + 3.5 * d["cellW"], box["y"] + d["plotY"] + 7.5 * cell_h)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    text = frame.text_content("#rnn-tooltip")
    assert ("sample mean |v|" if absolute else "sample mean") in text and "channel 7" in text, text
    assert float(frame.get_attribute("#rnn-tooltip", "data-value")) == pytest.approx(
        means[RUNS[0]][3, 7], rel=1e-3)
    # The lines view draws the same reduction.
    choose(frame, "#rnn-view", "lines")
    magnitude = np.nanmax(np.abs(means[RUNS[0]]), axis=0)
    top = [int(c) for c in np.argsort(-magnitude, kind="stable")[:10]]
    assert shown_channels(frame, RUNS[0]) == top


def test_invalid_sample_number_is_marked_not_replaced(tab):
    page, frame = tab
    page.set_viewport_size({"width": 1000, "height": 1100})
    settle(frame)
    layer_box = frame.locator("#rnn-layer").bounding_box()
    frame.fill("#rnn-sample", "9")
    settle(frame)
    # The reason wraps under the input: the controls do not jump below the run list.
    assert frame.locator("#rnn-layer").bounding_box() == layer_box
    assert frame.input_value("#rnn-sample") == "9"
    assert "rnn-invalid" in frame.get_attribute("#rnn-sample", "class")
    assert "out of range: samples 0\u20133" in frame.text_content("#rnn-sample-error")
    assert "sample 9 is not logged" in frame.text_content('.rnn-panel[data-run="%s"]' % RUNS[0])
    frame.fill("#rnn-sample", "1.5")
    assert frame.input_value("#rnn-sample") == "1.5"
    assert "not a whole number" in frame.text_content("#rnn-sample-error")
    # Says what stays chosen, without claiming that sample 9 is shown.
    assert "sample 9 stays chosen" in frame.text_content("#rnn-sample-error")
    assert frame.locator("#rnn-layer").bounding_box() == layer_box
    frame.fill("#rnn-sample", "-1")
    assert "numbered from 0" in frame.text_content("#rnn-sample-error")
    frame.fill("#rnn-sample", "1")
    frame.wait_for_selector(READY, timeout=30000)
    assert frame.is_hidden("#rnn-sample-error")
    assert "rnn-invalid" not in (frame.get_attribute("#rnn-sample", "class") or "")
    # Sample 1 has weight -0.5: negative where cos(2 pi (t + c) / 10) = 1.
    c = TOP[0]
    rgb = browser_util.pixel(frame, browser_util.canvas_selector(RUNS[0]), (-c) % 10, c)
    assert browser_util.is_negative_colour(rgb), rgb


# ---- all samples ------------------------------------------------------------


def test_all_samples_grid_one_small_multiple_per_sample(tab):
    page, frame = tab
    choose(frame, "#rnn-view", "samples")
    # The sample choice does not apply: every sample is drawn.
    assert frame.is_disabled("#rnn-sample") and frame.is_disabled("#rnn-sample-mode")
    for run in RUNS:
        cells = frame.locator('.rnn-panel[data-run="%s"] .rnn-sample-cell' % run)
        assert cells.count() == S
        labels = [cells.nth(i).locator(".rnn-sample-label").text_content() for i in range(S)]
        assert labels == ["sample %d" % s for s in range(S)]
        values = wide(run)
        vmax = float(frame.get_attribute('.rnn-panel[data-run="%s"] .rnn-colorbar' % run, "data-vmax"))
        for s in range(S):
            selector = 'canvas.rnn-sample-plot[data-run="%s"][data-sample="%d"]' % (run, s)
            # The two largest channels where cos(2 pi (t + c) / 10) is +1 and -1.
            for c in TOP[:2]:
                for t, sign in (((-c) % 10, 1), ((5 - c) % 10, -1)):
                    rgb = browser_util.pixel(frame, selector, t, c)
                    # Red above blue for a positive value, blue above red for a negative one.
                    assert np.sign(rgb[0] - rgb[2]) == np.sign(sign * WEIGHTS[s]), (run, s, t, c, rgb)
                    assert abs(rgb[0] - rgb[2]) > 20, (run, s, t, c, rgb)
                    assert close_rgb(rgb, browser_util.diverging(values[s, t, c] / vmax)), (run, s, t, c, rgb)
            # Timestep 25 is masked in sample 3 only: the mask's grey there.
            masked = is_mask_colour(browser_util.pixel(frame, selector, 25, 3))
            assert masked == (s == 3), (run, s)
    # Fitted to the panel: no sideways scroll; one colour scale for all.
    sizes = frame.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert sizes[0] <= sizes[1], sizes
    vmax = float(frame.get_attribute('.rnn-panel[data-run="%s"] .rnn-colorbar' % RUNS[0], "data-vmax"))
    assert vmax == pytest.approx(np.max(np.abs(wide(RUNS[0])[wide_mask() > 0])), rel=1e-5)
    # Hover names the sample.
    selector = 'canvas.rnn-sample-plot[data-run="%s"][data-sample="2"]' % RUNS[0]
    frame.locator(selector).scroll_into_view_if_needed()  # the strips above the panels move it down
    box = frame.locator(selector).bounding_box()  # page coordinates
    cell_w = float(frame.get_attribute(selector, "data-cell-width"))
    cell_h = float(frame.get_attribute(selector, "data-cell-height"))
    page.mouse.move(box["x"] + 1 + 3.5 * cell_w, box["y"] + 1 + 7.5 * cell_h)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    text = frame.text_content("#rnn-tooltip")
    assert "sample 2" in text and "timestep 3" in text and "channel 7" in text, text
    value = float(frame.get_attribute("#rnn-tooltip", "data-value"))
    assert value == pytest.approx(float(wide(RUNS[0])[2, 3, 7]), rel=1e-3)


@pytest.mark.parametrize("width", [1000, 1600])
def test_all_samples_colour_bar_stays_inside_its_panel(browser, server, width):
    context, page, frame = open_tab(browser, server, width, 1100)
    try:
        choose(frame, "#rnn-view", "samples")
        boxes = frame.evaluate("""() => [...document.querySelectorAll('.rnn-panel')].map((p) => {
            const panel = p.getBoundingClientRect();
            const bar = p.querySelector('.rnn-colorbar').getBoundingClientRect();
            const grid = p.querySelector('.rnn-samples-grid').getBoundingClientRect();
            return [panel.left, panel.right, bar.left, bar.right, grid.left, grid.right]; })""")
        assert len(boxes) == len(RUNS)
        for panel_left, panel_right, bar_left, bar_right, grid_left, grid_right in boxes:
            assert panel_left <= bar_left and bar_right <= panel_right, boxes
            assert bar_left == pytest.approx(grid_left, abs=1) and bar_right <= grid_right + 1, boxes
        sizes = frame.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
        assert sizes[0] <= sizes[1], sizes
        assert not page.console_errors.take()
    finally:
        context.close()


def test_screenshots(browser, server, tmp_path):
    out = os.environ.get("RNN_SCREENSHOTS") or str(tmp_path)
    os.makedirs(out, exist_ok=True)
    context, page, frame = open_tab(browser, server, 1200, 1400)
    try:
        choose(frame, "#rnn-layer", "demo")
        choose(frame, "#rnn-view", "lines")
        page.screenshot(path=os.path.join(out, "lines_topk_1200.png"), full_page=True)
        frame.fill("#rnn-channels", "3, 9-5")
        frame.fill("#rnn-sample", "1.5")
        page.screenshot(path=os.path.join(out, "lines_invalid_1200.png"), full_page=True)
        frame.fill("#rnn-channels", "")
        frame.fill("#rnn-sample", "0")
        settle(frame)
        choose(frame, "#rnn-layer", "bad")
        page.screenshot(path=os.path.join(out, "lines_markers_1200.png"), full_page=True)
        choose(frame, "#rnn-layer", "wide")
        choose(frame, "#rnn-view", "samples")
        page.screenshot(path=os.path.join(out, "samples_wide_1200.png"), full_page=True)
        choose(frame, "#rnn-layer", "demo")
        page.screenshot(path=os.path.join(out, "samples_1200.png"), full_page=True)
        sizes = frame.evaluate(
            "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
        assert sizes[0] <= sizes[1], sizes
        assert not page.console_errors.take()
    finally:
        context.close()
