"""End to end: run selection, the kept selection, the panel grid and step times.

A real TensorBoard serves 10 runs (written as raw events with known wall
times); Debian's Chromium drives the tab. Checked: "all" / "none" and the
regex filter (an invalid one is marked with its reason); the selection
survives a page reload and travels as a link (TensorBoard keeps the
"#rnn&rnn=..." hash part); values that no longer exist fall back to the
defaults; panels wear runColor's colours; 10 runs at 1000 px wrap into a
grid with no horizontal scroll; runs without the layer are one line; one
run gets the full width and a bidirectional layer's two panels sit side by
side; the slider shows wall and relative time.

Screenshots go to $RNN_SCREENSHOTS (else a temp dir).
"""

import json
import os
import urllib.parse

import numpy as np
import pytest

try:
    import browser_util
    import test_broken_logs as broken
except ImportError:  # tests/ imported as a package
    from tests import browser_util
    from tests import test_broken_logs as broken

RUNS = ["run_%02d" % i for i in range(10)]
# Runs that also log a bidirectional GRU layer.
BIDI_RUNS = RUNS[:3]
STEPS = (0, 10, 20)
# Wall time of each step, from the run's first: 0 s, 1 min 5 s, 1 h 2 min 5 s.
STEP_SECONDS = {0: 0.0, 10: 65.0, 20: 3725.0}
RUN_START = 1.7e9
SAMPLES, TIMESTEPS, CHANNELS = 3, 24, 8
READY = "#rnn-app[data-state=ready]"


def values(run_index, step):
    """[samples, timesteps, channels]: a gradient-like pattern that reaches
    further back in time the higher the run's index (decay length 1.5 +
    2 * index timesteps), signs alternating over channels, growing with
    the step; sample s is (s + 1) times sample 0."""
    t = np.arange(TIMESTEPS)[None, :, None]
    c = np.arange(CHANNELS)[None, None, :]
    s = np.arange(1, SAMPLES + 1)[:, None, None]
    decay = np.exp(-(TIMESTEPS - 1 - t) / (1.5 + 2.0 * run_index))
    sign = np.where(c % 2 == 0, 1.0, -1.0) * (0.4 + 0.6 * (c + 1) / CHANNELS)
    return (decay * sign * s * (1 + step / 10.0)).astype(np.float32)


def write_logdir(root):
    for i, run in enumerate(RUNS):
        with broken.EventWriter(os.path.join(str(root), run)) as writer:
            for step in STEPS:
                wall = RUN_START + 1000 * i + STEP_SECONDS[step]
                rows = []
                for kind in ("activation", "output_gradient"):
                    rows += broken.rnn_values(
                        "lstm/%s" % kind, values(i, step), kind,
                        layer="lstm", cell="LSTM", pinned=step == 0,
                    )
                if run in BIDI_RUNS:
                    for direction, sign in (("forward", 1.0), ("backward", -1.0)):
                        pattern = values(i, step)
                        if direction == "backward":  # reaches forward in input time
                            pattern = pattern[:, ::-1, :]
                        rows += broken.rnn_values(
                            "bigru/%s/activation" % direction, sign * pattern, "activation",
                            layer="bigru", cell="GRU", direction=direction, pinned=step == 0,
                        )
                writer.add(step, rows, wall_time=wall)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_selection", write_logdir, RUNS) as tb:
        yield tb


class Tab:
    """One browser context (its own localStorage) on TensorBoard's RNN tab."""

    def __init__(self, browser, url, width=1400, height=1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors = browser_util.ConsoleErrors(self.page)
        self.open(url)

    def open(self, url):
        self.page.goto(url)
        self.frame = browser_util.plugin_frame(self.page)
        self.frame.wait_for_selector(READY, timeout=30000)
        return self.frame

    def reload(self):
        self.page.reload()
        self.frame = browser_util.plugin_frame(self.page)
        self.frame.wait_for_selector(READY, timeout=30000)
        return self.frame

    def settle(self):
        self.frame.wait_for_selector(READY, timeout=30000)

    def close(self):
        errors = self.errors.take()
        self.context.close()
        assert not errors, "errors in the browser console:\n" + "\n".join(errors)


@pytest.fixture
def open_tab(browser, server):
    tabs = []

    def opener(width=1400, height=1000, url=None):
        tab = Tab(browser, url or server.url + "/#rnn", width, height)
        tabs.append(tab)
        return tab

    yield opener
    for tab in tabs:
        tab.close()


def checked_runs(frame):
    return frame.evaluate(
        "() => [...document.querySelectorAll('#rnn-runs input[data-run]')]"
        ".filter((b) => b.checked).map((b) => b.dataset.run)")


def listed_runs(frame):
    return frame.evaluate(
        "() => [...document.querySelectorAll('#rnn-runs label[data-run]')]"
        ".filter((l) => !l.hidden).map((l) => l.dataset.run)")


def drawn_runs(frame):
    return frame.evaluate(
        "() => [...document.querySelectorAll('.rnn-run-column')].map((c) => c.dataset.run)")


def default_runs(frame):
    """The runs checked until the user chooses (run_list.defaultRunCount):
    as many as two rows of the panel grid hold at the panels' width (300 px
    panels, 16 px gaps), at least 4."""
    width = frame.evaluate("() => document.getElementById('rnn-panels').clientWidth")
    across = max(1, (width + 16) // (300 + 16))
    return RUNS[:max(4, 2 * across)]


def choose_runs(tab, runs):
    tab.frame.click("#rnn-runs-none")
    tab.settle()
    for run in runs:
        tab.frame.check('#rnn-runs input[data-run="%s"]' % run)
        tab.settle()


def run_color(frame, run):
    """runColor(run, allRuns) from the tab's own module, as CSS rgb()."""
    return frame.evaluate(
        """async (run) => {
          const { runColor } = await import(new URL("static/draw/run_colors.js", document.baseURI).href);
          const runs = [...document.querySelectorAll('#rnn-runs input[data-run]')].map((b) => b.dataset.run);
          const probe = document.createElement("span");
          probe.style.color = runColor(run, runs);
          document.body.append(probe);
          const rgb = getComputedStyle(probe).color;
          probe.remove();
          return rgb;
        }""",
        run,
    )


def no_horizontal_scroll(frame):
    sizes = frame.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert sizes[0] <= sizes[1], "horizontal scroll: %r" % (sizes,)


def screenshot_dir(tmp_path):
    out = os.environ.get("RNN_SCREENSHOTS") or str(tmp_path)
    os.makedirs(out, exist_ok=True)
    return out


# ---- selection ---------------------------------------------------------------


def test_all_none_and_regex_filter(open_tab):
    tab = open_tab()
    frame = tab.frame
    # Until the user chooses: the first runs that the grid holds (8 at 1400 px).
    assert checked_runs(frame) == default_runs(frame) == RUNS[:8]
    # Drawn: those of them that log the layer shown (bigru: run_00-02 only).
    has_layer = BIDI_RUNS if frame.input_value("#rnn-layer") == "bigru" else RUNS
    assert drawn_runs(frame) == [run for run in RUNS[:8] if run in has_layer]
    choose_runs(tab, RUNS[:2])

    frame.fill("#rnn-run-filter", "RUN_0[3-5]")  # case-insensitive, as TensorBoard's
    tab.settle()
    assert listed_runs(frame) == RUNS[3:6]
    # Selected runs the filter hides are not drawn.
    assert drawn_runs(frame) == []
    assert "No selected run matches" in frame.text_content("#rnn-panels")

    frame.click("#rnn-runs-all")
    tab.settle()
    assert checked_runs(frame) == RUNS[:2] + RUNS[3:6]
    assert drawn_runs(frame) == RUNS[3:6]
    assert "5 of 10 selected" in frame.text_content("#rnn-runs-summary")

    frame.click("#rnn-runs-none")
    tab.settle()
    assert checked_runs(frame) == RUNS[:2]  # hidden runs stay as they were

    # An invalid pattern is marked with its reason, and not applied.
    frame.fill("#rnn-run-filter", "run_(")
    tab.settle()
    assert "rnn-invalid" in frame.get_attribute("#rnn-run-filter", "class")
    assert frame.get_attribute("#rnn-run-filter", "aria-invalid") == "true"
    assert frame.is_visible("#rnn-run-filter-error")
    error = frame.text_content("#rnn-run-filter-error")
    assert "Invalid regex" in error and "run_(" in error, error
    border = frame.evaluate("() => getComputedStyle(document.querySelector('#rnn-run-filter')).borderTopColor")
    assert border == "rgb(211, 47, 47)", border
    assert listed_runs(frame) == RUNS
    assert drawn_runs(frame) == RUNS[:2]

    frame.fill("#rnn-run-filter", "")
    tab.settle()
    assert not frame.is_visible("#rnn-run-filter-error")
    frame.click("#rnn-runs-all")
    tab.settle()
    assert checked_runs(frame) == RUNS


def test_selection_survives_reload_and_travels_as_a_link(open_tab):
    tab = open_tab()
    frame = tab.frame
    choose_runs(tab, ["run_02", "run_05"])
    frame.uncheck("#rnn-shared")
    tab.settle()
    frame.select_option("#rnn-layer", "lstm")
    tab.settle()
    frame.select_option("#rnn-quantity", "output_gradient")
    tab.settle()
    frame.fill("#rnn-step", str(STEPS.index(10)))
    tab.settle()
    frame.fill("#rnn-sample", "2")
    tab.settle()
    frame.select_option("#rnn-scale", "symlog")
    tab.settle()
    frame.select_option("#rnn-range-mode", "fixed")
    frame.fill("#rnn-range-value", "0.5")
    tab.settle()
    frame.select_option("#rnn-view", "lines")
    tab.settle()
    frame.fill("#rnn-run-filter", "run_0[0-5]")
    tab.settle()

    def check(frame):
        assert checked_runs(frame) == ["run_02", "run_05"]
        assert drawn_runs(frame) == ["run_02", "run_05"]
        assert frame.input_value("#rnn-layer") == "lstm"
        assert frame.input_value("#rnn-quantity") == "output_gradient"
        assert frame.text_content("#rnn-step-value").strip() == "10"
        assert frame.input_value("#rnn-sample") == "2"
        assert frame.input_value("#rnn-scale") == "symlog"
        assert frame.input_value("#rnn-range-mode") == "fixed"
        assert frame.input_value("#rnn-range-value") == "0.5"
        assert frame.input_value("#rnn-view") == "lines"
        assert not frame.is_checked("#rnn-shared")
        assert frame.input_value("#rnn-run-filter") == "run_0[0-5]"
        panel = frame.locator('.rnn-panel[data-run="run_05"]')
        assert panel.get_attribute("data-step") == "10"
        canvas = frame.locator('.rnn-panel[data-run="run_05"] canvas.rnn-plot')
        assert canvas.get_attribute("data-view") == "lines"
        assert canvas.get_attribute("data-sample") == "2"
        assert canvas.get_attribute("data-scale") == "symlog"

    check(frame)
    # The state is in TensorBoard's URL, after "#rnn&" (written 250 ms after the last change).
    tab.page.wait_for_function("decodeURIComponent(location.hash).includes('run_0[0-5]')", timeout=10000)
    url = tab.page.url
    assert "#rnn&rnn=" in url, url
    check(tab.reload())
    assert tab.page.url == url

    # "Copy link" gives the same link.
    tab.frame.click("#rnn-copy-link")
    tab.frame.wait_for_selector("#rnn-link-note:not(:empty)")
    assert tab.frame.input_value("#rnn-link") == url

    # The link alone (a fresh browser context: no localStorage) shows the same.
    check(open_tab(url=url).frame)

    # localStorage alone (TensorBoard's hash reset to "#rnn", as after
    # visiting another tab) restores it too, and writes the hash back.
    check(tab.open(url.split("#")[0] + "#rnn"))
    tab.page.wait_for_function("location.hash.startsWith('#rnn&rnn=')", timeout=10000)


def test_last_step_follows_the_newest_and_switching_tabs_keeps_the_state(open_tab):
    tab = open_tab()
    frame = tab.frame
    choose_runs(tab, ["run_07"])
    assert frame.text_content("#rnn-step-value").strip() == "20"
    # Another TensorBoard tab and back: the iframe stays, the hash is written again.
    tab.page.evaluate("location.hash = '#timeseries'")
    tab.page.wait_for_function("location.hash === '#timeseries'")
    tab.page.evaluate("location.hash = '#rnn'")
    tab.page.wait_for_function("location.hash.startsWith('#rnn&rnn=')", timeout=10000)
    state = json.loads(urllib.parse.unquote(tab.page.url.split("&rnn=")[1]))
    assert state["runs"] == ["run_07"] and state["lastStep"] is True


def test_restored_values_that_are_gone_fall_back_to_defaults(open_tab, server):
    state = {"runs": ["gone_run"], "runsChosen": True, "layer": "no_such_layer", "kind": "nope",
             "step": 999, "sample": 50, "scale": "cubic", "view": "pie", "rangeMode": "weird"}
    url = server.url + "/#rnn&rnn=" + urllib.parse.quote(json.dumps(state), safe="")
    tab = open_tab(url=url)
    frame = tab.frame
    assert checked_runs(frame) == default_runs(frame)
    assert frame.input_value("#rnn-layer") in ("lstm", "bigru")
    assert frame.input_value("#rnn-scale") == "linear"
    assert frame.input_value("#rnn-view") == "heatmap"
    assert frame.input_value("#rnn-range-mode") == "auto"
    assert frame.text_content("#rnn-step-value").strip() == "20"  # nearest logged
    assert frame.input_value("#rnn-sample") == str(SAMPLES - 1)  # clamped
    assert frame.locator(".rnn-panel .rnn-note-error").count() == 0

    # A malformed link is ignored too.
    tab2 = open_tab(url=server.url + "/#rnn&rnn=%7Bnot-json")
    assert checked_runs(tab2.frame) == default_runs(tab2.frame)


# ---- colours and layout ------------------------------------------------------


def test_panel_titles_and_swatches_wear_the_run_colour(open_tab):
    tab = open_tab()
    frame = tab.frame
    frame.click("#rnn-runs-all")
    tab.settle()
    frame.select_option("#rnn-layer", "lstm")
    tab.settle()
    for run in RUNS:
        expected = run_color(frame, run)
        title = frame.evaluate(
            "(run) => getComputedStyle(document.querySelector("
            "`.rnn-run-column[data-run=\"${run}\"] .rnn-run-title`)).color", run)
        swatch = frame.evaluate(
            "(run) => getComputedStyle(document.querySelector("
            "`#rnn-runs label[data-run=\"${run}\"] .rnn-run-swatch`)).backgroundColor", run)
        assert title == expected, (run, title, expected)
        assert swatch == expected, (run, swatch, expected)
    # Stable: a run keeps its colour whatever else is selected.
    before = frame.evaluate("() => getComputedStyle(document.querySelector('.rnn-run-column[data-run=run_04] .rnn-run-title')).color")
    choose_runs(tab, ["run_04"])
    after = frame.evaluate("() => getComputedStyle(document.querySelector('.rnn-run-column[data-run=run_04] .rnn-run-title')).color")
    assert before == after


def column_boxes(frame):
    return frame.evaluate(
        """() => [...document.querySelectorAll('.rnn-run-column')].map((c) => {
             const r = c.getBoundingClientRect();
             return { run: c.dataset.run, left: r.left, right: r.right, top: r.top, width: r.width };
           })""")


def test_ten_runs_at_1000px_wrap_into_a_grid_without_horizontal_scroll(open_tab, tmp_path):
    tab = open_tab(width=1000, height=2100)
    frame = tab.frame
    frame.click("#rnn-runs-all")
    tab.settle()
    frame.select_option("#rnn-layer", "lstm")
    tab.settle()
    no_horizontal_scroll(frame)
    boxes = column_boxes(frame)
    assert [b["run"] for b in boxes] == RUNS
    rows = sorted({round(b["top"]) for b in boxes})
    per_row = int(frame.get_attribute("#rnn-panels", "data-columns"))
    assert len(rows) > 1 and per_row >= 2, (rows, per_row)
    assert len(rows) == -(-len(RUNS) // per_row)
    width = frame.evaluate("() => document.querySelector('#rnn-panels').clientWidth")
    for b in boxes:
        assert b["right"] <= frame.evaluate("() => document.documentElement.clientWidth") + 0.5
        # Panels are not squeezed below their minimum; the row is used up.
        assert b["width"] >= 300
        assert b["width"] * per_row >= 0.85 * width
    # Heatmaps fit their panels.
    overflow = frame.evaluate(
        """() => [...document.querySelectorAll('.rnn-panel')].filter((p) => {
             const c = p.querySelector('canvas.rnn-plot');
             return c && c.getBoundingClientRect().right > p.getBoundingClientRect().right + 0.5;
           }).length""")
    assert overflow == 0
    tab.page.screenshot(path=os.path.join(screenshot_dir(tmp_path), "runs_grid_1000.png"), full_page=True)


def test_runs_without_the_layer_are_one_line(open_tab, tmp_path):
    tab = open_tab(width=1000, height=1200)
    frame = tab.frame
    frame.click("#rnn-runs-all")
    tab.settle()
    frame.select_option("#rnn-layer", "bigru")
    tab.settle()
    assert drawn_runs(frame) == BIDI_RUNS
    missing = [r for r in RUNS if r not in BIDI_RUNS]
    line = frame.locator("#rnn-not-logged")
    assert line.count() == 1
    assert json.loads(line.get_attribute("data-runs")) == missing
    text = " ".join(line.text_content().split())
    assert text.endswith("not logged in: " + ", ".join(missing)), text
    # One line of text, not a column each.
    height = frame.evaluate("() => document.querySelector('#rnn-not-logged').getBoundingClientRect().height")
    assert height < 40, height
    no_horizontal_scroll(frame)
    tab.page.screenshot(path=os.path.join(screenshot_dir(tmp_path), "runs_not_logged_1000.png"), full_page=True)


def test_one_run_gets_the_full_width_and_bidirectional_panels_sit_side_by_side(open_tab, tmp_path):
    tab = open_tab(width=1400, height=1000)
    frame = tab.frame
    choose_runs(tab, ["run_00"])
    frame.select_option("#rnn-layer", "lstm")
    tab.settle()
    width = frame.evaluate("() => document.querySelector('#rnn-panels').clientWidth")
    panel = frame.evaluate("() => document.querySelector('.rnn-panel').getBoundingClientRect().width")
    assert panel >= 0.95 * width, (panel, width)

    frame.select_option("#rnn-layer", "bigru")
    tab.settle()
    boxes = frame.evaluate(
        """() => [...document.querySelectorAll('.rnn-panel')].map((p) => {
             const r = p.getBoundingClientRect();
             return { direction: p.dataset.direction, left: r.left, top: r.top, width: r.width };
           })""")
    assert [b["direction"] for b in boxes] == ["forward", "backward"]
    assert boxes[0]["top"] == boxes[1]["top"]
    assert boxes[1]["left"] > boxes[0]["left"] + boxes[0]["width"] - 1
    assert boxes[0]["width"] + boxes[1]["width"] >= 0.9 * width
    no_horizontal_scroll(frame)
    tab.page.screenshot(path=os.path.join(screenshot_dir(tmp_path), "bidirectional_1400.png"), full_page=True)

    # Too narrow for two: stacked, still no horizontal scroll.
    tab.page.set_viewport_size({"width": 560, "height": 1000})
    frame.wait_for_function("document.querySelector('#rnn-panels').dataset.sideBySide === 'false'", timeout=10000)
    tab.settle()
    no_horizontal_scroll(frame)


# ---- step times --------------------------------------------------------------


def test_step_slider_shows_wall_and_relative_time(open_tab):
    tab = open_tab()
    frame = tab.frame
    choose_runs(tab, ["run_03"])
    for step, relative in ((0, "+0 s"), (10, "+1 min 5 s"), (20, "+1 h 2 min")):
        frame.fill("#rnn-step", str(STEPS.index(step)))
        tab.settle()
        node = frame.locator("#rnn-step-time")
        assert float(node.get_attribute("data-relative")) == pytest.approx(STEP_SECONDS[step])
        wall = RUN_START + 3000 + STEP_SECONDS[step]
        assert float(node.get_attribute("data-wall-time")) == pytest.approx(wall, abs=1e-3)
        expected_wall = frame.evaluate(
            """(s) => { const d = new Date(s * 1000); const p = (n) => String(n).padStart(2, "0");
                 return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
                        `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }""", wall)
        text = node.text_content()
        assert text.startswith(expected_wall), text
        assert relative + " since first step" in text, text


def test_a_link_pasted_into_an_open_tab_is_followed(open_tab):
    tab = open_tab()
    before = drawn_runs(tab.frame)
    assert before and before != ["run_06", "run_08"]
    state = {"runs": ["run_06", "run_08"], "runsChosen": True, "layer": "lstm",
             "kind": "output_gradient", "step": 10}
    # Only the hash changes: no page load, TensorBoard stays on the tab.
    tab.page.evaluate("(h) => { location.hash = h; }",
                      "#rnn&rnn=" + urllib.parse.quote(json.dumps(state), safe=""))
    tab.frame.wait_for_function(
        "[...document.querySelectorAll('.rnn-run-column')].map((c) => c.dataset.run).join() === 'run_06,run_08'",
        timeout=15000)
    tab.settle()
    assert tab.frame.input_value("#rnn-quantity") == "output_gradient"
    assert tab.frame.text_content("#rnn-step-value").strip() == "10"
    assert checked_runs(tab.frame) == ["run_06", "run_08"]
