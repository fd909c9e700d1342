"""Models as people write them: every recurrent layer logged, exact, and
training bitwise untouched.

Each pattern is a small float64 model of that shape. The reference for
dL/dh_t is independent of the probe: finite differences of the compiled
loss, with the layer's call replaced by a hand-unrolled Python loop over
its own cell that adds a small delta to h_t (output and carried state).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tb_reading import read_back

from tb_rnn_plugin import RNNTensorBoard, metadata
from tb_rnn_plugin import compute_timestep_tensors
from tb_rnn_plugin.summary_ops import model_probe
from tb_rnn_plugin.summary_ops.model_probe import ModelProbe, recurrent_layers

FD_EPS = 1e-6
BATCH = 4


@pytest.fixture(autouse=True)
def float64():
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


# -- the patterns ------------------------------------------------------------


def sequential_add():
    """The addition RNN: Sequential built with add(), no keras.Input."""
    model = keras.Sequential()
    model.add(keras.layers.LSTM(5, name="encoder"))
    model.add(keras.layers.RepeatVector(3))
    model.add(keras.layers.LSTM(5, return_sequences=True, name="decoder"))
    model.add(keras.layers.Dense(4, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(8, 6, 3)), rng.integers(0, 4, size=(8, 3))


def encoder_decoder():
    """Character seq2seq: return_state into the decoder's initial_state."""
    encoder_in, decoder_in = keras.Input((None, 3)), keras.Input((None, 4))
    _, h, c = keras.layers.LSTM(5, return_state=True, name="encoder")(encoder_in)
    sequence = keras.layers.LSTM(5, return_sequences=True, name="decoder")(
        decoder_in, initial_state=[h, c]
    )
    out = keras.layers.Dense(4, activation="softmax")(sequence)
    model = keras.Model([encoder_in, decoder_in], out)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(1)
    y = np.eye(4)[rng.integers(0, 4, size=(8, 5))]
    return model, (rng.normal(size=(8, 6, 3)), rng.normal(size=(8, 5, 4))), y


class TextGenerator(keras.Model):
    """TensorFlow's text-generation tutorial: subclassed, GRU with return_state."""

    def __init__(self):
        super().__init__()
        self.embedding = keras.layers.Embedding(12, 4)
        self.gru = keras.layers.GRU(5, return_sequences=True, return_state=True, name="gru")
        self.dense = keras.layers.Dense(12)

    def call(self, inputs, training=False):
        sequence, _ = self.gru(self.embedding(inputs), training=training)
        return self.dense(sequence)


class OwnTrainStep(TextGenerator):
    """The same with its own train_step under fit()."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return {"loss": loss}


def subclassed(cls):
    def make():
        model = cls()
        model.compile(
            optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        rng = np.random.default_rng(2)
        return model, rng.integers(0, 12, size=(8, 7)), rng.integers(0, 12, size=(8, 7))

    return make


class SquaredErrorLayer(keras.layers.Layer):
    """Captcha OCR's CTC layer in miniature: the labels come in as an input."""

    def call(self, labels, predictions):
        self.add_loss(keras.ops.mean((labels - predictions) ** 2))
        return predictions


def loss_layer_with_second_input():
    image, labels = keras.Input((6, 3), name="image"), keras.Input((6, 2), name="labels")
    sequence = keras.layers.Bidirectional(
        keras.layers.GRU(3, return_sequences=True), name="bi"
    )(image)
    out = SquaredErrorLayer()(labels, keras.layers.Dense(2)(sequence))
    model = keras.Model([image, labels], out)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(3)
    return model, {"image": rng.normal(size=(8, 6, 3)), "labels": rng.normal(size=(8, 6, 2))}, None


def model_inside_a_model():
    inner = keras.Sequential(
        [keras.Input((6, 3)), keras.layers.SimpleRNN(4, return_sequences=True, name="inner_rnn")],
        name="inner",
    )
    inp = keras.Input((6, 3))
    out = keras.layers.Dense(1)(keras.layers.GRU(3, name="outer_gru")(inner(inp)))
    model = keras.Model(inp, out)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(4)
    return model, rng.normal(size=(8, 6, 3)), rng.normal(size=(8, 1))


def text_vectorization_front_end():
    """IMDB with TextVectorization: strings in, no keras.Input, a mask."""
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorize.adapt(["the cat sat", "a dog ran far away", "the dog sat on the cat"])
    model = keras.Sequential([
        vectorize, keras.layers.Embedding(20, 4, mask_zero=True),
        keras.layers.LSTM(3, name="lstm"), keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    texts = ["the cat sat", "a dog ran", "the dog sat on the cat", "far away",
             "cat", "a cat ran far", "the dog", "on the dog sat a cat"]
    return model, np.array(texts, dtype=object), np.array([1, 0, 1, 0, 1, 0, 1, 0.0])


def two_inputs_two_outputs():
    """A functional model with two inputs and two outputs, two losses."""
    tokens, features = keras.Input((6,), name="tokens"), keras.Input((6, 2), name="features")
    h = keras.layers.Concatenate()([keras.layers.Embedding(10, 3)(tokens), features])
    sequence = keras.layers.GRU(4, return_sequences=True, name="gru")(h)
    per_step = keras.layers.Dense(1, name="per_step")(sequence)
    label = keras.layers.Dense(3, name="label")(keras.layers.SimpleRNN(3, name="summary")(sequence))
    model = keras.Model([tokens, features], [per_step, label])
    model.compile(optimizer="adam", loss=[
        "mse", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ])
    rng = np.random.default_rng(9)
    x = (rng.integers(0, 10, size=(8, 6)), rng.normal(size=(8, 6, 2)))
    return model, x, (rng.normal(size=(8, 6, 1)), rng.integers(0, 3, size=(8,)))


PATTERNS = {
    "text_vectorization_front_end": text_vectorization_front_end,
    "two_inputs_two_outputs": two_inputs_two_outputs,
    "sequential_add": sequential_add,
    "encoder_decoder": encoder_decoder,
    "subclassed": subclassed(TextGenerator),
    "own_train_step": subclassed(OwnTrainStep),
    "loss_layer_with_second_input": loss_layer_with_second_input,
    "model_inside_a_model": model_inside_a_model,
}


LOGGED_PREFIXES = {
    "text_vectorization_front_end": ["lstm"],
    "two_inputs_two_outputs": ["gru", "summary"],
    "sequential_add": ["encoder", "decoder"],
    "encoder_decoder": ["encoder", "decoder"],
    "subclassed": ["gru"],
    "own_train_step": ["gru"],
    "loss_layer_with_second_input": ["bi/forward", "bi/backward"],
    "model_inside_a_model": ["inner_rnn", "outer_gru"],
}


def take(data, rows):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: v[rows] for k, v in data.items()}
    if isinstance(data, tuple):
        return tuple(v[rows] for v in data)
    return data[rows]


# -- the reference: finite differences on a hand-unrolled loop ----------------


def unrolled_call(rnn, nudge):
    """A call for keras.layers.RNN `rnn` running its cell in a Python loop,
    adding nudge = (t, delta [B, U]) to h at input time t, if given."""

    def call(sequences, initial_state=None, mask=None, training=None, **_):
        timesteps = sequences.shape[1]
        states = initial_state
        if states is None:
            states = rnn.cell.get_initial_state(batch_size=sequences.shape[0])
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        order = range(timesteps - 1, -1, -1) if rnn.go_backwards else range(timesteps)
        outputs, previous = [], None
        for t in order:
            output, new_states = rnn.cell(sequences[:, t], states, training=False)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if nudge is not None and nudge[0] == t:
                output = output + nudge[1]
                new_states[0] = new_states[0] + nudge[1]
            if mask is not None:  # a padded step keeps the states and the output
                real = mask[:, t][:, None]
                new_states = [tf.where(real, n, o) for n, o in zip(new_states, states)]
                if previous is not None:
                    output = tf.where(real, output, previous)
            states, previous = new_states, output
            outputs.append(output)
        result = tf.stack(outputs, axis=1) if rnn.return_sequences else outputs[-1]
        return (result, *states) if rnn.return_state else result

    return call


def loss_with(model, rnn, nudge, x, y):
    object.__setattr__(rnn, "call", unrolled_call(rnn, nudge))
    try:
        return float(model.compute_loss(x=x, y=y, y_pred=model(x, training=False), training=False))
    finally:
        object.__delattr__(rnn, "call")


def fd_state_gradient(model, rnn, x, y, sample, t, unit, units):
    delta = np.zeros((BATCH, units))
    delta[sample, unit] = FD_EPS
    up = loss_with(model, rnn, (t, delta), x, y)
    down = loss_with(model, rnn, (t, -delta), x, y)
    return (up - down) / (2 * FD_EPS)


def directions(layer):
    if isinstance(layer, keras.layers.Bidirectional):
        return [layer.forward_layer, layer.backward_layer]
    return [layer]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_every_recurrent_layer_is_probed_exactly(pattern):
    keras.utils.set_random_seed(0)
    model, x, y = PATTERNS[pattern]()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # builds it
    x, y = take(x, slice(0, BATCH)), take(y, slice(0, BATCH))
    layers = recurrent_layers(model)
    probe = ModelProbe(model, layers)
    result = probe(x, y)
    assert probe.unsupported == {} and len(result["layers"]) == len(layers) >= 1
    rng = np.random.default_rng(5)
    for layer in layers:
        entries = result["layers"][layer]["directions"]
        for rnn, entry in zip(directions(layer), entries):
            state_gradient = entry["state_gradient"]
            assert np.abs(state_gradient).max() > 0
            for _ in range(2):
                sample, t, unit = (int(rng.integers(n)) for n in state_gradient.shape)
                expected = fd_state_gradient(model, rnn, x, y, sample, t, unit, rnn.cell.units)
                np.testing.assert_allclose(
                    state_gradient[sample, t, unit], expected, rtol=1e-5, atol=1e-9,
                    err_msg="%s %s dL/dh[%d, %d, %d]" % (pattern, rnn.name, sample, t, unit),
                )


def test_encoder_state_gradient_reaches_back_through_its_returned_state():
    # The encoder's output is unused: only its final state feeds the decoder.
    keras.utils.set_random_seed(0)
    model, x, y = encoder_decoder()
    x, y = take(x, slice(0, BATCH)), take(y, slice(0, BATCH))
    encoder = model.get_layer("encoder")
    entry = ModelProbe(model, [encoder])(x, y)["layers"][encoder]["directions"][0]
    last = entry["state_gradient"][:, -1]
    # At the last step, the total dL/dh is exactly what the returned h gets,
    # which the output gradient reports there (and nowhere else).
    np.testing.assert_allclose(entry["output_gradient"][:, -1], last, rtol=1e-12)
    assert np.abs(entry["output_gradient"][:, :-1]).max() == 0
    assert np.abs(entry["state_gradient"][:, 0]).max() > 0


def fit_final_weights(pattern, callback_dir):
    keras.utils.set_random_seed(0)
    model, x, y = PATTERNS[pattern]()
    callbacks = [] if callback_dir is None else [RNNTensorBoard(callback_dir, update_freq=2)]
    # 8 samples in batches of 3: a partial last batch.
    model.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
    return [np.array(v.numpy()) for v in model.weights]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_training_is_bitwise_unchanged_and_every_layer_logged(pattern, tmp_path):
    without = fit_final_weights(pattern, None)
    with_callback = fit_final_weights(pattern, tmp_path)
    assert len(without) == len(with_callback)
    for a, b in zip(without, with_callback):
        np.testing.assert_array_equal(a, b)
    logged = read_back(tmp_path)["."]
    for prefix in LOGGED_PREFIXES[pattern]:
        assert prefix + "/state_gradient" in logged, sorted(logged)


def conv_and_bidirectional_gru_on_padded_batches(callback_dir):
    """Speech recognition's shape: Conv1D then Bidirectional GRUs, fed by a
    padded_batch dataset with a partial last batch, Dropout between."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 3))
    h = keras.layers.Conv1D(4, 3, padding="same", activation="relu")(inp)
    h = keras.layers.BatchNormalization()(h)
    for i in range(2):
        h = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="bi%d" % i)(h)
        h = keras.layers.Dropout(0.3)(h)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(6)
    lengths = rng.integers(3, 8, size=10)
    pairs = [(rng.normal(size=(n, 3)), rng.normal(size=(n, 2))) for n in lengths]
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(pairs),
        output_signature=(tf.TensorSpec((None, 3), tf.float64), tf.TensorSpec((None, 2), tf.float64)),
    ).padded_batch(4)
    callbacks = [] if callback_dir is None else [RNNTensorBoard(callback_dir, update_freq=1)]
    model.fit(dataset, epochs=2, verbose=0, callbacks=callbacks)
    return [np.array(v.numpy()) for v in model.weights]


def test_padded_batches_with_conv_and_dropout_train_bitwise_unchanged(tmp_path):
    for a, b in zip(
        conv_and_bidirectional_gru_on_padded_batches(None),
        conv_and_bidirectional_gru_on_padded_batches(tmp_path),
    ):
        np.testing.assert_array_equal(a, b)
    assert {"bi0/forward/state_gradient", "bi1/backward/state_gradient"} <= set(
        read_back(tmp_path)["."]
    )


def test_a_full_step_over_the_size_budget_writes_fewer_samples_then_pools(tmp_path):
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    inp = keras.Input((3, 8, 8, 1))
    h = keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="conv_lstm")(inp)
    model = keras.Model(inp, keras.layers.Conv3D(1, 3, padding="same")(h))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(7).normal(size=(4, 3, 8, 8, 1)).astype("float32")
    # Unreduced, a full step's per-timestep tensors are 3 x [4, 3, 8*8*4]
    # float32 = 36,864 bytes; one sample 9,216; 2x2 blocks 2,304; so a
    # budget of 2 kB needs one sample and 4x4 blocks (3 x [1, 3, 2*2*4] = 576).
    callback = RNNTensorBoard(
        tmp_path, update_freq=1, full_every=1, precision="float32", max_step_bytes=2_000,
        probe_data=(x, x), log_weights=False,
    )
    with pytest.warns(UserWarning, match=r"1 of max_samples=4 probe samples and ConvLSTM "
                                         r"states averaged over 4x4 spatial positions"):
        model.fit(x, x, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
    info, _, values = read_back(tmp_path)["."]["conv_lstm/activation"]
    assert info["channel_shape"] == [2, 2, 4] and values[-1].shape == (1, 3, 16)
    full = ModelProbe(model, [model.get_layer("conv_lstm")])(x, x)
    activation = full["layers"][model.get_layer("conv_lstm")]["directions"][0]["activation"]
    blocks = activation[:1].reshape(1, 3, 2, 4, 2, 4, 4).mean(axis=(3, 5)).reshape(1, 3, 16)
    np.testing.assert_allclose(values[-1], blocks, rtol=1e-5, atol=1e-7)


def lstm_with_dropout_final_weights(setting, callback_dir):
    """A small LSTM with dropout trained on 14 samples in batches of 4."""
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("mixed_float16" if setting == "mixed_float16" else "float32")
    strategy = (
        tf.distribute.MirroredStrategy(["/cpu:0"]) if setting == "mirrored"
        else tf.distribute.get_strategy()
    )
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(14, 6, 3)).astype("float32"), rng.normal(size=(14, 1)).astype("float32")
    with strategy.scope():
        model = keras.Sequential([
            keras.Input((6, 3)), keras.layers.LSTM(4, dropout=0.2, name="lstm"),
            keras.layers.Dropout(0.3), keras.layers.Dense(1, dtype="float32"),
        ])
        model.compile(
            optimizer="adam", loss="mse",
            steps_per_execution=3 if setting == "steps_per_execution" else 1,
        )
    callbacks = [] if callback_dir is None else [RNNTensorBoard(callback_dir, update_freq=2)]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
    return [np.array(v.numpy()) for v in model.weights]


@pytest.mark.parametrize("setting", ["mirrored", "steps_per_execution", "mixed_float16"])
def test_training_is_bitwise_unchanged_under(setting, tmp_path):
    without = lstm_with_dropout_final_weights(setting, None)
    with_callback = lstm_with_dropout_final_weights(setting, tmp_path)
    for a, b in zip(without, with_callback):
        np.testing.assert_array_equal(a, b)
    assert "lstm/state_gradient" in read_back(tmp_path)["."]


def test_compute_timestep_tensors_reuses_its_traced_probe():
    keras.utils.set_random_seed(0)
    model, x, y = encoder_decoder()
    x, y = take(x, slice(0, BATCH)), take(y, slice(0, BATCH))
    first = compute_timestep_tensors(model, "encoder", x, y)
    again = compute_timestep_tensors(model, model.get_layer("encoder"), x, y)
    (probe,) = model_probe._PROBES[model].values()
    assert probe._compute.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(
        first["directions"][0]["state_gradient"], again["directions"][0]["state_gradient"]
    )


def dropout_classifier_with_horizon_final_weights(callback_dir):
    """Dropout in two LSTMs, a classifier (labels row) and the gradient
    horizon: everything a logging step runs besides the probe pass."""
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(12, 6, 3)).astype("float32"), rng.integers(0, 3, size=(12, 6))
    model = keras.Sequential([
        keras.Input((6, 3)),
        keras.layers.LSTM(4, return_sequences=True, dropout=0.2, recurrent_dropout=0.2, name="first"),
        keras.layers.LSTM(4, return_sequences=True, dropout=0.2, name="second"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    callbacks = [] if callback_dir is None else [
        RNNTensorBoard(callback_dir, update_freq=2, gradient_horizon=True)
    ]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
    return [np.array(v.numpy()) for v in model.weights]


def test_labels_and_horizons_leave_dropout_training_bitwise_unchanged(tmp_path):
    for a, b in zip(
        dropout_classifier_with_horizon_final_weights(None),
        dropout_classifier_with_horizon_final_weights(tmp_path),
    ):
        np.testing.assert_array_equal(a, b)
    assert "first/state_gradient" in read_back(tmp_path)["."]
    assert "second/gradient_horizon" in read_back(tmp_path, kinds=(metadata.GRADIENT_HORIZON,))["."]
