"""Constructed logs whose verdicts are known, shared by tests/test_verdicts.py
(GET /summary) and tests/test_browser_summary.py (the summary strip).

The Keras cases are tests/test_health_verdicts.py's (its helpers say why
each one's truth is known); `nan_run` and `shut_gates` are written with
the summary ops:

- fading: SimpleRNN, recurrent kernel 0.5 I under tanh over 40 steps:
  the gradient vanishes (<= 0.5^39 at t=0 in every sample);
- growing: linear SimpleRNN with 1.25 I: exploding through time
  (1.25^39 in every sample), not vanishing;
- memory: a GRU whose 2 of 16 units keep their state: neither, 2 dominant
  units;
- mixed: 7 of 8 samples vanish (the issue's LSTM): vanishing;
- nan_run: the state gradient holds NaN from step 20, first at sample 1,
  timesteps 3-4;
- shut_gates: an LSTM whose unit health has 10 of 16 units with saturated
  gates from step 10 on, and 1 of 16 dead (below the 10 % level).
"""

import numpy as np

try:
    import test_health_verdicts as cases
except ImportError:  # tests/ imported as a package
    from tests import test_health_verdicts as cases

BATCH = cases.BATCH
MEMORY_UNITS, GRU_UNITS = cases.MEMORY_UNITS, cases.GRU_UNITS
MIXED_RATIOS = cases.MIXED_RATIOS
KERAS_RUNS = ("fading", "growing", "memory")
NAN_STEPS, NAN_FROM = (0, 10, 20, 30), 20
NAN_SHAPE = (2, 6, 3)
GATE_STEPS, GATE_FROM = (0, 10, 20), 10
GATE_UNITS, SHUT_UNITS = 16, 10
HEALTH_FIELDS = ("dead", "saturated_share", "saturated", "gate_saturated_share", "gradient_ratio", "exploding")


def nan_state_gradient(step):
    """Flat 0.1 everywhere; NaN at sample 1, timesteps 3-4, channel 2 from NAN_FROM."""
    g = np.full(NAN_SHAPE, 0.1, np.float32)
    if step >= NAN_FROM:
        g[1, 3:5, 2] = np.nan
    return g


def gate_health(step):
    """[16 units, HEALTH_FIELDS]: SHUT_UNITS with every gate value near 0 or
    1 from GATE_FROM (none before), unit 15 dead; gradients even."""
    out = np.zeros((GATE_UNITS, len(HEALTH_FIELDS)), np.float32)
    out[:, HEALTH_FIELDS.index("gradient_ratio")] = 1.0
    if step >= GATE_FROM:
        out[:SHUT_UNITS, HEALTH_FIELDS.index("gate_saturated_share")] = 0.97
    out[15, HEALTH_FIELDS.index("dead")] = 1.0
    return out


def write_keras_runs(root, runs=KERAS_RUNS):
    """The Keras cases, one logging step each, by the real callback."""
    import keras

    keras.utils.set_random_seed(0)
    builders = {
        "fading": lambda: (cases.simple_rnn(0.5, "tanh", 40), 40),
        "growing": lambda: (cases.simple_rnn(1.25, None, 40), 40),
        "memory": lambda: (cases.gru_with_memory(), cases.GRU_STEPS),
    }
    for run in runs:
        model, timesteps = builders[run]()
        cases.log_model(model, root / run, timesteps)


def write_written_runs(root):
    """mixed, nan_run and shut_gates, with the summary ops."""
    import tensorflow as tf

    import tb_rnn_plugin

    with tf.summary.create_file_writer(str(root / "mixed")).as_default():
        assert tb_rnn_plugin.state_gradient("lstm/state_gradient", cases.mixed_state_gradient(), step=0,
                                            layer="lstm", cell="LSTM")
    with tf.summary.create_file_writer(str(root / "nan_run")).as_default():
        for step in NAN_STEPS:
            assert tb_rnn_plugin.state_gradient("rnn/state_gradient", nan_state_gradient(step), step=step,
                                                layer="rnn", cell="SimpleRNN")
    with tf.summary.create_file_writer(str(root / "shut_gates")).as_default():
        for step in GATE_STEPS:
            common = dict(step=step, layer="lstm", cell="LSTM")
            assert tb_rnn_plugin.activation("lstm/activation", np.full((2, 5, GATE_UNITS), 0.2), **common)
            assert tb_rnn_plugin.unit_health("lstm/activation", gate_health(step), fields=list(HEALTH_FIELDS),
                                             thresholds={"saturated_share": 0.9, "exploding": 10.0}, **common)


def write_all(root):
    write_keras_runs(root)
    write_written_runs(root)


ALL_RUNS = KERAS_RUNS + ("mixed", "nan_run", "shut_gates")
