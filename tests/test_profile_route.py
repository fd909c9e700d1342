"""The /profile route over real event files and TensorBoard's data provider:
every logged step of a series' profile (L2 norm over channels) in one
binary response, equal to the norms of the tensors written; 4xx for bad
queries, unknown series and series without a profile."""

import json
import os

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
from tb_rnn_plugin import payloads
from tb_rnn_plugin import reading

PREFIX = "/data/plugin/rnn"
# More steps than TensorBoard keeps of the big series here (10) and than
# the plugin's default sample count (100): the profile must hold them all.
STEPS = tuple(range(0, 1500, 10))
SAMPLES, T, C = 3, 7, 5


def values_at(step, direction="forward"):
    rng = np.random.default_rng(step)
    values = rng.normal(size=(SAMPLES, T, C)).astype(np.float32) * (1 + step / 100)
    if direction == "backward":
        values = -2 * values
    if step == 20:
        values[1, 3, 0] = np.nan
        values[2, 4, 1] = np.inf
    return values


def _write_v1(name, data, step):
    """A version-1 series (a tensor series, no companions), as older logs have."""
    content = json.dumps({"version": 1, "kind": "state_gradient", "layer": "old",
                          "axes": ["sample", "timestep", "channel"]}).encode()
    md = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=metadata.PLUGIN_NAME, content=content),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )
    return tf.summary.write(name, tf.constant(data, tf.float32), step=step, metadata=md)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("profile_logs")
    with tf.summary.create_file_writer(str(root / "run_a")).as_default():
        for step in STEPS:
            for direction in ("forward", "backward"):
                assert tb_rnn_plugin.state_gradient(
                    "bi/%s/state_gradient" % direction, values_at(step, direction), step=step,
                    layer="bi", cell="GRU", direction=direction, mask_tag="bi/mask",
                )
            if step < 30:
                assert tb_rnn_plugin.timestep_mask(
                    "bi/mask", np.ones((SAMPLES, T), np.float32), step=step, layer="bi")
    with tf.summary.create_file_writer(str(root / "run_old")).as_default():
        for step in (0, 1):
            assert _write_v1("old/state_gradient", values_at(step), step)
    return str(root)


@pytest.fixture(scope="module")
def client(logdir):
    dp = data_provider_over(logdir, samples=10)
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints={"rnn": 10}, logdir=logdir)
    plugin = rnn_plugin.RnnLoader().load(ctx)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


def _get(client, **query):
    return client.get(PREFIX + "/profile", query_string=query)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_profile_is_every_step_of_the_norms(client, direction):
    tag = "bi/%s/state_gradient" % direction
    response = _get(client, run="run_a", tag=tag)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Profile-Shape"] == "%d,%d,%d" % (len(STEPS), SAMPLES, T)
    body = response.get_data()
    header, steps, wall_times, data = payloads.parse_profile_body(body)
    assert header == {"format": 1, "steps": len(STEPS), "samples": SAMPLES,
                      "timesteps": T, "rows": SAMPLES, "columns": T, "dtype": "float32"}
    assert list(steps) == list(STEPS)  # all of them, beyond any sampling
    assert np.all(np.diff(wall_times) >= 0) and np.all(wall_times > 1e9)
    expected = np.stack([np.linalg.norm(values_at(s, direction).astype(np.float64), axis=-1)
                         for s in STEPS])
    np.testing.assert_allclose(data, expected, rtol=1e-5)
    # NaN and +Inf in a step's channels make that norm NaN / +Inf, sent as such.
    i = STEPS.index(20)
    assert np.isnan(data[i, 1, 3]) and data[i, 2, 4] == np.inf
    # The big series itself is sampled here: the profile is not.
    steps_json = json.loads(client.get(PREFIX + "/steps", query_string={
        "run": "run_a", "tag": tag}).get_data())
    assert len(steps_json["steps"]) < len(STEPS)


def test_body_sections_are_aligned(client):
    body = _get(client, run="run_a", tag="bi/forward/state_gradient").get_data()
    length = int.from_bytes(body[:4], "little")
    assert (4 + length) % 8 == 0
    assert len(body) == 4 + length + 16 * len(STEPS) + 4 * len(STEPS) * SAMPLES * T


@pytest.mark.parametrize("query,status,words", [
    ({"tag": "bi/forward/state_gradient"}, 400, "run"),
    ({"run": "run_a"}, 400, "tag"),
    ({"run": "nope", "tag": "bi/forward/state_gradient"}, 404, "no run"),
    ({"run": "run_a", "tag": "nope"}, 404, "no rnn tag"),
    ({"run": "run_a", "tag": "bi/mask"}, 404, "no profile"),
    ({"run": "run_a", "tag": "bi/forward/state_gradient/profile"}, 404, "no rnn tag"),
    ({"run": "run_old", "tag": "old/state_gradient"}, 404, "no profile logged"),
])
def test_bad_queries_answer_4xx(client, query, status, words):
    response = _get(client, **query)
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert words in text and "Traceback" not in text


class _Datum:
    def __init__(self, array, wall_time=1.0):
        self.numpy = array
        self.wall_time = wall_time


def test_payload_pads_ragged_steps_and_says_so():
    body, headers = payloads.profile_payload({
        5: _Datum(np.ones((2, 3), np.float32)), 1: _Datum(np.full((1, 4), 2.0, np.float32)),
    })
    header, steps, _, data = payloads.parse_profile_body(body)
    assert list(steps) == [1, 5] and header["shapes"] == [[1, 4], [2, 3]]
    assert data.shape == (2, 2, 4)
    assert np.isnan(data[0, 1]).all() and np.isnan(data[1, :, 3]).all()
    assert dict(headers)["X-Profile-Shape"] == "2,2,4"


@pytest.mark.parametrize("array,words", [
    (np.array(["a", "b"]), "not real numbers"),
    (np.ones((2, 3, 4), np.float32), "must be [sample, timestep]"),
    (np.float32(1.0), "must be [sample, timestep]"),
])
def test_payload_refuses_unreadable_steps(array, words):
    with pytest.raises(reading.UnreadableDataError, match=words.replace("[", r"\[")):
        payloads.profile_payload({3: _Datum(array)})


def test_payload_refuses_too_many_values(monkeypatch):
    monkeypatch.setattr(payloads, "MAX_PROFILE_VALUES", 10)
    with pytest.raises(reading.UnreadableDataError, match="at most 10"):
        payloads.profile_payload({0: _Datum(np.ones((3, 4), np.float32))})


def test_profile_of_vanishing_values_is_exact(tmp_path):
    """Norms of values far below float32's squares' range (a vanished
    gradient) are written exactly, not underflowed to 0."""
    tiny = np.array([[[3e-25, 4e-25], [3e-36, 4e-36]]], np.float32)
    with tf.summary.create_file_writer(str(tmp_path / "r")).as_default():
        assert tb_rnn_plugin.state_gradient("g", tiny, step=0, layer="l")
    dp = data_provider_over(str(tmp_path))
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints=None, logdir=str(tmp_path))
    app = application.TensorBoardWSGI([rnn_plugin.RnnLoader().load(ctx)], data_provider=dp)
    response = werkzeug_test.Client(app).get(PREFIX + "/profile", query_string={"run": "r", "tag": "g"})
    _, _, _, data = payloads.parse_profile_body(response.get_data())
    np.testing.assert_allclose(data[0, 0], np.linalg.norm(tiny.astype(np.float64), axis=-1)[0], rtol=1e-5)


def test_vendored_colour_map_is_served_with_its_licence(client):
    import importlib.resources

    root = importlib.resources.files("tb_rnn_plugin.frontend")
    response = client.get(PREFIX + "/static/vendor/viridis.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.get_data() == root.joinpath("vendor/viridis.js").read_bytes()
    assert "ISC" in root.joinpath("vendor/viridis.js").read_text()
    assert root.joinpath("vendor/LICENSE-d3-scale-chromatic").is_file()
    for name in ("vendor/../plugin.py", "vendor/a/b.js", "vendor/", "vendor/LICENSE-d3-scale-chromatic",
                 "vendors/viridis.js", "../vendor/viridis.js"):
        assert client.get(PREFIX + "/static/" + name).status_code == 404, name
