"""End to end: the text views and the "different inputs" notice over a real
TensorBoard in Debian's Chromium.

The logs are written with known values (write_text_run): layer "lstm",
SAMPLES sequences of T tokens, vocabulary VOCAB (blanks, a newline and an
HTML-looking token among them); activations whose unit 0 is a ramp, unit 1
constant and unit 2 high on timesteps 5-6 only (so variance ranks 0, 2, 1
and the span 5-6 ranks 2 first); sample 1 is padded at its last two
timesteps; input dependency D[s, k, j] = (1 + s) a^(k - j) for j <= k, else
0; the probe fingerprint a run logs decides whether the notice shows. run_b
has the negated activations, a = 0.8, and the same tokens and fingerprint
as run_a; run_c another fingerprint; a run named like an HTML element
probes run_a's batch.

Set RNN_SCREENSHOTS=<dir> to keep screenshots of the views at 1000 and
1600 px.
"""

import json
import math
import os
import urllib.parse

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

XSS = "<img src=x onerror=alert(1)>"
RUN_A, RUN_B, RUN_C = "run_a", "run_b", "run_c"
RUN_X = XSS
RUNS = (RUN_A, RUN_B, RUN_C, RUN_X)
LAYER = "lstm"
SAMPLES, T, UNITS = 2, 8, 3
VOCAB = ["h", "e", "l", "o", " ", "\n", XSS, "w"]
IDS = np.array([[0, 1, 2, 2, 3, 4, 6, 5], [7, 3, 2, 4, 0, 1, 0, 0]], dtype=np.float32)
SHOWN_0 = ["h", "e", "l", "l", "o", "\u00b7", XSS, "\u21b5"]
RATES = {RUN_A: 0.5, RUN_B: 0.8, RUN_C: 0.5, RUN_X: 0.5}
FINGERPRINTS = {RUN_A: [1, 2, 3, 4], RUN_B: [1, 2, 3, 4], RUN_C: [9, 9, 9, 9], RUN_X: [1, 2, 3, 4]}
READY = "#rnn-app[data-state=ready]"


def activations(sign=1.0):
    """[S, T, 3]: unit 0 a ramp, unit 1 constant 0.1, unit 2 0.9 on t = 5, 6 and -0.1 elsewhere."""
    t = np.arange(T, dtype=np.float32)
    units = np.stack([(t - 3.5) / 3.5, np.full(T, 0.1), np.where((t >= 5) & (t <= 6), 0.9, -0.1)], axis=1)
    return (sign * np.broadcast_to(units, (SAMPLES, T, UNITS))).astype(np.float32)


def dependency(a):
    """[S, T, T]: (1 + s) a^(k - j) for j <= k, else 0 (a loss at every timestep)."""
    k = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    rows = np.where(j <= k, a ** np.maximum(k - j, 0), 0.0)
    return ((1.0 + np.arange(SAMPLES))[:, None, None] * rows[None]).astype(np.float32)


def write_blob(tag, data, kind, step, **fields):
    """One step of a blob series of `kind`, as summary.py's writers store it."""
    import tensorflow as tf

    from tb_rnn_plugin import metadata

    blob = tf.reshape(tf.io.serialize_tensor(tf.constant(data, tf.float32)), [1])
    tf.summary.write(tag=tag, tensor=blob, step=step,
                     metadata=metadata.create_summary_metadata(kind, **fields))


def write_fingerprint(parts, step):
    import tensorflow as tf

    from tb_rnn_plugin import metadata

    tf.summary.write(tag=metadata.kinds.PROBE_FINGERPRINT_TAG, tensor=tf.constant(parts, tf.float32), step=step,
                     metadata=metadata.create_summary_metadata(metadata.kinds.PROBE_FINGERPRINT))


def write_text_run(logdir, run, *, sign=1.0, a=0.5, fingerprint=(1, 2, 3, 4), ids=IDS, vocabulary=VOCAB,
                   steps=(0,), cell_state=True, layer=LAYER):
    """A run of the text views' series: tokens (first step only), and per step
    activation, cell state, mask, output gradient and input dependency."""
    import tensorflow as tf

    import tb_rnn_plugin
    from tb_rnn_plugin import kinds

    samples, length = ids.shape
    mask = np.ones((samples, length), np.float32)
    if samples > 1:
        mask[1, -2:] = 0
    mask_tag = "%s/mask" % layer
    with tf.summary.create_file_writer(os.path.join(str(logdir), run)).as_default():
        write_blob("%s/tokens" % layer, ids, kinds.TOKENS, steps[0], layer=layer, vocabulary=vocabulary)
        write_fingerprint(list(fingerprint), steps[0])
        for step in steps:
            values = sign * np.resize(activations(), (samples, length, UNITS)) if length != T else activations(sign)
            tb_rnn_plugin.activation("%s/activation" % layer, values, step=step, layer=layer, cell="LSTM", mask_tag=mask_tag)
            if cell_state:
                tb_rnn_plugin.cell_state("%s/cell_state" % layer, 2 * values, step=step, layer=layer, cell="LSTM",
                                         mask_tag=mask_tag)
            tb_rnn_plugin.timestep_mask(mask_tag, mask, step=step, layer=layer)
            # A sequence-to-one layer's: only each sample's last real step reaches the loss.
            grad = np.zeros_like(values)
            for sample in range(samples):
                grad[sample, int(mask[sample].sum()) - 1, :] = [0.5, -0.25, 1.0]
            tb_rnn_plugin.output_gradient("%s/output_gradient" % layer, grad, step=step, layer=layer, cell="LSTM",
                                          mask_tag=mask_tag)
            write_blob("%s/input_dependency" % layer, dependency(a) if length == T else big_dependency(samples, length, a),
                       kinds.INPUT_DEPENDENCY, step, layer=layer)


def big_dependency(samples, length, a):
    """[S, 1, length]: one loss at the last position, a^(length - 1 - j)."""
    j = np.arange(length)
    return np.broadcast_to(a ** (length - 1 - j), (samples, 1, length)).astype(np.float32).copy()


def write_logdir(logdir):
    for run in RUNS:
        write_text_run(logdir, run, sign=-1.0 if run == RUN_B else 1.0, a=RATES[run], fingerprint=FINGERPRINTS[run])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_text", write_logdir, RUNS) as tb:
        yield tb


def link(view, runs, extra=None):
    state = {"runs": list(runs), "runsChosen": True, "layer": LAYER, "kind": "activation", "view": view,
             "lastStep": True, "sampleMode": "sample", "sample": 0, "textUnit": None, "textSpan": None,
             "dependencyT": None}
    if view == "input_dependency":
        state["kind"] = "input_dependency"
    state.update(extra or {})
    return "#rnn&rnn=%s" % urllib.parse.quote(json.dumps(state))


def open_view(browser, server, view, runs, extra=None, width=1200):
    context = browser.new_context(viewport={"width": width, "height": 1200})
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server.url + "/" + link(view, runs, extra))
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=30000)
    frame.wait_for_selector(".rnn-token-strip", timeout=30000)
    assert frame.input_value("#rnn-view") == view
    return context, page, frame


def cells(frame, run):
    """[{text, t, value, bg, x, pad}] of the run's token cells, in DOM order."""
    return frame.evaluate(
        """(run) => [...document.querySelectorAll('.rnn-token-strip')].filter((s) => s.dataset.run === run)
          .flatMap((s) => [...s.querySelectorAll('.rnn-token')]).map((c) => ({
            text: c.textContent, t: Number(c.dataset.t), value: c.dataset.value === undefined ? null : Number(c.dataset.value),
            bg: getComputedStyle(c).backgroundColor, x: c.getBoundingClientRect().left,
            y: c.getBoundingClientRect().top, pad: c.classList.contains('rnn-token-pad') }))""", run)


def rgb(css):
    return tuple(int(float(v)) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3])


def close(a, b, tol=2):
    return max(abs(p - q) for p, q in zip(a, b)) <= tol


def sequential(f):
    """The input dependency view's scale: white, mid blue, dark blue."""
    stops = [(0.0, (247, 251, 255)), (0.5, (107, 174, 214)), (1.0, (8, 48, 107))]
    f = min(1.0, max(0.0, f))
    (x0, c0), (x1, c1) = (stops[0], stops[1]) if f <= 0.5 else (stops[1], stops[2])
    g = (f - x0) / (x1 - x0)
    return tuple(round(p + g * (q - p)) for p, q in zip(c0, c1))


def shoot(page, name):
    directory = os.environ.get("RNN_SCREENSHOTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        page.screenshot(path=os.path.join(directory, name), full_page=True)


@pytest.fixture
def finish():
    opened = []
    yield opened.append
    for context, page in opened:
        try:
            assert not page.console_errors.take()
            assert not page.dialogs
        finally:
            context.close()


def test_text_view_draws_the_tokens_in_order_coloured_by_the_top_unit(browser, server, finish):
    context, page, frame = open_view(browser, server, "text", [RUN_A, RUN_B])
    finish((context, page))
    shoot(page, "text_1200.png")
    got = cells(frame, RUN_A)
    assert [c["text"] for c in got] == SHOWN_0
    # Ranked by variance: the ramp (0), the span unit (2), the constant (1); the top one is drawn.
    assert frame.get_attribute("#rnn-unit-ranking", "data-order") == "0,2,1"
    unit0 = activations()[0, :, 0]
    vmax = float(np.abs(unit0).max())
    for c, value in zip(got, unit0):
        assert math.isclose(c["value"], value, rel_tol=1e-6)
        assert close(rgb(c["bg"]), browser_util.diverging(value / vmax)), (c, value)
    # run_b (negated values) on the same scale: the opposite colours, at the same x.
    other = cells(frame, RUN_B)
    assert [c["x"] for c in other] == [c["x"] for c in got]
    for c, value in zip(other, unit0):
        assert close(rgb(c["bg"]), browser_util.diverging(-value / vmax))
    # A colour bar over the unit's range.
    assert float(frame.get_attribute(".rnn-colorbar", "data-vmax")) == pytest.approx(vmax)


def test_a_selected_span_reranks_units_and_padding_shows(browser, server, finish):
    context, page, frame = open_view(browser, server, "text", [RUN_A])
    finish((context, page))
    strip = '.rnn-token-strip[data-run="%s"] .rnn-token' % RUN_A
    first, last = frame.locator(strip).nth(5), frame.locator(strip).nth(6)
    first.hover()
    page.mouse.down()
    last.hover()
    page.mouse.up()
    frame.wait_for_function("() => document.querySelector('#rnn-unit-ranking')?.dataset.order === '2,0,1'", timeout=15000)
    frame.wait_for_selector(READY)
    assert [c["t"] for c in cells(frame, RUN_A) if c["value"] is not None] == list(range(T))
    scores = frame.evaluate("() => [...document.querySelectorAll('.rnn-unit-chip')].map((b) => Number(b.dataset.score))")
    assert scores == pytest.approx([1.0, (4 / 7) - (-(4 / 3.5) / 6), 0.0], abs=1e-5)
    # The cell state toggle colours by c_t (twice h_t here).
    frame.select_option("#rnn-text-state", "cell_state")
    frame.wait_for_selector('.rnn-text-view[data-state="cell_state"]', timeout=15000)
    assert cells(frame, RUN_A)[5]["value"] == pytest.approx(1.8)
    # Sample 1: its last two timesteps are padding.
    frame.fill("#rnn-sample", "1")
    frame.press("#rnn-sample", "Enter")
    frame.wait_for_function("() => document.querySelectorAll('.rnn-token-pad').length === 2", timeout=15000)
    assert [c["pad"] for c in cells(frame, RUN_A)] == [False] * (T - 2) + [True, True]


def test_moving_t_recolours_the_dependency_and_runs_align(browser, server, finish):
    context, page, frame = open_view(browser, server, "input_dependency", [RUN_A, RUN_B])
    finish((context, page))
    shoot(page, "dependency_1200.png")

    def check(t):
        frame.wait_for_function("(t) => document.querySelector('.rnn-dependency-view')?.dataset.t === String(t)", arg=t)
        a, b = cells(frame, RUN_A), cells(frame, RUN_B)
        assert [c["x"] for c in a] == [c["x"] for c in b]
        for run, got in ((RUN_A, a), (RUN_B, b)):
            expected = dependency(RATES[run])[0, t]
            vmax = 1.0  # D[0, t, t] = 1 in both runs, the row's largest
            for j, c in enumerate(got):
                assert c["value"] == pytest.approx(expected[j])
                assert close(rgb(c["bg"]), sequential(expected[j] / vmax)), (run, t, j, c)

    check(T - 1)  # the last loss position by default
    frame.fill("#rnn-dependency-t", "3")  # the slider's index = the position (every t is a loss)
    check(3)
    # After t: no dependency (white); at t the darkest.
    assert rgb(cells(frame, RUN_A)[5]["bg"]) == sequential(0.0)
    # Clicking a token moves t there.
    frame.locator('.rnn-token-strip[data-run="%s"] .rnn-token' % RUN_A).nth(6).click()
    check(6)


@pytest.mark.parametrize("runs, shown", [((RUN_A, RUN_B), False), ((RUN_A, RUN_C), True), ((RUN_A, RUN_X), False)])
def test_the_different_inputs_notice(browser, server, finish, runs, shown):
    context, page, frame = open_view(browser, server, "text", runs)
    finish((context, page))
    if shown:
        frame.wait_for_selector("#rnn-probe-notice:not([hidden])", timeout=15000)
        groups = frame.evaluate("() => [...document.querySelectorAll('#rnn-probe-notice li')].map((li) => "
                                "[...li.querySelectorAll('.rnn-probe-run')].map((s) => s.textContent))")
        assert groups == [[RUN_A], [RUN_C]]
        shoot(page, "notice_1200.png")
    else:
        # The notice has compared the runs' fingerprints: one group, nothing shown.
        frame.wait_for_selector("#rnn-probe-notice[data-groups]", state="attached", timeout=15000)
        assert frame.get_attribute("#rnn-probe-notice", "data-groups") == "1"
        assert frame.eval_on_selector("#rnn-probe-notice", "n => n.hidden")


def test_tokens_and_run_names_are_text_not_html(browser, server, finish):
    context, page, frame = open_view(browser, server, "text", [RUN_A, RUN_X, RUN_C])
    finish((context, page))
    frame.wait_for_selector("#rnn-probe-notice:not([hidden])", timeout=15000)
    assert [c["text"] for c in cells(frame, RUN_X)] == SHOWN_0
    assert frame.evaluate("() => document.querySelectorAll('img').length") == 0
    assert frame.locator(".rnn-run-title", has_text=XSS).count() == 1
    assert XSS in frame.inner_text("#rnn-probe-notice")
    # The readout of a token and of a heatmap cell name the token as text.
    frame.locator('.rnn-token-strip[data-run="%s"] .rnn-token' % RUN_X).nth(6).hover()
    assert XSS in frame.inner_text("#rnn-tooltip")
    page.wait_for_timeout(300)
    assert not page.dialogs
    assert frame.evaluate("() => document.querySelectorAll('img').length") == 0


def test_heatmap_readout_names_the_token(browser, server, finish):
    context, page, frame = open_view(browser, server, "text", [RUN_A])
    finish((context, page))
    frame.select_option("#rnn-view", "heatmap")
    canvas = browser_util.canvas_selector(RUN_A)
    frame.wait_for_selector(canvas, timeout=15000)
    frame.wait_for_selector(READY)
    box = frame.evaluate("""(s) => { const c = document.querySelector(s); const d = c.dataset;
        const r = c.getBoundingClientRect();
        return [r.left + Number(d.plotX) + 5.5 * Number(d.cellWidth), r.top + Number(d.plotY) + 0.5 * Number(d.cellHeight)]; }""",
                         canvas)
    page.mouse.move(*frame_offset(page, box))
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    text = frame.inner_text("#rnn-tooltip")
    assert "timestep 5" in text and "token \u00b7" in text, text


def frame_offset(page, xy):
    """A point in the plugin frame's coordinates, in the page's."""
    frame_box = page.locator("iframe").first.bounding_box()
    return xy[0] + frame_box["x"], xy[1] + frame_box["y"]


def test_last_step_scatter_draws_every_unit(browser, server, finish):
    context, page, frame = open_view(browser, server, "text", [RUN_A])
    finish((context, page))
    frame.select_option("#rnn-view", "last_step")
    frame.wait_for_selector('canvas.rnn-last-step-plot[data-run="%s"]' % RUN_A, timeout=15000)
    frame.wait_for_selector(READY)
    assert frame.locator("canvas.rnn-last-step-plot").count() == 2
    assert "Sequence-to-one" in frame.inner_text(".rnn-last-step-view")
    shoot(page, "last_step_1200.png")


def test_profile_readout_names_the_token(browser, server, finish):
    context = browser.new_context(viewport={"width": 1200, "height": 1200})
    page = context.new_page()
    page.console_errors = browser_util.ConsoleErrors(page)
    page.dialogs = []
    finish((context, page))
    page.goto(server.url + "/" + link("profile", [RUN_A]))
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=30000)
    canvas = "canvas.rnn-profile-plot"
    frame.wait_for_selector(canvas, timeout=15000)
    where = """(s) => { const c = document.querySelector(s); const d = c.dataset; const r = c.getBoundingClientRect();
        return [r.left + Number(d.plotX) + 5.5 * Number(d.plotWidth) / Number(d.timesteps), r.top + Number(d.plotY) + 20]; }"""
    # The first hover loads the tokens (no view of this visit needed them yet); a later one names the token.
    # The plot is measured again before each hover: the strips above it (summary, loss, notice)
    # arrive on their own and move it down; on a busy machine that can take seconds.
    for attempt in range(40):
        box = frame.evaluate(where, canvas)
        page.mouse.move(*frame_offset(page, (box[0] + attempt % 2, box[1])))
        page.wait_for_timeout(300)
        if "token" in frame.inner_text("#rnn-tooltip"):
            break
    text = frame.inner_text("#rnn-tooltip")
    assert "timestep 5" in text and "token \u00b7" in text, text
