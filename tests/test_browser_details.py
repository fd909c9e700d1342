"""End to end in a real TensorBoard: a panel's exports, one number format,
the fixed range's error and TensorBoard's dark mode.

- export: a panel's CSV and .npy downloads equal the tensor read back
  through TensorBoard's own data provider (tb_reading), the PNG decodes
  and holds the plot pixel for pixel;
- one number format: a colour bar's ticks share one exponent, written once;
- an invalid fixed colour range is marked with its reason;
- the tab follows TensorBoard's dark mode, switched the way a user does
  (its header's theme menu), live.

Set RNN_SCREENSHOTS=<dir> to keep the light and dark screenshots.
"""

import csv
import io
import os

import numpy as np
import pytest

try:
    import browser_util
    import tb_reading
except ImportError:  # tests/ imported as a package
    from tests import browser_util, tb_reading

RUN = "details_run"
OTHER = "other_run"
STEPS = (0, 5)
SAMPLES, TIMESTEPS, CHANNELS = 3, 20, 8
TAG = "lstm/state_gradient"
READY = "#rnn-app[data-state=ready]"
# Cells of sample 1 (the one exported) that are NaN / +Inf / -Inf.
NAN_CELL, INF_CELL, NEG_INF_CELL = (2, 3), (4, 0), (6, 7)
# A clearly positive cell of sample 1.
POSITIVE_CELL = (15, 1)


def values(step):
    """[samples, timesteps, channels], |v| up to ~5e-3 (so ticks share x1e-3),
    with digits float32 keeps only at full precision, and NaN/Inf in sample 1."""
    rng = np.random.default_rng(step + 7)
    v = rng.uniform(-1e-3, 1e-3, size=(SAMPLES, TIMESTEPS, CHANNELS))
    v[:, 12:, :3] = 4e-3 + 1e-3 * step / 5 + rng.uniform(0, 1e-4, size=(SAMPLES, 8, 3))
    v = v * (1 + np.pi * 1e-7)
    v[1][NAN_CELL] = np.nan
    v[1][INF_CELL] = np.inf
    v[1][NEG_INF_CELL] = -np.inf
    return v.astype(np.float32)


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for run, scale in ((RUN, 1.0), (OTHER, 0.5)):
        writer = tf.summary.create_file_writer(str(logdir / run))
        with writer.as_default():
            for step in STEPS:
                tb_rnn_plugin.state_gradient(TAG, values(step) * np.float32(scale), step=step, layer="lstm", cell="LSTM")
        writer.flush()
        writer.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_details", write_logdir, [RUN, OTHER]) as tb:
        yield tb


@pytest.fixture
def tab(browser, server):
    """(page, frame): TensorBoard at #rnn, 1200 px wide, run RUN only."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    try:
        page.goto(server.url + "/#rnn")
        frame = browser_util.plugin_frame(page)
        frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=30000)
        frame.uncheck('#rnn-runs input[data-run="%s"]' % OTHER)
        frame.wait_for_selector(READY, timeout=30000)
        frame.check('#rnn-runs input[data-run="%s"]' % RUN)
        frame.wait_for_selector(READY, timeout=30000)
        yield page, frame
        errors = page.console_errors.take()
        assert not errors, errors
    finally:
        context.close()


def settle(frame):
    frame.wait_for_selector(READY, timeout=30000)


def logged(server, step):
    """The tensor of RUN/TAG at `step`, read through TensorBoard's data provider."""
    series = tb_reading.read_back(server.logdir_path)[RUN][TAG]
    _, steps, arrays = series
    return arrays[steps.index(step)]


def download(page, frame, selector):
    with page.expect_download() as info:
        frame.click(selector)
    d = info.value
    return d.suggested_filename, open(d.path(), "rb").read()


PANEL = '.rnn-panel[data-run="%s"]' % RUN


def test_csv_and_npy_equal_the_logged_tensor_and_png_holds_the_plot(tab, server):
    page, frame = tab
    frame.fill("#rnn-sample", "1")
    settle(frame)
    step = int(frame.get_attribute(PANEL, "data-step"))
    assert step == STEPS[-1]
    expected = logged(server, step)
    assert expected.shape == (SAMPLES, TIMESTEPS, CHANNELS) and expected.dtype == np.float32

    name, body = download(page, frame, PANEL + ' .rnn-export-button[data-format="csv"]')
    assert name == "details_run_lstm_state_gradient_step5_sample1.csv"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == ["timestep"] + [str(c) for c in range(CHANNELS)]
    assert [int(r[0]) for r in rows[1:]] == list(range(TIMESTEPS))
    assert rows[1 + NAN_CELL[0]][1 + NAN_CELL[1]] == "nan"
    assert rows[1 + INF_CELL[0]][1 + INF_CELL[1]] == "inf"
    assert rows[1 + NEG_INF_CELL[0]][1 + NEG_INF_CELL[1]] == "-inf"
    table = np.array([[np.float32(x) for x in r[1:]] for r in rows[1:]], dtype=np.float32)
    # Bit for bit: float32 written with 9 significant digits comes back exact.
    np.testing.assert_array_equal(table, expected[1])

    name, body = download(page, frame, PANEL + ' .rnn-export-button[data-format="npy"]')
    assert name == "details_run_lstm_state_gradient_step5.npy"
    array = np.load(io.BytesIO(body), allow_pickle=False)
    assert array.dtype == np.dtype("<f4") and array.shape == expected.shape
    np.testing.assert_array_equal(array, expected)

    name, body = download(page, frame, PANEL + ' .rnn-export-button[data-format="png"]')
    assert name == "details_run_lstm_state_gradient_step5_sample1.png"
    if os.environ.get("RNN_SCREENSHOTS"):
        with open(os.path.join(os.environ["RNN_SCREENSHOTS"], "export_" + name), "wb") as f:
            f.write(body)
    from PIL import Image

    image = Image.open(io.BytesIO(body)).convert("RGB")
    geometry = frame.evaluate(
        """(panel) => { const p = document.querySelector(panel).getBoundingClientRect();
           const c = document.querySelector(panel + " canvas.rnn-plot");
           const r = c.getBoundingClientRect();
           return { dpr: window.devicePixelRatio, w: p.width, h: p.height,
                    x: r.left - p.left, y: r.top - p.top, cw: c.width, ch: c.height }; }""",
        PANEL,
    )
    dpr = geometry["dpr"]
    # The whole panel (plot, axes, colour bar) at the screen's pixel ratio.
    assert abs(image.width - geometry["w"] * dpr) <= 1 and abs(image.height - geometry["h"] * dpr) <= 1
    assert image.width >= geometry["cw"] and image.height >= geometry["ch"] + 40
    # The plot canvas is in it pixel for pixel: the cells are the drawn colours.
    selector = browser_util.canvas_selector(RUN)
    cell = frame.evaluate(
        """(s) => { const d = document.querySelector(s).dataset;
           return [+d.plotX, +d.plotY, +d.cellWidth, +d.cellHeight]; }""",
        selector,
    )
    for t, c in (POSITIVE_CELL, NAN_CELL, INF_CELL, NEG_INF_CELL, (0, 0)):
        drawn = browser_util.pixel(frame, selector, t, c)
        x = (geometry["x"] + cell[0] + (t + 0.5) * cell[2]) * dpr
        y = (geometry["y"] + cell[1] + (c + 0.5) * cell[3]) * dpr
        got = image.getpixel((int(x), int(y)))
        assert max(abs(a - b) for a, b in zip(got, drawn)) <= 2, ((t, c), got, drawn)
    assert browser_util.is_positive_colour(image.getpixel((
        int((geometry["x"] + cell[0] + (POSITIVE_CELL[0] + 0.5) * cell[2]) * dpr),
        int((geometry["y"] + cell[1] + (POSITIVE_CELL[1] + 0.5) * cell[3]) * dpr))))
    # The colour bar's gradient made it too: a row below the plot holds both ends' colours.
    bar = frame.evaluate(
        """(panel) => { const p = document.querySelector(panel).getBoundingClientRect();
           const r = document.querySelector(panel + " .rnn-colorbar-gradient").getBoundingClientRect();
           return [r.left - p.left, r.top - p.top, r.width, r.height]; }""",
        PANEL,
    )
    row_y = int((bar[1] + bar[3] / 2) * dpr)
    left = image.getpixel((int((bar[0] + 4) * dpr), row_y))
    right = image.getpixel((int((bar[0] + bar[2] - 4) * dpr), row_y))
    assert browser_util.is_negative_colour(left) and browser_util.is_positive_colour(right), (left, right)


def test_colour_bar_ticks_share_one_exponent(tab):
    _, frame = tab
    bar = PANEL + " .rnn-colorbar"
    assert frame.get_attribute(bar, "data-multiplier") == "\u00d71e-3"
    assert frame.text_content(bar + " .rnn-colorbar-multiplier").strip() == "\u00d71e-3"
    labels = frame.locator(bar + " .rnn-colorbar-tick").all_text_contents()
    assert labels, labels
    # Mantissas only: no label carries its own exponent, none is 0.00x.
    assert not any("e" in label or label.startswith(("0.00", "-0.00")) for label in labels), labels
    vmax = float(frame.get_attribute(PANEL, "data-vmax"))
    assert float(labels[-1]) * 1e-3 == pytest.approx(vmax, rel=5e-3)
    # The lines view's y axis says the same exponent once.
    frame.select_option("#rnn-view", "lines")
    settle(frame)
    canvas = browser_util.canvas_selector(RUN, view="lines")
    assert frame.get_attribute(canvas, "data-multiplier") == "\u00d71e-3"


def test_invalid_fixed_range_is_marked_with_its_reason(tab):
    _, frame = tab
    frame.select_option("#rnn-range-mode", "fixed")
    settle(frame)
    assert frame.is_hidden("#rnn-range-error")
    for text, reason in (("-1", "must be > 0"), ("0", "must be > 0"), ("", "enter a number > 0")):
        frame.fill("#rnn-range-value", text)
        settle(frame)
        assert frame.is_visible("#rnn-range-error"), text
        assert reason in frame.text_content("#rnn-range-error").lower(), text
        assert frame.get_attribute("#rnn-range-value", "aria-invalid") == "true"
        # What the user typed stays; the panel says it shows the auto range.
        assert frame.input_value("#rnn-range-value") == text
        assert frame.get_attribute(PANEL, "data-range") == "auto"
    frame.locator("#rnn-range-value").press_sequentially("1e")  # not a number yet
    settle(frame)
    assert "must be a number > 0" in frame.text_content("#rnn-range-error").lower()
    if os.environ.get("RNN_SCREENSHOTS"):
        frame.locator("#rnn-controls").screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "range_error.png"))
    frame.fill("#rnn-range-value", "0.002")
    settle(frame)
    assert frame.is_hidden("#rnn-range-error")
    assert frame.get_attribute("#rnn-range-value", "aria-invalid") is None
    assert frame.get_attribute(PANEL, "data-range") == "fixed"
    assert float(frame.get_attribute(PANEL, "data-vmax")) == pytest.approx(0.002)


# Brightness of the axis text: the brightest and darkest pixels of the band
# under the plot where the timestep numbers are drawn, and the background.
_AXIS_JS = """(s) => {
  const c = document.querySelector(s);
  const d = c.dataset, dpr = +d.dpr;
  const x = Math.ceil(+d.plotX * dpr), y = Math.ceil((+d.plotY + +d.plotHeight + 6) * dpr);
  const w = Math.floor(+d.plotWidth * dpr), h = Math.floor(12 * dpr);
  const px = c.getContext("2d").getImageData(x, y, w, h).data;
  let lo = 255, hi = 0;
  for (let i = 0; i < px.length; i += 4) {
    const v = (px[i] + px[i + 1] + px[i + 2]) / 3;
    lo = Math.min(lo, v); hi = Math.max(hi, v);
  }
  const bg = c.getContext("2d").getImageData(2, 2, 1, 1).data;
  return { lo, hi, bg: (bg[0] + bg[1] + bg[2]) / 3 };
}"""


def luminance(css_rgb):
    r, g, b = [float(x) for x in css_rgb[css_rgb.index("(") + 1:css_rgb.index(")")].split(",")[:3]]
    return (r + g + b) / 3


def choose_theme(page, label):
    """TensorBoard's own theme menu in its header, as a user picks it."""
    page.click('button[aria-label="Menu for changing light or dark theme"]')
    page.click('button[mat-menu-item]:has-text("%s")' % label)


def colours(frame):
    return frame.evaluate(
        """() => { const b = getComputedStyle(document.body);
           const p = getComputedStyle(document.querySelector(".rnn-panel"));
           return { bg: b.backgroundColor, text: b.color, panel: p.backgroundColor,
                    dark: document.documentElement.classList.contains("rnn-dark") }; }"""
    )


def test_follows_tensorboards_dark_mode_live(tab):
    page, frame = tab
    out = os.environ.get("RNN_SCREENSHOTS")
    selector = browser_util.canvas_selector(RUN)
    light = colours(frame)
    assert not light["dark"] and luminance(light["bg"]) > 200 and luminance(light["text"]) < 80
    axis = frame.evaluate(_AXIS_JS, selector)
    assert axis["bg"] > 200 and axis["lo"] < 110, axis  # dark numbers on white
    if out:
        os.makedirs(out, exist_ok=True)
        frame.locator(PANEL).screenshot(path=os.path.join(out, "rnn_light.png"))

    choose_theme(page, "Dark")
    assert page.evaluate("() => document.body.classList.contains('dark-mode')")
    frame.wait_for_function("() => document.documentElement.classList.contains('rnn-dark')", timeout=10000)
    settle(frame)
    frame.wait_for_function(
        "(s) => { const c = document.querySelector(s); const p = c.getContext('2d').getImageData(2, 2, 1, 1).data;"
        " return p[0] < 80; }", arg=selector, timeout=10000)
    dark = colours(frame)
    assert luminance(dark["bg"]) < 70 and luminance(dark["panel"]) < 70, dark
    assert luminance(dark["text"]) > 190, dark
    axis = frame.evaluate(_AXIS_JS, selector)
    assert axis["bg"] < 60 and axis["hi"] > 180, axis  # light numbers on dark
    # The heatmap's own colours stay: a positive cell is still red.
    assert browser_util.is_positive_colour(browser_util.pixel(frame, selector, *POSITIVE_CELL))
    if out:
        frame.locator(PANEL).screenshot(path=os.path.join(out, "rnn_dark.png"))
        page.screenshot(path=os.path.join(out, "rnn_dark_page.png"))
        frame.select_option("#rnn-view", "lines")
        settle(frame)
        page.screenshot(path=os.path.join(out, "rnn_dark_lines.png"))
        frame.select_option("#rnn-view", "heatmap")
        settle(frame)

    # And back, without reloading anything.
    choose_theme(page, "Light")
    frame.wait_for_function("() => !document.documentElement.classList.contains('rnn-dark')", timeout=10000)
    settle(frame)
    frame.wait_for_function(
        "(s) => { const c = document.querySelector(s); const p = c.getContext('2d').getImageData(2, 2, 1, 1).data;"
        " return p[0] > 200; }", arg=selector, timeout=10000)
    assert luminance(colours(frame)["bg"]) > 200
