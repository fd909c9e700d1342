"""What RNNTensorBoard costs a training run, measured side by side in one process.

    python benchmarks/bench_callback.py [--steps 1000] [--repeats 3]

Prints, for one LSTM model trained for --steps steps:
  - fit() time with RNNTensorBoard at its default update_freq vs. without
    (ratio; goal < 1.05), and vs. keras.callbacks.TensorBoard(histogram_freq=1);
  - the time of one logging step vs. one training step (warm);
  - the bytes written per logging step.
Every configuration trains a fresh model from the same seed, in rotating
order, --repeats times; the median counts. The first fit() of each
configuration includes its one-off tracing, as a user's run would.
"""

import argparse
import gc
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_rnn_plugin import RNNTensorBoard  # noqa: E402

TIMESTEPS, FEATURES, UNITS, BATCH = 50, 16, 64, 32


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
        lambda log_dir: [RNNTensorBoard(log_dir)],
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = make_data(args.steps)
    print("LSTM(%d) on [%d, %d, %d] batches, %d steps, %d repeats"
          % (UNITS, BATCH, TIMESTEPS, FEATURES, args.steps, args.repeats))
    timed_fit(CONFIGS["no callback"], make_data(5))  # pay TensorFlow's start-up once

    seconds = {name: [] for name in CONFIGS}
    names = list(CONFIGS)
    for repeat in range(args.repeats):
        # Rotate the order so no configuration always runs first.
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            callbacks_for = CONFIGS[name]
            elapsed, model, _, _ = timed_fit(callbacks_for, data)
            seconds[name].append(elapsed)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    base = median["no callback"]
    print("\nfit() wall time (median)")
    for name, value in median.items():
        print("  %-42s %7.2f s   ratio %.3f" % (name, value, value / base))

    log_seconds, log_bytes, step_seconds = per_logging_step(
        model, data, tempfile.mkdtemp(prefix="bench_rnn_step_")
    )
    print("\none logging step (warm)   %7.1f ms" % (log_seconds * 1e3))
    print("one training step (warm)  %7.1f ms   ratio %.2f" % (step_seconds * 1e3, log_seconds / step_seconds))
    print("bytes per logging step    %7.0f B (%.1f KiB)" % (log_bytes, log_bytes / 1024))


if __name__ == "__main__":
    main()
