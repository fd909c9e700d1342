"""Demo: train an LSTM, a GRU and a SimpleRNN on a long-range recall task.

    python -m tb_rnn_plugin.demo --logdir logs/demo
    python -m tb_rnn_plugin.demo --task delayed --delay 5 --logdir logs/delayed

--task first (the default): each sequence is a run of random tokens, padded
at the end with 0 (masked). The label is the FIRST token, so the loss at the
last step depends on information `--timesteps` steps back: a gated cell
keeps it, a SimpleRNN's state gradient fades towards the start.

--task delayed: a label at every timestep, the input token `--delay` steps
earlier (0 before that). The runs also log the gradient horizon: a model
that learned the task shows the loss at t reaching back to t - delay; and
the labels row (true and predicted token per timestep, named by TOKENS).

The runs land side by side under --logdir, then TensorBoard starts on it
(unless --no-tensorboard).

TensorFlow is imported inside main(): the plugin package never needs it.
"""

import argparse
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


def build_model(cell, timesteps, units, every_step=False):
    """Embedding -> the cell (layer "rnn") -> softmax; at every timestep when every_step."""
    import keras

    inputs = keras.Input((timesteps,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=not every_step, name="embedding")(inputs)
    # The same layer name in every run, so the tab compares them side by side.
    x = getattr(keras.layers, cell)(units, return_sequences=every_step, name="rnn")(x)
    outputs = keras.layers.Dense(VOCAB, activation="softmax", name="classifier")(x)
    model = keras.Model(inputs, outputs, name="recall_" + cell.lower())
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(logdir, cells, epochs, timesteps, units, update_freq, samples, task="first", delay=5):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from tb_rnn_plugin import RNNTensorBoard

    delayed = task == "delayed"
    if delayed:
        x, y = make_delayed_recall_data(samples, timesteps, delay, seed=0)
        what = "at every step, the token %d steps back" % delay
    else:
        x, y = make_recall_data(samples, timesteps, seed=0)
        what = "the first of %d tokens" % timesteps
    for index, cell in enumerate(cells, 1):
        print("\n[%d/%d] %s: recall %s" % (index, len(cells), cell, what))
        keras.utils.set_random_seed(index)
        model = build_model(cell, timesteps, units, every_step=delayed)
        run_dir = os.path.join(logdir, cell.lower())
        model.fit(
            x, y, batch_size=64, epochs=epochs, validation_split=0.1,
            callbacks=[
                RNNTensorBoard(
                    run_dir, update_freq=update_freq, max_samples=8,
                    # Small models: every logged step keeps its tensors, so
                    # the step slider has them all (the default, 10, writes
                    # the big tensors every 10th logging step).
                    full_every=1,
                    # "tile": no multi-second trace for the demo's small batch.
                    gradient_horizon={"method": "tile"} if delayed else None,
                    vocabulary=TOKENS if delayed else None,
                ),
                keras.callbacks.TensorBoard(run_dir, update_freq=update_freq),
            ],
        )


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
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--timesteps", type=int, default=24)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--samples", type=int, default=3072)
    parser.add_argument("--update-freq", type=int, default=20, help="log every N steps")
    parser.add_argument("--port", type=int, default=6006)
    parser.add_argument("--task", choices=("first", "delayed"), default="first",
                        help="first: recall the first token at the end; delayed: at every "
                        "step, the token --delay steps back (logs the gradient horizon)")
    parser.add_argument("--delay", type=int, default=5, help="--task delayed: how far back")
    parser.add_argument("--no-tensorboard", action="store_true", help="only train and write logs")
    args = parser.parse_args(argv)
    for name in ("epochs", "timesteps", "units", "samples", "update_freq", "delay"):
        if getattr(args, name) <= 0:
            parser.error("--%s must be positive" % name.replace("_", "-"))
    if args.task == "delayed" and args.delay >= args.timesteps:
        parser.error("--delay must be smaller than --timesteps")
    train(args.logdir, args.cells, args.epochs, args.timesteps, args.units,
          args.update_freq, args.samples, args.task, args.delay)
    print("\nLogs written to %s" % os.path.abspath(args.logdir))
    if not args.no_tensorboard:
        start_tensorboard(args.logdir, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
