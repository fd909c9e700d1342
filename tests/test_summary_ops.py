"""Tests for the summary ops: write with TensorFlow, read with TensorBoard.

Everything written is read back through TensorBoard's own data provider
(the path the plugin uses), not through the event files directly.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard import context
from tensorboard.compat.proto import summary_pb2

from tb_reading import data_provider_over

import tb_rnn_plugin
from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading


def _read(logdir, run="."):
    """({tag: [(step, ndarray)]}, {tag: BlobSequenceTimeSeries}) for one run."""
    dp = data_provider_over(logdir)
    ctx = context.RequestContext()
    listing = dp.list_blob_sequences(
        ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME
    ).get(run, {})
    data = dp.read_blob_sequences(
        ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME, downsample=10**6
    ).get(run, {})
    values = {
        tag: [
            (d.step, reading.decode_blob(dp.read_blob(ctx, blob_key=d.values[0].blob_key)))
            for d in series
        ]
        for tag, series in data.items()
    }
    return values, listing


def _parsed(listing, tag):
    return metadata.parse_plugin_metadata(listing[tag].plugin_content)


@pytest.fixture
def logdir(tmp_path):
    return str(tmp_path)


@pytest.fixture
def writer(logdir):
    w = tf.summary.create_file_writer(logdir)
    yield w
    w.close()


def _values(shape):
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 4.0


def test_activation_eager_round_trip(logdir, writer):
    data = _values((2, 3, 4))
    with writer.as_default():
        assert tb_rnn_plugin.activation(
            "lstm/activation", data, step=7, layer="lstm", cell="LSTM",
            description="outputs y_t",
        )
    writer.flush()
    values, listing = _read(logdir)
    assert list(values) == ["lstm/activation"]
    ((step, array),) = values["lstm/activation"]
    assert step == 7
    assert array.dtype == np.float32
    assert array.shape == (2, 3, 4)
    np.testing.assert_array_equal(array, data.astype(np.float32))
    series = listing["lstm/activation"]
    assert series.description == "outputs y_t"
    assert series.max_step == 7
    parsed = _parsed(listing, "lstm/activation")
    assert parsed["kind"] == "activation"
    assert parsed["axes"] == ["sample", "timestep", "channel"]
    assert parsed["layer"] == "lstm"
    assert parsed["cell"] == "LSTM"
    assert parsed["direction"] is None
    assert parsed["mask_tag"] is None
    assert parsed["version"] == metadata.PROTO_VERSION


def test_storage_blob_per_step_with_stats_and_pinned_companions(logdir, writer):
    data = _values((1, 2, 3)).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[0, 1, 1] = np.inf
    data[0, 1, 2] = -np.inf
    with writer.as_default():
        tb_rnn_plugin.activation("a", data, step=0, pinned=True)
        tb_rnn_plugin.activation("a", data * 2, step=1)
    writer.flush()
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    md = multiplexer.SummaryMetadata(".", "a")
    assert md.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert md.plugin_data.plugin_name == "rnn"
    for tag, plugin, data_class in (
        ("a/stats", "rnn_kept", summary_pb2.DATA_CLASS_TENSOR),
        ("a/profile", "rnn_kept", summary_pb2.DATA_CLASS_TENSOR),
        ("a/pinned", "rnn_kept", summary_pb2.DATA_CLASS_BLOB_SEQUENCE),
    ):
        md = multiplexer.SummaryMetadata(".", tag)
        assert (md.plugin_data.plugin_name, md.data_class) == (plugin, data_class)
        assert metadata.parse_plugin_metadata(md.plugin_data.content)["of_tag"] == "a"
    # Pinned: only the step written with pinned=True.
    assert [e.step for e in multiplexer.Tensors(".", "a/pinned")] == [0]
    # Stats at every step: L2 norm and max |v| of the finite values, NaN/+Inf/-Inf
    # counts, and 1: the tensor itself was written.
    stats = {e.step: tf.make_ndarray(e.tensor_proto) for e in multiplexer.Tensors(".", "a/stats")}
    finite = np.where(np.isfinite(data), data, 0)
    for step, scale in ((0, 1), (1, 2)):
        np.testing.assert_allclose(
            stats[step],
            [np.linalg.norm(finite * scale), np.abs(finite * scale).max(), 1, 1, 1, 1],
            rtol=1e-6,
        )
    # Profile: the L2 norm over channels per sample and timestep (NaN stays NaN).
    profiles = {e.step: tf.make_ndarray(e.tensor_proto) for e in multiplexer.Tensors(".", "a/profile")}
    np.testing.assert_allclose(profiles[1], np.linalg.norm(data * 2, axis=-1), rtol=1e-6)
    assert profiles[1].shape == (1, 2)


def test_mask_has_no_stats(logdir, writer):
    with writer.as_default():
        tb_rnn_plugin.timestep_mask("m", np.ones((1, 2)), step=0)
    writer.flush()
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    assert multiplexer.Runs()["."]["tensors"] == ["m"]


def test_nan_and_inf_are_written_as_they_are(logdir, writer):
    data = _values((1, 4, 2)).astype(np.float32)
    data[0, 1, 0] = np.nan
    data[0, 2, 1] = np.inf
    data[0, 3, 0] = -np.inf
    with writer.as_default():
        assert tb_rnn_plugin.state_gradient("g", data, step=1)
    writer.flush()
    values, _ = _read(logdir)
    ((_, array),) = values["g"]
    assert np.isnan(array[0, 1, 0])
    assert array[0, 2, 1] == np.inf
    assert array[0, 3, 0] == -np.inf
    np.testing.assert_array_equal(array, data)  # NaN == NaN here


def test_gradients_and_mask_with_direction_and_mask_tag(logdir, writer):
    grad = _values((2, 5, 3))
    mask = np.array([[True, True, True, False, False], [True] * 5])
    with writer.as_default():
        assert tb_rnn_plugin.output_gradient(
            "bi/forward/output_gradient", grad, step=3, layer="bi",
            cell="GRU", direction="forward", mask_tag="bi/mask",
        )
        assert tb_rnn_plugin.state_gradient(
            "bi/backward/state_gradient", -grad, step=3, layer="bi",
            cell="GRU", direction="backward", mask_tag="bi/mask",
        )
        assert tb_rnn_plugin.timestep_mask("bi/mask", mask, step=3, layer="bi")
    writer.flush()
    values, listing = _read(logdir)
    assert set(values) == {
        "bi/forward/output_gradient",
        "bi/backward/state_gradient",
        "bi/mask",
    }
    np.testing.assert_array_equal(
        values["bi/forward/output_gradient"][0][1], grad.astype(np.float32)
    )
    np.testing.assert_array_equal(
        values["bi/backward/state_gradient"][0][1], -grad.astype(np.float32)
    )
    mask_array = values["bi/mask"][0][1]
    assert mask_array.dtype == np.float32
    assert mask_array.shape == (2, 5)
    np.testing.assert_array_equal(mask_array, mask.astype(np.float32))

    fwd = _parsed(listing, "bi/forward/output_gradient")
    assert (fwd["kind"], fwd["direction"], fwd["mask_tag"], fwd["cell"]) == (
        "output_gradient", "forward", "bi/mask", "GRU",
    )
    bwd = _parsed(listing, "bi/backward/state_gradient")
    assert (bwd["kind"], bwd["direction"]) == ("state_gradient", "backward")
    msk = _parsed(listing, "bi/mask")
    assert msk["kind"] == "mask"
    assert msk["axes"] == ["sample", "timestep"]
    assert msk["layer"] == "bi"
    assert msk["mask_tag"] is None


def test_timestep_tensor_with_kind_and_integer_input(logdir, writer):
    data = np.arange(12, dtype=np.int32).reshape(1, 3, 4)
    with writer.as_default():
        assert tb_rnn_plugin.timestep_tensor("t", data, "activation", step=2)
    writer.flush()
    values, listing = _read(logdir)
    ((step, array),) = values["t"]
    assert step == 2
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, data.astype(np.float32))
    assert _parsed(listing, "t")["kind"] == "activation"


def test_several_steps_and_default_step(logdir, writer):
    with writer.as_default():
        for step in (0, 5, 10):
            tf.summary.experimental.set_step(step)
            assert tb_rnn_plugin.activation("a", np.full((1, 2, 2), step))
    tf.summary.experimental.set_step(None)
    writer.flush()
    values, listing = _read(logdir)
    assert [s for s, _ in values["a"]] == [0, 5, 10]
    for step, array in values["a"]:
        np.testing.assert_array_equal(array, np.full((1, 2, 2), step, np.float32))
    assert listing["a"].max_step == 10


def test_name_scope_prefixes_tag(logdir, writer):
    with writer.as_default(), tf.name_scope("outer"):
        assert tb_rnn_plugin.activation("inner", np.ones((1, 1, 1)), step=0)
    writer.flush()
    values, _ = _read(logdir)
    assert list(values) == ["outer/inner"]


def test_inside_tf_function(logdir, writer):
    @tf.function
    def write(x, mask, step):
        with writer.as_default():
            a = tb_rnn_plugin.activation("f/act", x, step=step, cell="LSTM")
            m = tb_rnn_plugin.timestep_mask("f/mask", mask, step=step)
            return tf.logical_and(a, m)

    base = _values((2, 3, 4)).astype(np.float32)
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.float32)
    for step in range(3):
        x = base + step
        if step == 1:
            x = x.copy()
            x[1, 2, 3] = np.nan
        assert bool(write(tf.constant(x), tf.constant(mask), tf.constant(step, tf.int64)))
    writer.flush()
    values, listing = _read(logdir)
    assert [s for s, _ in values["f/act"]] == [0, 1, 2]
    assert [s for s, _ in values["f/mask"]] == [0, 1, 2]
    for step, array in values["f/act"]:
        expected = base + step
        if step == 1:
            expected[1, 2, 3] = np.nan
        np.testing.assert_array_equal(array, expected)
    np.testing.assert_array_equal(values["f/mask"][2][1], mask)
    assert _parsed(listing, "f/act")["cell"] == "LSTM"
    assert _parsed(listing, "f/mask")["kind"] == "mask"


def test_returns_false_without_default_writer(logdir):
    # Like tf.summary ops: a boolean tensor, False when nothing was written.
    result = tb_rnn_plugin.activation("a", np.ones((1, 2, 3)), step=0)
    assert result.dtype == tf.bool
    assert not bool(result)
    assert not bool(tb_rnn_plugin.timestep_mask("m", np.ones((1, 2)), step=0))
    values, _ = _read(logdir)
    assert values == {}


def test_returns_false_without_default_writer_in_tf_function():
    @tf.function
    def write(x):
        return tb_rnn_plugin.activation("a", x, step=0)

    assert not bool(write(tf.ones((1, 2, 3))))


@pytest.mark.parametrize(
    "op, data, words",
    [
        (tb_rnn_plugin.activation, np.ones((2, 3)), "rank 3"),
        (tb_rnn_plugin.activation, np.ones((1, 2, 3, 4)), "rank 3"),
        (tb_rnn_plugin.output_gradient, np.float32(1.0), "rank 3"),
        (tb_rnn_plugin.state_gradient, np.ones((2,)), "rank 3"),
        (tb_rnn_plugin.timestep_mask, np.ones((1, 2, 3)), "rank 2"),
        (tb_rnn_plugin.activation, np.array([[["a", "b"]]]), "numeric"),
        (tb_rnn_plugin.activation, "hello", "numeric"),
        (tb_rnn_plugin.activation, np.zeros((0, 3, 4)), "empty"),
        (tb_rnn_plugin.activation, np.zeros((2, 0, 4)), "empty"),
        (tb_rnn_plugin.timestep_mask, np.zeros((2, 0)), "empty"),
        (tb_rnn_plugin.activation, [[[1.0, 2.0]], [[1.0]]], "numeric tensor"),
    ],
)
def test_bad_input_raises_value_error(writer, op, data, words):
    with writer.as_default():
        with pytest.raises(ValueError, match=words):
            op("bad", data, step=0)


def test_bad_input_raises_without_writer_too():
    with pytest.raises(ValueError, match="rank 3"):
        tb_rnn_plugin.activation("bad", np.ones((2, 3)), step=0)


def test_bad_input_inside_tf_function_raises_value_error(writer):
    @tf.function
    def write(x):
        with writer.as_default():
            return tb_rnn_plugin.activation("bad", x, step=0)

    with pytest.raises(ValueError, match="rank 3"):
        write(tf.ones((2, 3)))


def test_unknown_kind_raises_value_error(writer):
    with writer.as_default(), pytest.raises(ValueError, match="kind"):
        tb_rnn_plugin.timestep_tensor("bad", np.ones((1, 2, 3)), "histogram", step=0)


def test_bad_direction_raises_value_error(writer):
    with writer.as_default(), pytest.raises(ValueError, match="direction"):
        tb_rnn_plugin.activation(
            "bad", np.ones((1, 2, 3)), step=0, direction="sideways"
        )


def test_nothing_written_for_bad_input(logdir, writer):
    with writer.as_default():
        with pytest.raises(ValueError):
            tb_rnn_plugin.activation("bad", np.ones((2, 3)), step=0)
        assert tb_rnn_plugin.activation("good", np.ones((1, 1, 1)), step=0)
    writer.flush()
    values, _ = _read(logdir)
    assert list(values) == ["good"]


# The per-kind writers are made from timestep_tensor and weight_tensor; each
# keeps the signature it had when it was written out by hand (plus
# `backward`, which a go_backwards layer's per-timestep series may give).
_TIMESTEP_OPTIONS = {"layer", "cell", "direction", "mask_tag", "cell_index", "pinned", "full",
                     "precision", "backward"}
WRITER_SIGNATURES = {
    "activation": ("data", _TIMESTEP_OPTIONS | {"channel_shape"}),
    "output_gradient": ("data", _TIMESTEP_OPTIONS | {"channel_shape"}),
    "state_gradient": ("data", _TIMESTEP_OPTIONS | {"channel_shape"}),
    "gate_activation": ("data", _TIMESTEP_OPTIONS | {"gate"}),
    "cell_state": ("data", _TIMESTEP_OPTIONS),
    "timestep_mask": ("mask", {"layer", "pinned", "full", "precision"}),
    "weight": ("data", {"matrix", "gates", "layer", "cell", "direction", "cell_index", "pinned",
                        "full", "precision"}),
    "weight_gradient": ("data", {"matrix", "gates", "layer", "cell", "direction", "cell_index",
                                 "pinned", "full", "precision"}),
}


@pytest.mark.parametrize("name", sorted(WRITER_SIGNATURES))
def test_each_kind_writer_keeps_its_signature(name):
    import inspect

    data_name, options = WRITER_SIGNATURES[name]
    parameters = inspect.signature(getattr(tb_rnn_plugin, name)).parameters
    positional = [p.name for p in parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
    keywords = {p.name for p in parameters.values() if p.kind == p.KEYWORD_ONLY}
    assert positional == ["name", data_name, "step", "description"]
    assert keywords == options
    assert getattr(tb_rnn_plugin, name).__name__ == name


def test_kind_writers_refuse_options_their_kind_does_not_take(writer):
    with writer.as_default():
        with pytest.raises(TypeError, match="gate"):
            tb_rnn_plugin.activation("a", np.ones((1, 2, 3)), step=0, gate="f")
        with pytest.raises(TypeError, match="gate"):
            tb_rnn_plugin.gate_activation("g", np.ones((1, 2, 3)), step=0)
        with pytest.raises(ValueError, match="mask must have rank 2"):
            tb_rnn_plugin.timestep_mask("m", np.ones((1, 2, 3)), step=0)


def test_gate_activation_writes_its_gate(logdir, writer):
    with writer.as_default():
        assert tb_rnn_plugin.gate_activation("l/gates/f", _values((1, 2, 3)), step=1, gate="f",
                                             cell="LSTM")
    writer.flush()
    _, listing = _read(logdir)
    parsed = _parsed(listing, "l/gates/f")
    assert (parsed["kind"], parsed["gate"], parsed["cell"]) == ("gate_activation", "f", "LSTM")


@pytest.mark.parametrize("backward", [True, False])
def test_gradient_horizon_keeps_backward_in_its_metadata(logdir, writer, backward):
    horizon = np.abs(_values((2, 4, 4))).astype(np.float32)
    with writer.as_default():
        assert tb_rnn_plugin.gradient_horizon("l/gradient_horizon", horizon, step=3,
                                              backward=backward, cell="LSTM")
    writer.flush()
    _, listing = _read(logdir)
    parsed, reason = reading.series_metadata(listing["l/gradient_horizon"].plugin_content)
    assert reason is None
    assert parsed["backward"] is backward
    assert parsed["direction"] is None  # a go_backwards layer has no direction to say it
    dp = data_provider_over(logdir)
    kept = dp.list_tensors(context.RequestContext(), experiment_id="",
                           plugin_name=metadata.KEPT_PLUGIN_NAME)["."]
    lag_profile = metadata.parse_plugin_metadata(kept["l/gradient_horizon/lag_profile"].plugin_content)
    assert lag_profile["backward"] is backward


def test_a_go_backwards_layers_series_says_it_runs_backwards(logdir, writer):
    with writer.as_default():
        assert tb_rnn_plugin.state_gradient("back/state_gradient", _values((1, 3, 2)), step=0,
                                            layer="back", cell="LSTM", backward=True)
        assert tb_rnn_plugin.activation("fwd/activation", _values((1, 3, 2)), step=0,
                                        layer="fwd", cell="LSTM")
    writer.flush()
    _, listing = _read(logdir)
    assert _parsed(listing, "back/state_gradient")["backward"] is True
    assert "backward" not in _parsed(listing, "fwd/activation")  # not said: not stored
    served, _ = reading.series_metadata(listing["fwd/activation"].plugin_content)
    assert served["backward"] is None
