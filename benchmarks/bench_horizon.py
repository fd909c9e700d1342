"""Gradient horizon cost vs one training step and vs the naive loop.

  python benchmarks/bench_horizon.py [--units 256 --batch 16 --timesteps 100]

For LSTM(units, return_sequences=True) -> Dense(8), mse, float32, prints side
by side, from one run: one Keras training step (train_on_batch); the horizon
by method="reverse" (the default) for the full T x T matrix and with
--max_lag, with the LSTM's hand-written reverse steps and (unless
--no_pfor) with the generic pfor ones that users' own cells take; the naive loop of T backward passes (one tape.gradient per target
over the whole model, all inside one tf.function: GradientHorizon.loop);
optionally (--jacobian) the pfor batch_jacobian method and (--tile) the tiled
batch. Times are medians of --repeat calls after a first call, whose time
(tracing included) is printed apart; the training step and the horizon calls
are interleaved in every repeat, so that the ratios compare the same load
(the machine may be shared). Then the bytes of the float32 horizon logged
per step for --max_samples samples.
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


def first_call(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--max_lag", type=int, default=20)
    parser.add_argument("--max_samples", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--loop_repeat", type=int, default=1)
    parser.add_argument("--jacobian", action="store_true", help="also time method='jacobian'")
    parser.add_argument("--tile", action="store_true", help="also time method='tile'")
    parser.add_argument("--no_loop", action="store_true", help="skip the naive loop")
    parser.add_argument("--no_pfor", action="store_true",
                        help="skip the generic (pfor) reverse steps that users' own cells take")
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

    print("LSTM units=%d batch=%d timesteps=%d features=%d (float32, %d CPU cores visible)"
          % (args.units, args.batch, T, args.features, os.cpu_count()))
    step = lambda: model.train_on_batch(x, y)
    full = GradientHorizon(model, layer)  # method="reverse", the default
    lagged = GradientHorizon(model, layer, max_lag=args.max_lag)
    timed = [
        ("one training step (train_on_batch)", step),
        ("horizon, full T x T (reverse)", lambda: full(x, y)),
        ("horizon, max_lag=%d (reverse)" % args.max_lag, lambda: lagged(x, y)),
    ]
    if not args.no_pfor:
        generic_full = GradientHorizon(model, layer, hand_written=False)
        generic_lagged = GradientHorizon(model, layer, max_lag=args.max_lag, hand_written=False)
        timed += [
            ("  same, full, generic pfor reverse steps", lambda: generic_full(x, y)),
            ("  same, max_lag=%d, generic pfor steps" % args.max_lag, lambda: generic_lagged(x, y)),
        ]
    if args.jacobian:
        jacobian = GradientHorizon(model, layer, method="jacobian")
        timed.append(("horizon, full (pfor batch_jacobian)", lambda: jacobian(x, y)))
    if args.tile:
        tiled = GradientHorizon(model, layer, method="tile")
        timed.append(("horizon, full (tiled batch)", lambda: tiled(x, y)))
    firsts = [first_call(fn) for _, fn in timed]
    times = [[] for _ in timed]
    for _ in range(args.repeat):  # interleaved: the same load for every row
        for i, (_, fn) in enumerate(timed):
            times[i].append(once(fn))
    rows = [(name, first, float(np.median(t))) for (name, _), first, t in zip(timed, firsts, times)]
    t_step, t_full, t_lag = rows[0][2], rows[1][2], rows[2][2]
    assert full.last_method == "reverse" and lagged.last_method == "reverse"
    assert full.reverse_steps == ["hand-written"], full.reverse_steps

    t_loop = None
    if not args.no_loop:
        loop_first = first_call(lambda: full.loop(x, y))
        loop_times, loop_steps = [], []
        for _ in range(args.loop_repeat):
            loop_steps.append(once(step))
            loop_times.append(once(lambda: full.loop(x, y)))
            loop_steps.append(once(step))
        t_loop = float(np.median(loop_times))
        rows.append(("naive loop of T backward passes (tf.function)", loop_first, t_loop))
        # The loop runs apart from the rest: compare it with the full
        # horizon through the training steps timed around it.
        loop_step = float(np.median(loop_steps))

    print("%-48s %12s %12s %10s" % ("", "first call s", "median s", "x step"))
    for name, first, median in rows:
        step_here = loop_step if name.startswith("naive") else t_step
        print("%-48s %12.3f %12.3f %10.1f" % (name, first, median, median / step_here))
    print("goals: full <= 10x step: %s (%.1fx); max_lag=%d <= 2x step: %s (%.1fx)"
          % (t_full <= 10 * t_step, t_full / t_step, args.max_lag, t_lag <= 2 * t_step,
             t_lag / t_step))
    if t_loop is not None:
        speedup = (t_loop / loop_step) / (t_full / t_step)
        print("naive loop / full horizon: %.1fx (goal >= 15x; each as a multiple of the "
              "training steps timed next to it)" % speedup)
    pairs_full = T * (T + 1) // 2
    pairs_lag = sum(min(t, args.max_lag) + 1 for t in range(T))
    print("cotangent steps per sample: full %d, max_lag=%d %d, naive loop %d (T per target)"
          % (pairs_full, args.max_lag, pairs_lag, T * T))
    # LSTM matrix products (the bulk of the work): a forward step costs
    # 2 B (F + U) 4U flops; a training step adds the same for the weight
    # gradients and 2 B U 4U for dL/dh; the horizon runs the forward once
    # (recorded; the generic pfor steps recompute it) and one 2 (4U) U
    # product per sample and (target, source) pair.
    B, F, U = args.batch, args.features, args.units
    forward = T * 2 * B * (F + U) * 4 * U
    train = 2 * forward + T * 2 * B * U * 4 * U
    pair = 2 * 4 * U * U
    work_full, work_lag = forward + B * pairs_full * pair, forward + B * pairs_lag * pair
    print("matmul GFLOP (lower bound on the work): training step %.2f; horizon full %.2f "
          "(%.1fx), max_lag=%d %.2f (%.1fx)"
          % (train / 1e9, work_full / 1e9, work_full / train, args.max_lag,
             work_lag / 1e9, work_lag / train))
    samples = min(args.max_samples, args.batch)
    logged = samples * T * T * 4
    band = samples * T * (args.max_lag + 1) * 4
    print("float32 horizon logged per step, %d samples: [S, T, T] %d bytes (%.1f KiB), with or "
          "without max_lag (entries beyond it are 0; as a band [S, T, %d] it would be %d bytes, "
          "%.1f KiB)" % (samples, logged, logged / 1024, args.max_lag + 1, band, band / 1024))


if __name__ == "__main__":
    main()
