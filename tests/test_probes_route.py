"""GET /probes (each run's probe batch fingerprint, latest and where it
changed) and the input series (tokens, input_features) as /tags, /steps
and /tensor serve them, over real event files and TensorBoard's data
provider."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

from tb_rnn_plugin import kinds, metadata, probes
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin.summary_ops import input_summary

PREFIX = "/data/plugin/rnn"
IDS = np.array([[3, 1, 4, 1], [5, 9, 2, 0]])
FEATURES = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3) / 7
VOCABULARY = ["<pad>", "a", "b", "c", "d", "e", "f", "g", "h", "<img src=x onerror=alert(1)>"]


def fingerprint(*batch):
    return input_summary.fingerprint_of(*batch)


# run -> the probe batch (x, y) logged at each of its steps.
SAME = (IDS, IDS % 2)
OTHER = (IDS + 1, IDS % 2)
RUNS = {
    "run_a": {0: SAME, 10: SAME, 20: SAME},
    "run_b": {0: SAME, 10: SAME},
    "run_c": {0: SAME, 10: OTHER, 20: OTHER, 30: SAME},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe_logs")
    for run, batches in RUNS.items():
        with tf.summary.create_file_writer(str(root / run)).as_default():
            for step, batch in batches.items():
                assert input_summary.probe_fingerprint(fingerprint(*batch), step=step)
            assert input_summary.tokens(
                "rnn/tokens", IDS, step=0, vocabulary=VOCABULARY, layer="rnn",
                mask_tag="rnn/mask")
            assert input_summary.input_features("gru/input_features", FEATURES, step=0, layer="gru")
            # The activations go on; the inputs were written once.
            for step in batches:
                tf.summary.write("rnn/unrelated", tf.constant([1.0]), step=step)
    with tf.summary.create_file_writer(str(root / "run_broken")).as_default():
        tf.summary.write(  # not 4 pieces: left out
            kinds.PROBE_FINGERPRINT_TAG, tf.constant([1.5, 2.0], tf.float32), step=0,
            metadata=metadata.create_summary_metadata(metadata.PROBE_FINGERPRINT))
        input_summary.tokens("rnn/tokens", IDS, step=0)
    dp = data_provider_over(str(root), samples=10)
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints={"rnn": 10}, logdir=str(root))
    plugin = rnn_plugin.RnnLoader().load(ctx)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


def _json(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.get_data())


def test_probes_give_each_runs_latest_fingerprint_and_where_it_changed(client):
    runs = _json(client.get(PREFIX + "/probes"))["runs"]
    same = input_summary.fingerprint_hex(fingerprint(*SAME))
    other = input_summary.fingerprint_hex(fingerprint(*OTHER))
    assert same != other and len(same) == 16
    assert runs == {
        "run_a": {"fingerprint": same, "step": 20, "changed_at": []},
        "run_b": {"fingerprint": same, "step": 10, "changed_at": []},
        "run_c": {"fingerprint": same, "step": 30, "changed_at": [10, 30]},
    }  # run_broken's only point is no fingerprint


def test_probes_of_an_empty_logdir_are_empty(tmp_path):
    dp = data_provider_over(str(tmp_path))
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, logdir=str(tmp_path)))
    app = werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))
    assert _json(app.get(PREFIX + "/probes")) == {"runs": {}}


def test_tags_list_tokens_with_their_vocabulary_and_features_with_their_axes(client):
    runs = _json(client.get(PREFIX + "/tags"))["runs"]
    tokens = runs["run_a"]["rnn/tokens"]["metadata"]
    assert tokens["kind"] == kinds.TOKENS and tokens["vocabulary"] == VOCABULARY
    assert tokens["axes"] == ["sample", "timestep"] and tokens["mask_tag"] == "rnn/mask"
    assert runs["run_broken"]["rnn/tokens"]["metadata"]["vocabulary"] is None
    features = runs["run_a"]["gru/input_features"]["metadata"]
    assert features["axes"] == ["sample", "timestep", "feature"]
    assert kinds.PROBE_FINGERPRINT_TAG not in runs["run_a"]  # a kept series, not a view's


def _tensor(client, run, tag, step):
    response = client.get(PREFIX + "/tensor", query_string={"run": run, "tag": tag, "step": step})
    assert response.status_code == 200, response.get_data(as_text=True)
    shape = tuple(int(d) for d in response.headers["X-Tensor-Shape"].split(","))
    return np.frombuffer(response.get_data(), "<f4").reshape(shape)


def test_the_input_series_are_served_at_the_one_step_they_were_written(client):
    steps = _json(client.get(PREFIX + "/steps", query_string={"run": "run_c", "tag": "rnn/tokens"}))
    # Once per run: the tab draws the latest logged step at or before the
    # one on its slider (data/loaders.js pickStep), here 0 for every step.
    assert steps["steps"] == [0]
    np.testing.assert_array_equal(_tensor(client, "run_c", "rnn/tokens", 0), IDS)
    np.testing.assert_array_equal(_tensor(client, "run_a", "gru/input_features", 0), FEATURES)
    later = client.get(PREFIX + "/tensor", query_string={"run": "run_c", "tag": "rnn/tokens", "step": 30})
    assert later.status_code == 404 and "Traceback" not in later.get_data(as_text=True)


def test_a_fingerprint_is_four_16_bit_pieces_or_none():
    assert probes.hex_of(np.array([0, 1, 2, 3], np.float32)) == "0000000100020003"
    for bad in ([1, 2, 3], [1, 2, 3, 70000], [1, 2, 3, -1], [1, 2, 3, np.nan], [1, 2, 3, 0.5]):
        assert probes.hex_of(np.array(bad, np.float64)) is None
