"""Gradient horizon cost vs one training step and vs the naive loop.

  python benchmarks/bench_horizon.py [--units 256 --batch 16 --timesteps 100]

Prints, for LSTM(units, return_sequences=True) -> Dense(8), mse, float32:
one Keras training step; the horizon (pfor batch_jacobian, the default)
full and with max_lag; the tiled-batch method (--tile); the loop of T backward
passes inside tf.function; and the bytes of the float32 horizon per logged
step for max_samples samples. Times are medians of --repeat calls after a
first (tracing) call, whose time is printed apart.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_rnn_plugin.summary_ops.horizon import GradientHorizon  # noqa: E402


def timed(fn, repeat):
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--max_lag", type=int, default=20)
    parser.add_argument("--max_samples", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tile", action="store_true", help="also time method='tile'")
    parser.add_argument("--no_loop", action="store_true", help="skip the naive loop")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    T = args.timesteps
    inp = keras.Input((T, args.features))
    layer = keras.layers.LSTM(args.units, return_sequences=True)
    model = keras.Model(inp, keras.layers.Dense(8)(layer(inp)))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, T, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, T, 8)).astype("float32")

    print("LSTM units=%d batch=%d timesteps=%d (float32, %d CPU cores visible)"
          % (args.units, args.batch, T, os.cpu_count()))
    rows = []
    first, step = timed(lambda: model.train_on_batch(x, y), args.repeat)
    rows.append(("one training step", first, step))

    full = GradientHorizon(model, layer)  # method="jacobian", the default
    first, t_full = timed(lambda: full(x, y), args.repeat)
    rows.append(("horizon, full T x T (pfor batch_jacobian)", first, t_full))
    lagged = GradientHorizon(model, layer, max_lag=args.max_lag)
    first, t_lag = timed(lambda: lagged(x, y), args.repeat)
    rows.append(("horizon, max_lag=%d (pfor batch_jacobian)" % args.max_lag, first, t_lag))
    if args.tile:
        tiled = GradientHorizon(model, layer, method="tile")
        first, t_tile = timed(lambda: tiled(x, y), args.repeat)
        rows.append(("horizon, full (tiled batch)", first, t_tile))
    t_loop = None
    if not args.no_loop:
        first, t_loop = timed(lambda: full.loop(x, y), 1)
        rows.append(("naive loop of T backward passes (tf.function)", first, t_loop))

    print("%-48s %12s %12s %10s" % ("", "first call s", "median s", "x step"))
    for name, first, median in rows:
        print("%-48s %12.3f %12.3f %10.1f" % (name, first, median, median / step))
    print("goals: full <= 10x step: %s; max_lag <= 2x step: %s"
          % (t_full <= 10 * step, t_lag <= 2 * step))
    if t_loop is not None:
        print("loop / full: %.1fx (goal >= 15x)" % (t_loop / t_full))
    samples = min(args.max_samples, args.batch)
    full_bytes = samples * T * T * 4
    band = samples * T * (args.max_lag + 1) * 4
    print("float32 horizon per logged step, %d samples: full [S,T,T] %d bytes (%.1f KiB); "
          "max_lag=%d as a band [S,T,%d] %d bytes (%.1f KiB)"
          % (samples, full_bytes, full_bytes / 1024, args.max_lag, args.max_lag + 1,
             band, band / 1024))


if __name__ == "__main__":
    main()
