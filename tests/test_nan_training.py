"""A model trained into NaN keeps training with RNNTensorBoard on, every
step is still logged, and /health names the first bad step and where.

The loss has a term y_pred * flag whose value is 0 and whose gradient is
`flag`: 0 in every batch but those from batch index BAD_BATCH on, where it
is NaN. Training on that batch (iteration BAD_BATCH + 1) turns every weight
NaN through SGD's update; the probe batch (the first batch, flag 0) stays
finite, so the first NaN the callback logs is in the weights at step
BAD_BATCH + 1 (logged steps are optimizer.iterations after the batch), and
everything computed from them on the probe batch is NaN at that step too.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

import tb_reading
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

BATCH, BATCHES, BAD_BATCH = 4, 8, 5
T, FEATURES, UNITS = 6, 3, 4
FIRST_BAD_STEP = BAD_BATCH + 1


def flagged_loss(y_true, y_pred):
    """MSE on column 0 of y_true, plus y_pred * column 1 (0 or NaN)."""
    target, flag = y_true[:, :1], y_true[:, 1:]
    return keras.ops.mean(keras.ops.square(target - y_pred)) + keras.ops.mean(y_pred * flag)


def train_into_nan(logdir):
    """Trains one epoch of BATCHES steps; returns (warnings, losses per batch)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH * BATCHES, T, FEATURES)).astype("float32")
    y = np.zeros((BATCH * BATCHES, 2), "float32")
    y[:, 0] = rng.normal(size=BATCH * BATCHES)
    y[BAD_BATCH * BATCH:, 1] = np.nan
    model = keras.Sequential([
        keras.Input((T, FEATURES)), keras.layers.LSTM(UNITS, name="lstm"), keras.layers.Dense(1),
    ])
    model.compile(keras.optimizers.SGD(0.01), flagged_loss)
    losses = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(logs["loss"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                  callbacks=[RNNTensorBoard(str(logdir), update_freq=1), record])
    return [str(w.message) for w in caught if "RNNTensorBoard" in str(w.message)], losses, model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("nan_training")
    logged_warnings, losses, model = train_into_nan(root / "nan_run")
    return root, logged_warnings, losses, model


def test_training_goes_on_into_nan_with_the_callback_on(trained):
    root, logged_warnings, losses, model = trained
    assert logged_warnings == []  # no "logging failed", no layer given up
    assert len(losses) == BATCHES  # fit() ran to the end
    assert np.isnan(model.get_layer("lstm").cell.kernel.numpy()).all()
    stats = tb_reading.read_stats(root)["nan_run"]
    steps = list(range(1, BATCHES + 1))
    for tag in ("lstm/activation", "lstm/state_gradient", "lstm/kernel/weight", "lstm/kernel/weight_gradient"):
        info, logged, values = stats[tag]
        assert logged == steps, tag  # every step logged, also after the NaN
        nan = [v[metadata.STAT_FIELDS.index("nan_count")] for v in values]
        assert [n > 0 for n in nan] == [s >= FIRST_BAD_STEP for s in steps], (tag, nan)


def test_health_reports_the_first_bad_step_and_where(trained):
    root = trained[0]
    dp = tb_reading.data_provider_over(str(root), samples=3)
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints={"rnn": 3}, logdir=str(root))
    client = werkzeug_test.Client(application.TensorBoardWSGI([rnn_plugin.RnnLoader().load(ctx)], data_provider=dp))
    response = client.get("/data/plugin/rnn/health")
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = response.get_json()["rows"]
    assert (row["run"], row["layer"], row["direction"], row["cell"]) == ("nan_run", "lstm", None, "LSTM")
    cell = row["nonfinite"]
    assert cell["step"] == FIRST_BAD_STEP
    # Weights come first at one step: the rest was computed from them.
    assert (cell["kind"], cell["matrix"], cell["tag"]) == ("weight", "kernel", "lstm/kernel/weight")
    assert cell["gate"] == "i"
    assert [g["name"] for g in cell["gates"]] == ["i", "f", "c", "o"]
    assert cell["nan"] == FEATURES * 4 * UNITS  # the whole kernel
    assert row["latest_step"] == BATCHES
    # Unit health computed over NaN activations has no value, and says why.
    for measure in ("dead", "saturated", "gate_saturated", "dominant"):
        assert row[measure]["value"] is None and row[measure]["over_nonfinite"] is True, measure
        assert row[measure]["step"] == BATCHES
    # No per-sample ratio through time over NaN norms either.
    for measure in ("vanishing", "exploding"):
        assert row[measure]["value"] is None and row[measure]["samples"] == 0, measure
