"""RNNTensorBoard next to what users put in the same fit(): Keras' own
TensorBoard callback, validation data, dropout anywhere in the model; and
what TensorBoard's sampling keeps of a long run."""

import keras
import numpy as np
import pytest
from tb_reading import data_provider_over, read_back, read_stats
from tensorboard import context

from tb_rnn_plugin import RNNTensorBoard
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin
from tensorboard.plugins import base_plugin

T, FEATURES, BATCH = 6, 3, 4


def data(n):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, T, FEATURES)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def gru_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((T, FEATURES)), keras.layers.GRU(3, name="gru"), keras.layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("validation_split", [0.0, 0.2])
def test_steps_do_not_depend_on_keras_tensorboard_schedule(tmp_path, validation_split):
    # Keras' TensorBoard(update_freq=25) holds record_if(step % 25 == 0)
    # around the batch loop; ours must log 1, 10, 20, ... and the last step.
    x, y = data(int(40 * BATCH / (1 - validation_split)))
    model = gru_model()
    model.fit(
        x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
        validation_split=validation_split,
        callbacks=[
            RNNTensorBoard(tmp_path / "rnn", update_freq=10, full_every=1),
            keras.callbacks.TensorBoard(tmp_path / "keras", update_freq=25),
        ],
    )
    assert int(model.optimizer.iterations) == 40
    _, steps, _ = read_back(tmp_path / "rnn")["."]["gru/state_gradient"]
    assert steps == [1, 10, 20, 30, 40]


def stacked_model(position, rate=0.3):
    """LSTM(return_sequences) -> LSTM -> [Dropout] -> Dense, with dropout at `position`."""
    keras.utils.set_random_seed(5)
    first = {"dropout": rate} if position == "first_dropout" else {}
    first.update({"recurrent_dropout": rate} if position == "first_recurrent_dropout" else {})
    second = {"dropout": rate} if position == "second_dropout" else {}
    second.update({"recurrent_dropout": rate} if position == "second_recurrent_dropout" else {})
    layers = [
        keras.Input((T, FEATURES)),
        keras.layers.LSTM(4, return_sequences=True, name="first", **first),
        keras.layers.LSTM(3, name="second", **second),
    ]
    if position == "dropout_layer":
        layers.append(keras.layers.Dropout(rate))
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("probed, position", [
    ("first", "first_dropout"),  # the probed layer's own
    ("first", "first_recurrent_dropout"),
    ("first", "second_dropout"),  # a layer after it (the probe's post-model)
    ("first", "second_recurrent_dropout"),
    ("first", "dropout_layer"),
    ("second", "first_recurrent_dropout"),  # a layer before it (the pre-model)
])
def test_logging_leaves_training_bitwise_unchanged_with_dropout(tmp_path, position, probed):
    x, y = data(5 * BATCH)

    def train(callbacks):
        model = stacked_model(position)
        model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, callbacks=callbacks)
        return [w.numpy() for w in model.weights]

    without = train([])
    with_logging = train([RNNTensorBoard(tmp_path, layers=[probed], update_freq=1, full_every=1)])
    assert len(read_back(tmp_path)["."]["%s/state_gradient" % probed][1]) == 5
    for a, b in zip(without, with_logging):
        np.testing.assert_array_equal(a, b)


def test_first_step_survives_tensorboard_sampling(tmp_path):
    """TensorBoard keeps 100 steps of a series; the untrained model and the
    count of logged steps must survive it."""
    x, y = data(30 * BATCH)
    model = gru_model()
    callback = RNNTensorBoard(tmp_path, update_freq=1, max_samples=1, full_every=1)
    model.fit(x, y, batch_size=BATCH, epochs=5, shuffle=False, verbose=0, callbacks=[callback])
    assert int(model.optimizer.iterations) == 150
    # Every step's statistics are kept.
    _, stat_steps, stats = read_stats(tmp_path)["."]["gru/state_gradient"]
    assert stat_steps == list(range(1, 151))
    assert all(s.shape == (len(metadata.STAT_FIELDS),) for s in stats)

    # Served as TensorBoard would: a reservoir of 20 steps per series.
    provider = data_provider_over(tmp_path, samples=20)
    plugin = rnn_plugin.RnnLoader().load(
        base_plugin.TBContext(data_provider=provider, sampling_hints={"rnn": 20})
    )
    ctx = context.RequestContext()
    for tag in ("gru/state_gradient", "gru/activation"):
        body = plugin.steps_impl(ctx, "", ".", tag)
        assert body["logged_steps"] == 150
        assert body["steps"][0] == 1 and body["steps"][-1] == 150
        assert 2 <= len(body["steps"]) <= 21
        for step in (1, 150):
            payload, headers = plugin.tensor_impl(ctx, "", ".", tag, step)
            assert dict(headers)["X-Tensor-Shape"] == "1,%d,3" % T
