"""What input_dependency=True adds to a logging step of the demo's
--task delayed model.

    python benchmarks/bench_input_dependency.py [--cell LSTM --repeats 7]

The model, probe batch and callback options are the demo's (tb_rnn_plugin/
demo.py, --task delayed at its defaults: Embedding(10, 8) -> LSTM(32,
return_sequences) -> Dense softmax over 24 timesteps, the first training
batch of 64 as the probe, 8 samples written, every step full, the gradient
horizon by method "tile" with the labels row). Prints, as CPU time of the
process (all threads; steadier than wall time on a shared machine), medians
over --repeats, all warm: one training step (train_on_batch), one logging
step without and with input_dependency=True (the two callbacks called in
turn in every repeat, so that they compare the same load), and the ratio.
The first (tracing) call of each is printed apart.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from tb_rnn_plugin import RNNTensorBoard  # noqa: E402
from tb_rnn_plugin import demo  # noqa: E402
from tb_rnn_plugin.summary_ops.dependency import InputDependency  # noqa: E402

BATCH = 64  # the demo's batch size, so its probe batch


def cpu_seconds(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


def callback(log_dir, probe, **extra):
    return RNNTensorBoard(
        log_dir, update_freq=1, max_samples=8, full_every=1, probe_data=probe,
        gradient_horizon={"method": "tile"}, vocabulary=demo.TOKENS, **extra
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cell", default="LSTM", choices=demo.CELLS)
    parser.add_argument("--timesteps", type=int, default=24)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--delay", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--method", default=None, choices=InputDependency.METHODS,
                        help="input_dependency's method (default: its own default)")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    x, y = demo.make_delayed_recall_data(BATCH, args.timesteps, args.delay, seed=0)
    model = demo.build_model(args.cell, args.timesteps, args.units, every_step=True)
    model.train_on_batch(x, y)  # builds the optimizer: the callbacks read its step
    with tempfile.TemporaryDirectory() as logdir:
        callbacks = {
            "without": callback(os.path.join(logdir, "without"), (x, y)),
            "with input_dependency": callback(
                os.path.join(logdir, "with"), (x, y),
                input_dependency={"method": args.method} if args.method else True,
            ),
        }
        for cb in callbacks.values():
            cb.set_model(model)
            cb.on_train_begin()
        first = {name: cpu_seconds(cb._log_now) for name, cb in callbacks.items()}
        times = {name: [] for name in ["training step"] + list(callbacks)}
        for _ in range(args.repeats):
            times["training step"].append(cpu_seconds(lambda: model.train_on_batch(x, y)))
            for name, cb in callbacks.items():
                times[name].append(cpu_seconds(cb._log_now))
        # Which method ran (a fallback says so), and that it did run.
        [collector] = [c for c in callbacks["with input_dependency"]._layer_collectors
                       if hasattr(c, "_dependencies")]
        ran = [d.last_method for d in collector._dependencies.values() if d is not None]
        for cb in callbacks.values():
            cb.on_train_end()
    median = {name: statistics.median(values) for name, values in times.items()}
    print("demo --task delayed, %s(%d), T=%d, probe batch %d, method %s; CPU seconds, "
          "median of %d" % (args.cell, args.units, args.timesteps, BATCH,
                            args.method or "default", args.repeats))
    print("%-44s %9.4f s" % ("one training step", median["training step"]))
    for name in callbacks:
        print("%-44s %9.4f s  (%.1f training steps; first call %.2f s)" % (
            "one logging step, " + name, median[name],
            median[name] / median["training step"], first[name]))
    print("input dependency computed by method(s): %s" % (ran or "none: it was dropped"))
    ratio = median["with input_dependency"] / median["without"]
    print("logging step with / without input_dependency: %.2f" % ratio)


if __name__ == "__main__":
    main()
