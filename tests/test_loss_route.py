"""GET /loss over constructed logs read back through TensorBoard's data
provider (shapes, spikes, NaN, runs without a probe loss, 404), and the
pure rules of tb_rnn_plugin/loss_series.py: spikes and the summary's
sentences on constructed series."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

from tb_rnn_plugin import kinds
from tb_rnn_plugin import loss_series
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin.summary_ops import run_summary
from tb_rnn_plugin.summary_ops import summary

PREFIX = "/data/plugin/rnn"
NAN = float("nan")
# run -> [(step, loss, accuracy)]
RUNS = {
    "steady": [(0, 2.0, 0.1), (10, 1.5, 0.4), (20, 1.0, 0.6), (30, 0.8, 0.7)],
    "spiky": [(0, 1.0, 0.5), (10, 1.0, 0.5), (20, 5.0, 0.2), (30, 1.1, 0.5)],
    "blown": [(0, 1.0, 0.5), (10, 1.2, 0.5), (20, NAN, 0.0), (30, NAN, 0.0)],
}


def write_logs(root):
    for run, points in RUNS.items():
        with tf.summary.create_file_writer(str(root / run)).as_default():
            for step, loss, accuracy in points:
                run_summary.probe_loss([loss, accuracy], ["loss", "accuracy"], step=step)
                summary.activation("rnn/activation", np.ones((1, 2, 2)), step=step, layer="rnn")
    # A run from before the probe loss existed: rnn series only.
    with tf.summary.create_file_writer(str(root / "old")).as_default():
        summary.activation("rnn/activation", np.ones((1, 2, 2)), step=0, layer="rnn")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("loss_logs")
    write_logs(root)
    dp = data_provider_over(str(root))
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, sampling_hints={}))
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


def get_loss(client, **query):
    response = client.get(PREFIX + "/loss", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    return response.get_json()


def test_every_run_with_a_probe_loss_and_its_shape(client):
    runs = get_loss(client)["runs"]
    assert sorted(runs) == ["blown", "spiky", "steady"]  # "old" has none: left out
    steady = runs["steady"]
    assert steady["names"] == ["loss", "accuracy"]
    assert steady["steps"] == [0, 10, 20, 30]
    np.testing.assert_allclose(steady["values"], [[p[1], p[2]] for p in RUNS["steady"]], rtol=1e-6)
    assert steady["spikes"] == [] and steady["nonfinite"] == [None] * 4


def test_a_fivefold_loss_is_a_spike_and_nan_steps_are_marked(client):
    runs = get_loss(client)["runs"]
    assert runs["spiky"]["spikes"] == [{"step": 20, "factor": 5.0, "metric": "loss"}]
    blown = runs["blown"]
    assert blown["values"][2] == [None, 0.0]  # NaN goes as null (JSON has no NaN)
    assert blown["nonfinite"] == [None, None, "nan", "nan"]
    assert [s["step"] for s in blown["spikes"]] == [20, 30]
    assert all(s["factor"] is None for s in blown["spikes"])


def test_one_run_an_old_run_and_an_unknown_one(client):
    assert list(get_loss(client, run="spiky")["runs"]) == ["spiky"]
    assert get_loss(client, run="old") == {"runs": {}}
    response = client.get(PREFIX + "/loss", query_string={"run": "nope"})
    assert response.status_code == 404
    assert "nope" in response.get_data(as_text=True)


# -- the pure rules ----------------------------------------------------------


def test_spike_rule():
    steps = [0, 1, 2, 3, 4]
    # x1, x1, x5: a spike; x2.9 is not (under LOSS_SPIKE); the first two are never judged.
    assert loss_series.spikes(steps[:3], [1, 1, 5]) == [{"step": 2, "factor": 5.0, "metric": "loss"}]
    assert loss_series.spikes(steps[:3], [1, 1, 2.9]) == []
    assert loss_series.spikes(steps[:2], [1, 100]) == []
    # The median of the previous window, NaN left out of it; Inf marked too.
    found = loss_series.spikes(steps, [1, 1, NAN, 3.5, float("inf")])
    assert found == [
        {"step": 2, "factor": None, "metric": "loss"},
        {"step": 3, "factor": 3.5, "metric": "loss"},
        {"step": 4, "factor": None, "metric": "loss"},
    ]


def test_sentence_for_a_spike_names_the_step_factor_and_remedy():
    sentence = loss_series.loss_sentence("r", [0, 100, 420], [[1.0], [1.0], [3.2]], ["loss"])
    assert sentence == {
        "run": "r", "layer": None, "direction": None, "topic": "loss", "severity": "problem",
        "text": "the loss on the probe batch rose x3.2 at step 420",
        "remedy": "gradient clipping (clipnorm) or a lower learning rate",
        "view": {"view": "loss", "kind": kinds.PROBE_LOSS, "tag": "probe/loss", "step": 420},
    }


def test_sentence_for_several_spikes_names_the_latest_and_the_first():
    sentence = loss_series.loss_sentence(
        "r", [0, 1, 2, 3, 4, 5], [[1], [1], [4], [1], [1], [6]], ["loss"])
    assert sentence["text"] == "the loss on the probe batch rose x6.0 at step 5 (2 spikes since step 2)"
    assert sentence["view"]["step"] == 5


def test_sentence_for_nan_names_its_first_step():
    sentence = loss_series.loss_sentence(
        "r", [0, 10, 20, 30], [[1, 0.5], [1, 0.5], [NAN, 0], [NAN, 0]], ["loss", "accuracy"])
    assert sentence["severity"] == "problem"
    assert sentence["text"] == "the loss on the probe batch became NaN at step 20"
    assert "clipnorm" in sentence["remedy"] and sentence["view"]["step"] == 20
    inf = loss_series.loss_sentence("r", [0, 1], [[1], [float("inf")]], ["loss"])
    assert inf["text"] == "the loss on the probe batch became infinite at step 1"


def test_sentence_without_a_spike_says_how_it_went():
    falling = loss_series.loss_sentence("r", [0, 50, 100], [[2.0], [1.0], [0.5]], ["loss"])
    assert (falling["severity"], falling["remedy"]) == ("ok", None)
    assert falling["text"] == "the loss on the probe batch went from 2 at step 0 to 0.5 at step 100"
    rising = loss_series.loss_sentence("r", [0, 1, 2, 3], [[1.0], [1.2], [1.5], [1.9]], ["loss"])
    assert rising["severity"] == "info" and rising["view"]["step"] == 3
    assert loss_series.loss_sentence("r", [], [], ["loss"]) is None
    one = loss_series.loss_sentence("r", [7], [[0.25]], ["loss"])
    assert one["text"] == "the loss on the probe batch is 0.25 at step 7"
