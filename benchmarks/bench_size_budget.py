"""The size budget on keras-io's next-frame ConvLSTM2D, at its real size.

    python benchmarks/bench_size_budget.py [--frames 19] [--size 64] [--batch 5]

Builds the example's model as written (three ConvLSTM2D(64) layers with
BatchNormalization, a Conv3D head; inputs [batch, 19, 64, 64, 1]), runs one
logging step of RNNTensorBoard at its defaults on one batch, and prints what
a full step would have written without the budget, what it wrote, the
warning, and the seconds of that step beside one training step.
"""

import argparse
import os
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_rnn_plugin import RNNTensorBoard  # noqa: E402


def next_frame_model(frames, size):
    inp = keras.Input((frames, size, size, 1))
    x = keras.layers.ConvLSTM2D(64, (5, 5), padding="same", return_sequences=True,
                                activation="relu")(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ConvLSTM2D(64, (3, 3), padding="same", return_sequences=True,
                                activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ConvLSTM2D(64, (1, 1), padding="same", return_sequences=True,
                                activation="relu")(x)
    x = keras.layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x)
    model = keras.Model(inp, x)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
    return model


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=19)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=5)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = next_frame_model(args.frames, args.size)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.frames, args.size, args.size, 1)
    x, y = rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)
    start = time.perf_counter()
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    train_start = time.perf_counter()
    model.train_on_batch(x, y)
    train_seconds = time.perf_counter() - train_start
    log_dir = tempfile.mkdtemp()
    callback = RNNTensorBoard(log_dir, update_freq=1, probe_data=(x, y))
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log_start = time.perf_counter()
        callback.on_train_batch_end(0)
        log_seconds = time.perf_counter() - log_start
    callback.on_train_end()
    print("next-frame ConvLSTM2D, inputs %s, warm-up %.1f s" % (shape, train_start - start))
    for warning in caught:
        print("warning:", warning.message)
    print("event files after one full logging step: %.1f MB" % (directory_bytes(log_dir) / 1e6))
    print("first logging step (tracing included) %.1f s; one training step %.1f s"
          % (log_seconds, train_seconds))


if __name__ == "__main__":
    main()
