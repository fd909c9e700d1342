"""Text demo: character-level language models on the source of a standard
library module, so the tab's per-timestep views have real text under them.

    python -m tb_rnn_plugin.text_demo --logdir logs/text

The text is the source code of a module that ships with Python (`--module`,
default textwrap, read with inspect.getsource). Each training sequence is a
window of `--timesteps` characters; the label at every timestep is the next
character. One run per cell (default: an LSTM and a SimpleRNN, layer "rnn"
in both, so the tab shows them side by side), every run probing the same 8
windows (the text's first, probe_data=), the characters as the vocabulary
(RNNTensorBoard(vocabulary=..., input_vocabulary=...)): the text view
shows the input characters, the labels row the true and the
predicted next character at each timestep, beside the gradient horizon (how
far back the loss at each step reaches); the input dependency says which
characters each prediction depends on, and the text view shows the
characters coloured by a unit's activation.

Measured with the defaults (textwrap's 19,718 characters, 88 distinct;
1,229 windows of 64; 4 epochs): about 22 s of CPU time for both runs; next-
character validation accuracy 0.43 (LSTM) and 0.44 (SimpleRNN), neither
flagged by the health overview (with a loss at every step the gradient at
t = 0 is about the size of the last one's). This demo is for reading the
text under the views, not a contest between cells.

Seeded and deterministic on CPU like the recall demo (tb_rnn_plugin/demo.py).
At the end it prints each run's validation accuracy (next character) and the
tab's summary sentences for it, then starts TensorBoard (unless --no-tensorboard).
"""

import argparse
import importlib
import inspect
import os
import sys

from tb_rnn_plugin import demo

CELLS = ("LSTM", "SimpleRNN", "GRU")
DEFAULTS = dict(module="textwrap", cells=("LSTM", "SimpleRNN"), epochs=4, timesteps=64,
                stride=16, units=64, update_freq=20, learning_rate=0.01)
PROBE_SAMPLES = 8
# How far back the logged gradient horizon looks (timesteps): enough for a
# word, a small part of a window, so a logging step stays cheap.
HORIZON_LAG = 16


def module_text(name):
    """The source of the standard-library module `name`."""
    return inspect.getsource(importlib.import_module(name))


def make_text_data(text, timesteps, stride):
    """(x, y, chars): windows of `timesteps` character ids starting every
    `stride` characters, y the next character at every timestep, chars the
    vocabulary (id = index, the text's distinct characters sorted)."""
    import numpy as np

    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], np.int32)
    starts = np.arange(0, len(ids) - timesteps - 1, stride)
    if not len(starts):
        raise ValueError("the text (%d characters) is shorter than --timesteps + 1" % len(ids))
    window = np.arange(timesteps)
    x = ids[starts[:, None] + window]
    y = ids[starts[:, None] + window + 1]
    return x, y, chars


def build_model(cell, vocabulary_size, units, learning_rate):
    """Embedding -> the cell (layer "rnn", every timestep) -> softmax over the characters."""
    import keras

    inputs = keras.Input((None,), dtype="int32", name="chars")
    x = keras.layers.Embedding(vocabulary_size, 16, name="embedding")(inputs)
    x = getattr(keras.layers, cell)(units, return_sequences=True, name="rnn")(x)
    outputs = keras.layers.Dense(vocabulary_size, activation="softmax", name="next_char")(x)
    model = keras.Model(inputs, outputs, name="chars_" + cell.lower())
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(logdir, module=DEFAULTS["module"], cells=DEFAULTS["cells"], epochs=DEFAULTS["epochs"],
          timesteps=DEFAULTS["timesteps"], stride=DEFAULTS["stride"], units=DEFAULTS["units"],
          update_freq=DEFAULTS["update_freq"], learning_rate=DEFAULTS["learning_rate"],
          verbose="auto"):
    """One run per cell under `logdir`; returns {run: final validation
    accuracy of the next character}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from tb_rnn_plugin import RNNTensorBoard

    x, y, chars = make_text_data(module_text(module), timesteps, stride)
    probe = (x[:PROBE_SAMPLES], y[:PROBE_SAMPLES])
    accuracies = {}
    with demo.deterministic_ops():
        for index, cell in enumerate(cells, 1):
            print("\n[%d/%d] %s: the next character of %s's source (%d windows of %d)"
                  % (index, len(cells), cell, module, len(x), timesteps))
            keras.utils.set_random_seed(index)
            model = build_model(cell, len(chars), units, learning_rate)
            run_dir = os.path.join(logdir, cell.lower())
            history = model.fit(
                x, y, batch_size=32, epochs=epochs, validation_split=0.1, verbose=verbose,
                callbacks=[
                    RNNTensorBoard(
                        run_dir, update_freq=update_freq, max_samples=PROBE_SAMPLES,
                        probe_data=probe, full_every=1, vocabulary=chars,
                        input_vocabulary=chars,
                        gradient_horizon={"method": "tile", "max_lag": HORIZON_LAG},
                        # Which characters each next-character loss depends on:
                        # the input dependency view draws it over the text.
                        input_dependency=True,
                    ),
                    keras.callbacks.TensorBoard(run_dir, update_freq=update_freq),
                ],
            )
            accuracies[cell.lower()] = float(history.history["val_accuracy"][-1])
    return accuracies


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tb_rnn_plugin.text_demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", default="logs/text", help="where the runs go (default: %(default)s)")
    parser.add_argument("--module", default=DEFAULTS["module"],
                        help="the standard-library module whose source is the text (default: %(default)s)")
    parser.add_argument("--cells", nargs="+", default=list(DEFAULTS["cells"]), choices=CELLS)
    for name in ("epochs", "timesteps", "stride", "units", "update_freq"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=DEFAULTS[name],
                            help="default: %(default)s")
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"],
                        help="Adam's (default: %(default)s)")
    parser.add_argument("--port", type=int, default=6006)
    parser.add_argument("--no-tensorboard", action="store_true", help="only train and write logs")
    args = parser.parse_args(argv)
    for name in ("epochs", "timesteps", "stride", "units", "update_freq", "learning_rate"):
        if getattr(args, name) <= 0:
            parser.error("--%s must be positive" % name.replace("_", "-"))
    try:
        module_text(args.module)
    except (ImportError, TypeError, OSError) as error:
        parser.error("--module %s: no Python source to read (%s)" % (args.module, error))
    try:
        accuracies = train(args.logdir, args.module, args.cells, args.epochs, args.timesteps,
                           args.stride, args.units, args.update_freq, args.learning_rate)
    except ValueError as error:
        parser.error(str(error))
    print("\nLogs written to %s" % os.path.abspath(args.logdir))
    from tb_rnn_plugin import demo_summary

    demo_summary.print_summary(args.logdir, accuracies)
    if not args.no_tensorboard:
        demo.start_tensorboard(args.logdir, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
