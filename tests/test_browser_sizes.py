"""End to end at real sizes: a [1, 1000, 512] state gradient in the RNN tab.

Three runs of a "lstm" layer whose state gradient decays as 10^(-t/100)
over 1000 timesteps (512 channels), and a layer whose values are all 0.
Checks that the heatmap fits the frame's width (aggregated, and says so),
that the symlog scale colours the decay over its whole length where the
linear one cannot, that dragging zooms to full-resolution cells, and that
the tooltip sits at the cursor with the value under it.

Set RNN_SCREENSHOTS=<dir> to keep screenshots at 1000 and 1600 px wide.
"""

import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("decay_a", "decay_b", "decay_c")
T, C = 1000, 512
READY = "#rnn-app[data-state=ready]"
WHITE = (247, 247, 247)


def decay(run_index):
    """[1, T, C]: 10^(-t/100) times a per-channel factor in [0.5, 1];
    run 1 scaled by 0.5, run 2 negated."""
    t = np.arange(T, dtype=np.float64)[:, None]
    c = np.arange(C)[None, :]
    values = 10.0 ** (-t / 100.0) * (0.5 + 0.5 * (c % 7) / 6.0)
    values = values * (1.0, 0.5, -1.0)[run_index]
    return values[None].astype(np.float32)


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for i, run in enumerate(RUNS):
        writer = tf.summary.create_file_writer(str(logdir / run))
        with writer.as_default():
            tb_rnn_plugin.state_gradient(
                "lstm/state_gradient", decay(i), step=0, layer="lstm", cell="LSTM")
            tb_rnn_plugin.activation(
                "zeros/activation", np.zeros((1, 20, 4), np.float32), step=0,
                layer="zeros", cell="GRU")
        writer.flush()
        writer.close()




@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_sizes", write_logdir, list(RUNS)) as tb:
        yield tb


def open_tab(browser, server, width, height=1100):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=30000)
    for run in RUNS:
        frame.check('#rnn-runs input[data-run="%s"]' % run)
        frame.wait_for_selector(READY, timeout=30000)
    frame.select_option("#rnn-layer", "lstm")
    frame.wait_for_selector(READY, timeout=30000)
    frame.select_option("#rnn-quantity", "state_gradient")
    frame.wait_for_selector(READY, timeout=30000)
    return context, page, frame


@pytest.fixture
def tab1000(browser, server):
    context, page, frame = open_tab(browser, server, 1000)
    try:
        yield page, frame
        errors = page.console_errors.take()
        assert not errors, errors
    finally:
        context.close()


def choose_scale(frame, kind):
    frame.select_option("#rnn-scale", kind)
    frame.wait_for_selector(READY, timeout=30000)


def layout(frame, selector):
    # In view first: the strips above the panels (summary, health) move
    # them down, and the mouse can only reach what is on screen.
    frame.locator(selector).scroll_into_view_if_needed()
    return frame.evaluate(
        """(s) => { const c = document.querySelector(s); const d = c.dataset;
           const r = c.getBoundingClientRect();
           return { plotX: +d.plotX, plotY: +d.plotY, plotW: +d.plotWidth, plotH: +d.plotHeight,
                    cellW: +d.cellWidth, cellH: +d.cellHeight, t0: +d.t0, c0: +d.c0,
                    T: +d.timesteps, C: +d.channels, vmax: +d.vmax, left: r.left, top: r.top,
                    width: r.width, aggregated: d.aggregated }; }""",
        selector,
    )


def test_long_sequence_fits_the_width_and_says_it_is_aggregated(tab1000):
    _, frame = tab1000
    sizes = frame.evaluate(
        """() => { const e = document.scrollingElement;
           return [e.scrollWidth, e.clientWidth]; }""")
    assert sizes[0] <= sizes[1], sizes
    for run in RUNS:
        selector = browser_util.canvas_selector(run)
        box = layout(frame, selector)
        panel_width = frame.evaluate(
            "(r) => document.querySelector('.rnn-panel[data-run=\"' + r + '\"]').clientWidth", run)
        assert box["width"] <= panel_width, (box, panel_width)
        # Every timestep is on the plot: 1000 of them in plotW pixels.
        assert box["T"] == T and box["t0"] == 0
        assert box["cellW"] * T == pytest.approx(box["plotW"])
        assert box["aggregated"] == "true"
        note = frame.text_content('.rnn-panel[data-run="%s"] .rnn-aggregated' % run)
        assert "1000 timesteps" in note and "512 channels" in note and "largest |v|" in note
    # Wrapping stays inside: no panel scrolls sideways.
    scrolls = frame.evaluate(
        """() => Array.from(document.querySelectorAll('.rnn-panel, .rnn-canvas-wrap'))
           .filter((e) => e.scrollWidth > e.clientWidth + 1).length""")
    assert scrolls == 0


def test_symlog_colours_the_whole_decay_linear_does_not(tab1000):
    _, frame = tab1000
    selector = browser_util.canvas_selector(RUNS[0])
    late = browser_util.pixel(frame, selector, 900, 10)
    assert max(abs(a - b) for a, b in zip(late, WHITE)) <= 3, late  # linear: white
    choose_scale(frame, "symlog")
    assert frame.get_attribute(selector, "data-scale") == "symlog"
    late = browser_util.pixel(frame, selector, 900, 10)
    assert max(abs(a - b) for a, b in zip(late, WHITE)) > 20, late
    assert browser_util.is_positive_colour(browser_util.pixel(frame, selector, 600, 10))
    # The negated run is blue all along.
    neg = browser_util.pixel(frame, browser_util.canvas_selector(RUNS[2]), 900, 10)
    assert neg[2] > neg[0] + 20, neg
    bar = '.rnn-panel[data-run="%s"] .rnn-colorbar' % RUNS[0]
    assert frame.get_attribute(bar, "data-scale") == "symlog"
    assert "symlog" in frame.text_content(bar)
    labels = frame.locator(bar + " .rnn-colorbar-tick").all_text_contents()
    assert any(l.startswith("1e-") for l in labels), labels


def test_drag_zooms_to_full_resolution_and_tooltip_reads_it(tab1000):
    page, frame = tab1000
    selector = browser_util.canvas_selector(RUNS[0])
    box = layout(frame, selector)
    iframe = page.locator("iframe").element_handle()
    origin = iframe.bounding_box()
    x0 = origin["x"] + box["left"] + box["plotX"] + 1
    y0 = origin["y"] + box["top"] + box["plotY"] + 1
    x1 = x0 + 49.5 * box["cellW"]
    y1 = y0 + 49.5 * box["cellH"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2)
    page.mouse.move(x1, y1)
    page.mouse.up()
    frame.wait_for_selector(selector + "[data-zoomed=true]", timeout=30000)
    frame.wait_for_selector(READY, timeout=30000)
    zoomed = layout(frame, selector)
    # The drag started 1 px inside the plot: a few timesteps/channels in.
    assert zoomed["t0"] <= 6 and zoomed["c0"] <= 3, zoomed
    n_t = round(zoomed["plotW"] / zoomed["cellW"])
    assert 40 <= n_t <= 60, zoomed
    assert zoomed["cellW"] >= 4 and zoomed["cellH"] >= 2, zoomed
    assert zoomed["aggregated"] == "false"
    assert "Zoomed" in frame.text_content('.rnn-panel[data-run="%s"]' % RUNS[0])

    t, c = 20, 13
    value = float(decay(0)[0, t, c])
    rgb = browser_util.pixel(frame, selector, t, c)
    expected = browser_util.diverging(value / zoomed["vmax"])
    assert max(abs(a - b) for a, b in zip(rgb, expected)) <= 2, (rgb, expected)

    # Tooltip at the cursor names run, timestep, channel and the value.
    mx = origin["x"] + zoomed["left"] + zoomed["plotX"] + (t - zoomed["t0"] + 0.5) * zoomed["cellW"]
    my = origin["y"] + zoomed["top"] + zoomed["plotY"] + (c - zoomed["c0"] + 0.5) * zoomed["cellH"]
    page.mouse.move(mx, my)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    tip = frame.locator("#rnn-tooltip")
    tb = tip.bounding_box()  # page coordinates
    near_x = max(tb["x"] - mx, mx - (tb["x"] + tb["width"]), 0)
    near_y = max(tb["y"] - my, my - (tb["y"] + tb["height"]), 0)
    assert near_x <= 30 and near_y <= 30, (tb, mx, my)
    text = tip.text_content()
    assert RUNS[0] in text and "timestep %d" % t in text and "channel %d" % c in text, text
    assert float(tip.get_attribute("data-value")) == pytest.approx(value, rel=1e-3)

    # Double-click resets to the whole sequence.
    page.mouse.dblclick(mx, my)
    frame.wait_for_selector(selector + "[data-zoomed=false]", timeout=30000)
    assert layout(frame, selector)["aggregated"] == "true"


def test_lines_view_symlog_axis_and_hovered_line(tab1000):
    page, frame = tab1000
    choose_scale(frame, "symlog")
    frame.select_option("#rnn-view", "lines")
    frame.wait_for_selector(READY, timeout=30000)
    selector = browser_util.canvas_selector(RUNS[0], view="lines")
    assert frame.get_attribute(selector, "data-scale") == "symlog"
    box = layout(frame, selector)
    assert box["width"] <= 1000 and box["plotW"] < 400, box
    origin = page.locator("iframe").element_handle().bounding_box()
    page.mouse.move(origin["x"] + box["left"] + box["plotX"] + 100.5 * box["cellW"],
                    origin["y"] + box["top"] + box["plotY"] + 2)
    highlighted = frame.get_attribute(
        '.rnn-panel[data-run="%s"] canvas.rnn-line-highlight' % RUNS[0], "data-channel")
    assert highlighted not in (None, ""), highlighted
    assert "symlog" in frame.text_content('.rnn-panel[data-run="%s"]' % RUNS[0])


def test_all_zero_panel_says_so(tab1000):
    _, frame = tab1000
    frame.select_option("#rnn-layer", "zeros")
    frame.wait_for_selector(READY, timeout=30000)
    panel = '.rnn-panel[data-run="%s"]' % RUNS[0]
    assert "All values are 0" in frame.text_content(panel)
    assert frame.locator(panel + " .rnn-colorbar").count() == 0


@pytest.mark.parametrize("width", [1000, 1600])
def test_screenshots(browser, server, width, tmp_path):
    out = os.environ.get("RNN_SCREENSHOTS") or str(tmp_path)
    os.makedirs(out, exist_ok=True)
    context, page, frame = open_tab(browser, server, width)
    try:
        page.screenshot(path=os.path.join(out, "heatmap_linear_%d.png" % width), full_page=True)
        choose_scale(frame, "symlog")
        page.screenshot(path=os.path.join(out, "heatmap_symlog_%d.png" % width), full_page=True)
        frame.select_option("#rnn-view", "lines")
        frame.wait_for_selector(READY, timeout=30000)
        page.screenshot(path=os.path.join(out, "lines_symlog_%d.png" % width), full_page=True)
        sizes = frame.evaluate(
            "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
        assert sizes[0] <= sizes[1], sizes
    finally:
        context.close()
