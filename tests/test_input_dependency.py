"""Input dependency D[b, k, j] = ||dL_{t_k}/de_j|| (e_j the recurrent
layer's input) against independent facts:

  - central finite differences of the per-timestep loss L_t, computed here
    from the model's own layers, with the embedding's OUTPUT e_j perturbed
    (float64, SimpleRNN and LSTM, every method);
  - a shift register built by hand (y_t = e_{t-k}): the dependency sits at
    exactly j = t - k and is 0 elsewhere;
  - the per-timestep losses add up to the compiled loss;
  - logged by RNNTensorBoard(input_dependency=...), read back through
    TensorBoard's data provider: the tag on the first recurrent layer only
    (a Bidirectional's, without a direction), shape, metadata, values; and
    training bitwise unchanged.
"""

import warnings

import keras
import numpy as np
import pytest

import tb_reading
from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard
from tb_rnn_plugin.summary_ops.dependency import InputDependency, NotFirstLayerError

B, T, VOCAB, EMBED, UNITS = 2, 6, 5, 3, 4


@pytest.fixture
def float64():
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    keras.utils.set_random_seed(3)
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


def token_model(recurrent, loss="sparse_categorical_crossentropy"):
    """Embedding(5, 3) -> recurrent -> Dense softmax, and its three layers."""
    embedding = keras.layers.Embedding(VOCAB, EMBED, name="embedding")
    head = keras.layers.Dense(VOCAB, activation="softmax", name="head")
    tokens = keras.Input((T,), dtype="int32")
    model = keras.Model(tokens, head(recurrent(embedding(tokens))))
    model.compile(keras.optimizers.SGD(0.0), loss)
    return model, embedding, head


def token_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (B, T)), rng.integers(0, VOCAB, (B, T))


def step_losses_of(e, recurrent, head, y):
    """l[b, t] of sparse categorical crossentropy (Keras' default reduction:
    the mean over all B*T elements), from the embedding's output e."""
    p = np.asarray(head(recurrent(e)))
    picked = np.take_along_axis(p, y[..., None], axis=-1)[..., 0]
    return -np.log(picked) / y.size


def finite_difference_dependency(e, recurrent, head, y, h=1e-5):
    """||dl[b, t]/de[b, j]|| by central differences of every coordinate of e_j."""
    grads = np.zeros((B, T, T, EMBED))  # [b, t, j, c]
    for b in range(B):
        for j in range(T):
            for c in range(EMBED):
                plus, minus = e.copy(), e.copy()
                plus[b, j, c] += h
                minus[b, j, c] -= h
                diff = step_losses_of(plus, recurrent, head, y) - step_losses_of(minus, recurrent, head, y)
                grads[b, :, j, c] = diff[b] / (2 * h)
    return np.linalg.norm(grads, axis=-1)


@pytest.mark.parametrize("cell, method", [
    ("SimpleRNN", "tile"), ("LSTM", "tile"), ("LSTM", "reverse"), ("LSTM", "loop"),
    ("LSTM", "jacobian"),
])
def test_equals_central_finite_differences_of_the_step_losses(float64, cell, method):
    recurrent = getattr(keras.layers, cell)(UNITS, return_sequences=True, name="rnn")
    model, embedding, head = token_model(recurrent)
    x, y = token_data()
    result = InputDependency(model, recurrent, method=method)(x, y)
    e = np.asarray(embedding(x))
    expected = finite_difference_dependency(e, recurrent, head, y)
    assert result["dependency"].shape == (B, T, T) and result["targets"] is None
    np.testing.assert_allclose(result["dependency"], expected, rtol=1e-6, atol=1e-12)
    assert np.all(np.triu(result["dependency"], 1) == 0)  # no dependency on later inputs
    assert np.all(np.diagonal(result["dependency"], axis1=1, axis2=2) > 0)
    # The per-timestep losses are these, and add up to the compiled loss.
    np.testing.assert_allclose(result["step_losses"], step_losses_of(e, recurrent, head, y),
                               rtol=1e-12)
    compiled = float(model.compute_loss(x=x, y=y, y_pred=model(x)))
    assert result["step_losses"].sum() == pytest.approx(compiled, rel=1e-12)


def test_after_go_backwards_target_t_is_the_loss_computed_at_input_time_t(float64):
    recurrent = keras.layers.GRU(UNITS, return_sequences=True, go_backwards=True, name="rnn")
    model, embedding, head = token_model(recurrent)
    x, y = token_data(2)
    dependency = InputDependency(model, recurrent)(x, y)["dependency"]
    by_position = finite_difference_dependency(np.asarray(embedding(x)), recurrent, head, y)
    # The output (and the loss) runs in processing order: position T-1-t
    # is computed at input time t, after reading the inputs j >= t.
    np.testing.assert_allclose(dependency, by_position[:, ::-1], rtol=1e-6, atol=1e-12)
    assert np.all(np.tril(dependency, -1) == 0)


def test_sequence_to_one_with_padding_is_one_row_zero_at_padded_steps(float64):
    tokens = keras.Input((T,), dtype="int32")
    embedding = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)
    recurrent = keras.layers.LSTM(UNITS, name="rnn")  # return_sequences=False
    model = keras.Model(tokens, keras.layers.Dense(VOCAB, activation="softmax")(
        recurrent(embedding(tokens))))
    model.compile(loss="sparse_categorical_crossentropy")
    x = np.array([[1, 2, 3, 4, 0, 0], [4, 3, 2, 1, 2, 3]])
    y = np.array([1, 2])
    result = InputDependency(model, recurrent)(x, y)
    assert result["targets"] == [T - 1] and result["step_losses"] is None
    D = result["dependency"][:, 0]
    assert np.all(D[0, 4:] == 0) and np.all(D[0, :4] > 0) and np.all(D[1] > 0)
    # One row: the whole loss's gradient in e_j, as one tape computes it.
    import tensorflow as tf

    e = tf.constant(embedding(x))
    mask = tf.constant(x != 0)
    with tf.GradientTape() as tape:
        tape.watch(e)
        loss = model.compute_loss(x=x, y=y, y_pred=model.layers[-1](recurrent(e, mask=mask)))
    expected = np.linalg.norm(tape.gradient(loss, e).numpy(), axis=-1)
    np.testing.assert_allclose(D, expected, rtol=1e-10)


def test_targets_keep_their_rows_in_the_order_asked(float64):
    recurrent = keras.layers.LSTM(UNITS, return_sequences=True, name="rnn")
    model, _, _ = token_model(recurrent)
    x, y = token_data(1)
    every = InputDependency(model, recurrent)(x, y)["dependency"]
    some = InputDependency(model, recurrent, targets=[4, -1, 0], method="tile",
                           max_copies=2)(x, y)  # the rows in two passes
    assert some["targets"] == [4, 5, 0]
    np.testing.assert_allclose(some["dependency"], every[:, [4, 5, 0]], rtol=1e-12)
    with pytest.raises(ValueError, match="method"):
        InputDependency(model, recurrent, method="backprop")


@pytest.mark.parametrize("recurrent", [
    lambda: keras.layers.Bidirectional(keras.layers.GRU(UNITS, return_sequences=True)),
    lambda: keras.layers.SimpleRNN(UNITS, return_sequences=True, go_backwards=True),
    lambda: keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(2)],
                             return_sequences=True),
], ids=["bidirectional", "go_backwards", "stacked_cells"])
def test_the_reverse_recurrence_agrees_with_a_loop_of_backward_passes(float64, recurrent):
    """Method "reverse" (the gradient horizon's recurrence, rows taken in the
    step's input) against one backward pass per target, with padding."""
    tokens = keras.Input((T,), dtype="int32")
    layer = recurrent()
    embedded = keras.layers.Embedding(VOCAB, EMBED, mask_zero=True)(tokens)
    model = keras.Model(tokens, keras.layers.Dense(VOCAB, activation="softmax")(layer(embedded)))
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = token_data(3)
    x = x % (VOCAB - 1) + 1
    x[0, 4:] = 0  # padding
    for targets in (None, [4, 1]):
        reverse = InputDependency(model, layer, method="reverse", targets=targets)
        got = reverse(x, y)["dependency"]
        assert reverse.last_method == "reverse"
        expected = InputDependency(model, layer, method="loop", targets=targets)(x, y)
        np.testing.assert_allclose(got, expected["dependency"], rtol=1e-10, atol=1e-18)
        assert np.all(got[0, :, 4:] == 0) and got.max() > 0


def test_layers_after_it_that_mix_timesteps_make_reverse_fall_back_to_tile(float64):
    tokens = keras.Input((T,), dtype="int32")
    first = keras.layers.LSTM(UNITS, return_sequences=True)
    after = keras.layers.GRU(3, return_sequences=True)(first(
        keras.layers.Embedding(VOCAB, EMBED)(tokens)))
    model = keras.Model(tokens, keras.layers.Dense(VOCAB, activation="softmax")(after))
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = token_data(4)
    reverse = InputDependency(model, first, method="reverse")
    got = reverse(x, y)["dependency"]
    assert reverse.last_method == "tile"
    expected = InputDependency(model, first, method="loop")(x, y)["dependency"]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-18)


def shift_register_model(lag):
    """y_t = e_{t-lag} (0 for t < lag), e_t = the token id as a number: a
    linear SimpleRNN whose unit i holds e_{t-i} (h_t[0] = e_t, h_t[i + 1] =
    h_{t-1}[i]), read out at unit `lag`."""
    units = lag + 1
    embedding = keras.layers.Embedding(VOCAB, 1, name="embedding")
    recurrent = keras.layers.SimpleRNN(
        units, activation="linear", use_bias=False, return_sequences=True, name="register"
    )
    readout = keras.layers.Dense(1, use_bias=False, name="readout")
    tokens = keras.Input((T,), dtype="int32")
    model = keras.Model(tokens, readout(recurrent(embedding(tokens))))
    model.compile(keras.optimizers.SGD(0.0), "mse")
    embedding.set_weights([np.arange(1, VOCAB + 1, dtype="float64")[:, None]])
    kernel = np.zeros((1, units))
    kernel[0, 0] = 1.0
    shift = np.eye(units, k=1)  # h_prev[i] -> h[i + 1]
    recurrent.set_weights([kernel, shift])
    select = np.zeros((units, 1))
    select[lag, 0] = 1.0
    readout.set_weights([select])
    return model, recurrent


@pytest.mark.parametrize("lag", [0, 2])
def test_a_shift_register_depends_on_exactly_the_token_lag_steps_back(float64, lag):
    model, register = shift_register_model(lag)
    rng = np.random.default_rng(5)
    x = rng.integers(0, VOCAB, (B, T))
    y = rng.normal(size=(B, T, 1)) + 10.0  # far from any output: every loss has a gradient
    np.testing.assert_allclose(  # the hand-made model does what it says
        np.asarray(model(x))[:, lag:, 0], x[:, :T - lag] + 1.0, rtol=1e-12)
    dependency = InputDependency(model, register)(x, y)["dependency"]
    t, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    at_lag = (j == t - lag)[None].repeat(B, axis=0)
    assert np.all(dependency[at_lag] > 0.1)
    assert np.all(dependency[~at_lag] == 0)
    # mse's l_t = (y_pred_t - y_t)^2 / (B T): its gradient's size, exactly.
    y_pred = np.asarray(model(x))[..., 0]
    expected = 2 * np.abs(y_pred - y[..., 0]) / (B * T)
    np.testing.assert_allclose(dependency[at_lag].reshape(B, T - lag), expected[:, lag:],
                               rtol=1e-12)


def test_a_layer_fed_by_another_recurrent_layer_is_not_first():
    tokens = keras.Input((T,), dtype="int32")
    first = keras.layers.LSTM(UNITS, return_sequences=True, name="first")
    second = keras.layers.GRU(UNITS, return_sequences=True, name="second")
    model = keras.Model(tokens, keras.layers.Dense(VOCAB)(
        second(first(keras.layers.Embedding(VOCAB, EMBED)(tokens)))))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(NotFirstLayerError, match="'first' feeds it"):
        InputDependency(model, second)
    InputDependency(model, first)


KEEP = 2


def stacked_bidirectional_model():
    """Embedding -> Bidirectional(LSTM) -> GRU -> Dense softmax."""
    keras.utils.set_random_seed(7)
    tokens = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(VOCAB, EMBED, name="embedding")(tokens)
    bi = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True), name="bi")
    gru = keras.layers.GRU(UNITS, return_sequences=True, name="gru")
    model = keras.Model(tokens, keras.layers.Dense(VOCAB, activation="softmax")(gru(bi(embedded))))
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_logged_through_the_callback_and_read_back(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, VOCAB, (4 * B, T)).astype("int32")
    y = rng.integers(0, VOCAB, (4 * B, T)).astype("int32")

    def train(callbacks):
        model = stacked_bidirectional_model()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
            model.fit(x, y, batch_size=B, shuffle=False, verbose=0, callbacks=callbacks)
        return model

    without = train([])
    probe = (x[:B * 2], y[:B * 2])
    model = train([RNNTensorBoard(
        str(tmp_path), update_freq=2, probe_data=probe, max_samples=KEEP, log_weights=False,
        log_gate_activations=False, precision="float32", full_every=1,
        input_dependency={"targets": [1, -1]},
    )])
    for a, b in zip(without.weights, model.weights):  # training bitwise unchanged
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    logged = tb_reading.read_back(tmp_path, (metadata.INPUT_DEPENDENCY,))["."]
    assert list(logged) == ["bi/input_dependency"]  # the first layer only, no direction
    info, steps, values = logged["bi/input_dependency"]
    assert steps == [1, 2, 4]  # the first step of fit(), then every update_freq
    assert info["kind"] == metadata.INPUT_DEPENDENCY and info["layer"] == "bi"
    assert info["axes"] == ["sample", "target", "timestep"]
    assert info["targets"] == [1, T - 1] and info["direction"] is None
    assert info["backward"] is False and info["cell"] == "LSTM"
    assert values[-1].shape == (KEEP, 2, T)
    # The last logged step's weights are the trained model's.
    expected = InputDependency(model, model.get_layer("bi"), targets=[1, -1])(*probe)
    np.testing.assert_allclose(values[-1], expected["dependency"][:KEEP], rtol=1e-4, atol=1e-9)
    # Both directions reach e_j: the GRU after them sees every timestep.
    assert np.all(values[-1] > 0)
    _, stat_steps, _ = tb_reading.read_stats(tmp_path)["."]["bi/input_dependency"]
    assert stat_steps == [1, 2, 4]


def test_unknown_option_is_refused_at_once():
    with pytest.raises(ValueError, match="unknown option"):
        RNNTensorBoard("logs", input_dependency={"max_lag": 3})
    with pytest.raises(ValueError, match="None, True or a dict"):
        RNNTensorBoard("logs", input_dependency="yes")


def test_the_writer_checks_its_input_and_writes_inside_tf_function(tmp_path):
    import tensorflow as tf

    import tb_rnn_plugin as rnn

    values = np.arange(2 * 3 * T, dtype="float32").reshape(2, 3, T)
    with pytest.raises(ValueError, match="targets names 2 timesteps, data has 3 rows"):
        rnn.input_dependency("x/input_dependency", values, step=0, targets=[0, 1])
    with pytest.raises(ValueError, match="rank 3"):
        rnn.input_dependency("x/input_dependency", values[0], step=0)

    @tf.function
    def write(data):
        return rnn.input_dependency("rnn/input_dependency", data, step=3, targets=[0, 2, 5],
                                    layer="rnn", cell="GRU", backward=True)

    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        assert bool(write(tf.constant(values)))
    info, steps, logged = tb_reading.read_back(tmp_path, (metadata.INPUT_DEPENDENCY,))["."][
        "rnn/input_dependency"]
    assert steps == [3] and info["targets"] == [0, 2, 5] and info["backward"] is True
    np.testing.assert_array_equal(logged[0], values)
