"""The health overview's verdicts on constructed cases whose truth is
known, read back through GET /health: small Keras models with set weights
logged by the real callback (RNNTensorBoard), and a constructed batch
written with the summary op. The recurrent kernel decides the gradient
through time: dL/dh_{t-1} = W_rec^T (f'(.) * dL/dh_t), so 0.5 I under tanh
shrinks it at least 2x a step, a linear 1.25 I grows it exactly 1.25x, and
a GRU update gate of 1 passes it on unchanged."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

from tb_rnn_plugin import health
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

PREFIX = "/data/plugin/rnn"
BATCH, FEATURES, UNITS = 8, 3, 4
# The LSTM: seven samples whose gradient at t=0 is below 1e-3 of
# that at the last step, and one (11.2) that grows.
MIXED_RATIOS = np.array([8.6e-5, 3.9e-4, 4.0e-5, 3.3e-5, 2.0e-4, 5.6e-5, 1.2e-4, 11.2])


def probe(timesteps, seed=0):
    x = np.random.default_rng(seed).normal(size=(BATCH, timesteps, FEATURES)).astype("float32")
    return x, np.zeros((BATCH, 1), "float32")


def log_model(model, logdir, timesteps):
    """One logging step of `model` (weights unchanged: SGD(0)) on a probe batch."""
    x, y = probe(timesteps)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[RNNTensorBoard(
        str(logdir), update_freq=1, probe_data=(x, y), log_weights=False, max_samples=BATCH)])


def simple_rnn(recurrent_scale, activation, timesteps):
    """SimpleRNN(UNITS) with recurrent kernel `recurrent_scale` x I, then Dense(1) with bias 1
    (the loss, and so dL/dh_T, is never 0)."""
    model = keras.Sequential([
        keras.Input((timesteps, FEATURES)),
        keras.layers.SimpleRNN(UNITS, activation=activation, name="rnn"),
        keras.layers.Dense(1, name="out"),
    ])
    rnn = model.get_layer("rnn").cell
    rnn.kernel.assign(np.random.default_rng(1).normal(scale=0.3, size=(FEATURES, UNITS)).astype("float32"))
    rnn.recurrent_kernel.assign(recurrent_scale * np.eye(UNITS, dtype="float32"))
    rnn.bias.assign(np.zeros(UNITS, "float32"))
    model.get_layer("out").kernel.assign(np.ones((UNITS, 1), "float32"))
    model.get_layer("out").bias.assign(np.ones(1, "float32"))
    return model


MEMORY_UNITS, GRU_UNITS, GRU_STEPS = 2, 16, 128


def gru_with_memory():
    """GRU(16) whose update gate is 1 in units 0-1 (h_t = h_{t-1}: the state
    is kept, and dL/dh passes back unchanged) and 0 in the others (h_t is
    the candidate, no recurrent kernel: nothing is kept). Over 128 steps
    the two units carry the gradient to t=0: their summed gradient is
    sqrt(128) ~ 11 x a memoryless unit's (dominant, from 10x)."""
    model = keras.Sequential([
        keras.Input((GRU_STEPS, FEATURES)),
        keras.layers.GRU(GRU_UNITS, name="rnn"),
        keras.layers.Dense(1, name="out"),
    ])
    cell = model.get_layer("rnn").cell
    kernel = np.zeros((FEATURES, 3 * GRU_UNITS), "float32")  # gates z, r, candidate
    kernel[:, 2 * GRU_UNITS:] = np.random.default_rng(2).normal(scale=0.5, size=(FEATURES, GRU_UNITS))
    cell.kernel.assign(kernel)
    cell.recurrent_kernel.assign(np.zeros(cell.recurrent_kernel.shape, "float32"))
    bias = np.zeros(cell.bias.shape, "float32")
    update_bias = np.full(GRU_UNITS, -20.0, "float32")
    update_bias[:MEMORY_UNITS] = 20.0
    bias[..., :GRU_UNITS] = update_bias / bias.ndim  # reset_after: input and recurrent bias add up
    cell.bias.assign(bias)
    model.get_layer("out").kernel.assign(np.ones((GRU_UNITS, 1), "float32"))
    model.get_layer("out").bias.assign(np.ones(1, "float32"))
    return model


def mixed_state_gradient(timesteps=10):
    """[8, T, 3] whose norm falls (or grows) geometrically from the last
    timestep back to t=0 by MIXED_RATIOS[sample]."""
    back = (timesteps - 1 - np.arange(timesteps)) / (timesteps - 1)
    norms = MIXED_RATIOS[:, None] ** back[None, :]
    return (norms[:, :, None] * np.array([1.0, 2.0, 2.0]) / 3).astype(np.float32)


# The state gradient's norm over training: steady within 2x, then 30x the
# median of the 5 steps before it at step 60.
SPIKE_STEPS = (0, 10, 20, 30, 40, 50, 60, 70)
SPIKE_SCALES = (1.0, 1.5, 0.8, 1.2, 1.0, 1.1, 30.0, 1.0)


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    import tensorflow as tf

    import tb_rnn_plugin

    root = tmp_path_factory.mktemp("verdict_logs")
    keras.utils.set_random_seed(0)
    log_model(simple_rnn(0.5, "tanh", 40), root / "fading", 40)
    log_model(simple_rnn(1.25, None, 40), root / "growing", 40)
    log_model(gru_with_memory(), root / "memory", GRU_STEPS)
    with tf.summary.create_file_writer(str(root / "mixed")).as_default():
        assert tb_rnn_plugin.state_gradient("lstm/state_gradient", mixed_state_gradient(), step=0,
                                            layer="lstm", cell="LSTM")
    with tf.summary.create_file_writer(str(root / "spiking")).as_default():
        for step, scale in zip(SPIKE_STEPS, SPIKE_SCALES):
            assert tb_rnn_plugin.state_gradient("gru/state_gradient", scale * mixed_state_gradient(),
                                                step=step, layer="gru", cell="GRU")
    dp = data_provider_over(str(root))
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, sampling_hints={}))
    client = werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))
    response = client.get(PREFIX + "/health")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {row["run"]: row for row in response.get_json()["rows"]}


def test_a_tanh_simple_rnn_with_half_identity_vanishes_over_40_steps(rows):
    row = rows["fading"]
    # Each step back multiplies ||dL/dh|| by at most 0.5: <= 0.5^39 ~ 1.8e-12.
    assert row["vanishing"]["problem"] is True
    assert row["vanishing"]["value"] <= 0.5 ** 39 * 1.01
    assert row["vanishing"]["max"] <= 0.5 ** 39 * 1.01 and row["vanishing"]["below"] == BATCH
    assert row["exploding"]["problem"] is False


def test_a_linear_simple_rnn_with_1_25_identity_explodes_through_time(rows):
    row = rows["growing"]
    # Linear: dL/dh_0 = (1.25 I)^39 dL/dh_39 in every sample, exactly.
    growth = 1.25 ** 39
    exploding = row["exploding"]
    assert exploding["problem"] is True and exploding["through_time"] is True
    assert exploding["value"] == pytest.approx(growth, rel=1e-3)
    assert (exploding["min"], exploding["max"]) == (pytest.approx(growth, rel=1e-3),) * 2
    assert exploding["above"] == BATCH and exploding["level"] == health.EXPLODING_LEVEL
    assert row["vanishing"]["problem"] is False


def test_a_gru_whose_two_units_keep_their_state_is_neither_vanishing_nor_exploding(rows):
    row = rows["memory"]
    # At t=0 only the 2 memory units of 16 still carry dL/dh_T's equal
    # entries: sqrt(2 / 16) in every sample.
    assert row["vanishing"]["value"] == pytest.approx(np.sqrt(MEMORY_UNITS / GRU_UNITS), rel=1e-3)
    assert row["vanishing"]["problem"] is False and row["exploding"]["problem"] is False
    # The two memory units dominate the gradient: shown, not a problem.
    dominant = row["dominant"]
    assert dominant["units"] == MEMORY_UNITS and dominant["of"] == GRU_UNITS
    assert dominant["problem"] is False and dominant["information"] is True
    assert not any(row[key]["problem"] for key in ("dead", "saturated", "dominant"))
    assert row["dominant"]["since"] == row["dominant"]["step"]  # logged from the first step


def test_seven_vanishing_samples_of_eight_make_the_batch_vanish(rows):
    cell = rows["mixed"]["vanishing"]
    assert cell["problem"] is True and cell["below"] == 7 and cell["samples"] == BATCH
    assert cell["value"] == pytest.approx(np.median(MIXED_RATIOS), rel=1e-3)
    assert (cell["min"], cell["max"]) == (pytest.approx(3.3e-5, rel=1e-3), pytest.approx(11.2, rel=1e-3))
    # The old ratio of batch means let the one growing sample decide.
    norms = np.linalg.norm(mixed_state_gradient().astype(np.float64), axis=-1)
    assert norms[:, 0].mean() / norms[:, -1].mean() > health.VANISHING_LEVEL
    assert rows["mixed"]["exploding"]["problem"] is False and rows["mixed"]["exploding"]["above"] == 0


def test_a_norm_ten_times_its_recent_history_explodes_over_training(rows):
    exploding = rows["spiking"]["exploding"]
    # The profile's shape is the mixed batch's at every step: no growth through time.
    assert exploding["through_time"] is False
    assert exploding["jump"]["step"] == 60 and exploding["jump"]["tag"] == "gru/state_gradient"
    assert exploding["jump"]["factor"] == pytest.approx(30.0 / 1.1, rel=1e-3)
    assert exploding["problem"] is True and exploding["first_step"] == 60


def test_training_jumps_by_hand():
    steps = np.arange(8)
    # Step 2 is 9x (not 10x) its history; step 5 is 10x the median (1, 1, 9).
    assert health.training_jumps(steps, [1, 1, 9, np.nan, 1, 10, 1, 1]) == [(5, 10.0)]
    # Two steps of history at least: the second logged step is never judged.
    assert health.training_jumps(steps[:2], [1, 100]) == []
