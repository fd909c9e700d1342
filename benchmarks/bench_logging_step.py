"""A logging step's cost in training steps, beside Keras' own TensorBoard.

    python benchmarks/bench_logging_step.py [--repeats 20]

For the two models of the cost goals, an LSTM(64) on [32, 50, 16] batches
and a 2-layer LSTM(256) on [16, 100, 32] batches, prints in one run, as CPU
time of the process (all threads; steadier than wall time on a shared
machine), medians over --repeats, all warm:
  - one training step (train_on_batch);
  - one RNNTensorBoard logging step at the defaults, averaged over a
    full_every cycle (1 full step, 9 writing only the kept series), and one
    full step;
  - keras.callbacks.TensorBoard(histogram_freq=1)'s work at an epoch end
    (its weight histograms), for comparison;
each also as a multiple of the training step, and what the defaults cost a
training run at update_freq=100.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tb_rnn_plugin import RNNTensorBoard  # noqa: E402

MODELS = {
    "LSTM(64), [32, 50, 16]": ((32, 50, 16), [64]),
    "2-layer LSTM(256), [16, 100, 32]": ((16, 100, 32), [256, 256]),
}


def make(shape, units):
    keras.utils.set_random_seed(0)
    layers = [keras.Input(shape[1:])]
    layers += [keras.layers.LSTM(u, return_sequences=True) for u in units]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    return model, rng.normal(size=shape).astype("float32"), rng.normal(size=shape[:2] + (1,)).astype("float32")


def cpu_seconds(fn, repeats):
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def logging_costs(model, x, y, repeats):
    callback = RNNTensorBoard(tempfile.mkdtemp(), update_freq=1, probe_data=(x, y))
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for _ in range(2 * callback.full_every):  # traces every storage variant
        callback.on_train_batch_end(0)

    def cycle():
        for _ in range(callback.full_every):
            callback.on_train_batch_end(0)

    per_log = cpu_seconds(cycle, max(2, repeats // 5)) / callback.full_every
    full_every, callback.full_every = callback.full_every, 1
    full = cpu_seconds(lambda: callback.on_train_batch_end(0), repeats)
    callback.full_every = full_every
    callback.on_train_end()
    return per_log, full


def keras_tensorboard_cost(model, x, y, repeats):
    callback = keras.callbacks.TensorBoard(tempfile.mkdtemp(), histogram_freq=1)
    callback.set_model(model)
    callback.on_train_begin()
    cost = cpu_seconds(lambda: callback.on_epoch_end(0), repeats)
    callback.on_train_end()
    return cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for name, (shape, units) in MODELS.items():
        model, x, y = make(shape, units)
        train = cpu_seconds(lambda: model.train_on_batch(x, y), args.repeats)
        per_log, full = logging_costs(model, x, y, args.repeats)
        histograms = keras_tensorboard_cost(model, x, y, args.repeats)
        print(name)
        print("  training step                          %7.1f ms CPU" % (1e3 * train))
        for label, cost in (
            ("RNNTensorBoard logging step (defaults)", per_log),
            ("RNNTensorBoard full logging step", full),
            ("keras TensorBoard(histogram_freq=1)", histograms),
        ):
            print("  %-38s %7.1f ms CPU = %.2f training steps" % (label, 1e3 * cost, cost / train))
        print("  defaults at update_freq=100: training costs %.3fx" % (1 + per_log / (100 * train)))


if __name__ == "__main__":
    main()
