"""End to end: the per-gate distributions and norms views over a real TensorBoard.

Two runs of an LSTM layer "lstm" (4 units) whose weights are constructed so
that every gate's histogram and norms are known: in gate g of every matrix
each value is +-c_g * decay^step (signs alternating), c_g = 10^-g, so the
gate's L2 norm is c_g * decay^step * sqrt(n) and its values fall in two
known bins. run_fast decays by 0.97 per step (as strong weight decay would),
run_slow by 0.995. 150 steps are logged, more than TensorBoard keeps of the
big weight tensors; the kept companions hold all of them. run_fast's kernel
has one NaN in its forget gate at step 70; run_slow's output-gate bias is
all zeros (a zero norm, off a log axis).

Set RNN_SCREENSHOTS=<dir> to keep rnn_ghist_distributions.png and
rnn_ghist_norms.png (1200 px).
"""

import os

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUNS = ("run_fast", "run_slow")
DECAY = {"run_fast": 0.97, "run_slow": 0.995}
STEPS = tuple(range(150))
UNITS = 4
GATES = ("i", "f", "c", "o")  # as summary_ops/gates.py names an LSTM's
SCALE = {g: 10.0 ** -k for k, g in enumerate(GATES)}
MATRICES = {"kernel": (3, 4 * UNITS), "recurrent_kernel": (UNITS, 4 * UNITS), "bias": (4 * UNITS,)}
NAN_AT = ("run_fast", "kernel", "f", 70)
ZERO_GATE = ("run_slow", "bias", "o")
READY = "#rnn-app[data-state=ready]"


def gate_specs():
    return [{"name": g, "start": k * UNITS, "stop": (k + 1) * UNITS} for k, g in enumerate(GATES)]


def signs(shape):
    """+1, -1, +1, ... over the matrix (C order)."""
    n = int(np.prod(shape))
    return np.where(np.arange(n) % 2 == 0, 1.0, -1.0).reshape(shape)


def matrix_values(run, matrix, step):
    shape = MATRICES[matrix]
    out = signs(shape)
    for k, g in enumerate(GATES):
        size = 0.0 if (run, matrix, g) == ZERO_GATE else SCALE[g] * DECAY[run] ** step
        out[..., k * UNITS:(k + 1) * UNITS] *= size
    out = out.astype(np.float32)
    if (run, matrix, "f", step) == NAN_AT:
        out[..., 1 * UNITS] = np.nan  # column 0 of gate f: every row
    return out


def gate_block(run, matrix, gate, step):
    k = GATES.index(gate)
    return matrix_values(run, matrix, step)[..., k * UNITS:(k + 1) * UNITS]


def expected_field(run, matrix, gate, step, field):
    block = gate_block(run, matrix, gate, step).astype(np.float64).reshape(-1)
    finite = block[np.isfinite(block)]
    if field == "l2_norm":
        return float(np.sqrt(np.sum(finite ** 2)))
    if field == "max_abs":
        return float(np.max(np.abs(finite)))
    return float(np.std(finite))


def used_bins():
    """The lowest and highest bin any gate of any run fills, over all steps."""
    from tb_rnn_plugin import metadata

    edges = np.array(metadata.HISTOGRAM_EDGES, np.float32)
    lo, hi = None, None
    for run in RUNS:
        for matrix in MATRICES:
            for step in STEPS:
                values = matrix_values(run, matrix, step).reshape(-1)
                values = values[np.isfinite(values)]
                bins = np.searchsorted(edges, values, side="right")
                lo = int(bins.min()) if lo is None else min(lo, int(bins.min()))
                hi = int(bins.max()) if hi is None else max(hi, int(bins.max()))
    return lo, hi


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    def log(kernel, recurrent_kernel, bias, step):
        for matrix, values in (("kernel", kernel), ("recurrent_kernel", recurrent_kernel), ("bias", bias)):
            tb_rnn_plugin.weight(
                "lstm/%s/weight" % matrix, values, step=step, matrix=matrix, gates=gate_specs(),
                layer="lstm", cell="LSTM")

    write_other_layers(logdir)
    for run in RUNS:
        # One graph per run (it holds the run's writer): 900 eager calls of
        # the op take minutes on 2 cores, traced ones seconds.
        log_step = tf.function(log)
        with tf.summary.create_file_writer(str(logdir / run)).as_default():
            for step in STEPS:
                log_step(*(matrix_values(run, m, step) for m in MATRICES), tf.constant(step, tf.int64))


OWN_STEPS = (0, 1, 2)


def own_cell_values(step):
    """A user's own cell's weight (gates unknown): 8 values of 0.5 (step + 1), signs alternating."""
    return (0.5 * (step + 1) * signs((2, 4))).astype(np.float32)


def write_other_layers(logdir):
    """run_fast: layer "mycell", a user's own cell (gates None); run_slow:
    layer "oldw", a weight blob written without its per-gate companions."""
    import tensorflow as tf

    import tb_rnn_plugin
    from tb_rnn_plugin import metadata

    with tf.summary.create_file_writer(str(logdir / "run_fast")).as_default():
        for step in OWN_STEPS:
            assert tb_rnn_plugin.weight("mycell/kernel/weight", own_cell_values(step), step=step,
                                        matrix="kernel", gates=None, layer="mycell", cell="MyCell")
    md = metadata.create_summary_metadata("weight", matrix="kernel", gates=gate_specs(), layer="oldw", cell="LSTM")
    with tf.summary.create_file_writer(str(logdir / "run_slow")).as_default():
        for step in OWN_STEPS:
            blob = tf.reshape(tf.io.serialize_tensor(matrix_values("run_slow", "kernel", step)), [1])
            assert tf.summary.write("oldw/kernel/weight", blob, step=step, metadata=md)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_ghist", write_logdir, list(RUNS)) as tb:
        yield tb


def open_view(browser, server, view, width=1200, height=1600, layer="lstm"):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=30000)
    for run in RUNS:
        frame.check('#rnn-runs input[data-run="%s"]' % run)
        frame.wait_for_selector(READY + ", #rnn-app[data-state=error]", timeout=30000)
    frame.select_option("#rnn-layer", layer)
    frame.select_option("#rnn-quantity", "weight")
    frame.select_option("#rnn-view", view)
    frame.wait_for_selector(READY, timeout=30000)
    return context, page, frame


def screenshot(page, name):
    directory = os.environ.get("RNN_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, name), full_page=True)


def test_menu_lists_both_views(browser, server):
    context, page, frame = open_view(browser, server, "norms")
    try:
        options = frame.eval_on_selector_all("#rnn-view option", "els => els.map(e => e.value)")
        assert "distributions" in options and "norms" in options
        assert options.index("distributions") < options.index("norms")
        assert page.console_errors.take() == []
    finally:
        context.close()


def test_distributions_ridges_and_x_range(browser, server):
    context, page, frame = open_view(browser, server, "distributions")
    try:
        cells = frame.eval_on_selector_all(
            "canvas.rnn-ghist-ridges",
            "els => els.map(e => ({...e.dataset, drawn: e.rnnRidges.steps}))",
        )
        # 2 runs x 3 matrices x 4 gates.
        assert len(cells) == 2 * 3 * 4
        assert {c["run"] for c in cells} == set(RUNS)
        assert {(c["matrix"], c["gate"]) for c in cells} == {(m, g) for m in MATRICES for g in GATES}
        lo, hi = used_bins()
        for c in cells:
            # 150 logged steps thinned to 60 ridges, first and last kept, from the kept companion.
            assert c["steps"] == "150"
            assert c["ridges"] == "60"
            assert c["drawn"][0] == 0 and c["drawn"][-1] == 149 and len(c["drawn"]) == 60
            # One x range for all: the bins any shown run uses, one empty bin each side.
            assert (int(c["binLo"]), int(c["binHi"])) == (lo - 1, hi + 1)
        # The histogram's counts are what the test wrote: at the last step, run_slow's
        # gate i of the kernel holds 6 values in the +0.995^149 bin and 6 in the - bin.
        counts = frame.evaluate(
            """() => {
              const c = document.querySelector('canvas.rnn-ghist-ridges[data-run="run_slow"][data-matrix="kernel"][data-gate="i"]');
              return c.rnnRidges.maxCount;
            }"""
        )
        assert counts == 6
        # Non-finite and zero counts per small multiple, as text.
        nan_cell = frame.locator(
            'canvas.rnn-ghist-ridges[data-run="run_fast"][data-matrix="kernel"][data-gate="f"]')
        assert nan_cell.get_attribute("data-nan-steps") == "1"
        text = frame.evaluate(
            """() => document.querySelector('canvas.rnn-ghist-ridges[data-run="run_fast"][data-matrix="kernel"][data-gate="f"]')
                 .parentElement.querySelector('.rnn-ghist-nonfinite').textContent"""
        )
        assert text.startswith("NaN at 1 of 150 steps (from step 70, up to 3 values)"), text
        zero = frame.evaluate(
            """() => document.querySelector('canvas.rnn-ghist-ridges[data-run="run_slow"][data-matrix="bias"][data-gate="o"]')
                 .parentElement.querySelector('.rnn-ghist-nonfinite').textContent"""
        )
        assert zero == "exact zeros at 150 of 150 steps (from step 0, up to 4 values)"
        note = frame.text_content('.rnn-ghist-block[data-run="run_fast"] .rnn-ghist-block-heading')
        assert "Showing 60 of 150 logged steps" in note
        # The ridges are painted in the run's colour inside the plot.
        assert frame.evaluate(
            """() => {
              const c = document.querySelector('canvas.rnn-ghist-ridges[data-run="run_fast"][data-matrix="kernel"][data-gate="i"]');
              const g = c.getContext('2d'); const d = Number(c.dataset.dpr);
              const img = g.getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let k = 0; k < img.length; k += 4) if (img[k] > 200 && img[k + 1] > 90 && img[k + 1] < 150 && img[k + 2] < 110) n++;
              return n;
            }"""
        ) > 100
        # Hover on the front (newest) ridge at the bin of +0.995^149 reads step, bin and count.
        from tb_rnn_plugin import metadata

        target = 'canvas.rnn-ghist-ridges[data-run="run_slow"][data-matrix="kernel"][data-gate="i"]'
        d = frame.eval_on_selector(target, "e => ({...e.dataset})")
        b = int(np.searchsorted(np.array(metadata.HISTOGRAM_EDGES, np.float32), np.float32(0.995 ** 149), side="right"))
        frame.locator(target).scroll_into_view_if_needed()
        box = frame.locator(target).bounding_box()
        x = box["x"] + float(d["plotX"]) + (b - int(d["binLo"]) + 0.5) * float(d["binWidth"])
        y = box["y"] + float(d["plotY"]) + float(d["plotHeight"]) - 1
        page.mouse.move(x, y)
        frame.wait_for_selector(".rnn-tooltip:not([hidden])", timeout=5000)
        tip = frame.text_content(".rnn-tooltip")
        assert "run_slow" in tip and "step149" in tip.replace(" ", "") and "6 of 12 finite values" in tip, tip
        assert "[0.316, 1)" in tip, tip
        screenshot(page, "rnn_ghist_distributions.png")
        assert page.console_errors.take() == []
    finally:
        context.close()


def test_norms_values_marks_and_step(browser, server):
    context, page, frame = open_view(browser, server, "norms")
    try:
        charts = frame.eval_on_selector_all(
            "canvas.rnn-ghist-norms",
            "els => els.map(e => ({...e.dataset, lines: e.rnnNorms, marks: e.rnnMarks}))",
        )
        assert [c["matrix"] for c in charts] == ["kernel", "recurrent_kernel", "bias"]
        for chart in charts:
            assert chart["field"] == "l2_norm"
            assert len(chart["lines"]) == 2 * 4  # runs x gates
            for line in chart["lines"]:
                assert line["steps"] == list(STEPS)
                want = [expected_field(line["run"], chart["matrix"], line["gate"], s, "l2_norm") for s in STEPS]
                np.testing.assert_allclose(line["values"], want, rtol=1e-5, atol=0)
        kernel = charts[0]
        # y range in decades: from the smallest norm (gate o of run_fast at step 149:
        # 1e-3 * 0.97^149 * sqrt(12) = 3.7e-5) to the largest (gate i at step 0: sqrt(12) = 3.5).
        assert kernel["decades"] == "-5,1"
        nan_marks = [m for m in kernel["marks"] if m["kind"] == "nan"]
        assert nan_marks == [{"run": "run_fast", "gate": "f", "step": 70, "kind": "nan"}]
        assert kernel["nanMarks"] == "1"
        bias = charts[2]
        zero_marks = [m for m in bias["marks"] if m["kind"] == "zero"]
        assert len(zero_marks) == 150 and {(m["run"], m["gate"]) for m in zero_marks} == {("run_slow", "o")}
        note = frame.text_content('.rnn-ghist-norm-panel[data-matrix="kernel"] .rnn-ghist-note')
        assert "NaN" in note and "70" in note
        # The weight-decay slope: run_fast loses 0.97^149 (about 1/94) of its norm, run_slow 0.995^149.
        by = {(l["run"], l["gate"]): l["values"] for l in kernel["lines"]}
        assert by[("run_fast", "i")][-1] / by[("run_fast", "i")][0] == pytest.approx(0.97 ** 149, rel=1e-4)
        assert by[("run_slow", "i")][-1] / by[("run_slow", "i")][0] == pytest.approx(0.995 ** 149, rel=1e-4)

        # Hover reads run, gate, step and value; click selects the step.
        canvas = frame.locator('canvas.rnn-ghist-norms[data-matrix="kernel"]')
        box = canvas.bounding_box()
        d = kernel
        x = box["x"] + float(d["plotX"]) + float(d["plotWidth"]) * 100 / 149
        value = by[("run_slow", "i")][100]
        lo, hi = (int(v) for v in d["decades"].split(","))
        y = box["y"] + float(d["plotY"]) + float(d["plotHeight"]) * (1 - (np.log10(value) - lo) / (hi - lo))
        page.mouse.move(x, y)
        frame.wait_for_selector(".rnn-tooltip:not([hidden])", timeout=5000)
        tip = frame.text_content(".rnn-tooltip")
        assert "run_slow" in tip and "input gate i" in tip and "100" in tip
        page.mouse.click(x, y)
        frame.wait_for_selector('canvas.rnn-ghist-norms[data-matrix="kernel"][data-selected-step="100"]', timeout=10000)
        frame.wait_for_selector(READY, timeout=30000)

        # Another field: max |v| is c_g * decay^step.
        frame.select_option("#rnn-ghist-field", "max_abs")
        frame.wait_for_selector('canvas.rnn-ghist-norms[data-field="max_abs"]', timeout=10000)
        frame.wait_for_selector(READY, timeout=30000)
        lines = frame.evaluate(
            """() => document.querySelector('canvas.rnn-ghist-norms[data-matrix="recurrent_kernel"]').rnnNorms"""
        )
        for line in lines:
            want = [expected_field(line["run"], "recurrent_kernel", line["gate"], s, "max_abs") for s in STEPS]
            np.testing.assert_allclose(line["values"], want, rtol=1e-6)
        frame.select_option("#rnn-ghist-field", "l2_norm")
        frame.wait_for_selector(READY, timeout=30000)
        screenshot(page, "rnn_ghist_norms.png")
        assert page.console_errors.take() == []
    finally:
        context.close()


def test_own_cell_whole_matrix_and_missing_companions(browser, server):
    context, page, frame = open_view(browser, server, "distributions", layer="mycell")
    try:
        cells = frame.eval_on_selector_all("canvas.rnn-ghist-ridges", "els => els.map(e => ({...e.dataset}))")
        # Gates unknown: one chart for the whole matrix; run_slow has no such layer and says so.
        assert len(cells) == 1 and cells[0]["run"] == "run_fast" and cells[0]["gate"] == ""
        assert cells[0]["ridges"] == "3"
        assert "whole matrix (gates unknown)" in frame.text_content(".rnn-ghist-gate")
        assert "run_slow" in frame.text_content(".rnn-ghist-missing")
        frame.select_option("#rnn-view", "norms")
        frame.wait_for_selector(READY, timeout=30000)
        lines = frame.evaluate("() => document.querySelector('canvas.rnn-ghist-norms').rnnNorms")
        assert len(lines) == 1 and lines[0]["gate"] is None
        np.testing.assert_allclose(lines[0]["values"], [0.5 * (s + 1) * np.sqrt(8) for s in OWN_STEPS], rtol=1e-6)

        # A weight logged without its companions: a note, not an error, nothing drawn.
        frame.select_option("#rnn-layer", "oldw")
        frame.wait_for_selector(READY, timeout=30000)
        assert frame.locator("canvas.rnn-ghist-norms").count() == 0
        notes = " ".join(frame.eval_on_selector_all(".rnn-ghist-missing", "els => els.map(e => e.textContent)"))
        assert "run_slow: oldw/kernel/weight: logged without per-gate statistics (gate_stats)" in notes, notes
        assert "No weights" in notes and "run_fast" in notes
        frame.select_option("#rnn-view", "distributions")
        frame.wait_for_selector(READY, timeout=30000)
        notes = " ".join(frame.eval_on_selector_all(".rnn-ghist-missing", "els => els.map(e => e.textContent)"))
        assert "logged without per-gate histograms (gate_histogram)" in notes, notes
        # The browser logs the 404s themselves; nothing else may be logged.
        errors = [e for e in page.console_errors.take() if "status of 404" not in e]
        assert errors == []
    finally:
        context.close()
