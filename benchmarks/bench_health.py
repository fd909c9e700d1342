"""What /health costs on a big logdir.

    python benchmarks/bench_health.py [--runs 10] [--steps 500] [--repeats 5]

Writes RUNS runs x 2 LSTM layers x STEPS logged steps of every kept series
the callback writes per layer (stats and profile of 3 quantities, 4 gates
and the cell state; stats, gate_stats and gate_histogram of 3 weights and
their gradients; unit_health), each big series at step 0 only (the route
reads kept series; the index needs the big ones listed). Event protos are
written directly (no TensorFlow), NaN from step STEPS/2 on in run_0.

Prints /health over TensorBoard's Python data provider in process (first
request, and again when cached), then over real `tensorboard` processes
(--load_fast=true, the Rust data server, and false): the first request,
and p50 of --repeats (cached; the plugin re-lists the kept series each
time to see new steps).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.summary.writer import event_file_writer  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from tb_rnn_plugin import metadata  # noqa: E402

SAMPLES, T, UNITS = 4, 100, 64
GATES = [dict(name=n, start=UNITS * k, stop=UNITS * (k + 1)) for k, n in enumerate("ifco")]


def _value(tag, array, md):
    return summary_pb2.Summary.Value(tag=tag, metadata=md, tensor=tensor_util.make_tensor_proto(array))


def write_run(path, steps, nan_from):
    writer = event_file_writer.EventFileWriter(path)
    blob = np.array([b"x"], dtype=object)
    first = {}
    rng = np.random.default_rng(0)
    profile = rng.uniform(0.1, 1, (SAMPLES, T)).astype(np.float32)
    stats = np.array([1, 1, 0, 0, 0], np.float32)
    bad_stats = np.array([1, 1, 3, 0, 0], np.float32)
    gate_stats = np.ones((4, len(metadata.GATE_STAT_FIELDS)), np.float32)
    histogram = np.ones((4, len(metadata.HISTOGRAM_EDGES) + 1), np.float32)
    health = np.zeros((UNITS, 6), np.float32)
    for step in range(steps):
        values = []

        def add(tag, array, kind, **fields):
            md = None
            if tag not in first:
                first[tag] = True
                md = metadata.create_summary_metadata(kind, **fields)
            values.append(_value(tag, array, md))

        bad = nan_from is not None and step >= nan_from
        for layer in ("lstm_a", "lstm_b"):
            common = dict(layer=layer, cell="LSTM")
            series = [("activation", metadata.ACTIVATION, {}), ("output_gradient", metadata.OUTPUT_GRADIENT, {}),
                      ("state_gradient", metadata.STATE_GRADIENT, {}), ("cell_state", metadata.CELL_STATE, {})]
            series += [("gate_" + g, metadata.GATE_ACTIVATION, {"gate": g}) for g in "ifco"]
            for name, kind, extra in series:
                tag = "%s/%s" % (layer, name)
                if step == 0:
                    add(tag, blob, kind, **common, **extra)
                add(tag + "/stats", bad_stats if bad else stats, metadata.STATS, of_tag=tag, **common)
                add(tag + "/profile", profile, metadata.PROFILE, of_tag=tag, **common)
            for matrix in ("kernel", "recurrent_kernel", "bias"):
                for kind in metadata.WEIGHT_KINDS:
                    tag = "%s/%s/%s" % (layer, matrix, kind)
                    wfields = dict(common, matrix=matrix, gates=GATES)
                    if step == 0:
                        add(tag, blob, kind, **wfields)
                    add(tag + "/stats", stats, metadata.STATS, of_tag=tag, **common)
                    add(tag + "/gate_stats", gate_stats, metadata.GATE_STATS, of_tag=tag, **wfields)
                    add(tag + "/gate_histogram", histogram, metadata.GATE_HISTOGRAM, of_tag=tag, **wfields)
            tag = "%s/activation" % layer
            add(tag + "/unit_health", health, metadata.UNIT_HEALTH, of_tag=tag,
                fields=["dead", "saturated_share", "saturated", "gate_saturated_share",
                        "gradient_ratio", "exploding"], thresholds={"dead": 1e-7}, **common)
        writer.add_event(event_pb2.Event(step=step, wall_time=1e9 + step,
                                         summary=summary_pb2.Summary(value=values)))
    writer.close()


def write_logdir(root, runs, steps):
    for r in range(runs):
        write_run(os.path.join(root, "run_%d" % r), steps, steps // 2 if r == 0 else None)


def in_process(root, repeats):
    from tensorboard import context
    from tensorboard.plugins import base_plugin

    from tb_reading import data_provider_over
    from tb_rnn_plugin import health_service
    from tb_rnn_plugin import plugin as rnn_plugin

    start = time.perf_counter()
    dp = data_provider_over(root)
    loaded = time.perf_counter() - start
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, sampling_hints={}))
    ctx = context.RequestContext()
    start = time.perf_counter()
    body = plugin.health_impl(ctx, "")
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        plugin.health_impl(ctx, "")
        warm.append(time.perf_counter() - start)
    one_run = []
    for _ in range(repeats):
        plugin.health_service.cache = health_service.HealthCache()
        start = time.perf_counter()
        plugin.health_impl(ctx, "", run="run_0")
        one_run.append(time.perf_counter() - start)
    return loaded, first, statistics.median(warm), statistics.median(one_run), body


def over_server(root, runs, repeats, load_fast):
    import browser_util

    tb = browser_util.TensorBoardServer(root, ["--load_fast=%s" % load_fast])
    try:
        tb.wait_until_serving(timeout=300)
        tb.wait_for_runs(["run_%d" % r for r in range(runs)], timeout=600)
        url = tb.url + "/data/plugin/rnn/health"
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=300) as response:
                body = json.loads(response.read())
            times.append(time.perf_counter() - start)
        return times[0], statistics.median(times[1:]), body
    finally:
        tb.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--logdir", help="write the logs here (kept), or reuse them if there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.logdir or scratch
        start = time.perf_counter()
        if not (args.logdir and os.path.isdir(os.path.join(root, "run_0"))):
            write_logdir(root, args.runs, args.steps)
        print("wrote %d runs x 2 layers x %d steps in %.1f s" % (args.runs, args.steps, time.perf_counter() - start))
        loaded, first, warm, one_run, body = in_process(root, args.repeats)
        rows = body["rows"]
        print("in process (Python data provider; loading took %.1f s):" % loaded)
        print("  /health, all %d runs, first: %.3f s (%.3f s per run); cached: %.4f s" % (
            args.runs, first, first / args.runs, warm))
        print("  /health?run=run_0, not cached: %.3f s (p50)" % one_run)
        bad = [r for r in rows if r["nonfinite"]]
        print("  %d rows, %d with a NaN: %s" % (len(rows), len(bad),
              [(r["run"], r["layer"], r["nonfinite"]["step"], r["nonfinite"]["tag"]) for r in bad]))
        if not args.no_server:
            for load_fast in ("true", "false"):
                first, p50, _ = over_server(root, args.runs, args.repeats, load_fast)
                print("tensorboard --load_fast=%s: first /health %.3f s (%.3f s per run), then p50 %.3f s"
                      % (load_fast, first, first / args.runs, p50))


if __name__ == "__main__":
    main()
