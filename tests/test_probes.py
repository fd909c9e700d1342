"""GET /probes: each run's latest probe fingerprint, read back through
TensorBoard's own data provider from kept `probe/fingerprint` series
written as the kinds contract says."""

import json

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin import probes


def write_fingerprints(logdir, run, by_step):
    with tf.summary.create_file_writer(str(logdir / run)).as_default():
        for step, parts in by_step:
            tf.summary.write(tag=kinds.PROBE_FINGERPRINT_TAG, tensor=tf.constant(parts, tf.float32), step=step,
                             metadata=metadata.create_summary_metadata(kinds.PROBE_FINGERPRINT))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("probes")
    write_fingerprints(logdir, "same_a", [(0, [1, 2, 3, 65535])])
    write_fingerprints(logdir, "same_b", [(0, [1, 2, 3, 65535]), (5, [1, 2, 3, 65535])])
    write_fingerprints(logdir, "changed", [(0, [7, 7, 7, 7]), (10, [8, 8, 8, 8]), (20, [8, 8, 8, 8])])
    write_fingerprints(logdir, "broken", [(0, [1.5, 2, 3, 4])])
    with tf.summary.create_file_writer(str(logdir / "none")).as_default():
        tf.summary.scalar("loss", 1.0, step=0)
    provider = data_provider_over(str(logdir))
    context = base_plugin.TBContext(data_provider=provider, sampling_hints={}, logdir=str(logdir))
    plugin = rnn_plugin.RnnLoader().load(context)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=provider))


def test_probes_route_gives_each_runs_latest_fingerprint_and_its_changes(client):
    response = client.get("/data/plugin/rnn/probes")
    assert response.status_code == 200
    body = json.loads(response.get_data())
    assert body == {"runs": {
        "same_a": {"fingerprint": "000100020003ffff", "step": 0, "changed_at": []},
        "same_b": {"fingerprint": "000100020003ffff", "step": 5, "changed_at": []},
        "changed": {"fingerprint": "0008000800080008", "step": 20, "changed_at": [10]},
    }}


def test_fingerprint_hex_rejects_what_is_not_four_16_bit_pieces():
    assert probes.fingerprint_hex(np.array([0, 1, 2, 3], np.float32)) == "0000000100020003"
    for bad in ([1, 2, 3], [1, 2, 3, 70000], [1, 2, 3, -1], [1, 2, 3, np.nan], [1, 2, 3, 0.5]):
        assert probes.fingerprint_hex(np.array(bad, np.float64)) is None
