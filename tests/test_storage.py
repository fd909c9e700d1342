"""The callback's storage: big tensors as bfloat16 and only every full_every-th
logging step (plus the first, and each series' first NaN/Inf step, pinned),
kept companions at every step in float32; read back through TensorBoard's
data provider and the plugin's /tensor."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tb_reading import data_provider_over, read_back, read_stats
from tensorboard import context
from tensorboard.plugins import base_plugin

from tb_rnn_plugin import RNNTensorBoard
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin import reading
from tb_rnn_plugin.summary_ops import summary

BLOB_KINDS = metadata.TIMESTEP_KINDS + metadata.WEIGHT_KINDS


def bfloat16_rounded(values):
    """float32 values rounded to bfloat16 (round to nearest, ties to even)
    and widened back; NaN stays NaN, +-Inf stays +-Inf, overflow is +-Inf."""
    bits = np.asarray(values, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(values)
    rounded[nan] = (bits[nan] >> 16) | 0x40  # stays a (quiet) NaN
    return (rounded.astype(np.uint32) << 16).view(np.float32)


def awkward_values():
    """[2, 3, 8] float32: ties, tiny vanishing-gradient values, subnormals,
    NaN, +-Inf, values near float32's max, exact integers."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2, 3, 8)).astype(np.float32) * np.float32(1e-3)
    special = np.array([
        1 + 2**-8,  # a tie: rounds to even (1.0)
        1 + 3 * 2**-8,  # a tie: rounds to even (1 + 2**-6)
        1e-30, -3.3e-35, 1e-40, np.nan, np.inf, -np.inf,
        3.39e38, -0.0, 65504.0, 12345.678, 1.0 + 2**-7, 7e-45, -1e38, 2.0,
    ], np.float32)
    data.reshape(-1)[: special.size] = special
    return data


def test_bfloat16_rounding_reference_is_right():
    # The reference rounding this file checks against, on hand-made cases.
    got = bfloat16_rounded(np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, 1e-30], np.float32))
    assert got[0] == 1.0 and got[1] == 1 + 2**-6 and got[2] == 1 + 2**-7
    assert abs(got[3] - 1e-30) <= 1e-30 * 2**-8


def test_bfloat16_blob_reads_back_rounded_and_companions_stay_float32(tmp_path):
    data = awkward_values()
    with tf.summary.create_file_writer(str(tmp_path)).as_default(step=3):
        assert summary.state_gradient("g", data, layer="l", precision="bfloat16")
        assert summary.activation("a", data, layer="l")  # float32, the summary ops' default

    logged = read_back(tmp_path)["."]
    _, steps, (stored,) = logged["g"]
    assert steps == [3] and stored.dtype == np.float32 and stored.shape == data.shape
    want = bfloat16_rounded(data)
    np.testing.assert_array_equal(stored, want)  # NaN == NaN here
    assert np.isnan(stored.reshape(-1)[5])
    assert list(stored.reshape(-1)[6:8]) == [np.inf, -np.inf]
    assert stored.reshape(-1)[2] == np.float32(1e-30) or abs(stored.reshape(-1)[2] / 1e-30 - 1) < 2**-8
    finite = np.isfinite(data)
    # Within half a bfloat16 ulp, relative 2**-8, wherever float32 is normal
    # (subnormals keep fewer bits, as in float32 itself).
    normal = finite & (np.abs(data) >= np.finfo(np.float32).tiny)
    assert np.all(np.abs(stored[normal] - data[normal]) <= np.abs(data[normal]) * 2**-8)
    np.testing.assert_array_equal(logged["a"][2][0], data)

    # Companions come from the float32 values as given, not the rounded ones.
    stats = read_stats(tmp_path)["."]["g"][2][0]
    assert stats.dtype == np.float32
    # max |v| of the finite values: float32's 3.39e38, not bfloat16's 3.3895e38.
    assert stats[1] == np.float32(3.39e38) != want.reshape(-1)[8]
    assert list(stats[2:5]) == [1, 1, 1]
    assert stats[5] == 1  # written: the tensor itself is in the log
    profile = read_stats(tmp_path, metadata.PROFILE)["."]["g"][2][0]
    want_profile = np.linalg.norm(data.astype(np.float64), axis=-1).astype(np.float32)
    np.testing.assert_allclose(profile, want_profile, rtol=1e-6)
    rounded_profile = np.linalg.norm(want.astype(np.float64), axis=-1).astype(np.float32)
    assert not np.allclose(profile, rounded_profile, rtol=1e-5, equal_nan=True)


def test_bfloat16_weight_blob_and_exact_gate_stats(tmp_path):
    data = awkward_values().reshape(6, 8)
    gates = [{"name": "a", "start": 0, "stop": 4}, {"name": "b", "start": 4, "stop": 8}]
    with tf.summary.create_file_writer(str(tmp_path)).as_default(step=1):
        summary.weight("w/kernel/weight", data, matrix="kernel", gates=gates, precision="bfloat16")
    _, _, (stored,) = read_back(tmp_path, BLOB_KINDS)["."]["w/kernel/weight"]
    np.testing.assert_array_equal(stored, bfloat16_rounded(data))
    gate_stats = read_stats(tmp_path, metadata.GATE_STATS)["."]["w/kernel/weight"][2][0]
    mean = metadata.GATE_STAT_FIELDS.index("mean")
    block = data[:, 4:8]
    finite = block[np.isfinite(block)]
    np.testing.assert_allclose(gate_stats[1, mean], np.mean(finite.astype(np.float64)), rtol=1e-5)


def test_decode_blob_reads_bfloat16_protos_of_other_writers():
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2

    values = np.array([[1.5, -np.inf], [np.nan, 1e-30]], np.float32)
    bits = (bfloat16_rounded(values).view(np.uint32) >> 16).astype(np.uint16)
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)] * 2
    )
    as_content = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_BFLOAT16, tensor_shape=shape, tensor_content=bits.tobytes()
    )
    as_field = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_BFLOAT16, tensor_shape=shape, half_val=[int(b) for b in bits.ravel()]
    )
    for proto in (as_content, as_field):
        got = reading.decode_blob(proto.SerializeToString())
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, bfloat16_rounded(values))
    truncated = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_BFLOAT16, tensor_shape=shape, tensor_content=bits.tobytes()[:6]
    )
    with pytest.raises(reading.UnreadableDataError):
        reading.decode_blob(truncated.SerializeToString())


def test_full_false_writes_only_the_companions(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default(step=2):
        assert summary.activation("a", np.ones((1, 2, 3)), full=False)
        assert not summary.timestep_mask("m", np.ones((1, 2)), full=False)
    assert read_back(tmp_path) == {}
    assert read_stats(tmp_path)["."]["a"][1] == [2]


def test_bad_precision_is_refused(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of"):
        RNNTensorBoard(tmp_path, precision="float16")
    with pytest.raises(ValueError, match="full_every must be a positive integer"):
        RNNTensorBoard(tmp_path, full_every=0)
    with tf.summary.create_file_writer(str(tmp_path)).as_default(step=0):
        with pytest.raises(ValueError, match="precision must be one of"):
            summary.activation("a", np.ones((1, 2, 3)), precision="half")


T, FEATURES, UNITS, BATCH = 6, 3, 4, 4


def lstm_model():
    keras.utils.set_random_seed(5)
    inputs = keras.Input((T, FEATURES))
    x = keras.layers.LSTM(UNITS, return_sequences=True, name="lstm")(inputs)
    x = keras.layers.GRU(UNITS, name="gru")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, name="dense")(x))
    model.compile(optimizer="adam", loss="mse")
    return model


def data(steps):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(steps * BATCH, T, FEATURES)).astype(np.float32)
    return x, x[:, :2, 0].sum(axis=1, keepdims=True)


KEPT_KINDS = (
    metadata.STATS, metadata.PROFILE, metadata.GATE_STATS, metadata.GATE_HISTOGRAM,
    metadata.UNIT_HEALTH, metadata.MEMORY_TIMESCALE,
)


def test_full_every_3_writes_big_tensors_at_logging_steps_1_4_7_and_companions_at_all(tmp_path):
    model = lstm_model()
    model.fit(*data(7), batch_size=BATCH, shuffle=False, verbose=0, callbacks=[
        RNNTensorBoard(tmp_path, update_freq=1, full_every=3),
    ])
    blobs = read_back(tmp_path, BLOB_KINDS)["."]
    assert {"lstm/activation", "lstm/gate_f", "lstm/cell_state", "gru/state_gradient",
            "lstm/kernel/weight", "gru/recurrent_kernel/weight_gradient"} <= set(blobs)
    for tag, (_, steps, arrays) in blobs.items():
        assert steps == [1, 4, 7], tag
        assert all(a.dtype == np.float32 for a in arrays)
    for kind in KEPT_KINDS:
        series = read_stats(tmp_path, kind)["."]
        assert series, kind
        for tag, (_, steps, _) in series.items():
            assert steps == list(range(1, 8)), (kind, tag)
    # Only the first step is pinned.
    provider = data_provider_over(tmp_path)
    pinned = provider.read_blob_sequences(
        context.RequestContext(), experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME,
        downsample=1000,
    )["."]
    assert pinned and all([d.step for d in points] == [1] for points in pinned.values())


def test_defaults_store_bfloat16_of_the_probe_values(tmp_path):
    model = lstm_model()
    x, y = data(2)
    callback = RNNTensorBoard(tmp_path, update_freq=1, probe_data=(x[:BATCH], y[:BATCH]))
    assert (callback.full_every, callback.precision) == (10, "bfloat16")
    model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[callback])
    from tb_rnn_plugin.summary_ops.split_probe import LayerProbe

    expected = LayerProbe(model, model.get_layer("lstm"))(x[:BATCH], y[:BATCH])["directions"][0]
    _, steps, values = read_back(tmp_path)["."]["lstm/state_gradient"]
    assert steps == [1]  # the second logging step is not a full one
    # Step 1's weights are not the final ones: check the kept stats at the
    # last step against the probe, and the blob's rounding at step 1.
    stats = read_stats(tmp_path)["."]["lstm/state_gradient"]
    assert stats[1] == [1, 2]
    written = metadata.STAT_FIELDS.index("written")
    assert [v[written] for v in stats[2]] == [1, 0]  # only the kept series at step 2
    np.testing.assert_allclose(
        stats[2][-1][0], np.linalg.norm(expected["state_gradient"][:4].astype(np.float64)),
        rtol=1e-4,
    )
    stored = values[0]
    assert np.all(bfloat16_rounded(stored) == stored)  # exactly bfloat16 values


class PoisonDense(keras.callbacks.Callback):
    """Sets the Dense kernel to NaN after training step `at`: the LSTM's
    gradients turn NaN at that logging step, its weights (and so its
    activations) at the next one, once Adam has applied a NaN gradient."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.at:
            kernel = self.model.get_layer("dense").kernel
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


@pytest.fixture(scope="module")
def poisoned_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("poisoned")
    model = lstm_model()
    model.fit(*data(9), batch_size=BATCH, shuffle=False, verbose=0, callbacks=[
        PoisonDense(at=5),  # before the RNN callback: it logs the poisoned step
        RNNTensorBoard(logdir / "run", update_freq=1, full_every=3),
    ])
    return logdir


def test_each_series_first_non_finite_step_is_written_whole_and_pinned(poisoned_logdir):
    blobs = read_back(poisoned_logdir, BLOB_KINDS)["run"]
    stats = read_stats(poisoned_logdir)["run"]
    nan_count = metadata.STAT_FIELDS.index("nan_count")
    first_bad = {
        tag: next((s for s, v in zip(steps, values) if v[nan_count] > 0), None)
        for tag, (_, steps, values) in stats.items()
    }
    assert first_bad["lstm/state_gradient"] == 5
    assert first_bad["lstm/kernel/weight_gradient"] == 5
    assert first_bad["lstm/activation"] == 6
    assert first_bad["lstm/kernel/weight"] == 6
    # Full at 1 (first), 4 (grid), 5 (the gradients' first NaN), 6 (the
    # activations' and weights' first NaN), then 3 logging steps on: 9.
    for tag, (_, steps, _) in blobs.items():
        assert steps == [1, 4, 5, 6, 9], tag
    _, steps, values = blobs["lstm/state_gradient"]
    assert np.isfinite(values[1]).all() and np.isnan(values[2]).any()
    provider = data_provider_over(poisoned_logdir)
    pinned = provider.read_blob_sequences(
        context.RequestContext(), experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME,
        downsample=1000,
    )["run"]
    assert pinned["lstm/activation/pinned"] and all(
        [d.step for d in points] == [1, 5, 6] for points in pinned.values()
    )
    # The kept companions have every step.
    assert all(steps == list(range(1, 10)) for _, steps, _ in stats.values())


def test_plugin_serves_the_first_non_finite_step_when_sampling_drops_it(poisoned_logdir):
    samples = 1  # the sampled series keeps only its last step, 9
    provider = data_provider_over(poisoned_logdir, samples=samples)
    ctx = base_plugin.TBContext(
        data_provider=provider, sampling_hints={"rnn": samples}, logdir=str(poisoned_logdir)
    )
    plugin = rnn_plugin.RnnLoader().load(ctx)
    request = context.RequestContext()
    sampled = provider.read_blob_sequences(
        request, experiment_id="", plugin_name=metadata.PLUGIN_NAME, downsample=1000
    )["run"]["lstm/state_gradient"]
    assert [d.step for d in sampled] == [9]
    steps = plugin.steps_impl(request, "", "run", "lstm/state_gradient")
    # Written in full at 1, 4, 5, 6, 9 (kept series at all 9 steps): TensorBoard
    # dropped step 4, which is what the tab's "showing 4 of 5" must say.
    assert steps["steps"] == [1, 5, 6, 9] and steps["logged_steps"] == 5
    body, headers = plugin.tensor_impl(request, "", "run", "lstm/state_gradient", 5)
    served = np.frombuffer(body, "<f4").reshape(
        [int(d) for d in dict(headers)["X-Tensor-Shape"].split(",")]
    )
    assert dict(headers)["X-Tensor-Dtype"] == "float32"
    assert np.isnan(served).any()
    _, _, values = read_back(poisoned_logdir)["run"]["lstm/state_gradient"]
    np.testing.assert_array_equal(served, values[2])


def test_kept_series_carry_their_metadata_once_per_event_file(tmp_path):
    """Within metadata_once the kept series' records after the first hold no
    metadata (TensorBoard keeps a tag's first); every step still reads back
    through the data provider, with the metadata of the first."""
    gates = [dict(name=n, start=2 * i, stop=2 * i + 2) for i, n in enumerate("ifco")]
    described = set()
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        for step in range(3):
            with summary.metadata_once(described):
                summary.weight("w", np.full((3, 8), step + 1.0, np.float32), step=step,
                               matrix="kernel", gates=gates, layer="l")
    with_metadata = {}
    for path in tmp_path.glob("events*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                    with_metadata.setdefault(value.tag, []).append(event.step)
    for kind in ("stats", "gate_stats", "gate_histogram"):
        assert with_metadata["w/" + kind] == [0]  # once, not at steps 1 and 2
    assert with_metadata["w"] == [0, 1, 2]  # the blob itself is unchanged
    info, steps, values = read_stats(tmp_path, metadata.GATE_STATS)["."]["w"]
    assert steps == [0, 1, 2] and info["matrix"] == "kernel"
    assert [v[0, 2] for v in values] == [1, 2, 3]  # gate i's mean at each step
