"""What RNNTensorBoard costs a training run, measured side by side in one process.

    python benchmarks/bench_callback.py [--steps 1000] [--repeats 5]
    python benchmarks/bench_callback.py --storage [--logs 21]

Prints, for one LSTM model trained for --steps steps:
  - fit() time with RNNTensorBoard at its default update_freq vs. without
    (ratio; goal < 1.05), and vs. keras.callbacks.TensorBoard(histogram_freq=1);
  - the time spent inside RNNTensorBoard's hooks (tracing, logging, writing)
    plus the extra trace for keeping the first batch, as a share of the
    fastest no-callback fit(): far less noisy than wall-time ratios, which
    swing by tens of percent between identical runs on a shared VM;
  - the time of one logging step vs. one training step (warm);
  - the bytes written per logging step.
Every configuration trains a fresh model from the same seed, in rotating
order, --repeats times; the median counts. The first fit() of each
configuration includes its one-off tracing, as a user's run would.

--storage measures the storage benchmark's model instead, a 2-layer LSTM(256)
on [16, 100, 32] batches: seconds per training step (warm) and per logging
step without the callback, with gate activations off and at the defaults,
and the bytes written per logging step at the defaults (bfloat16, big
tensors every 10th logging step) against full_every=1, precision="float32"
(every logging step full, float32: the storage before full_every and bfloat16). Each
configuration logs --logs steps in a row (update_freq=1, driven through the
callback's hooks), the first of them pinned.
"""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_rnn_plugin import RNNTensorBoard  # noqa: E402

TIMESTEPS, FEATURES, UNITS, BATCH = 50, 16, 64, 32


class HookTimedRNNTensorBoard(RNNTensorBoard):
    """RNNTensorBoard that adds up the seconds spent in its own hooks.

    fit() wall times on a shared 2-core VM vary by tens of percent between
    identical runs; the time inside the callback is the cost itself.
    """

    seconds = 0.0

    def _timed(hook):
        def timed(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return hook(self, *args, **kwargs)
            finally:
                HookTimedRNNTensorBoard.seconds += time.perf_counter() - start
        return timed

    on_train_begin = _timed(RNNTensorBoard.on_train_begin)
    on_epoch_begin = _timed(RNNTensorBoard.on_epoch_begin)
    on_train_batch_end = _timed(RNNTensorBoard.on_train_batch_end)
    on_train_end = _timed(RNNTensorBoard.on_train_end)


def make_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((TIMESTEPS, FEATURES))
    x = keras.layers.LSTM(UNITS, name="lstm")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def make_data(steps):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * BATCH, TIMESTEPS, FEATURES)).astype("float32")
    return x, x[:, :5, 0].sum(axis=1, keepdims=True)


def timed_fit(callbacks_for, data):
    # Each run starts from a clean Keras/TF state so earlier models do not
    # slow later ones (seen: the first configuration of a round ran slower).
    keras.backend.clear_session()
    gc.collect()
    model = make_model()
    log_dir = tempfile.mkdtemp(prefix="bench_rnn_")
    callbacks = callbacks_for(log_dir)
    start = time.perf_counter()
    model.fit(*data, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)
    return time.perf_counter() - start, model, callbacks, log_dir


CONFIGS = {
    "no callback": lambda log_dir: [],
    "RNNTensorBoard (default update_freq=%d)" % RNNTensorBoard(".").update_freq:
        lambda log_dir: [HookTimedRNNTensorBoard(log_dir)],
    "keras TensorBoard(histogram_freq=1)":
        lambda log_dir: [keras.callbacks.TensorBoard(log_dir, histogram_freq=1)],
}


def directory_bytes(path):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def per_logging_step(model, data, log_dir, repeats=10):
    """Warm seconds and bytes of one logging step, and seconds of one training step.

    Drives the callback through its Keras hooks with update_freq=1, so every
    on_train_batch_end logs; on_train_end flushes the writer.
    """
    x, y = data[0][:BATCH], data[1][:BATCH]
    callback = RNNTensorBoard(log_dir, update_freq=1, probe_data=(x, y))
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0)  # traces once
    callback.on_train_end()
    before = directory_bytes(log_dir)
    start = time.perf_counter()
    for _ in range(repeats):
        callback.on_train_batch_end(0)
    log_seconds = (time.perf_counter() - start) / repeats
    callback.on_train_end()
    log_bytes = (directory_bytes(log_dir) - before) / repeats

    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(repeats):
        model.train_on_batch(x, y)
    return log_seconds, log_bytes, (time.perf_counter() - start) / repeats


def first_batch_capture_seconds(data):
    """Extra cost of keeping the first training batch without probe_data.

    The callback trains that batch through Keras' per-batch path, which
    traces the train step once more; time that first call against a warm one.
    """
    model = make_model()
    model.fit(*data, batch_size=BATCH, steps_per_epoch=2, verbose=0)
    batch = (data[0][:BATCH], data[1][:BATCH])
    start = time.perf_counter()
    model.train_function(iter([batch]))
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.train_function(iter([batch]))
    return first - (time.perf_counter() - start)


STORAGE_TIMESTEPS, STORAGE_FEATURES, STORAGE_UNITS, STORAGE_BATCH = 100, 32, 256, 16


def make_storage_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((STORAGE_TIMESTEPS, STORAGE_FEATURES))
    x = keras.layers.LSTM(STORAGE_UNITS, return_sequences=True, name="lstm_1")(inputs)
    x = keras.layers.LSTM(STORAGE_UNITS, name="lstm_2")(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def logging_steps(model, batch, logs, **callback_args):
    """[(seconds, bytes, full)] of `logs` logging steps in a row (the first
    traces and is pinned), driven through the callback's hooks."""
    log_dir = tempfile.mkdtemp(prefix="bench_rnn_storage_")
    callback = RNNTensorBoard(log_dir, update_freq=1, probe_data=batch, **callback_args)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    steps = []
    for _ in range(logs):
        before = directory_bytes(log_dir)
        start = time.perf_counter()
        callback.on_train_batch_end(0)
        callback._writer.flush()
        seconds = time.perf_counter() - start
        steps.append((seconds, directory_bytes(log_dir) - before, callback._logs_since_full == 0))
    callback.on_train_end()
    return steps, directory_bytes(log_dir)


def storage_report(logs):
    model = make_storage_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STORAGE_BATCH, STORAGE_TIMESTEPS, STORAGE_FEATURES)).astype("float32")
    y = x[:, :5, 0].sum(axis=1, keepdims=True)
    print("2-layer LSTM(%d) on [%d, %d, %d] batches, %d logging steps per configuration"
          % (STORAGE_UNITS, STORAGE_BATCH, STORAGE_TIMESTEPS, STORAGE_FEATURES, logs))
    for _ in range(3):
        model.train_on_batch(x, y)
    sys.stdout.flush()
    start = time.perf_counter()
    repeats = 10
    for _ in range(repeats):
        model.train_on_batch(x, y)
    train = (time.perf_counter() - start) / repeats
    print("\none training step (warm, no callback)   %8.1f ms" % (train * 1e3))
    configs = [
        ("gate activations off", dict(log_gate_activations=False)),
        ("defaults", {}),
        ("full_every=1, float32", dict(full_every=1, precision="float32")),
    ]
    print("\n%-24s %8s %8s %8s %6s %13s %11s %11s %11s %11s %11s" % (
        "configuration", "log ms", "full ms", "kept ms", "ratio", "per step @100",
        "B/log step", "first step", "full step", "kept only", "long run"))
    for name, args in configs:
        steps, total = logging_steps(model, (x, y), logs, **args)
        warm = steps[1:]
        seconds = statistics.mean(s for s, _, _ in warm)  # full and kept-only steps in proportion
        full = [b for _, b, f in warm if f]
        kept = [b for _, b, f in warm if not f]
        full_bytes = statistics.median(full) if full else float("nan")
        kept_bytes = statistics.median(kept) if kept else float("nan")
        every = args.get("full_every", 10)
        long_run = full_bytes if every == 1 else (full_bytes + (every - 1) * kept_bytes) / every
        full_ms = statistics.median(s for s, _, f in warm if f) * 1e3 if full else float("nan")
        kept_ms = statistics.median(s for s, _, f in warm if not f) * 1e3 if kept else float("nan")
        print("%-24s %8.1f %8.1f %8.1f %6.2f %13.3f %11.0f %11.0f %11.0f %11.0f %11.0f" % (
            name, seconds * 1e3, full_ms, kept_ms, seconds / train, 1 + seconds / train / 100,
            total / logs, steps[0][1], full_bytes, kept_bytes, long_run))
    print("\nlog ms: one logging step, warm (mean over the steps after the first; full ms"
          "\nand kept ms: medians of the full and the companions-only ones);"
          "\nratio: to one training step; per step @100: a training step's cost with the"
          "\ncallback at update_freq=100, relative to none (1 + ratio / 100);"
          "\nB/log step: event-file bytes / logging steps over the run (the first pinned);"
          "\nfirst step: with its pinned copies; full step / kept only: medians of the warm"
          "\nsteps; long run: (full + (full_every - 1) x kept only) / full_every.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--storage", action="store_true",
                        help="the storage benchmark instead (see the docstring)")
    parser.add_argument("--logs", type=int, default=21, help="logging steps per --storage configuration")
    args = parser.parse_args()
    if args.storage:
        storage_report(args.logs)
        return
    data = make_data(args.steps)
    print("LSTM(%d) on [%d, %d, %d] batches, %d steps, %d repeats"
          % (UNITS, BATCH, TIMESTEPS, FEATURES, args.steps, args.repeats))
    timed_fit(CONFIGS["no callback"], make_data(5))  # pay TensorFlow's start-up once

    seconds = {name: [] for name in CONFIGS}
    hook_seconds = []
    names = list(CONFIGS)
    for repeat in range(args.repeats):
        # Rotate the order so no configuration always runs first.
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            callbacks_for = CONFIGS[name]
            HookTimedRNNTensorBoard.seconds = 0.0
            elapsed, model, _, _ = timed_fit(callbacks_for, data)
            seconds[name].append(elapsed)
            if HookTimedRNNTensorBoard.seconds:
                hook_seconds.append(HookTimedRNNTensorBoard.seconds)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    base = median["no callback"]
    print("\nfit() wall time (median)")
    for name, value in median.items():
        print("  %-42s %7.2f s   ratio %.3f   (runs: %s)" % (
            name, value, value / base, ", ".join("%.1f" % v for v in seconds[name])))
    # Shares of the fastest no-callback fit(): the run least slowed by the
    # VM, so the shares are not understated.
    fastest = min(seconds["no callback"])
    inside = statistics.median(hook_seconds)
    capture = first_batch_capture_seconds(data)
    print("\nshares of the fastest no-callback fit() (%.2f s):" % fastest)
    print("  time inside RNNTensorBoard's hooks (median) %5.2f s = %.3f" % (inside, inside / fastest))
    print("  keeping the first batch (one extra trace)   %5.2f s = %.3f" % (capture, capture / fastest))
    print("  callback cost, both together                %5.2f s -> ratio %.3f"
          % (inside + capture, 1 + (inside + capture) / fastest))

    log_seconds, log_bytes, step_seconds = per_logging_step(
        model, data, tempfile.mkdtemp(prefix="bench_rnn_step_")
    )
    print("\none logging step (warm)   %7.1f ms" % (log_seconds * 1e3))
    print("one training step (warm)  %7.1f ms   ratio %.2f" % (step_seconds * 1e3, log_seconds / step_seconds))
    print("bytes per logging step    %7.0f B (%.1f KiB)" % (log_bytes, log_bytes / 1024))


if __name__ == "__main__":
    main()
