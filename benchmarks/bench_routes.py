"""What the plugin's routes cost on big logs, against real TensorBoard processes.

    python benchmarks/bench_routes.py [--repeats 50] [--index-steps 5] [--skip-big]
        [--plugin-checkout DIR] [--logdir DIR]

Run from anywhere; the tensorboard subprocesses load the plugin from this
checkout, or from --plugin-checkout (e.g. `git archive 03c64ae | tar -x -C
/tmp/before` for the figures before a change; logs are written with this
checkout's writers either way). Prints, side by side for
`tensorboard --load_fast=true` (Rust data server) and `--load_fast=false`:

  1. Index: RUNS=100 runs x 50 tags (16 LSTM layers x 3 quantities + 2
     masks, with stats and pinned companions, as the callback writes them).
     /data/plugin/rnn/tags p50/p95 over --repeats requests, gzip accepted
     as a browser does:
       - first: the very first /tags after the logdir is loaded (one number);
       - cold: the first request after the plugin's index cache expired
         (it lives one --reload_interval; the bench waits that out);
       - warm: back-to-back requests within the cache's lifetime;
     and TensorBoard's own /data/runs for comparison, plus the payload size.
  2. One /tensor of an 8 MB [4, 1000, 512] float32 state gradient, with 5
     vs 40 steps logged (two runs of one logdir): p50 over --repeats, and
     the ratio (goal: ~1, the cost must not grow with the steps logged).

The machine is shared and noisy: every figure is a median of many requests,
and the loaders are measured in one run so they can be compared.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import test_big_logs as big  # noqa: E402
import test_broken_logs as broken  # noqa: E402

PREFIX = "/data/plugin/rnn"
RELOAD_INTERVAL = 1


def fetch(url, gzip_ok=True):
    """(seconds, status, bytes on the wire) of one GET."""
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    request = urllib.request.Request(url, headers=headers)
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        status = response.status
    return time.perf_counter() - start, status, len(body)


def percentiles(seconds):
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def wait_until_loaded(server, path, expected_steps, timeout=300):
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = server.get(path)
        if status == 200 and len(json.loads(body)["steps"]) == expected_steps:
            return
        time.sleep(0.5)
    raise TimeoutError(path)


def bench_index(logdir, load_fast, repeats):
    runs = ["run_%03d" % r for r in range(big.RUNS)]
    server = broken.ServerClient(logdir, load_fast=load_fast)
    try:
        # Wait for TensorBoard to list every run without asking the plugin.
        server.server.wait_until_serving(timeout=300)
        deadline = time.monotonic() + 300
        import json

        while time.monotonic() < deadline:
            status, _, body = server.get("/data/runs")
            if status == 200 and len(json.loads(body)) >= len(runs):
                break
            time.sleep(0.5)
        time.sleep(2 * RELOAD_INTERVAL + 1)  # let the last reload settle
        url = server.url + PREFIX + "/tags"
        first, status, size = fetch(url)
        assert status == 200
        warm, cold, runs_times = [], [], []
        for _ in range(repeats):
            warm.append(fetch(url)[0])
            runs_times.append(fetch(server.url + "/data/runs")[0])
        for _ in range(max(10, repeats // 3)):
            time.sleep(RELOAD_INTERVAL + 0.1)
            cold.append(fetch(url)[0])
        plain = fetch(url, gzip_ok=False)[2]
        return {
            "first": first * 1000,
            "cold": percentiles(cold),
            "warm": percentiles(warm),
            "runs": percentiles(runs_times),
            "gzip_bytes": size,
            "json_bytes": plain,
            "cold_n": len(cold),
        }
    finally:
        server.stop()


def bench_listing(logdir, load_fast, repeats):
    """p50/p95 ms of listing and encoding the whole index in-process (what the
    first /tags and every background refresh cost), over TensorBoard's
    data provider of each loader: MultiplexerDataProvider, or the Rust data
    server's GrpcDataProvider."""
    from tensorboard import context
    from tensorboard.plugins import base_plugin

    from tb_rnn_plugin import plugin as rnn_plugin

    ingester = None
    if load_fast:
        from tensorboard.data import server_ingester
        from tensorboard.util import grpc_util

        ingester = server_ingester.SubprocessServerDataIngester(
            server_ingester.get_server_binary(), logdir, reload_interval=0,
            channel_creds_type=grpc_util.ChannelCredsType.LOCAL,
            samples_per_plugin={"rnn": 100, "rnn_kept": 0},
        )
        ingester.start()
        provider = ingester.data_provider
    else:
        from tb_reading import data_provider_over

        provider = data_provider_over(logdir, samples=100)
    try:
        ctx = context.RequestContext()
        plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=provider))
        expected = big.RUNS * big.TAGS
        deadline = time.monotonic() + 300
        while sum(map(len, plugin.store.read_index(ctx, "").index["runs"].values())) < expected:
            assert time.monotonic() < deadline, "index not loaded"
            time.sleep(0.5)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            plugin.store.read_index(ctx, "")
            seconds.append(time.perf_counter() - start)
        return percentiles(seconds)
    finally:
        if ingester is not None:
            ingester._stdin_handle.close()  # the data server runs --die-after-stdin


def bench_tensor(logdir, load_fast, repeats, step_counts):
    server = broken.ServerClient(logdir, load_fast=load_fast)
    result = {}
    try:
        server.start(runs=["steps_%d" % n for n in step_counts], timeout=300)
        for n in step_counts:
            run = "steps_%d" % n
            wait_until_loaded(
                server, PREFIX + "/steps?" + broken.query(run=run, tag=big.BIG_TAG), n
            )
        for n in step_counts:  # warm both once, then alternate
            fetch(server.url + PREFIX + "/tensor?" + broken.query(run="steps_%d" % n, tag=big.BIG_TAG, step=n - 1))
        times = {n: [] for n in step_counts}
        for _ in range(repeats):
            for n in step_counts:
                url = server.url + PREFIX + "/tensor?" + broken.query(
                    run="steps_%d" % n, tag=big.BIG_TAG, step=n - 1
                )
                seconds, status, size = fetch(url)
                assert status == 200 and size == 4 * 4 * 1000 * 512, (status, size)
                times[n].append(seconds)
        for n in step_counts:
            result[n] = percentiles(times[n])
        return result
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--index-steps", type=int, default=5)
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--logdir", default=None, help="reuse/keep logs here")
    parser.add_argument(
        "--plugin-checkout", default=ROOT,
        help="source checkout whose tb_rnn_plugin the tensorboard processes load",
    )
    args = parser.parse_args()
    broken.ROOT = os.path.abspath(args.plugin_checkout)  # ServerClient's PYTHONPATH
    print("plugin loaded by tensorboard from %s" % broken.ROOT)
    root = args.logdir or tempfile.mkdtemp(prefix="bench_routes_")
    loaders = (True, False)

    if not args.skip_index:
        index_dir = os.path.join(root, "index")
        if not os.path.isdir(index_dir):
            start = time.perf_counter()
            big.write_index_logdir(index_dir, steps=args.index_steps)
            print("wrote %d runs x %d tags x %d steps in %.1f s"
                  % (big.RUNS, big.TAGS, args.index_steps, time.perf_counter() - start))
        print("\n/tags over %d runs x %d tags (ms; p50 / p95; %d requests each)"
              % (big.RUNS, big.TAGS, args.repeats))
        print("  first: the first /tags after loading; expired: the first request after"
              " the index cache's lifetime\n  (--reload_interval %d s); warm: back to back"
              % RELOAD_INTERVAL)
        print("%-16s %8s %16s %16s %16s %14s" % (
            "loader", "first", "expired", "warm", "/data/runs", "gzip / json"))
        for load_fast in loaders:
            r = bench_index(index_dir, load_fast, args.repeats)
            print("%-16s %8.1f %7.1f / %6.1f %7.1f / %6.1f %7.1f / %6.1f %5.0f / %4.0f kB" % (
                "load_fast=%s" % str(load_fast).lower(), r["first"], *r["cold"], *r["warm"],
                *r["runs"], r["gzip_bytes"] / 1e3, r["json_bytes"] / 1e3))
        if broken.ROOT == ROOT:
            print("\nlisting + encoding the index in-process, this checkout (ms; p50 / p95;"
                  " %d listings)" % min(args.repeats, 30))
            for load_fast in loaders:
                p50, p95 = bench_listing(index_dir, load_fast, min(args.repeats, 30))
                print("%-16s %7.1f / %6.1f" % ("load_fast=%s" % str(load_fast).lower(), p50, p95))

    if not args.skip_big:
        big_dir = os.path.join(root, "big")
        counts = (5, 40)
        if not os.path.isdir(big_dir):
            start = time.perf_counter()
            for n in counts:
                big.write_big_logdir(big_dir, steps=n, run="steps_%d" % n)
            print("\nwrote %s steps of %s float32 in %.1f s"
                  % (" and ".join(map(str, counts)), list(big.BIG_SHAPE), time.perf_counter() - start))
        print("\n/tensor of one 8 MB step (ms; p50 / p95; %d requests each)" % args.repeats)
        print("%-16s %18s %18s %10s" % ("loader", "5 steps logged", "40 steps logged", "40 / 5"))
        for load_fast in loaders:
            r = bench_tensor(big_dir, load_fast, args.repeats, counts)
            print("%-16s %9.1f / %6.1f %9.1f / %6.1f %10.2f" % (
                "load_fast=%s" % str(load_fast).lower(), *r[5], *r[40], r[40][0] / r[5][0]))
    print("\nlogs in %s" % root)


if __name__ == "__main__":
    main()
