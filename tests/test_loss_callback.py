"""The probe loss: summary_ops.run_summary.probe_loss read back through
TensorBoard's data provider, and what RNNTensorBoard logs with it: the
number evaluate() gives on the probe batch at the same weights, training
bitwise unchanged (weights and the metrics fit() reports)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tb_reading import read_stats

from tb_rnn_plugin import RNNTensorBoard
from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata
from tb_rnn_plugin import probe_loss


def read_probe_loss(logdir, run="."):
    """(names, steps, [values per step]) of run's probe/loss, as the plugin reads it."""
    info, steps, values = read_stats(logdir, metadata.PROBE_LOSS)[run][None]
    return info["names"], steps, values


def test_probe_loss_round_trip_keeps_names_values_and_nan(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        assert probe_loss([2.5, 0.25], ["loss", "accuracy"], step=3)
        assert probe_loss([float("nan"), 0.5], ["loss", "accuracy"], step=7)
    names, steps, values = read_probe_loss(tmp_path)
    assert names == ["loss", "accuracy"]
    assert steps == [3, 7]
    np.testing.assert_array_equal(values[0], np.float32([2.5, 0.25]))
    assert np.isnan(values[1][0]) and values[1][1] == np.float32(0.5)


def test_probe_loss_tag_and_kind_are_the_declared_ones(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        probe_loss([1.0], ["loss"], step=0)
    from tb_reading import data_provider_over
    from tensorboard import context
    listing = data_provider_over(tmp_path).list_tensors(
        context.RequestContext(), experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME)
    series = listing["."][kinds.PROBE_LOSS_TAG]
    parsed = metadata.parse_plugin_metadata(series.plugin_content)
    assert parsed["kind"] == kinds.PROBE_LOSS and parsed.get("of_tag") is None


@pytest.mark.parametrize("values, names, match", [
    ([1.0, 2.0], ["loss"], "2 entries, names 1"),
    ([1.0], ["accuracy"], 'start with "loss"'),
    ([], [], 'start with "loss"'),
    ([[1.0]], ["loss"], "rank 1"),
])
def test_probe_loss_refuses_what_does_not_match(values, names, match):
    with pytest.raises(ValueError, match=match):
        probe_loss(values, names, step=0)


def probe_batch(n=6):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 7, 3)).astype("float32"), rng.integers(0, 3, size=n)


def classifier(metrics, regularized=True):
    """An LSTM classifier with dropout (inference mode must switch it off)
    and an L2 penalty (part of the loss fit() reports)."""
    keras.utils.set_random_seed(1)
    regularizer = keras.regularizers.L2(0.05) if regularized else None
    model = keras.Sequential([
        keras.Input((7, 3)),
        keras.layers.LSTM(5, dropout=0.3, kernel_regularizer=regularizer, name="rnn"),
        keras.layers.Dense(3),
    ])
    model.compile(
        keras.optimizers.Adam(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=metrics,
    )
    return model


class WeightsAtEachStep(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.weights[int(self.model.optimizer.iterations.numpy())] = self.model.get_weights()


def train(model, logdir, x, y, probe):
    callbacks = [] if logdir is None else [
        RNNTensorBoard(logdir, update_freq=1, probe_data=probe, log_weights=False,
                       log_gate_activations=False)]
    recorder = WeightsAtEachStep()
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                        callbacks=callbacks + [recorder])
    return history.history, recorder.weights


@pytest.mark.parametrize("metrics", [None, ["accuracy"]])
def test_logged_loss_and_metrics_are_what_evaluate_gives_at_the_same_weights(tmp_path, metrics):
    x, y = probe_batch(12)
    probe = (x[:6], y[:6])
    model = classifier(metrics)
    _, weights = train(model, tmp_path, x, y, probe)
    names, steps, values = read_probe_loss(tmp_path)
    assert names == ["loss"] + (["accuracy"] if metrics else [])
    assert steps == sorted(weights) and len(steps) == 6  # every step logged
    for step, logged in zip(steps, values):
        model.set_weights(weights[step])
        evaluated = model.evaluate(*probe, batch_size=len(probe[1]), verbose=0, return_dict=True)
        np.testing.assert_allclose(logged[0], evaluated["loss"], rtol=1e-5)
        if metrics:
            np.testing.assert_allclose(logged[1], evaluated["accuracy"], rtol=1e-6)
    # The L2 penalty is in it: without it the loss on the batch is less.
    model.set_weights(weights[steps[-1]])
    y_pred = model(probe[0], training=False)
    compiled_only = float(model.loss(probe[1], y_pred))
    assert values[-1][0] > compiled_only + 1e-3


def test_training_and_its_reported_metrics_stay_bitwise_unchanged(tmp_path):
    x, y = probe_batch(12)
    without_history, without_weights = train(classifier(["accuracy"]), None, x, y, None)
    with_history, with_weights = train(classifier(["accuracy"]), tmp_path, x, y, None)
    assert with_history == without_history
    for step in without_weights:
        for a, b in zip(without_weights[step], with_weights[step]):
            np.testing.assert_array_equal(a, b)
    assert read_probe_loss(tmp_path)[0] == ["loss", "accuracy"]


def test_a_loss_that_turns_nan_is_logged_as_nan(tmp_path):
    x, y = probe_batch(8)
    model = classifier(None, regularized=False)
    x_bad = x.copy()
    x_bad[-4:] = np.nan  # the second batch poisons the weights

    model.fit(x_bad, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[
        RNNTensorBoard(tmp_path, update_freq=1, probe_data=(x[:4], y[:4]), log_weights=False)])
    _, steps, values = read_probe_loss(tmp_path)
    assert steps == [1, 2]
    assert np.isfinite(values[0][0]) and np.isnan(values[1][0])
