"""How fast the text views draw a long sequence with a big vocabulary, in
headless Chromium against a real TensorBoard.

    python benchmarks/bench_text_view.py [--repeats 15] [--tokens 1000]
        [--vocabulary 50000] [--units 64] [--width 1600]

Writes two runs of an "lstm" layer: tokens [2, tokens] drawn from a
vocabulary of --vocabulary words (in the series' metadata, as the callback
writes it), activations [2, tokens, units] and an input dependency [2,
tokens, tokens] (a loss at every position). Opens the RNN tab and times,
medians over --repeats:

  1. the text view: the whole redraw (the app's data-draw-ms: ranking the
     units over the sequence, one cell per token and run, colours, colour
     bar) after a click on a ranked unit, and from that click until the
     tab is ready again and one animation frame has run;
  2. the input dependency view: recolouring every token of both runs for
     a new loss position t as the slider moves (data-recolour-ms), and the
     whole redraw after the slider is let go.

Goal: every figure under 100 ms (the tab stays responsive).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402

import browser_util  # noqa: E402

RUNS = ("run_a", "run_b")
READY = "#rnn-app[data-state=ready]"


def write_logdir(logdir, tokens, vocabulary, units):
    import tensorflow as tf

    import tb_rnn_plugin
    from tb_rnn_plugin import kinds
    from tb_rnn_plugin import metadata

    rng = np.random.default_rng(0)
    words = ["w%05d" % i for i in range(vocabulary)]
    ids = rng.integers(0, vocabulary, size=(2, tokens)).astype(np.float32)

    def blob(tag, data, kind, **fields):
        tensor = tf.reshape(tf.io.serialize_tensor(tf.constant(data, tf.float32)), [1])
        tf.summary.write(tag=tag, tensor=tensor, step=0, metadata=metadata.create_summary_metadata(kind, **fields))

    k = np.arange(tokens)[:, None]
    j = np.arange(tokens)[None, :]
    for i, run in enumerate(RUNS):
        with tf.summary.create_file_writer(os.path.join(logdir, run)).as_default():
            blob("lstm/tokens", ids, kinds.TOKENS, layer="lstm", vocabulary=words)
            values = np.tanh(rng.normal(size=(2, tokens, units))).astype(np.float32)
            tb_rnn_plugin.activation("lstm/activation", values, step=0, layer="lstm", cell="LSTM")
            rate = 0.9 if i == 0 else 0.7
            rows = np.where(j <= k, rate ** np.maximum(k - j, 0), 0.0).astype(np.float32)
            blob("lstm/input_dependency", np.stack([rows, rows]), kinds.INPUT_DEPENDENCY, layer="lstm")


def link(view, kind):
    state = {"runs": list(RUNS), "runsChosen": True, "layer": "lstm", "kind": kind, "view": view,
             "lastStep": True, "sampleMode": "sample", "sample": 0, "textUnit": None, "textSpan": None,
             "dependencyT": None}
    return "#rnn&rnn=%s" % urllib.parse.quote(json.dumps(state))


def open_view(browser, url, view, kind, width):
    context = browser.new_context(viewport={"width": width, "height": 1200})
    page = context.new_page()
    page.goto(url + "/" + link(view, kind))
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=120000)
    frame.wait_for_selector(".rnn-token-strip", timeout=120000)
    return context, page, frame


# Clicks the n-th ranked unit and resolves, once the tab is ready again and
# a frame has been painted, with [ms from the click, the app's draw ms].
_CLICK_UNIT = """(n) => new Promise((resolve) => {
  const app = document.querySelector('#rnn-app');
  const before = app.dataset.drawMs;
  const start = performance.now();
  document.querySelectorAll('.rnn-unit-chip')[n].click();
  const poll = () => {
    if (app.dataset.state === 'ready' && app.dataset.drawMs !== before) {
      requestAnimationFrame(() => resolve([performance.now() - start, Number(app.dataset.drawMs)]));
    } else requestAnimationFrame(poll);
  };
  poll();
})"""

# Moves the dependency slider to index i (an input event: recolour in place).
_MOVE_T = """(i) => {
  const input = document.querySelector('#rnn-dependency-t');
  input.value = String(i);
  input.dispatchEvent(new Event('input'));
  return Number(document.querySelector('.rnn-dependency-view').dataset.recolourMs);
}"""


def bench_text(browser, url, args):
    context, page, frame = open_view(browser, url, "text", "activation", args.width)
    cells = frame.evaluate("() => document.querySelectorAll('.rnn-token').length")
    click, draw = [], []
    for i in range(args.repeats):
        total, ms = frame.evaluate(_CLICK_UNIT, 1 + i % 5)
        click.append(total)
        draw.append(ms)
    context.close()
    return cells, statistics.median(draw), statistics.median(click)


def bench_dependency(browser, url, args):
    context, page, frame = open_view(browser, url, "input_dependency", "input_dependency", args.width)
    recolour = [frame.evaluate(_MOVE_T, (37 * i) % args.tokens) for i in range(args.repeats)]
    draws = []
    for i in range(min(5, args.repeats)):
        before = frame.evaluate("() => document.querySelector('#rnn-app').dataset.drawMs")
        frame.evaluate("(i) => { const s = document.querySelector('#rnn-dependency-t'); s.value = String(i); "
                       "s.dispatchEvent(new Event('change')); }", 100 + 50 * i)
        frame.wait_for_function("(b) => { const a = document.querySelector('#rnn-app'); "
                                "return a.dataset.state === 'ready' && a.dataset.drawMs !== b; }", arg=before)
        draws.append(float(frame.evaluate("() => document.querySelector('#rnn-app').dataset.drawMs")))
    context.close()
    return statistics.median(recolour), statistics.median(draws)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--vocabulary", type=int, default=50000)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--width", type=int, default=1600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logdir:
        started = time.perf_counter()
        write_logdir(logdir, args.tokens, args.vocabulary, args.units)
        print("wrote 2 runs of %d tokens, vocabulary %d, %d units in %.1f s"
              % (args.tokens, args.vocabulary, args.units, time.perf_counter() - started))
        with browser_util.serving(logdir, RUNS) as tb, browser_util.chromium() as browser:
            cells, draw, click = bench_text(browser, tb.url, args)
            print("text view, 2 runs x %d tokens (%d cells): redraw %.1f ms, click to pixels %.1f ms (medians of %d)"
                  % (args.tokens, cells, draw, click, args.repeats))
            recolour, redraw = bench_dependency(browser, tb.url, args)
            print("input dependency, 2 runs x %d tokens: recolour for a new t %.1f ms, whole redraw %.1f ms"
                  % (args.tokens, recolour, redraw))


if __name__ == "__main__":
    main()
