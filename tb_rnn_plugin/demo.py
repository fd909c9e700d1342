"""Demo: train an LSTM, a GRU and a SimpleRNN on a long-range recall task.

    python -m tb_rnn_plugin.demo --logdir logs/demo
    python -m tb_rnn_plugin.demo --task delayed --delay 5 --logdir logs/delayed

--task first (the default): each sequence is a run of random tokens, padded
at the end with 0 (masked). The label is the FIRST token, so the loss at the
last step depends on information `--timesteps` steps back. With the
defaults (40 timesteps, 6 epochs, Adam 0.03, 32 units), measured: the GRU
solves it (validation accuracy 1.00 from the third epoch) and its state
gradient reaches the first timestep at about the size it has at the last
(the median per-sample ||dL/dh_0|| / ||dL/dh_T|| is 0.90). The LSTM
(forget-gate bias 1) and the SimpleRNN stay near chance (0.13 each; chance
is 1/9) and the tab flags both VANISHING: median ratio 6.8e-6 (7 of the 8
probe samples below the health overview's 1e-3 level) and 3.9e-15 (8 of 8,
with 23 of the SimpleRNN's 32 units saturated), so the first token does not
reach their weights. The LSTM is on a plateau, not at a limit: with shorter
sequences it begins to learn (docs/guide/long_term_dependencies.md).

--task delayed: a label at every timestep, the input token `--delay` steps
earlier (0 before that). The runs also log the gradient horizon: a model
that learned the task shows the loss at t reaching back to t - delay; and
the labels row (true and predicted token per timestep, named by TOKENS).

Seeded and deterministic on CPU: the data (seed 0), each run's weights and
shuffling (keras.utils.set_random_seed) and TensorFlow's ops
(tf.config.experimental.enable_op_determinism), so two runs with the same
arguments log the same values. All runs probe the same batch (the first 8
sequences of the data, probe_data=), so "sample 0" is one sequence in every
run. At the end it prints each run's validation accuracy and the tab's
summary sentences for it (tb_rnn_plugin/demo_summary.py), then TensorBoard starts
on --logdir (unless --no-tensorboard).

TensorFlow is imported inside train(): the plugin package never needs it.
"""

import argparse
import contextlib
import os
import sys

VOCAB = 10
# Names of the token ids for the labels row: 0 is padding (--task first) or
# "nothing yet" (the label before --delay steps have passed), 1.. are letters.
TOKENS = ("_",) + tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:VOCAB - 1])
CELLS = ("LSTM", "GRU", "SimpleRNN")


def make_recall_data(n, timesteps, seed):
    """Tokens 1..VOCAB-1, trailing padding 0, label = the first token."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, timesteps))
    lengths = rng.integers(timesteps * 3 // 4, timesteps + 1, size=n)
    x[np.arange(timesteps) >= lengths[:, None]] = 0
    return x.astype("int32"), x[:, 0].astype("int32")


def make_delayed_recall_data(n, timesteps, delay, seed):
    """Tokens 1..VOCAB-1; label at t = the token at t - delay (0 for t < delay)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, timesteps))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :timesteps - delay]
    return x.astype("int32"), y.astype("int32")


# The defaults of the quick start's demo (--task first): measured to tell
# the story in the module docstring (README, docs/guide/
# long_term_dependencies.md; tests/test_demo.py checks it).
DEFAULTS = dict(epochs=6, timesteps=40, units=32, samples=3072, update_freq=20,
                learning_rate=0.03)
# --task delayed keeps its own (its guide section and screenshots show them).
DELAYED_DEFAULTS = dict(DEFAULTS, epochs=8, timesteps=24, learning_rate=0.01)
# The probe batch: the first PROBE_SAMPLES sequences of the data, the same
# in every run (validation_split takes the last 10 %, so they are trained on).
PROBE_SAMPLES = 8


def build_model(cell, timesteps, units, every_step=False, learning_rate=DEFAULTS["learning_rate"]):
    """Embedding -> the cell (layer "rnn") -> softmax; at every timestep when every_step."""
    import keras

    inputs = keras.Input((timesteps,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=not every_step, name="embedding")(inputs)
    # The same layer name in every run, so the tab compares them side by side.
    x = getattr(keras.layers, cell)(units, return_sequences=every_step, name="rnn")(x)
    outputs = keras.layers.Dense(VOCAB, activation="softmax", name="classifier")(x)
    model = keras.Model(inputs, outputs, name="recall_" + cell.lower())
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@contextlib.contextmanager
def deterministic_ops():
    """TensorFlow's ops give the same result on every run (on CPU; an op
    without a deterministic kernel raises instead of varying) while the
    block runs; the previous setting is restored after it, so a caller
    training in the same process (tests, docs/make_screenshots.py) is not
    left with it. TensorFlow's public API can only enable it: the restore
    uses its own (private) switch where it exists."""
    from tensorflow.python.framework import config as tf_config

    was_enabled = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_enabled:
            tf_config.disable_op_determinism()


def train(logdir, cells=CELLS, epochs=DEFAULTS["epochs"], timesteps=DEFAULTS["timesteps"],
          units=DEFAULTS["units"], update_freq=DEFAULTS["update_freq"],
          samples=DEFAULTS["samples"], task="first", delay=5,
          learning_rate=None, verbose="auto"):
    """Trains one run per cell under `logdir`; returns {run: its final
    validation accuracy} (run = the cell's name in lower case). The
    learning rate defaults to the task's (DEFAULTS, DELAYED_DEFAULTS)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from tb_rnn_plugin import RNNTensorBoard

    delayed = task == "delayed"
    if learning_rate is None:
        learning_rate = (DELAYED_DEFAULTS if delayed else DEFAULTS)["learning_rate"]
    if delayed:
        x, y = make_delayed_recall_data(samples, timesteps, delay, seed=0)
        what = "at every step, the token %d steps back" % delay
    else:
        x, y = make_recall_data(samples, timesteps, seed=0)
        what = "the first of %d tokens" % timesteps
    # One probe batch for every run: "sample 0" is the same sequence in each.
    probe = (x[:PROBE_SAMPLES], y[:PROBE_SAMPLES])
    accuracies = {}
    with deterministic_ops():
        for index, cell in enumerate(cells, 1):
            print("\n[%d/%d] %s: recall %s" % (index, len(cells), cell, what))
            # Each run's weights and shuffling from its own fixed seed.
            keras.utils.set_random_seed(index)
            model = build_model(cell, timesteps, units, every_step=delayed, learning_rate=learning_rate)
            run_dir = os.path.join(logdir, cell.lower())
            history = model.fit(
                x, y, batch_size=64, epochs=epochs, validation_split=0.1, verbose=verbose,
                callbacks=[
                    RNNTensorBoard(
                        run_dir, update_freq=update_freq, max_samples=PROBE_SAMPLES,
                        probe_data=probe,
                        # Small models: every logged step keeps its tensors, so
                        # the step slider has them all (the default, 10, writes
                        # the big tensors every 10th logging step).
                        full_every=1,
                        # "tile": no multi-second trace for the demo's small batch.
                        gradient_horizon={"method": "tile"} if delayed else None,
                        vocabulary=TOKENS if delayed else None,
                        # The input tokens are the same letters (0: padding).
                        input_vocabulary=TOKENS,
                    ),
                    keras.callbacks.TensorBoard(run_dir, update_freq=update_freq),
                ],
            )
            accuracies[cell.lower()] = float(history.history["val_accuracy"][-1])
    return accuracies


def start_tensorboard(logdir, port):
    from tensorboard import program

    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", logdir, "--port", str(port)])
    print("\nOpen the RNN tab: http://localhost:%d/#rnn  (Ctrl-C to stop)" % port)
    board.main()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb_rnn_plugin.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", default="logs/demo", help="where the runs go (default: %(default)s)")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)

    def per_task(name):
        return "default: %s (--task first), %s (--task delayed)" % (DEFAULTS[name], DELAYED_DEFAULTS[name])

    parser.add_argument("--epochs", type=int, default=None, help=per_task("epochs"))
    parser.add_argument("--timesteps", type=int, default=None, help=per_task("timesteps"))
    parser.add_argument("--units", type=int, default=DEFAULTS["units"])
    parser.add_argument("--samples", type=int, default=DEFAULTS["samples"])
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam's; " + per_task("learning_rate"))
    parser.add_argument("--update-freq", type=int, default=DEFAULTS["update_freq"],
                        help="log every N steps")
    parser.add_argument("--port", type=int, default=6006)
    parser.add_argument("--task", choices=("first", "delayed"), default="first",
                        help="first: recall the first token at the end; delayed: at every "
                        "step, the token --delay steps back (logs the gradient horizon)")
    parser.add_argument("--delay", type=int, default=5, help="--task delayed: how far back")
    parser.add_argument("--no-tensorboard", action="store_true", help="only train and write logs")
    args = parser.parse_args(argv)
    # Unset knobs take the task's defaults (DEFAULTS, DELAYED_DEFAULTS).
    for name, value in (DELAYED_DEFAULTS if args.task == "delayed" else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("epochs", "timesteps", "units", "samples", "update_freq", "delay", "learning_rate"):
        if getattr(args, name) <= 0:
            parser.error("--%s must be positive" % name.replace("_", "-"))
    if args.task == "delayed" and args.delay >= args.timesteps:
        parser.error("--delay must be smaller than --timesteps")
    accuracies = train(args.logdir, args.cells, args.epochs, args.timesteps, args.units,
                       args.update_freq, args.samples, args.task, args.delay,
                       args.learning_rate)
    print("\nLogs written to %s" % os.path.abspath(args.logdir))
    from tb_rnn_plugin import demo_summary

    demo_summary.print_summary(args.logdir, accuracies)
    if not args.no_tensorboard:
        start_tensorboard(args.logdir, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
