"""How fast the RNN tab draws at real sizes, in headless Chromium against a real TensorBoard.

    python benchmarks/bench_draw.py [--repeats 15] [--width 1000] [--grid-width 1600]
        [--load-fast auto|true|false] [--logdir DIR]

Writes RUNS=10 runs of an "lstm" layer's state gradient, [2, 1000, 512]
float32 (4 MB a step) at 3 logged steps, starts `tensorboard` with its
default loader (`--load_fast=auto`: the Rust data server where installed,
as users run it), opens the RNN tab and times, with performance.now() in
the page (medians over --repeats):

  1. one run: the draw of the 512 x 1000 heatmap alone (drawHeatmap:
     aggregation into the panel's pixels, colours, putImageData, axes) and
     the whole redraw (data-draw-ms: every panel, colour bar, notes). The
     bins of a step are kept with its tensor, so redraws of a cached step
     (other step and back, scale changes) skip them: the first draw of a
     step, which bins its 512 x 1000 values, is printed apart;
  2. ten runs side by side: the same two figures;
  3. from a step chosen on the slider to pixels (the input event until the
     tab is ready again and one animation frame has run), for a step whose
     tensors the tab has already fetched (cached) and, once, for the first
     visit of a step (fetches 4 MB per run through TensorBoard).

Goals: < 30 ms per heatmap draw; < 200 ms from a click to pixels
for a cached step.
"""

import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import browser_util  # noqa: E402

RUNS = ["run_%02d" % i for i in range(10)]
STEPS = (0, 100, 200)
SAMPLES, T, C = 2, 1000, 512
READY = "#rnn-app[data-state=ready]"

# Chooses slider position `index`, resolves with the ms until the tab is
# ready again and the next animation frame ran (its pixels are committed).
_STEP_TO_PIXELS_JS = """(index) => new Promise((resolve) => {
  const app = document.getElementById("rnn-app");
  const slider = document.getElementById("rnn-step");
  const start = performance.now();
  const done = () => requestAnimationFrame(() => resolve(performance.now() - start));
  const observer = new MutationObserver(() => {
    if (app.dataset.state !== "loading") { observer.disconnect(); done(); }
  });
  observer.observe(app, { attributes: true, attributeFilter: ["data-state"] });
  slider.value = String(index);
  slider.dispatchEvent(new Event("input"));
  if (app.dataset.state !== "loading") { observer.disconnect(); done(); }
})"""

_DRAW_TIMES_JS = """() => ({
  redraw: Number(document.getElementById("rnn-app").dataset.drawMs),
  heatmaps: [...document.querySelectorAll("canvas.rnn-plot[data-draw-ms]")].map((c) => Number(c.dataset.drawMs)),
})"""


def gradient(run_index, step):
    """[SAMPLES, T, C]: a state gradient decaying back in time, per run and step."""
    rng = np.random.default_rng(run_index * 1000 + step)
    t = np.arange(T)[None, :, None]
    decay = 10.0 ** (-(T - 1 - t) / (100.0 + step))
    return (decay * rng.standard_normal((SAMPLES, T, C))).astype(np.float32)


def write_logdir(logdir):
    import tensorflow as tf

    import tb_rnn_plugin

    for i, run in enumerate(RUNS):
        writer = tf.summary.create_file_writer(os.path.join(logdir, run))
        with writer.as_default():
            for step in STEPS:
                tb_rnn_plugin.state_gradient(
                    "lstm/state_gradient", gradient(i, step), step=step, layer="lstm", cell="LSTM")
        writer.close()


def open_tab(browser, url, width, runs):
    context = browser.new_context(viewport={"width": width, "height": 1100})
    page = context.new_page()
    page.goto(url + "/#rnn")
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=60000)
    for box in frame.query_selector_all("#rnn-runs input[data-run]"):
        if box.is_checked() != (box.get_attribute("data-run") in runs):
            box.click()
            frame.wait_for_selector(READY, timeout=120000)
    frame.wait_for_selector(READY, timeout=120000)
    return context, frame


def median(values):
    return statistics.median(values) if values else float("nan")


def measure(browser, url, width, runs, repeats):
    """Medians (ms) of heatmap draw, whole redraw, and step-to-pixels."""
    context, frame = open_tab(browser, url, width, runs)
    try:
        last = len(STEPS) - 1
        # First visit of step 0 fetches it; then both steps are cached.
        first_visit = frame.evaluate(_STEP_TO_PIXELS_JS, 0)
        # That draw binned the step's 512 x 1000 values (later ones reuse the bins).
        first_draw = frame.evaluate(_DRAW_TIMES_JS)["heatmaps"]
        heatmap, redraw, cached = [], [], []
        for i in range(repeats):
            position = last if i % 2 == 0 else 0
            cached.append(frame.evaluate(_STEP_TO_PIXELS_JS, position))
            times = frame.evaluate(_DRAW_TIMES_JS)
            assert len(times["heatmaps"]) == len(runs), times
            heatmap.extend(times["heatmaps"])
            redraw.append(times["redraw"])
        return {
            "heatmap": median(heatmap), "heatmap_max": max(heatmap),
            "redraw": median(redraw), "cached": median(cached),
            "cached_max": max(cached), "first": first_visit,
            "heatmap_first": median(first_draw),
        }
    finally:
        context.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--width", type=int, default=1000, help="window width for one run (px)")
    parser.add_argument("--grid-width", type=int, default=1600, help="window width for ten runs (px)")
    parser.add_argument("--load-fast", default="auto", help="tensorboard --load_fast (default: its default)")
    parser.add_argument("--logdir", help="reuse or keep the logdir here")
    args = parser.parse_args()

    logdir = args.logdir or tempfile.mkdtemp(prefix="bench_draw_")
    if not os.path.exists(os.path.join(logdir, RUNS[-1])):
        print("writing %d runs x %d steps of [%d, %d, %d] to %s" % (len(RUNS), len(STEPS), SAMPLES, T, C, logdir))
        write_logdir(logdir)
    extra = () if args.load_fast == "auto" else ("--load_fast=" + args.load_fast,)
    server = browser_util.TensorBoardServer(logdir, extra_args=extra)
    try:
        server.wait_until_serving()
        server.wait_for_runs(RUNS, timeout=300)
        with browser_util.chromium() as browser:
            one = measure(browser, server.url, args.width, RUNS[:1], args.repeats)
            ten = measure(browser, server.url, args.grid_width, RUNS, args.repeats)
    finally:
        server.stop()

    print("\ntensorboard --load_fast=%s; [%d, %d, %d] state gradient; medians of %d"
          % (args.load_fast, SAMPLES, T, C, args.repeats))
    print("%-34s %12s %12s   goal" % ("", "1 run", "10 runs"))
    print("%-34s %9.1f ms %9.1f ms   < 30 ms" % ("one heatmap draw (median)", one["heatmap"], ten["heatmap"]))
    print("%-34s %9.1f ms %9.1f ms" % ("one heatmap draw (max)", one["heatmap_max"], ten["heatmap_max"]))
    print("%-34s %9.1f ms %9.1f ms   < 30 ms" % ("  first draw of a step (binning)", one["heatmap_first"], ten["heatmap_first"]))
    print("%-34s %9.1f ms %9.1f ms" % ("whole redraw, all panels", one["redraw"], ten["redraw"]))
    print("%-34s %9.1f ms %9.1f ms   < 200 ms" % ("step click to pixels, cached", one["cached"], ten["cached"]))
    print("%-34s %9.1f ms %9.1f ms" % ("  (max)", one["cached_max"], ten["cached_max"]))
    print("%-34s %9.1f ms %9.1f ms" % ("step click to pixels, first visit", one["first"], ten["first"]))
    print("ratios to goals (<= 1 meets it): heatmap %.2f / %.2f, cached step %.2f / %.2f"
          % (one["heatmap"] / 30, ten["heatmap"] / 30, one["cached"] / 200, ten["cached"] / 200))


if __name__ == "__main__":
    main()
