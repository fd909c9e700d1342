"""RNNTensorBoard in real fit() runs, read back through TensorBoard's data provider."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from tb_reading import read_back

from tb_rnn_plugin import RNNTensorBoard
from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops.split_probe import LayerProbe

T, VOCAB, BATCH = 7, 6, 8


def masked_model():
    """Embedding(mask_zero) -> Bidirectional LSTM -> GRU -> Dense."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((T,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(inp)
    x = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), name="bi")(x)
    x = keras.layers.GRU(3, name="gru")(x)
    model = keras.Model(inp, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def masked_data(n=4 * BATCH):
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB, size=(n, T))
    x[::2, 4:] = 0  # every other sequence is padded after 4 tokens
    y = rng.normal(size=(n, 1)).astype("float32")
    return x, y


def test_callback_logs_what_the_probe_computes(tmp_path):
    model = masked_model()
    x, y = masked_data()
    callback = RNNTensorBoard(
        tmp_path / "run", update_freq=3, max_samples=2, full_every=1, precision="float32"
    )
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, callbacks=[callback], verbose=0)

    logged = read_back(tmp_path)["run"]
    expected_tags = {"bi/mask", "gru/mask"} | {
        "%s/%s" % (prefix, kind)
        for prefix in ("bi/forward", "bi/backward", "gru")
        for kind in ("activation", "output_gradient", "state_gradient")
    } | {
        # Gates recomputed from the weights (tests/test_gate_activations.py).
        "%s/%s" % (prefix, kind)
        for prefix in ("bi/forward", "bi/backward")
        for kind in ("gate_i", "gate_f", "gate_candidate", "gate_o", "cell_state")
    } | {"gru/gate_z", "gru/gate_r", "gru/gate_candidate"}
    assert set(logged) == expected_tags
    # The first step, every third, and the last (8 steps in all).
    assert all(steps == [1, 3, 6, 8] for _, steps, _ in logged.values())

    info, _, _ = logged["bi/backward/state_gradient"]
    assert info["kind"] == "state_gradient"
    assert (info["layer"], info["cell"], info["direction"]) == ("bi", "LSTM", "backward")
    assert info["mask_tag"] == "bi/mask"
    assert logged["gru/activation"][0]["cell"] == "GRU"
    assert logged["gru/activation"][0]["direction"] is None

    # The probe batch is the first training batch (shuffle=False); the last
    # logged values are the probe's at the final weights.
    probe_x, probe_y = x[:BATCH], y[:BATCH]
    _, _, masks = logged["bi/mask"]
    np.testing.assert_array_equal(masks[-1], (probe_x[:2] != 0).astype(np.float32))
    for layer_name, prefix, index in (("bi", "bi/forward", 0), ("bi", "bi/backward", 1), ("gru", "gru", 0)):
        expected = LayerProbe(model, model.get_layer(layer_name))(probe_x, probe_y)
        direction = expected["directions"][index]
        for kind in ("activation", "output_gradient", "state_gradient"):
            _, _, values = logged["%s/%s" % (prefix, kind)]
            assert values[-1].shape == (2, T, direction[kind].shape[-1])
            assert values[-1].dtype == np.float32
            np.testing.assert_allclose(values[-1], direction[kind][:2], rtol=1e-4, atol=1e-7)
    # Training changed the weights, so the steps differ.
    _, _, first_to_last = logged["gru/state_gradient"]
    assert not np.allclose(first_to_last[0], first_to_last[-1])


def test_keeping_the_first_batch_loses_no_training_data(tmp_path):
    x, y = masked_data()
    with_callback, without = masked_model(), masked_model()
    with_callback.fit(
        x, y, batch_size=BATCH, shuffle=False, verbose=0,
        callbacks=[RNNTensorBoard(tmp_path, update_freq=100)],
    )
    without.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    assert int(with_callback.optimizer.iterations) == int(without.optimizer.iterations) == 4
    for a, b in zip(with_callback.weights, without.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_given_probe_data_sequential_model_and_layer_by_index(tmp_path):
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.SimpleRNN(4, name="srnn"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 5, 2)), rng.normal(size=(16, 1))
    probe = (x[:3] * 0 + 1.0, y[:3])
    callback = RNNTensorBoard(tmp_path, layers=[0], update_freq=1, probe_data=probe, full_every=1)
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[callback], verbose=0)
    logged = read_back(tmp_path)["."]
    _, steps, activations = logged["srnn/activation"]
    assert steps == [1, 2]
    # All three probe samples are identical, so are their activations.
    assert activations[0].shape == (3, 5, 4)
    np.testing.assert_allclose(activations[0][0], activations[0][2])
    assert "srnn/mask" not in logged


class OwnCell(keras.layers.Layer):
    """A user's own cell; `output_scale` != 1 makes its output differ from its state."""

    def __init__(self, units, output_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.output_size = units
        self.output_scale = output_scale

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, inputs, states):
        h = keras.ops.tanh(inputs @ self.kernel + states[0])
        return self.output_scale * h, [h]


def own_cell_model(output_scale):
    keras.utils.set_random_seed(2)
    inp = keras.Input((4, 2))
    x = keras.layers.RNN(OwnCell(3, output_scale), return_sequences=True, name="own")(inp)
    x = keras.layers.LSTM(3, name="lstm")(x)
    model = keras.Model(inp, keras.layers.Dense(1)(x))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_own_cell_whose_output_is_its_state_is_logged(tmp_path):
    model = own_cell_model(1.0)
    x, y = np.random.default_rng(0).normal(size=(16, 4, 2)), np.ones((16, 1))
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[RNNTensorBoard(tmp_path, update_freq=2, full_every=1, precision="float32")])
    logged = read_back(tmp_path)["."]
    info, steps, values = logged["own/state_gradient"]
    assert (info["cell"], steps, values[-1].shape) == ("OwnCell", [1, 2, 4], (4, 4, 3))
    expected = LayerProbe(model, model.get_layer("own"))(x[:4], y[:4])
    np.testing.assert_allclose(
        values[-1], expected["directions"][0]["state_gradient"], rtol=1e-4, atol=1e-7
    )


def test_own_cell_whose_output_is_not_its_state_warns_once_and_training_goes_on(tmp_path):
    model = own_cell_model(2.0)
    data = np.ones((16, 4, 2)), np.ones((16, 1))
    with pytest.warns(UserWarning, match=r"skipping layer 'own'.*output is not its first state") as caught:
        history = model.fit(
            *data, batch_size=4, epochs=2, verbose=0,
            callbacks=[RNNTensorBoard(tmp_path, update_freq=2)],
        )
    assert len(history.history["loss"]) == 2
    assert sum("'own'" in str(w.message) for w in caught) == 1
    assert {tag.split("/")[0] for tag in read_back(tmp_path)["."]} == {"lstm"}


def test_stacked_cells_and_conv_lstm_are_logged_per_cell(tmp_path):
    keras.utils.set_random_seed(4)
    inp = keras.Input((5, 6, 2))  # timesteps, width, channels
    x = keras.layers.ConvLSTM1D(3, 3, return_sequences=True, name="conv")(inp)  # width 6 -> 4
    x = keras.layers.Reshape((5, 12))(x)
    x = keras.layers.RNN(
        [keras.layers.LSTMCell(4), keras.layers.GRUCell(2)], return_sequences=False, name="stack"
    )(x)
    model = keras.Model(inp, keras.layers.Dense(1)(x))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 5, 6, 2)), rng.normal(size=(8, 1))
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[RNNTensorBoard(tmp_path, update_freq=1, max_samples=2, full_every=1)])
    logged = read_back(tmp_path)["."]
    assert set(logged) == {
        "conv/activation", "conv/output_gradient", "conv/state_gradient",
        "stack/cell_0/activation", "stack/cell_0/state_gradient",
        "stack/cell_1/activation", "stack/cell_1/output_gradient", "stack/cell_1/state_gradient",
        # Gates of the stack's LSTM and GRU cells; ConvLSTM's are not recomputed.
        "stack/cell_0/gate_i", "stack/cell_0/gate_f", "stack/cell_0/gate_candidate",
        "stack/cell_0/gate_o", "stack/cell_0/cell_state",
        "stack/cell_1/gate_z", "stack/cell_1/gate_r", "stack/cell_1/gate_candidate",
    }
    conv, _, conv_values = logged["conv/state_gradient"]
    assert (conv["cell"], conv["channel_shape"], conv_values[0].shape) == ("ConvLSTM1D", [4, 3], (2, 5, 12))
    for index, (cell, units) in enumerate([("LSTM", 4), ("GRU", 2)]):
        info, steps, values = logged["stack/cell_%d/state_gradient" % index]
        assert (info["cell"], info["cell_index"], info["layer"]) == (cell, index, "stack")
        assert steps == [1, 2] and values[0].shape == (2, 5, units)
        # The layer's loss reaches every cell's state at the first timestep too.
        assert np.abs(values[-1][:, 0]).max() > 0


def test_layer_bypassed_by_a_skip_connection_is_logged_where_it_stands(tmp_path):
    inp = keras.Input((4, 2))
    sequence = keras.layers.GRU(2, return_sequences=True, name="bypassed")(inp)
    # The input also reaches the output around the GRU: the model cannot be
    # split at it, and the probe does not need to.
    out = keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Add()([sequence, inp])))
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(8, 4, 2)), np.ones((8, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # nothing skipped
        history = model.fit(
            x, y, batch_size=4, epochs=2, verbose=0, shuffle=False,
            callbacks=[RNNTensorBoard(
                tmp_path, update_freq=1, full_every=1, probe_data=(x[:4], y[:4])
            )],
        )
    assert len(history.history["loss"]) == 2
    logged = read_back(tmp_path)["."]["bypassed/output_gradient"]
    # dL/dy_t of a GRU output added to the input, then Flatten and Dense:
    # the Dense kernel's row for (t, unit) times dL/dprediction, per sample.
    prediction = model(x[:4], training=False).numpy()
    dloss = 2 * (prediction - y[:4]) / 4
    kernel = model.layers[-1].kernel.numpy().reshape(4, 2)
    expected = dloss[:, :, None] * kernel[None]
    np.testing.assert_allclose(logged[2][-1], expected, rtol=2e-2, atol=1e-6)


def test_logging_failure_warns_and_never_stops_training(tmp_path):
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where the log directory should be")
    model = masked_model()
    with pytest.warns(UserWarning, match="could not log layer 'bi'"):
        history = model.fit(
            *masked_data(), batch_size=BATCH, epochs=2, verbose=0,
            callbacks=[RNNTensorBoard(blocker / "run", update_freq=1)],
        )
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"update_freq": 0}, "update_freq must be a positive integer"),
        ({"update_freq": "epoch"}, "update_freq must be a positive integer"),
        ({"max_samples": 0}, "max_samples must be a positive integer"),
        ({"probe_data": np.zeros((2, T))}, r"probe_data must be \(x, y\)"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RNNTensorBoard("unused", **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layers": ["nope"]}, r"no layer 'nope' in the model; recurrent layers of this model: \['bi', 'gru'\]"),
        ({"layers": [99]}, "no layer 99"),
        ({"layers": ["embedding"]}, "'embedding' is a Embedding, not a recurrent layer"),
        ({"probe_data": (np.zeros((2, T + 3, 1)), np.zeros((2, 1)))}, "probe_data does not fit the model"),
    ],
)
def test_bad_arguments_fail_at_the_start_of_fit(tmp_path, kwargs, match):
    model = masked_model()
    with pytest.raises(ValueError, match=match):
        model.fit(*masked_data(), batch_size=BATCH, verbose=0,
                  callbacks=[RNNTensorBoard(tmp_path, **kwargs)])


def test_steps_per_execution_keeps_schedule_and_trains_every_batch(tmp_path):
    x, y = masked_data(16 * BATCH)
    with_callback, without = masked_model(), masked_model()
    with_callback.compile(optimizer="adam", loss="mse", steps_per_execution=3)
    without.compile(optimizer="adam", loss="mse", steps_per_execution=3)
    with_callback.fit(
        x, y, batch_size=BATCH, shuffle=False, verbose=0,
        callbacks=[RNNTensorBoard(tmp_path, layers=["gru"], update_freq=4, full_every=1)],
    )
    without.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    assert int(with_callback.optimizer.iterations) == int(without.optimizer.iterations) == 16
    for a, b in zip(with_callback.weights, without.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    # Executions end at steps 3, 6, 9, 12, 15, 16: each logs the first time
    # it reaches or passes a multiple of 4, at the step it ended on.
    _, steps, _ = read_back(tmp_path)["."]["gru/state_gradient"]
    assert steps == [3, 6, 9, 12, 16]


def test_recompiling_rebuilds_the_probe_for_the_new_loss(tmp_path):
    model = masked_model()
    x, y = masked_data()
    callback = RNNTensorBoard(tmp_path, layers=["gru"], update_freq=100, probe_data=(x[:4], y[:4]), full_every=1,
                              precision="float32")
    model.fit(x, y, batch_size=BATCH, verbose=0, callbacks=[callback])
    _, _, before = read_back(tmp_path)["."]["gru/state_gradient"]
    # The new optimizer counts from 0 again; train longer so the last step is new.
    model.compile(optimizer="adam", loss=lambda t, p: 1000.0 * keras.ops.mean(keras.ops.abs(t - p)))
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[callback])
    _, steps, values = read_back(tmp_path)["."]["gru/state_gradient"]
    assert steps[-1] == 8
    expected = LayerProbe(model, model.get_layer("gru"))(x[:4], y[:4])
    np.testing.assert_allclose(
        values[-1], expected["directions"][0]["state_gradient"], rtol=1e-4, atol=1e-6
    )
    assert np.abs(values[-1]).max() > 100 * np.abs(before[-1]).max()
    # The weight gradients (traced once per compile) follow the new loss too.
    weights = read_back(tmp_path, metadata.WEIGHT_KINDS)["."]
    [tag] = [t for t in weights if t.endswith("/recurrent_kernel/weight_gradient")]
    _, steps, values = weights[tag]
    assert steps[-1] == 8
    recurrent_kernel = model.get_layer("gru").cell.recurrent_kernel
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x[:4], y=y[:4], y_pred=model(x[:4], training=False), training=False)
    expected = tape.gradient(loss, recurrent_kernel)
    np.testing.assert_allclose(values[-1], expected, rtol=1e-4, atol=1e-6)


def test_two_callbacks_on_one_model_both_keep_the_first_batch(tmp_path):
    model = masked_model()
    x, y = masked_data()
    first = RNNTensorBoard(tmp_path / "a", layers=["gru"], update_freq=100, full_every=1)
    second = RNNTensorBoard(tmp_path / "b", layers=["bi"], update_freq=100, full_every=1)
    model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[first, second])
    assert int(model.optimizer.iterations) == 4
    logged = read_back(tmp_path)
    assert {tag.split("/")[0] for tag in logged["a"]} == {"gru"}
    assert {tag.split("/")[0] for tag in logged["b"]} == {"bi"}


DISTRIBUTED_SCRIPT = """
import sys, numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tb_rnn_plugin import RNNTensorBoard
from tb_rnn_plugin.summary_ops.split_probe import LayerProbe
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    inp = keras.Input((5, 2))
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GRU(3, name="gru")(inp)))
    model.compile(optimizer="sgd", loss="mse")
rng = np.random.default_rng(0)
x, y = rng.normal(size=(32, 5, 2)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
callback = RNNTensorBoard(sys.argv[1], update_freq=2, full_every=1)
model.fit(x, y, batch_size=8, shuffle=False, verbose=0, callbacks=[callback])
kept_x, kept_y, _ = callback._probe_batch
np.testing.assert_array_equal(kept_x, x[:8])
print("steps", int(model.optimizer.iterations.numpy()))
"""


def test_mirrored_strategy_logs_and_keeps_the_whole_first_batch(tmp_path):
    # Two logical CPUs must be set up before TensorFlow starts: a subprocess.
    import subprocess
    import sys

    script = tmp_path / "distributed.py"
    script.write_text(DISTRIBUTED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "steps 4" in done.stdout
    _, steps, values = read_back(tmp_path / "logs")["."]["gru/state_gradient"]
    assert steps == [1, 2, 4]
    assert values[0].shape == (4, 5, 3)


@pytest.mark.parametrize("layer_count", [1, 8])
def test_many_layers_leave_no_retracing_warning_in_the_training_log(tmp_path, layer_count):
    # The probe pass, each layer's one-off reference check, the gate
    # recorders, horizons and traced writes each trace once; with several
    # layers TensorFlow used to warn of frequent retracing into the user's log.
    import logging

    kinds = (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)
    names = ["a", "b", "c", "d", "e", "f", "g", "h"][:layer_count]
    inputs = keras.Input((5, 2))
    x = inputs
    for index, name in enumerate(names):
        x = kinds[index % 3](3, return_sequences=True, name=name)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="sgd", loss="mse")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf_logger = tf.get_logger()
    tf_logger.addHandler(handler)
    try:
        rng = np.random.default_rng(0)
        model.fit(rng.normal(size=(16, 5, 2)), rng.normal(size=(16, 5, 1)), batch_size=4,
                  epochs=2, verbose=0,
                  callbacks=[RNNTensorBoard(tmp_path, update_freq=1, gradient_horizon=True)])
    finally:
        tf_logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "retracing" in r.getMessage()]
    logged = read_back(tmp_path)["."]
    assert {name + "/state_gradient" for name in names} <= set(logged)
