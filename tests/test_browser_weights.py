"""End to end: the weights view (kernel | recurrent kernel | bias by gate)
over a real TensorBoard in Chromium.

Run "ops" is written by the summary ops with values constructed so that
every gate block of a matrix is its own constant (so the pixels on either
side of a gate separator have known, different colours), one NaN and one
+Inf; plus a 256 x 1024 recurrent kernel (must fit 1000 px), a user's own
cell (gates unknown) and a ConvLSTM-like rank-4 kernel. Run "gru" is
written by the real RNNTensorBoard callback on a tiny Bidirectional
GRU(reset_after=True): Keras' real layout, two directions, input and
recurrent bias.

Set RNN_SCREENSHOTS=<dir> to keep rnn_weights_1000.png / rnn_weights_1600.png.
"""

import json
import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

OPS, GRU_RUN, SIMPLE = "ops", "gru", "simple"
READY = "#rnn-app[data-state=ready]"
U = 4  # units of the small LSTM
STEPS = (0, 10)
GATES = ("i", "f", "c", "o")
# Each gate block's constant at the last step, per matrix (vmax is 1).
KERNEL_GATES = (1.0, -1.0, 0.5, -0.5)
RECURRENT_GATES = (-0.25, 0.75, -0.75, 0.25)
NAN_AT = (1, 5)  # kernel row 1, column 5 (gate f)
INF_AT = (2, 9)  # recurrent kernel row 2, column 9 (gate c)
BIG_U = 256
RUN_COLORS = ["#ff7043", "#0077bb"]  # run_colors.js' first two


def lstm_gates(units):
    return [{"name": g, "start": k * units, "stop": (k + 1) * units} for k, g in enumerate(GATES)]


def gate_blocks(rows, constants, units=U):
    return np.concatenate([np.full((rows, units), c, np.float32) for c in constants], axis=-1)


def write_ops_run(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    with tf.summary.create_file_writer(str(logdir / OPS)).as_default():
        for step in STEPS:
            # Step 0 is half of the last step: the view must draw the last.
            f = 0.5 if step == 0 else 1.0
            kernel = gate_blocks(3, KERNEL_GATES) * f
            kernel[NAN_AT] = np.nan
            recurrent = gate_blocks(U, RECURRENT_GATES) * f
            recurrent[INF_AT] = np.inf
            bias = np.concatenate([np.zeros(U), np.ones(U), np.zeros(2 * U)]).astype(np.float32)
            common = dict(step=step, layer="lstm", cell="LSTM", gates=lstm_gates(U))
            tb_rnn_plugin.weight("lstm/kernel/weight", kernel, matrix="kernel", **common)
            tb_rnn_plugin.weight("lstm/recurrent_kernel/weight", recurrent, matrix="recurrent_kernel", **common)
            tb_rnn_plugin.weight("lstm/bias/weight", bias, matrix="bias", **common)
            tb_rnn_plugin.weight_gradient("lstm/kernel/weight_gradient", kernel * 1e-3, matrix="kernel", **common)

            big = dict(step=step, layer="big", cell="LSTM", gates=lstm_gates(BIG_U))
            rng = np.random.default_rng(step)
            tb_rnn_plugin.weight("big/kernel/weight", rng.normal(size=(8, 4 * BIG_U)).astype(np.float32),
                                 matrix="kernel", **big)
            tb_rnn_plugin.weight("big/recurrent_kernel/weight",
                                 rng.normal(size=(BIG_U, 4 * BIG_U)).astype(np.float32),
                                 matrix="recurrent_kernel", **big)

            own = dict(step=step, layer="own", cell="MyCell", gates=None)
            tb_rnn_plugin.weight("own/kernel/weight", np.arange(12, dtype=np.float32).reshape(3, 4),
                                 matrix="kernel", **own)

            conv = dict(step=step, layer="conv", cell="ConvLSTM2D", gates=lstm_gates(2))
            tb_rnn_plugin.weight("conv/kernel/weight", np.ones((3, 3, 2, 8), np.float32),
                                 matrix="kernel", **conv)


def write_simple_run(logdir):
    """A SimpleRNN layer also named "lstm", its bias (width U, max 0.25)
    narrower and smaller than the ops run's LSTM bias (width 4U, max 1)."""
    import tensorflow as tf

    import tb_rnn_plugin

    with tf.summary.create_file_writer(str(logdir / SIMPLE)).as_default():
        for step in STEPS:
            common = dict(step=step, layer="lstm", cell="SimpleRNN", gates=None)
            tb_rnn_plugin.weight("lstm/kernel/weight", np.full((3, U), 0.5, np.float32), matrix="kernel", **common)
            tb_rnn_plugin.weight("lstm/bias/weight", np.full(U, 0.25, np.float32), matrix="bias", **common)


def write_gru_run(logdir):
    import keras

    from tb_rnn_plugin import RNNTensorBoard

    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 3))
    x = keras.layers.Bidirectional(keras.layers.GRU(4, reset_after=True), name="bigru")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(loss="mse", optimizer="sgd")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(8, 5, 3)).astype(np.float32)
    model.fit(data, rng.normal(size=(8, 1)).astype(np.float32), batch_size=8, epochs=1, verbose=0,
              callbacks=[RNNTensorBoard(str(logdir / GRU_RUN), update_freq=1, full_every=1,
                                       precision="float32")])  # compared with Keras exactly
    return model


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    browser_util.require_browser()  # skip (or fail under CI) before any work
    logdir = tmp_path_factory.mktemp("rnn_weights")
    write_ops_run(logdir)
    write_simple_run(logdir)
    model = write_gru_run(logdir)
    with browser_util.serving(logdir, [OPS, GRU_RUN, SIMPLE]) as tb:
        tb.model = model
        yield tb


def open_weights(browser, server, layer, runs, width=1200, height=1400, kind="weight"):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=30000)
    for run in (OPS, GRU_RUN, SIMPLE):
        box = '#rnn-runs input[data-run="%s"]' % run
        if run in runs:
            frame.check(box)
        else:
            frame.uncheck(box)
        frame.wait_for_selector(READY + ", #rnn-app[data-state=error]", timeout=30000)
    frame.select_option("#rnn-layer", layer)
    frame.select_option("#rnn-quantity", kind)
    frame.wait_for_selector(READY, timeout=30000)
    assert frame.eval_on_selector("#rnn-view", "s => s.value") == "weights"
    frame.wait_for_selector("canvas.rnn-weights-plot", timeout=30000)
    return context, page, frame


def plot_selector(run, matrix, direction="none"):
    return 'canvas.rnn-weights-plot[data-run="%s"][data-direction="%s"][data-matrix="%s"]' % (run, direction, matrix)


def dataset(frame, selector):
    d = frame.evaluate("(s) => { const c = document.querySelector(s); return c ? {...c.dataset} : null; }", selector)
    assert d is not None, "no canvas %s" % selector
    return d


def rgb_at(frame, selector, x, y):
    """The colour at CSS pixel (x, y) of a canvas."""
    return tuple(frame.evaluate(
        """([s, x, y]) => { const c = document.querySelector(s); const k = Number(c.dataset.dpr);
        return Array.from(c.getContext('2d').getImageData(Math.floor(x * k), Math.floor(y * k), 1, 1).data).slice(0, 3); }""",
        [selector, x, y]))


def cell_xy(d, row, col):
    """CSS pixel centre of data cell (row, col) of an unaggregated plot."""
    gates = json.loads(d["gates"])
    gate = next(g for g in gates if g["start"] <= col < g["stop"])
    cell_w = (gate["x1"] - gate["x0"]) / (gate["stop"] - gate["start"])
    x = gate["x0"] + (col - gate["start"] + 0.5) * cell_w
    y = float(d["plotY"]) + (row + 0.5) * float(d["plotHeight"]) / int(d["binRows"])
    return x, y


def close(a, b, tol=3):
    return max(abs(p - q) for p, q in zip(a, b)) <= tol


@pytest.fixture
def ops_tab(browser, server):
    context, page, frame = open_weights(browser, server, "lstm", [OPS])
    try:
        yield page, frame
        assert not page.console_errors.take()
    finally:
        context.close()


def test_gate_labels_separators_and_colours_at_the_metadata_ranges(ops_tab):
    page, frame = ops_tab
    assert frame.text_content("#rnn-step-value") == str(STEPS[-1])
    # Weights have no samples: the Sample control is off.
    assert frame.is_disabled("#rnn-sample") and frame.is_disabled("#rnn-sample-mode")
    for matrix, constants in (("kernel", KERNEL_GATES), ("recurrent_kernel", RECURRENT_GATES)):
        sel = plot_selector(OPS, matrix)
        d = dataset(frame, sel)
        assert d["step"] == str(STEPS[-1]) and d["aggregated"] == "false"
        gates = json.loads(d["gates"])
        assert [(g["name"], g["start"], g["stop"]) for g in gates] == [
            (g["name"], g["start"], g["stop"]) for g in lstm_gates(U)]
        separators = json.loads(d["separators"])
        assert len(separators) == 3
        # Signed, per matrix: symmetric around 0 up to the largest finite |v|.
        vmax = max(abs(c) for c in constants)
        assert float(d["vmax"]) == vmax
        # Each separator between two gates' blocks, where the metadata's
        # column boundary is: the last column of the gate before ends left
        # of it, the next gate's first column starts right of it.
        y = float(d["plotY"]) + 0.5 * float(d["plotHeight"])
        for k, x in enumerate(separators):
            assert gates[k]["x1"] < x < gates[k + 1]["x0"]
            left = rgb_at(frame, sel, x - 4, y)
            right = rgb_at(frame, sel, x + 4, y)
            assert close(left, browser_util.diverging(constants[k] / vmax)), (matrix, k, left)
            assert close(right, browser_util.diverging(constants[k + 1] / vmax)), (matrix, k, right)
            assert left != right
            # The separator line itself is drawn (the axis colour, not the background).
            line = rgb_at(frame, sel, x, y)
            assert line != (255, 255, 255) and line != left and line != right, line
        # The gate names are drawn above their columns: ink in the label row.
        for g in gates:
            ink = frame.evaluate(
                """([s, x0, x1, y0, y1]) => { const c = document.querySelector(s); const k = Number(c.dataset.dpr);
                const px = c.getContext('2d').getImageData(Math.round(x0 * k), Math.round(y0 * k),
                  Math.round((x1 - x0) * k), Math.round((y1 - y0) * k)).data;
                let n = 0; for (let i = 0; i < px.length; i += 4) if (px[i] < 128) n++; return n; }""",
                [sel, g["x0"], g["x1"], float(d["plotY"]) - 18, float(d["plotY"]) - 3])
            assert ink > 5, (matrix, g["name"], ink)

    # The NaN cell is magenta, the +Inf cell black, both counted in a note.
    kd = dataset(frame, plot_selector(OPS, "kernel"))
    assert rgb_at(frame, plot_selector(OPS, "kernel"), *cell_xy(kd, *NAN_AT)) == (255, 0, 255)
    assert close(rgb_at(frame, plot_selector(OPS, "kernel"), *cell_xy(kd, 1, 4)), browser_util.diverging(-1.0))
    rd = dataset(frame, plot_selector(OPS, "recurrent_kernel"))
    assert rgb_at(frame, plot_selector(OPS, "recurrent_kernel"), *cell_xy(rd, *INF_AT)) == (0, 0, 0)
    assert kd["nan"] == "1" and rd["posinf"] == "1"
    notes = frame.locator(".rnn-weights-nonfinite").all_text_contents()
    assert any("1 NaN cell" in n for n in notes) and any("1 +Inf cell" in n for n in notes), notes

    # The bias: forget block at 1 (the darkest red), others 0 (white).
    bd = dataset(frame, plot_selector(OPS, "bias"))
    assert json.loads(bd["stripRows"])[0]["label"] == "bias"
    assert close(rgb_at(frame, plot_selector(OPS, "bias"), *cell_xy(bd, 0, U + 1)), browser_util.diverging(1.0))
    assert close(rgb_at(frame, plot_selector(OPS, "bias"), *cell_xy(bd, 0, 1)), browser_util.diverging(0.0))

    # No gate activations for this layer: the view says why, for a user.
    note = frame.text_content(".rnn-weights-run-note")
    assert "gate activations" in note.lower() and "LSTM and GRU" in note

    # Hover: run, matrix, gate, row, column and value of the cell.
    box = frame.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.top]; }",
                         plot_selector(OPS, "recurrent_kernel"))
    origin = page.locator("iframe").element_handle().bounding_box()
    x, y = cell_xy(rd, 3, 13)
    page.mouse.move(origin["x"] + box[0] + x, origin["y"] + box[1] + y)
    frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
    text = frame.text_content("#rnn-tooltip")
    for part in (OPS, "recurrent_kernel", "gate o (output)", "row 3", "column 13 (unit 1 of gate o)"):
        assert part in text, (part, text)
    assert float(frame.get_attribute("#rnn-tooltip", "data-value")) == pytest.approx(RECURRENT_GATES[3])
    if os.environ.get("RNN_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_weights_ops_1200.png"), full_page=True)


def test_the_same_matrix_shares_its_range_across_runs_and_cells(browser, server):
    # An LSTM's bias (4U wide) and a SimpleRNN's (U wide) are both "bias".
    context, page, frame = open_weights(browser, server, "lstm", [OPS, SIMPLE])
    try:
        for matrix in ("bias", "kernel"):
            ops, simple = dataset(frame, plot_selector(OPS, matrix)), dataset(frame, plot_selector(SIMPLE, matrix))
            assert float(ops["vmax"]) == float(simple["vmax"]) == 1.0, (matrix, ops["vmax"], simple["vmax"])
        frame.uncheck("#rnn-shared")
        frame.wait_for_function(
            "(s) => document.querySelector(s) && document.querySelector(s).dataset.vmax === '0.25'",
            arg=plot_selector(SIMPLE, "bias"), timeout=30000)
        assert float(dataset(frame, plot_selector(OPS, "bias"))["vmax"]) == 1.0
        assert not page.console_errors.take()
    finally:
        context.close()


def test_abs_scale_and_gradients(ops_tab):
    page, frame = ops_tab
    frame.select_option("#rnn-weights-scale", "abs")
    frame.wait_for_selector(READY, timeout=30000)
    sel = plot_selector(OPS, "kernel")
    d = dataset(frame, sel)
    assert d["scale"] == "abs"
    # |1| and |-1| have the same colour now: viridis' top (yellow).
    a = rgb_at(frame, sel, *cell_xy(d, 0, 0))
    b = rgb_at(frame, sel, *cell_xy(d, 0, U))
    assert a == b and a[0] > 200 and a[1] > 200 and a[2] < 80, a
    frame.select_option("#rnn-quantity", "weight_gradient")
    frame.wait_for_selector(READY, timeout=30000)
    frame.wait_for_selector('canvas.rnn-weights-plot[data-kind="weight_gradient"]', timeout=30000)
    assert float(dataset(frame, sel)["vmax"]) == pytest.approx(1e-3, rel=1e-5)
    frame.select_option("#rnn-weights-scale", "signed")
    frame.wait_for_selector(READY, timeout=30000)


def test_big_matrix_fits_1000_px_custom_cell_and_convlstm_notes(browser, server):
    context, page, frame = open_weights(browser, server, "big", [OPS], width=1000, height=900)
    try:
        sel = plot_selector(OPS, "recurrent_kernel")
        d = dataset(frame, sel)
        assert d["rows"] == "256" and d["cols"] == "1024" and d["aggregated"] == "true"
        assert int(d["binCols"]) < 1024
        scroll = frame.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll[0] <= scroll[1], scroll
        right = frame.evaluate("(s) => document.querySelector(s).getBoundingClientRect().right", sel)
        assert right <= scroll[1]
        assert "Aggregated" in frame.text_content('.rnn-weights-matrix[data-matrix="recurrent_kernel"] .rnn-weights-aggregated')
        # Gates still split at the metadata's columns, one quarter each.
        gates = json.loads(d["gates"])
        assert [(g["start"], g["stop"]) for g in gates] == [(k * BIG_U, (k + 1) * BIG_U) for k in range(4)]
        widths = [g["x1"] - g["x0"] for g in gates]
        assert max(widths) - min(widths) <= 1, widths
        if os.environ.get("RNN_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_weights_big_1000.png"), full_page=True)

        # A user's own cell (gates unknown), then a ConvLSTM-like rank-4 kernel.
        frame.select_option("#rnn-layer", "own")
        frame.wait_for_selector(READY, timeout=30000)
        frame.wait_for_function("() => [...document.querySelectorAll('.rnn-weights-run-note')]"
                                ".some((n) => n.textContent.startsWith('custom cell'))", timeout=30000)
        assert "custom cell: its gate layout is unknown, shown whole" in frame.text_content(".rnn-weights-run")
        d = dataset(frame, plot_selector(OPS, "kernel"))
        assert json.loads(d["separators"]) == [] and json.loads(d["gates"]) == []
        frame.select_option("#rnn-layer", "conv")
        frame.wait_for_selector(READY, timeout=30000)
        frame.wait_for_selector(".rnn-weights-flattened", timeout=30000)
        d = dataset(frame, plot_selector(OPS, "kernel"))
        assert d["rows"] == "18" and d["cols"] == "8"
        assert "flattened into rows" in frame.text_content(".rnn-weights-flattened")
        assert not page.console_errors.take()
    finally:
        context.close()


def test_real_bidirectional_gru_layout(browser, server):
    context, page, frame = open_weights(browser, server, "bigru", [OPS, GRU_RUN], width=1600)
    try:
        # The ops run has no "bigru" layer: said once, not drawn.
        assert OPS in frame.text_content(".rnn-weights-missing")
        layer = server.model.get_layer("bigru")
        for direction, rnn in (("forward", layer.forward_layer), ("backward", layer.backward_layer)):
            units = rnn.cell.units
            for matrix in ("kernel", "recurrent_kernel"):
                d = dataset(frame, plot_selector(GRU_RUN, matrix, direction))
                gates = json.loads(d["gates"])
                assert [(g["name"], g["start"], g["stop"]) for g in gates] == [
                    (name, k * units, (k + 1) * units) for k, name in enumerate("zrh")]
                assert len(json.loads(d["separators"])) == 2
            # Keras' (2, 3U) bias: input and recurrent bias, two labelled rows.
            d = dataset(frame, plot_selector(GRU_RUN, "input_bias,recurrent_bias", direction))
            rows = json.loads(d["stripRows"])
            assert [(r["matrix"], r["label"]) for r in rows] == [("input_bias", "input"), ("recurrent_bias", "recurrent")]
            assert d["rows"] == "2" and d["cols"] == str(3 * units)
            # What is drawn is Keras' weights as trained (logged after the
            # last batch): rows 0 and 1 of the (2, 3U) bias, columns z, r, h.
            drawn = frame.evaluate("(s) => Array.from(document.querySelector(s).rnnWeights.values)",
                                   plot_selector(GRU_RUN, "input_bias,recurrent_bias", direction))
            np.testing.assert_allclose(np.array(drawn).reshape(2, 3 * units), rnn.cell.bias.numpy(), rtol=1e-6)
            kernel = frame.evaluate("(s) => Array.from(document.querySelector(s).rnnWeights.values)",
                                    plot_selector(GRU_RUN, "recurrent_kernel", direction))
            np.testing.assert_allclose(np.array(kernel).reshape(units, 3 * units),
                                       rnn.cell.recurrent_kernel.numpy(), rtol=1e-6)
            # Both strips' labels are drawn left of their rows.
            sel = plot_selector(GRU_RUN, "input_bias,recurrent_bias", direction)
            for row in rows:
                ink = frame.evaluate(
                    """([s, y0, y1, x1]) => { const c = document.querySelector(s); const k = Number(c.dataset.dpr);
                    const px = c.getContext('2d').getImageData(0, Math.round(y0 * k), Math.round(x1 * k),
                      Math.round((y1 - y0) * k)).data;
                    let n = 0; for (let i = 0; i < px.length; i += 4) if (px[i] < 128) n++; return n; }""",
                    [sel, row["y0"], row["y1"], float(d["plotX"]) - 2])
                assert ink > 10, (direction, row, ink)
        # The hover over the recurrent bias row names it.
        sel = plot_selector(GRU_RUN, "input_bias,recurrent_bias", "backward")
        d = dataset(frame, sel)
        box = frame.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.top]; }", sel)
        origin = page.locator("iframe").element_handle().bounding_box()
        x, y = cell_xy(d, 1, 9)
        page.mouse.move(origin["x"] + box[0] + x, origin["y"] + box[1] + y)
        frame.wait_for_selector("#rnn-tooltip:not([hidden])", timeout=5000)
        text = frame.text_content("#rnn-tooltip")
        for part in (GRU_RUN, "backward", "recurrent_bias", "gate h (candidate)", "column 9 (unit 1 of gate h)"):
            assert part in text, (part, text)
        want = layer.backward_layer.cell.bias.numpy()[1, 9]
        assert float(frame.get_attribute("#rnn-tooltip", "data-value")) == pytest.approx(want, rel=1e-3, abs=1e-7)
        # Gate activations are recomputed for GRU: no note about them here.
        assert frame.locator('.rnn-weights-run[data-run="%s"] .rnn-weights-run-note' % GRU_RUN).count() == 0
        title = frame.locator('.rnn-weights-run-title[data-run="%s"]' % GRU_RUN)
        # Runs keep the tab's colours: "gru" sorts first of the index's runs.
        assert title.get_attribute("data-color") == RUN_COLORS[sorted([OPS, GRU_RUN]).index(GRU_RUN)]
        if os.environ.get("RNN_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["RNN_SCREENSHOTS"], "rnn_weights_gru_1600.png"), full_page=True)
        assert not page.console_errors.take()
    finally:
        context.close()
