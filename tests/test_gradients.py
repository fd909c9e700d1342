"""The probe's gradients against independent computations (float64).

References, none of which use keras.layers.RNN or the probe:
  - finite differences on a hand-unrolled loop of the layer's own cell
    (state gradient: perturb h_t inside the recurrence; output gradient:
    perturb the layer's output before the downstream layers);
  - reverse mode on the same hand-unrolled loop (return_sequences=False).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from probes import make_probe  # noqa: F401 (a fixture)

B, T, D, U = 2, 4, 3, 3
FD_EPS = 1e-6


@pytest.fixture(autouse=True)
def float64():
    # Keras fixes its global dtype policy from floatx on first use, so an
    # earlier test would leave it at float32: set both.
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    keras.utils.set_random_seed(1)
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


def recurrent(kind, **kwargs):
    if kind == "GRU_reset_before":
        return keras.layers.GRU(U, reset_after=False, **kwargs)
    return getattr(keras.layers, kind)(U, **kwargs)


class Case:
    """input -> layer -> head (Flatten if sequences) -> Dense(2), loss mse."""

    def __init__(self, layer):
        self.layer = layer
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(2)
        inp = keras.Input((T, D))
        self.model = keras.Model(inp, self.head(layer(inp)))
        self.model.compile(loss="mse")
        assert layer.compute_dtype == "float64"  # finite differences need it
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(B, T, D))
        self.y = rng.normal(size=(B, 2))

    def head(self, layer_output):
        if self.layer.return_sequences:
            layer_output = self.flatten(layer_output)
        return self.dense(layer_output)

    def loss_of_output(self, layer_output):
        return float(tf.reduce_mean((self.head(layer_output) - self.y) ** 2))

    def directions(self):
        if isinstance(self.layer, keras.layers.Bidirectional):
            return [self.layer.forward_layer, self.layer.backward_layer]
        return [self.layer]

    def layer_output(self, perturbations):
        """The layer's output from hand-unrolled cells.

        perturbations: per direction, None or (t, delta) adding delta to h at
        input time t, inside the recurrence.
        """
        outputs = [
            _as_layer_output(rnn, *unroll(rnn, self.x, p))
            for rnn, p in zip(self.directions(), perturbations)
        ]
        if len(outputs) == 1:
            return outputs[0]
        forward, backward = outputs
        if self.layer.return_sequences:
            backward = tf.reverse(backward, axis=[1])
        merge = {
            "concat": lambda a, b: tf.concat([a, b], -1),
            "sum": lambda a, b: a + b,
            "ave": lambda a, b: (a + b) / 2,
            "mul": lambda a, b: a * b,
        }[self.layer.merge_mode]
        return merge(forward, backward)


def unroll(rnn, x, perturbation=None, eps=None):
    """Runs rnn.cell step by step; returns (outputs in processing order, last).

    perturbation (t, delta) adds delta to h at input time t; eps, a list of
    tensors per input time, is added to every h_t (for reverse mode).
    """
    cell = rnn.cell
    n_states = len(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else 1
    states = [tf.zeros((x.shape[0], U), tf.float64)] * n_states
    times = range(T - 1, -1, -1) if rnn.go_backwards else range(T)
    outputs = []
    for t in times:
        h, new_states = cell(tf.constant(x[:, t]), states)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if perturbation is not None and perturbation[0] == t:
            h = h + perturbation[1]
        if eps is not None:
            h = h + eps[t]
        new_states[0] = h
        states = new_states
        outputs.append(h)
    return tf.stack(outputs, axis=1), outputs[-1]


def _as_layer_output(rnn, sequence, last):
    return sequence if rnn.return_sequences else last


def fd_state_gradient(case, direction_index):
    grad = np.zeros((B, T, U))
    n = len(case.directions())
    for t in range(T):
        for b in range(B):
            for u in range(U):
                delta = np.zeros((B, U))
                delta[b, u] = FD_EPS
                plus = [None] * n
                minus = [None] * n
                plus[direction_index] = (t, delta)
                minus[direction_index] = (t, -delta)
                grad[b, t, u] = (
                    case.loss_of_output(case.layer_output(plus))
                    - case.loss_of_output(case.layer_output(minus))
                ) / (2 * FD_EPS)
    return grad


def fd_output_gradient(case):
    """dL/d(layer output) by finite differences, layer output held fixed."""
    output = case.layer_output([None] * len(case.directions())).numpy()
    grad = np.zeros_like(output)
    for index in np.ndindex(output.shape):
        bumped = output.copy()
        bumped[index] += FD_EPS
        dipped = output.copy()
        dipped[index] -= FD_EPS
        grad[index] = (case.loss_of_output(bumped) - case.loss_of_output(dipped)) / (2 * FD_EPS)
    return grad


UNIDIRECTIONAL = ["LSTM", "GRU", "GRU_reset_before", "SimpleRNN"]


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("kind", UNIDIRECTIONAL)
def test_unidirectional_gradients_match_finite_differences(kind, return_sequences, make_probe):
    case = Case(recurrent(kind, return_sequences=return_sequences))
    result = make_probe(case.model, case.layer)(case.x, case.y)
    (direction,) = result["directions"]
    assert direction["direction"] is None
    assert direction["cell"] == ("GRU" if kind.startswith("GRU") else kind)
    assert direction["cell_index"] is None and direction["channel_shape"] is None

    np.testing.assert_allclose(direction["state_gradient"], fd_state_gradient(case, 0), atol=1e-8)
    output_grad = fd_output_gradient(case)
    if not return_sequences:
        # Only the last step's output reaches the loss; earlier y_t do not.
        expected = np.zeros((B, T, U))
        expected[:, -1] = output_grad
        output_grad = expected
    np.testing.assert_allclose(direction["output_gradient"], output_grad, atol=1e-8)
    sequence, _ = unroll(case.layer, case.x)
    np.testing.assert_allclose(direction["activation"], sequence.numpy(), atol=1e-12)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
def test_bidirectional_each_direction_in_input_time_order(merge_mode, make_probe):
    layer = keras.layers.Bidirectional(
        keras.layers.GRU(U, return_sequences=True), merge_mode=merge_mode
    )
    case = Case(layer)
    result = make_probe(case.model, layer)(case.x, case.y)
    assert [d["direction"] for d in result["directions"]] == ["forward", "backward"]
    for index, direction in enumerate(result["directions"]):
        np.testing.assert_allclose(
            direction["state_gradient"], fd_state_gradient(case, index), atol=1e-8
        )
    output_grad = fd_output_gradient(case)
    forward, backward = (d["output_gradient"] for d in result["directions"])
    if merge_mode == "concat":
        np.testing.assert_allclose(forward, output_grad[..., :U], atol=1e-8)
        np.testing.assert_allclose(backward, output_grad[..., U:], atol=1e-8)
    elif merge_mode == "sum":
        np.testing.assert_allclose(forward, output_grad, atol=1e-8)
        np.testing.assert_allclose(backward, output_grad, atol=1e-8)
    elif merge_mode == "ave":
        np.testing.assert_allclose(forward, output_grad / 2, atol=1e-8)
    elif merge_mode == "mul":
        other = result["directions"][1]["activation"]
        np.testing.assert_allclose(forward, output_grad * other, atol=1e-8)
    backward_sequence, _ = unroll(layer.backward_layer, case.x)
    np.testing.assert_allclose(
        result["directions"][1]["activation"],
        tf.reverse(backward_sequence, axis=[1]).numpy(),
        atol=1e-12,
    )


def test_bidirectional_merge_mode_none(make_probe):
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(U, return_sequences=True), merge_mode=None
    )
    inp = keras.Input((T, D))
    forward, backward = layer(inp)
    dense = keras.layers.Dense(1)
    model = keras.Model(inp, dense(forward) - 2 * dense(backward))
    model.compile(loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, 1))
    result = make_probe(model, layer)(x, y)

    def loss(perturb_forward, perturb_backward):
        f, _ = unroll(layer.forward_layer, x, perturb_forward)
        b, _ = unroll(layer.backward_layer, x, perturb_backward)
        pred = dense(f) - 2 * dense(tf.reverse(b, axis=[1]))
        return float(tf.reduce_mean((pred - y) ** 2))

    t, b, u = 1, 0, 2
    delta = np.zeros((B, U))
    delta[b, u] = FD_EPS
    fd_backward = (loss(None, (t, delta)) - loss(None, (t, -delta))) / (2 * FD_EPS)
    fd_forward = (loss((t, delta), None) - loss((t, -delta), None)) / (2 * FD_EPS)
    assert result["directions"][0]["state_gradient"][b, t, u] == pytest.approx(fd_forward, abs=1e-8)
    assert result["directions"][1]["state_gradient"][b, t, u] == pytest.approx(fd_backward, abs=1e-8)


@pytest.mark.parametrize("kind", UNIDIRECTIONAL)
def test_last_step_only_state_gradient_equals_hand_unrolled_reverse_mode(kind, make_probe):
    case = Case(recurrent(kind, return_sequences=False))
    eps = [tf.zeros((B, U), tf.float64) for _ in range(T)]
    with tf.GradientTape() as tape:
        tape.watch(eps)
        _, last = unroll(case.layer, case.x, eps=eps)
        loss = tf.reduce_mean((case.head(last) - case.y) ** 2)
    expected = np.stack([g.numpy() for g in tape.gradient(loss, eps)], axis=1)
    result = make_probe(case.model, case.layer)(case.x, case.y)
    state_gradient = result["directions"][0]["state_gradient"]
    np.testing.assert_allclose(state_gradient, expected, rtol=1e-10, atol=1e-14)
    # The gradient reaches back through time, not only the last step.
    assert np.abs(state_gradient[:, 0]).max() > 0


def test_go_backwards_layer_is_reported_in_input_time_order(make_probe):
    case = Case(recurrent("LSTM", return_sequences=True, go_backwards=True))
    result = make_probe(case.model, case.layer)(case.x, case.y)
    np.testing.assert_allclose(
        result["directions"][0]["state_gradient"], fd_state_gradient(case, 0), atol=1e-8
    )


def test_stacked_layers_each_get_their_own_gradients(make_probe):
    inp = keras.Input((T, D))
    first = keras.layers.LSTM(U, return_sequences=True)
    second = keras.layers.SimpleRNN(U)
    dense = keras.layers.Dense(2)
    model = keras.Model(inp, dense(second(first(inp))))
    model.compile(loss="mse")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(B, T, D)), rng.normal(size=(B, 2))

    def loss(perturbation):
        sequence, _ = unroll(first, x, perturbation)
        return float(tf.reduce_mean((dense(second(sequence)) - y) ** 2))

    result = make_probe(model, first)(x, y)
    t, b, u = 0, 1, 1
    delta = np.zeros((B, U))
    delta[b, u] = FD_EPS
    fd = (loss((t, delta)) - loss((t, -delta))) / (2 * FD_EPS)
    assert result["directions"][0]["state_gradient"][b, t, u] == pytest.approx(fd, abs=1e-8)
    assert make_probe(model, second)(x, y)["directions"][0]["state_gradient"].shape == (B, T, U)


def test_masked_timesteps_are_reported_and_get_no_gradient(make_probe):
    inp = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(5, D, mask_zero=True)(inp)
    layer = keras.layers.LSTM(U, return_sequences=True)
    after = keras.layers.GRU(U)(layer(embedded))
    model = keras.Model(inp, keras.layers.Dense(1)(after))
    model.compile(loss="mse")
    x = np.array([[1, 2, 0, 0], [3, 4, 1, 2]])
    y = np.array([[0.5], [-1.0]])
    result = make_probe(model, layer)(x, y)
    np.testing.assert_array_equal(result["mask"], x != 0)
    (direction,) = result["directions"]
    assert np.all(direction["state_gradient"][0, 2:] == 0)
    assert np.abs(direction["state_gradient"][0, :2]).min() > 0
    # Activations at real timesteps equal the layer's own outputs in the model.
    before = keras.Model(model.inputs, layer.output)
    np.testing.assert_allclose(
        direction["activation"][x != 0], before(x).numpy()[x != 0], atol=1e-12
    )


def test_last_step_only_output_gradient_sits_at_the_last_real_timestep(make_probe):
    """Under a mask, the last output is h at the last real step, not padding."""
    inp = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(5, D, mask_zero=True)(inp)
    layer = keras.layers.Bidirectional(keras.layers.LSTM(U), merge_mode="concat")
    dense = keras.layers.Dense(1)
    model = keras.Model(inp, dense(layer(embedded)))
    model.compile(loss="mse")
    x = np.array([[1, 2, 3, 0], [3, 4, 1, 2]])
    y = np.array([[0.5], [-1.0]])
    result = make_probe(model, layer)(x, y)

    output = keras.Model(inp, layer.output)(x).numpy()
    with tf.GradientTape() as tape:
        held = tf.constant(output)
        tape.watch(held)
        loss = tf.reduce_mean((dense(held) - y) ** 2)
    dl_dy = tape.gradient(loss, held).numpy()
    forward, backward = (d["output_gradient"] for d in result["directions"])
    # Forward: sample 0's last real step is t=2; backward ends at t=0.
    np.testing.assert_allclose(forward[0, 2], dl_dy[0, :U], atol=1e-12)
    np.testing.assert_allclose(forward[1, 3], dl_dy[1, :U], atol=1e-12)
    np.testing.assert_allclose(backward[:, 0], dl_dy[:, U:], atol=1e-12)
    assert np.count_nonzero(np.abs(forward).sum(-1)) == 2
    assert np.count_nonzero(np.abs(backward).sum(-1)) == 2



def test_masked_return_sequences_padding_gets_no_loss_downstream(make_probe):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> Dense per step: Keras'
    compiled loss skips padded steps, so their output gradient is exactly 0,
    and the probe's loss is the model's (the split model must see the mask)."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(6, 3, mask_zero=True)(inp)
    x = keras.layers.LSTM(4, return_sequences=True, name="rnn")(x)
    model = keras.Model(inp, keras.layers.Dense(2)(x))
    model.compile(loss="mse")
    tokens = np.array([[1, 2, 3, 0, 0], [4, 5, 1, 2, 3]], dtype="int32")
    y = np.random.default_rng(0).normal(size=(2, 5, 2)).astype("float32")
    result = make_probe(model, model.get_layer("rnn"))(tokens, y)
    output_gradient = result["directions"][0]["output_gradient"]
    np.testing.assert_array_equal(output_gradient[0, 3:], 0.0)
    assert np.abs(output_gradient[0, :3]).min() > 0
    assert np.abs(output_gradient[1]).min() > 0
    # The real model's gradient w.r.t. the Dense kernel equals the one the
    # probe's loss gives: both see the padding the same way.
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=tokens, y=y, y_pred=model(tokens), training=False)
    dense = model.layers[-1].kernel
    want = tape.gradient(loss, dense)
    h = tf.constant(result["directions"][0]["activation"])
    h._keras_mask = tf.constant(tokens != 0)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=tokens, y=y, y_pred=model.layers[-1](h), training=False)
    np.testing.assert_allclose(tape.gradient(loss, dense), want, rtol=1e-5, atol=1e-7)
    # dL/dy_t is that loss's gradient w.r.t. h at every step.
    with tf.GradientTape() as tape:
        tape.watch(h)
        loss = model.compute_loss(x=tokens, y=y, y_pred=model.layers[-1](h), training=False)
    np.testing.assert_allclose(output_gradient, tape.gradient(loss, h), rtol=1e-5, atol=1e-7)


def test_nan_weights_are_still_probed_not_called_a_different_cell(make_probe):
    """A model trained into NaN: the first-call check must not mistake NaN
    (NaN != NaN) for a cell whose output is not its state."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, name="rnn"), keras.layers.Dense(1)])
    model.compile(loss="mse")
    kernel = model.get_layer("rnn").cell.kernel
    value = kernel.numpy()
    value[0, 0] = np.nan
    kernel.assign(value)
    x = np.ones((2, 4, 2), "float32")
    result = make_probe(model, model.get_layer("rnn"))(x, np.ones((2, 1), "float32"))
    assert np.isnan(result["directions"][0]["activation"]).any()
