"""Gradient horizon G[b, t, j] = ||dL_t/dh_j|| against independent facts (float64).

  - a linear cell with recurrent matrix a*I read out directly: G[t, j] =
    a^(t-j) G[t, t] exactly, and the effective horizon in closed form;
  - the sum over t of the vectors dL_t/dh_j is LayerProbe's total dL/dh_j,
    and the per-timestep losses add up to the compiled loss;
  - a second method (one backward pass per target) agrees with the
    default reverse recurrence and with the tiled batch on LSTM, GRU (both
    reset_after), SimpleRNN, both directions of Bidirectional, go_backwards,
    a stack of cells, a user's own cell and ConvLSTM1D, and with the
    reverse recurrence's hand-written steps (Keras' own cells, several
    activations) and its generic pfor ones;
  - max_lag, targets, masks, sequence-to-one;
  - layers after the layer that mix timesteps: the reverse method falls back.
"""

import keras
import numpy as np
import pytest

from tb_rnn_plugin.summary_ops.horizon import (
    GradientHorizon,
    horizon_statistics,
    lag_profile,
)
from tb_rnn_plugin.summary_ops.split_probe import LayerProbe

B, T, D, U = 2, 5, 3, 3


@pytest.fixture(autouse=True)
def float64():
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    keras.utils.set_random_seed(2)
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


def sequence_model(layer, loss="mse", out=2):
    inp = keras.Input((T, D))
    model = keras.Model(inp, keras.layers.Dense(out)(layer(inp)))
    model.compile(loss=loss)
    return model


def data(out=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, T, D)), rng.normal(size=(B, T, out))


def compiled_loss(model, x, y, sample_weight=None):
    return float(model.compute_loss(x=x, y=y, y_pred=model(x), sample_weight=sample_weight))


def expected_effective_horizon(a, last):
    lags = np.arange(last + 1)
    return float((lags * a ** lags).sum() / (a ** lags).sum())


METHODS = ["reverse", "tile"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("a", [-0.8])
def test_linear_cell_decays_as_a_to_the_lag(a, method):
    layer = keras.layers.SimpleRNN(U, activation="linear", use_bias=False, return_sequences=True)
    inp = keras.Input((T, D))
    # Identity readout y_pred_t = h_t (a Dense layer: LayerProbe needs a
    # layer after this one to split the model at it).
    readout = keras.layers.Dense(U, use_bias=False, kernel_initializer="identity")
    model = keras.Model(inp, readout(layer(inp)))
    model.compile(loss="mse")
    layer.cell.recurrent_kernel.assign(a * np.eye(U))
    x, y = data(out=U)
    result = GradientHorizon(model, layer, method=method)(x, y)
    (d,) = result["directions"]
    assert d["targets"] is None and d["max_lag"] is None
    G = d["horizon"]
    assert G.shape == (B, T, T)
    diagonal = G[:, np.arange(T), np.arange(T)]
    assert np.all(diagonal > 0)
    t, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    lag = t - j
    expected = np.where(lag >= 0, np.abs(a) ** np.maximum(lag, 0), 0.0)[None] * diagonal[:, :, None]
    np.testing.assert_allclose(G, expected, rtol=1e-10, atol=1e-14)

    stats = horizon_statistics(G)
    np.testing.assert_allclose(stats["profile"], np.abs(a) ** np.arange(T), rtol=1e-10)
    assert stats["effective_horizon"] == pytest.approx(
        expected_effective_horizon(abs(a), T - 1), rel=1e-10
    )
    assert stats["max"] == pytest.approx(G.max())

    truncated = GradientHorizon(model, layer, max_lag=2, method=method)(x, y)["directions"][0]["horizon"]
    np.testing.assert_allclose(truncated, np.where(lag <= 2, expected, 0.0), rtol=1e-10, atol=1e-14)
    assert horizon_statistics(truncated, max_lag=2)["effective_horizon"] == pytest.approx(
        expected_effective_horizon(abs(a), 2), rel=1e-10
    )


@pytest.mark.parametrize("method", METHODS)
def test_vectors_add_up_to_the_state_gradient_and_losses_to_the_compiled_loss(method):
    layer = keras.layers.LSTM(U, return_sequences=True)
    model = sequence_model(layer)
    x, y = data()
    # Per-step weights (Keras rejects a [B] weight for a [B, T] loss).
    weight = np.random.default_rng(1).uniform(0.1, 2.0, size=(B, T))
    result = GradientHorizon(model, layer, return_vectors=True, method=method)(x, y, weight)
    (d,) = result["directions"]
    assert result["step_losses"].shape == (B, T)
    assert result["step_losses"].sum() == pytest.approx(compiled_loss(model, x, y, weight), rel=1e-12)
    state_gradient = LayerProbe(model, layer)(x, y, weight)["directions"][0]["state_gradient"]
    assert d["vectors"].shape == (B, T, T, U)
    np.testing.assert_allclose(d["vectors"].sum(axis=1), state_gradient, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(d["horizon"], np.linalg.norm(d["vectors"], axis=-1), rtol=1e-12)
    # Causal: nothing flows from L_t to later h_j.
    assert np.all(np.triu(np.ones((T, T)), 1)[None] * d["horizon"] == 0)


class GatedCell(keras.layers.Layer):
    """A user's own cell: h_t = tanh(x W + h R) * sigmoid(h)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = self.output_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units))
        self.r = self.add_weight(shape=(self.units, self.units))

    def call(self, inputs, states):
        h = keras.ops.tanh(inputs @ self.w + states[0] @ self.r) * keras.ops.sigmoid(states[0])
        return h, [h]


LAYERS = {
    "LSTM": lambda: keras.layers.LSTM(U, return_sequences=True),
    "GRU": lambda: keras.layers.GRU(U, return_sequences=True),
    "GRU reset_after=False": lambda: keras.layers.GRU(U, return_sequences=True, reset_after=False),
    "SimpleRNN": lambda: keras.layers.SimpleRNN(U, return_sequences=True),
    "Bidirectional": lambda: keras.layers.Bidirectional(keras.layers.LSTM(U, return_sequences=True)),
    "go_backwards": lambda: keras.layers.GRU(U, return_sequences=True, go_backwards=True),
    "stacked cells": lambda: keras.layers.RNN(
        [keras.layers.LSTMCell(U), keras.layers.GRUCell(U + 1)], return_sequences=True
    ),
    "user cell": lambda: keras.layers.RNN(GatedCell(U), return_sequences=True),
}
DIRECTIONS = {"Bidirectional": [("forward", None), ("backward", None)],
              "stacked cells": [(None, 0), (None, 1)]}
# Which reverse step each direction takes: Keras' own cells have a
# hand-written one (cell_reverse), the rest the generic pfor VJP.
REVERSE_STEPS = {"Bidirectional": ["hand-written", "hand-written"],
                 "stacked cells": ["pfor"], "user cell": ["pfor"]}


@pytest.mark.parametrize("kind", list(LAYERS))
def test_one_backward_pass_per_target_agrees(kind):
    layer = LAYERS[kind]()
    model = sequence_model(layer)
    x, y = data(seed=3)
    # The pfor Jacobian on one case (its tracing costs ~12 s).
    other = GradientHorizon(model, layer, method="jacobian" if kind == "LSTM" else "tile")(x, y)
    horizon = GradientHorizon(model, layer, return_vectors=True)  # "reverse", the default
    fast = horizon(x, y)
    assert horizon.last_method == "reverse"
    assert horizon.reverse_steps == REVERSE_STEPS.get(kind, ["hand-written"])
    slow = horizon.loop(x, y)
    expected = DIRECTIONS.get(kind, [(None, None)])
    assert [(d["direction"], d["cell_index"]) for d in fast["directions"]] == expected
    for f, s, o in zip(fast["directions"], slow["directions"], other["directions"]):
        np.testing.assert_allclose(f["horizon"], s["horizon"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(f["vectors"], s["vectors"], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(o["horizon"], s["horizon"], rtol=1e-10, atol=1e-14)
        backward = f["direction"] == "backward" or kind == "go_backwards"
        anti_causal = np.tril(np.ones((T, T)), -1) if backward else np.triu(np.ones((T, T)), 1)
        assert np.all(anti_causal[None] * f["horizon"] == 0)
        assert np.all(f["horizon"][:, np.arange(T), np.arange(T)] > 0)
    # Some targets (one given twice, one from the end) and a lag window.
    part = GradientHorizon(model, layer, max_lag=1, targets=[3, 0, -1, 3])
    fast, slow = part(x, y), part.loop(x, y)
    assert part.last_method == "loop"
    for f, s in zip(fast["directions"], slow["directions"]):
        assert f["targets"] == [3, 0, T - 1, 3] and f["horizon"].shape == (B, 4, T)
        np.testing.assert_allclose(f["horizon"], s["horizon"], rtol=1e-10, atol=1e-14)
        assert np.all(f["horizon"][:, [0, 1, 2], [3, 0, T - 1]] > 0)


def test_conv_lstm_reverse_agrees_with_the_loop():
    # (channels_first has no convolution gradient on a CPU, for any method.)
    layer = keras.layers.ConvLSTM1D(2, 2, padding="same", return_sequences=True)
    inp = keras.Input((T, D, 4))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Reshape((T, -1))(layer(inp))))
    model.compile(loss="mse")
    x = np.random.default_rng(7).normal(size=(B, T, D, 4))
    _, y = data(seed=7)
    horizon = GradientHorizon(model, layer, max_lag=2, targets=[0, 3, 4])
    [fast] = horizon(x, y)["directions"]
    assert horizon.last_method == "reverse"
    [slow] = horizon.loop(x, y)["directions"]
    assert fast["cell"] == "ConvLSTM1D" and fast["horizon"].shape == (B, 3, T)
    np.testing.assert_allclose(fast["horizon"], slow["horizon"], rtol=1e-10, atol=1e-14)
    assert np.all(fast["horizon"][:, [1, 2], [3, 4]] > 0)


def test_layers_after_it_that_mix_timesteps_make_reverse_fall_back():
    layer = keras.layers.LSTM(U, return_sequences=True)
    inp = keras.Input((T, D))
    model = keras.Model(inp, keras.layers.Conv1D(2, 3, padding="same")(layer(inp)))
    model.compile(loss="mse")
    x, y = data(seed=8)
    horizon = GradientHorizon(model, layer, targets=[1, 3])
    [got] = horizon(x, y)["directions"]
    assert horizon.last_method == "jacobian"
    [want] = horizon.loop(x, y)["directions"]
    np.testing.assert_allclose(got["horizon"], want["horizon"], rtol=1e-10, atol=1e-14)
    # The conv reaches one step ahead: L_1 depends on h_2 too.
    assert np.all(got["horizon"][:, 0, 2] > 0)
    horizon(x, y)
    assert horizon.last_method == "jacobian"  # decided once


@pytest.mark.parametrize("method", METHODS)
def test_targets_and_max_lag_keep_only_their_rows_and_lags(method):
    layer = keras.layers.Bidirectional(keras.layers.SimpleRNN(U, return_sequences=True))
    model = sequence_model(layer)
    x, y = data(seed=4)
    full = GradientHorizon(model, layer, method=method)(x, y)
    part = GradientHorizon(model, layer, max_lag=1, targets=[1, -1], method=method, max_copies=1)(x, y)
    t = np.array([1, T - 1])[:, None]
    j = np.arange(T)[None]
    for f, p in zip(full["directions"], part["directions"]):
        assert p["targets"] == [1, T - 1] and p["max_lag"] == 1
        assert p["horizon"].shape == (B, 2, T)
        lag = (j - t) if p["direction"] == "backward" else (t - j)
        keep = lag <= 1
        rows = f["horizon"][:, [1, T - 1]]
        np.testing.assert_allclose(p["horizon"], np.where(keep[None], rows, 0.0), rtol=1e-10, atol=1e-14)
        assert np.all(p["horizon"][:, ~keep] == 0) and np.all(rows[:, keep & (lag >= 0)] > 0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_masked_sequences_padding_has_no_loss_and_no_gradient(reduction, method):
    vocab = 7
    inp = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(vocab, D, mask_zero=True)(inp)
    layer = keras.layers.LSTM(U, return_sequences=True)
    model = keras.Model(inp, keras.layers.Dense(2)(layer(embedded)))
    model.compile(loss=keras.losses.MeanSquaredError(reduction=reduction))
    x = np.array([[3, 1, 4, 0, 0], [2, 6, 5, 1, 0]])
    real = x != 0
    _, y = data(seed=5)
    weight = np.array([[1.0, 2.0, 0.5, 1.0, 1.0], [0.2, 1.0, 1.0, 3.0, 1.0]])
    horizon = GradientHorizon(model, layer, return_vectors=True, method=method)
    result = horizon(x, y, weight)
    np.testing.assert_array_equal(result["mask"], real)
    steps = result["step_losses"]
    assert steps.sum() == pytest.approx(compiled_loss(model, x, y, weight), rel=1e-12)
    assert np.all(steps[~real] == 0) and np.all(steps[real] != 0)
    (d,) = result["directions"]
    G = d["horizon"]
    assert np.all(G[~real] == 0)  # padded targets t
    assert np.all(np.swapaxes(G, 1, 2)[~real] == 0)  # padded sources j
    if reduction == "sum":
        # LayerProbe's loss does not see the output mask (its post model gets
        # unmasked inputs); with "sum", folding the mask into the weights
        # gives the masked loss whether or not the mask is also applied.
        probe = LayerProbe(model, layer)(x, y, weight * real)
        state_gradient = probe["directions"][0]["state_gradient"]
        np.testing.assert_allclose(d["vectors"].sum(axis=1), state_gradient, rtol=1e-10, atol=1e-14)
    loop = horizon.loop(x, y, weight)["directions"][0]["horizon"]
    np.testing.assert_allclose(loop, G, rtol=1e-10, atol=1e-14)
    profile = lag_profile(G, mask=real)
    assert profile[0] == 1 and np.isnan(profile[-1])  # no real pair 4 steps apart


@pytest.mark.parametrize("method", METHODS)
def test_sequence_to_one_is_one_row_of_state_gradient_norms(method):
    layer = keras.layers.GRU(U)
    inp = keras.Input((T, D))
    model = keras.Model(inp, keras.layers.Dense(2)(layer(inp)))
    model.compile(loss="mse")
    x, _ = data()
    y = np.random.default_rng(6).normal(size=(B, 2))
    result = GradientHorizon(model, layer, method=method)(x, y)
    (d,) = result["directions"]
    assert result["step_losses"] is None
    assert d["targets"] == [T - 1] and d["horizon"].shape == (B, 1, T)
    state_gradient = LayerProbe(model, layer)(x, y)["directions"][0]["state_gradient"]
    np.testing.assert_allclose(d["horizon"][:, 0], np.linalg.norm(state_gradient, axis=-1), rtol=1e-10)


def test_statistics_by_hand():
    # One sample, targets 1 and 2 of T = 3, a backward and a forward reading.
    G = np.array([[[2.0, 4.0, 0.0], [1.0, 1.0, 2.0]]])
    forward = horizon_statistics(G, targets=[1, 2])
    # lag 0: 4/4, 2/2 -> 1; lag 1: 2/4, 1/2 -> 0.5; lag 2: 1/2 -> 0.5
    np.testing.assert_allclose(forward["profile"], [1.0, 0.5, 0.5])
    assert forward["effective_horizon"] == pytest.approx((0.5 + 1.0) / 2.0)
    assert forward["max"] == 4.0
    np.testing.assert_allclose(forward["max_per_target"], [4.0, 2.0])
    backward = lag_profile(G, targets=[1, 2], backward=True)
    np.testing.assert_allclose(backward, [1.0, 0.0, np.nan])  # t=1, j=2: 0/4
    masked = lag_profile(G, targets=[1, 2], mask=np.array([[False, True, True]]))
    np.testing.assert_allclose(masked, [1.0, 0.5, np.nan])


@pytest.mark.parametrize("zero_output_for_mask,hand_written", [(False, True), (True, True), (True, False)])
def test_masked_bidirectional_reverse_agrees_with_the_loop(zero_output_for_mask, hand_written):
    inp = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(7, D, mask_zero=True)(inp)
    layer = keras.layers.Bidirectional(keras.layers.GRU(
        U, return_sequences=True, reset_after=False, zero_output_for_mask=zero_output_for_mask))
    model = keras.Model(inp, keras.layers.Dense(2)(layer(embedded)))
    model.compile(loss="mse")
    x = np.array([[3, 1, 4, 0, 0], [2, 6, 5, 1, 0]])
    _, y = data(seed=9)
    horizon = GradientHorizon(model, layer, max_lag=2, hand_written=hand_written)
    fast, slow = horizon(x, y), horizon.loop(x, y)
    assert horizon.reverse_steps == ["hand-written" if hand_written else "pfor"] * 2
    for f, s in zip(fast["directions"], slow["directions"]):
        np.testing.assert_allclose(f["horizon"], s["horizon"], rtol=1e-10, atol=1e-14)
        assert np.all(np.swapaxes(f["horizon"], 1, 2)[x == 0] == 0)


# Activations with a known derivative take the hand-written step; others
# (hard_sigmoid here) the generic one. Both agree with the loop.
ACTIVATIONS = {
    "LSTM relu/linear": (lambda: keras.layers.LSTM(
        U, return_sequences=True, activation="relu", recurrent_activation="linear"), "hand-written"),
    "SimpleRNN relu": (lambda: keras.layers.SimpleRNN(U, return_sequences=True, activation="relu"),
                       "hand-written"),
    "GRU no bias": (lambda: keras.layers.GRU(U, return_sequences=True, use_bias=False), "hand-written"),
    "GRU hard_sigmoid": (lambda: keras.layers.GRU(
        U, return_sequences=True, recurrent_activation="hard_sigmoid"), "pfor"),
}


@pytest.mark.parametrize("kind", list(ACTIVATIONS))
def test_cell_activations_reverse_agrees_with_the_loop(kind):
    make, expected_steps = ACTIVATIONS[kind]
    layer = make()
    model = sequence_model(layer)
    x, y = data(seed=11)
    horizon = GradientHorizon(model, layer, return_vectors=True)
    fast, slow = horizon(x, y), horizon.loop(x, y)
    assert horizon.reverse_steps == [expected_steps]
    [f], [s] = fast["directions"], slow["directions"]
    np.testing.assert_allclose(f["vectors"], s["vectors"], rtol=1e-10, atol=1e-14)
    assert np.all(f["horizon"][:, np.arange(T), np.arange(T)] > 0)
