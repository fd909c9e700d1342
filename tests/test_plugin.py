"""Tests for the plugin's routes, over real event files and TensorBoard's
own data provider and WSGI application."""

import argparse
import importlib.metadata
import importlib.resources
import json
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

import tb_rnn_plugin
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin

PREFIX = "/data/plugin/rnn"

SHAPE = (2, 3, 4)
UNI_STEPS = (0, 10, 20)
BI_STEPS = (1, 2)


def _activation_values(step):
    """Known values for run_uni's activation at `step`; step 10 has NaN and -Inf."""
    values = np.arange(np.prod(SHAPE), dtype=np.float32).reshape(SHAPE) + step
    if step == 10:
        values[0, 1, 2] = np.nan
        values[1, 2, 3] = -np.inf
    return values


def _bi_values(direction, step):
    sign = 1.0 if direction == "forward" else -1.0
    return sign * (np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3) + 0.5 * step)


BI_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.float32)


def _write_raw(name, data, step, content):
    """Writes a tensor with plugin_name "rnn" but arbitrary plugin content."""
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=content
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    return tf.summary.write(name, tf.constant(data, tf.float32), step=step, metadata=md)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")

    def writer(run):
        return tf.summary.create_file_writer(str(root / run))

    w = writer("run_uni")
    with w.as_default():
        for step in UNI_STEPS:
            assert tb_rnn_plugin.activation(
                "lstm/activation", _activation_values(step), step=step,
                layer="lstm", cell="LSTM", description="outputs of **lstm**",
            )
            assert tb_rnn_plugin.output_gradient(
                "lstm/output_gradient", -_activation_values(step), step=step,
                layer="lstm", cell="LSTM",
            )
        # A series with unreadable plugin content: left out, run stays.
        assert _write_raw("broken", np.ones((1, 1, 1)), 0, b"not json")
    w.close()

    w = writer("run_bi")
    with w.as_default():
        for step in BI_STEPS:
            for direction in ("forward", "backward"):
                assert tb_rnn_plugin.state_gradient(
                    "bi/%s/state_gradient" % direction,
                    _bi_values(direction, step), step=step, layer="bi",
                    cell="GRU", direction=direction, mask_tag="bi/mask",
                )
            assert tb_rnn_plugin.timestep_mask("bi/mask", BI_MASK, step=step, layer="bi")
    w.close()

    # Runs that hold no (readable) rnn data.
    w = writer("run_scalars")
    with w.as_default():
        for step in range(3):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
    w.close()
    w = writer("run_only_broken")
    with w.as_default():
        assert _write_raw("x", np.ones((1, 1, 1)), 0, b'{"kind": "histogram"}')
    w.close()
    return str(root)


def _make(logdir, sampling_hints=None):
    dp = data_provider_over(logdir)
    ctx = base_plugin.TBContext(
        data_provider=dp, sampling_hints=sampling_hints, logdir=logdir
    )
    plugin = rnn_plugin.RnnLoader().load(ctx)
    app = application.TensorBoardWSGI([plugin], data_provider=dp)
    return plugin, werkzeug_test.Client(app)


@pytest.fixture(scope="module")
def client(logdir):
    return _make(logdir, {"rnn": 100})[1]


def _json(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.get_data())


def _tensor(client, run, tag, step):
    response = client.get(
        PREFIX + "/tensor", query_string={"run": run, "tag": tag, "step": str(step)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Tensor-Dtype"] == "float32"
    assert response.headers["X-Tensor-Step"] == str(step)
    shape = tuple(int(d) for d in response.headers["X-Tensor-Shape"].split(","))
    body = response.get_data()
    assert len(body) == 4 * int(np.prod(shape))
    return np.frombuffer(body, "<f4").reshape(shape), response


def _error(response, code):
    text = response.get_data(as_text=True)
    assert response.status_code == code, text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "Traceback" not in text
    return text


# Plugin object and loader.


def test_plugin_properties(logdir):
    plugin, _ = _make(logdir)
    assert plugin.plugin_name == "rnn"
    assert plugin.is_active() is False
    assert tuple(plugin.data_plugin_names()) == ("rnn", "rnn_kept")
    fm = plugin.frontend_metadata()
    assert fm.es_module_path == "/static/index.js"
    assert fm.tab_name == "RNN"
    assert fm.element_name is None
    assert set(plugin.get_plugin_apps()) == {"/tags", "/steps", "/tensor", "/profile", "/kept", "/health", "/probes", "/static/*"}


def test_plugins_listing_shows_rnn_tab_enabled(client):
    listing = _json(client.get("/data/plugins_listing"))
    assert listing["rnn"]["enabled"] is True
    assert listing["rnn"]["tab_name"] == "RNN"
    assert listing["rnn"]["loading_mechanism"] == {
        "type": "IFRAME",
        "module_path": "/data/plugin/rnn/static/index.js",
    }


def test_plugins_listing_disabled_without_rnn_data(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "run"))
    with w.as_default():
        tf.summary.scalar("loss", 1.0, step=0)
    w.close()
    _, client = _make(str(tmp_path))
    assert _json(client.get("/data/plugins_listing"))["rnn"]["enabled"] is False


def test_fix_flags_sets_default():
    flags = argparse.Namespace(samples_per_plugin={})
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": rnn_plugin.DEFAULT_SAMPLES, "rnn_kept": 0}
    assert rnn_plugin.DEFAULT_SAMPLES == 100


def test_fix_flags_keeps_user_value_and_other_plugins():
    flags = argparse.Namespace(samples_per_plugin={"rnn": 7, "images": 3})
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": 7, "images": 3, "rnn_kept": 0}
    flags = argparse.Namespace(samples_per_plugin={"rnn": 0, "rnn_kept": 5})
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": 0, "rnn_kept": 5}


def test_fix_flags_handles_none_missing_and_string():
    flags = argparse.Namespace(samples_per_plugin=None)
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": 100, "rnn_kept": 0}
    flags = argparse.Namespace()
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": 100, "rnn_kept": 0}
    flags = argparse.Namespace(samples_per_plugin="rnn=5,scalars=9")
    rnn_plugin.RnnLoader().fix_flags(flags)
    assert flags.samples_per_plugin == {"rnn": 5, "scalars": 9, "rnn_kept": 0}


def test_fix_flags_with_tensorboard_argument_parser():
    """The flag as TensorBoard's own parser produces it."""
    from tensorboard import program
    from tensorboard.plugins.core import core_plugin

    def loaders():
        return [core_plugin.CorePluginLoader(), rnn_plugin.RnnLoader()]

    tb = program.TensorBoard(plugins=loaders())
    tb.configure(argv=["tensorboard", "--logdir", "/nonexistent"])
    assert tb.flags.samples_per_plugin["rnn"] == 100
    tb = program.TensorBoard(plugins=loaders())
    tb.configure(
        argv=["tensorboard", "--logdir", "/x", "--samples_per_plugin", "rnn=3"]
    )
    assert tb.flags.samples_per_plugin["rnn"] == 3


def test_entry_point_registered():
    eps = [
        ep
        for ep in importlib.metadata.entry_points(group="tensorboard_plugins")
        if ep.name == "rnn"
    ]
    assert len(eps) == 1
    assert eps[0].load() is rnn_plugin.RnnLoader


def test_plugin_module_does_not_import_tensorflow():
    code = (
        "import sys; import tb_rnn_plugin.plugin, tb_rnn_plugin.reading; "
        "sys.exit(1 if 'tensorflow' in sys.modules else 0)"
    )
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


# /tags


def test_tags(client):
    runs = _json(client.get(PREFIX + "/tags"))["runs"]
    assert set(runs) == {"run_uni", "run_bi"}
    assert set(runs["run_uni"]) == {"lstm/activation", "lstm/output_gradient"}
    assert set(runs["run_bi"]) == {
        "bi/forward/state_gradient",
        "bi/backward/state_gradient",
        "bi/mask",
    }
    act = runs["run_uni"]["lstm/activation"]
    assert act["max_step"] == 20
    assert act["description"] == "outputs of **lstm**"
    assert act["metadata"] == {
        "version": metadata.PROTO_VERSION,
        "kind": "activation",
        "axes": ["sample", "timestep", "channel"],
        "layer": "lstm",
        "cell": "LSTM",
        "direction": None,
        "mask_tag": None,
        "cell_index": None,
        "channel_shape": None,
        "of_tag": None,
        # What the tab learns from /tags instead of its own tables (kinds.describe).
        "has_profile": True,
        "companions": ["stats", "profile", "unit_health"],
        "time_order": "input",
        "backward": None,
        "gate_order": ["i", "f", "candidate", "o"],
        "gate_labels": {
            "i": "input gate i", "f": "forget gate f", "candidate": "candidate",
            "o": "output gate o",
        },
        "memory_gate": "f",
    }
    assert runs["run_uni"]["lstm/output_gradient"]["metadata"]["kind"] == "output_gradient"
    assert runs["run_uni"]["lstm/output_gradient"]["description"] == ""

    for direction in ("forward", "backward"):
        entry = runs["run_bi"]["bi/%s/state_gradient" % direction]
        assert entry["max_step"] == 2
        md = entry["metadata"]
        assert md["kind"] == "state_gradient"
        assert md["direction"] == direction
        assert md["mask_tag"] == "bi/mask"
        assert md["cell"] == "GRU"
        assert md["mask_tag"] in runs["run_bi"]
        assert md["backward"] is (direction == "backward")
        assert (md["gate_order"], md["memory_gate"]) == (["z", "r", "candidate"], "z")
    mask = runs["run_bi"]["bi/mask"]["metadata"]
    assert mask["kind"] == "mask"
    assert mask["axes"] == ["sample", "timestep"]
    assert (mask["has_profile"], mask["companions"], mask["gate_order"]) == (False, [], None)


def test_tags_leaves_out_unparsable_series_with_warning(logdir, caplog):
    _, client = _make(logdir)
    with caplog.at_level(logging.WARNING):
        runs = _json(client.get(PREFIX + "/tags"))["runs"]
    assert "broken" not in runs["run_uni"]
    assert "run_only_broken" not in runs
    assert "run_scalars" not in runs
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "'broken'" in warnings
    assert "'run_only_broken'" in warnings
    skipped = _json(client.get(PREFIX + "/tags"))["skipped"]
    assert {(s["run"], s["tag"]) for s in skipped} == {("run_uni", "broken"), ("run_only_broken", "x")}
    reasons = {s["tag"]: s["reason"] for s in skipped}
    assert "not JSON" in reasons["broken"]
    assert "unknown kind 'histogram'" in reasons["x"]


def test_tags_empty_logdir(tmp_path):
    _, client = _make(str(tmp_path))
    assert _json(client.get(PREFIX + "/tags")) == {"runs": {}, "skipped": []}


# /steps


def test_steps(client):
    body = _json(
        client.get(PREFIX + "/steps?run=run_uni&tag=lstm/activation")
    )
    assert body["steps"] == list(UNI_STEPS)
    assert len(body["wall_times"]) == len(UNI_STEPS)
    assert all(isinstance(t, float) and t > 1e9 for t in body["wall_times"])
    assert body["wall_times"] == sorted(body["wall_times"])

    body = _json(client.get(PREFIX + "/steps?run=run_bi&tag=bi/mask"))
    assert body["steps"] == list(BI_STEPS)


@pytest.mark.parametrize(
    "query, missing",
    [("tag=lstm/activation", "run"), ("run=run_uni", "tag"), ("", "run")],
)
def test_steps_missing_parameter_is_400(client, query, missing):
    text = _error(client.get(PREFIX + "/steps?" + query), 400)
    assert "missing required query parameter: %s" % missing in text


def test_steps_unknown_run_and_tag_are_404(client):
    text = _error(client.get(PREFIX + "/steps?run=nope&tag=lstm/activation"), 404)
    assert "run 'nope'" in text
    text = _error(client.get(PREFIX + "/steps?run=run_uni&tag=nope"), 404)
    assert "tag 'nope'" in text and "run 'run_uni'" in text
    # A run with only non-rnn data reads as unknown too.
    text = _error(client.get(PREFIX + "/steps?run=run_scalars&tag=loss"), 404)
    assert "run 'run_scalars'" in text


# /tensor


@pytest.mark.parametrize("step", UNI_STEPS)
def test_tensor_values(client, step):
    array, response = _tensor(client, "run_uni", "lstm/activation", step)
    assert response.headers["X-Tensor-Shape"] == "2,3,4"
    assert array.shape == SHAPE
    expected = _activation_values(step)
    np.testing.assert_array_equal(array, expected)  # NaN matches NaN
    assert float(response.headers["X-Tensor-Wall-Time"]) > 1e9


def test_tensor_nan_and_inf_preserved(client):
    array, _ = _tensor(client, "run_uni", "lstm/activation", 10)
    assert np.isnan(array[0, 1, 2])
    assert array[1, 2, 3] == -np.inf
    assert np.isfinite(np.delete(array.ravel(), [6, 23])).all()
    assert np.isnan(array).sum() == 1
    # and the negated series turns -Inf into +Inf
    grad, _ = _tensor(client, "run_uni", "lstm/output_gradient", 10)
    assert grad[1, 2, 3] == np.inf
    assert np.isnan(grad[0, 1, 2])


def test_tensor_bidirectional_and_mask(client):
    for step in BI_STEPS:
        for direction in ("forward", "backward"):
            array, resp = _tensor(
                client, "run_bi", "bi/%s/state_gradient" % direction, step
            )
            assert resp.headers["X-Tensor-Shape"] == "2,5,3"
            np.testing.assert_array_equal(array, _bi_values(direction, step))
        mask, resp = _tensor(client, "run_bi", "bi/mask", step)
        assert resp.headers["X-Tensor-Shape"] == "2,5"
        np.testing.assert_array_equal(mask, BI_MASK)


def test_tensor_raw_bytes_are_little_endian_c_order(client):
    response = client.get(
        PREFIX + "/tensor?run=run_uni&tag=lstm/activation&step=0"
    )
    assert response.get_data() == _activation_values(0).astype("<f4").tobytes(order="C")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize(
    "query, missing",
    [
        ("tag=lstm/activation&step=0", "run"),
        ("run=run_uni&step=0", "tag"),
        ("run=run_uni&tag=lstm/activation", "step"),
    ],
)
def test_tensor_missing_parameter_is_400(client, query, missing):
    text = _error(client.get(PREFIX + "/tensor?" + query), 400)
    assert "missing required query parameter: %s" % missing in text


@pytest.mark.parametrize("step", ["abc", "1.5", "", "1e3", "0x10"])
def test_tensor_non_integer_step_is_400(client, step):
    text = _error(
        client.get(
            PREFIX + "/tensor",
            query_string={"run": "run_uni", "tag": "lstm/activation", "step": step},
        ),
        400,
    )
    assert "step must be an integer" in text
    assert repr(step) in text


@pytest.mark.parametrize(
    "step, expected",
    [
        ("0" * 4300 + "10", 10),  # Python's int() refuses 4302 characters: was a 500
        ("+" + "0" * 5000 + "20", 20),
        ("-0", 0),
        (" 10 ", 10),
    ],
)
def test_tensor_step_with_leading_zeros_and_signs(client, step, expected):
    response = client.get(
        PREFIX + "/tensor",
        query_string={"run": "run_uni", "tag": "lstm/activation", "step": step},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    assert response.headers["X-Tensor-Step"] == str(expected)


@pytest.mark.parametrize(
    "step", ["1" * 4301, "-" + "9" * 20, str(2**63), str(-(2**63) - 1), "1" * 100000]
)
def test_tensor_step_out_of_int64_range_is_400(client, step):
    text = _error(
        client.get(
            PREFIX + "/tensor",
            query_string={"run": "run_uni", "tag": "lstm/activation", "step": step},
        ),
        400,
    )
    assert "out of range" in text
    assert len(text) < 300


def test_unknown_run_message_is_short_for_a_huge_run_name(client):
    text = _error(
        client.get(PREFIX + "/steps", query_string={"run": "r" * 100000, "tag": "t"}), 404
    )
    assert "no run 'rrrr" in text
    assert len(text) < 300


def test_tensor_unknown_run_tag_step_are_404(client):
    text = _error(
        client.get(PREFIX + "/tensor?run=nope&tag=lstm/activation&step=0"), 404
    )
    assert "run 'nope'" in text
    text = _error(
        client.get(PREFIX + "/tensor?run=run_uni&tag=bi/mask&step=0"), 404
    )
    assert "tag 'bi/mask'" in text
    text = _error(
        client.get(PREFIX + "/tensor?run=run_uni&tag=lstm/activation&step=5"), 404
    )
    assert "step 5 not logged" in text
    assert "3 steps available: 0, 10, 20" in text


def test_tensor_missing_step_message_lists_first_and_last_steps(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "r"))
    with w.as_default():
        for step in range(0, 100, 10):
            tb_rnn_plugin.activation("a", np.ones((1, 1, 1)), step=step)
    w.close()
    _, client = _make(str(tmp_path))
    text = _error(client.get(PREFIX + "/tensor?run=r&tag=a&step=15"), 404)
    assert "10 steps available: 0, 10, 20, ..., 70, 80, 90" in text


# Downsampling: /steps lists exactly what /tensor serves.


@pytest.mark.parametrize("hints, expected_count", [({"rnn": 2}, 2), ({"rnn": 0}, 3), (None, 3)])
def test_steps_follow_sampling_hints_and_tensor_agrees(logdir, hints, expected_count):
    _, client = _make(logdir, hints)
    steps = _json(client.get(PREFIX + "/steps?run=run_uni&tag=lstm/activation"))["steps"]
    assert len(steps) == expected_count
    assert steps == sorted(steps)
    assert steps[-1] == 20  # the last step is always kept
    for step in steps:
        array, _ = _tensor(client, "run_uni", "lstm/activation", step)
        np.testing.assert_array_equal(array, _activation_values(step))
    for step in set(UNI_STEPS) - set(steps):
        _error(
            client.get(
                PREFIX + "/tensor?run=run_uni&tag=lstm/activation&step=%d" % step
            ),
            404,
        )


def test_default_downsample_is_100(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "r"))
    with w.as_default():
        for step in range(150):
            tb_rnn_plugin.activation("a", np.full((1, 1, 1), step), step=step)
    w.close()
    _, client = _make(str(tmp_path))  # sampling_hints None
    steps = _json(client.get(PREFIX + "/steps?run=r&tag=a"))["steps"]
    assert len(steps) == 100
    assert steps[-1] == 149
    array, _ = _tensor(client, "r", "a", steps[37])
    assert array.item() == steps[37]
