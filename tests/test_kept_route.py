"""The /kept route over real event files and TensorBoard's data provider:
every logged step of a series' kept companion (per-gate statistics and
histograms, unit health, ...) in one binary body with the companion's
metadata, beyond TensorBoard's sampling of the big series; 4xx for bad
queries, unknown series and absent companions."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

import tb_rnn_plugin
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin import payloads

PREFIX = "/data/plugin/rnn"
# More steps than TensorBoard keeps of the big series here (10).
STEPS = tuple(range(0, 300, 10))
GATES = [dict(name=n, start=a, stop=b) for n, a, b in [("i", 0, 2), ("f", 2, 4), ("c", 4, 6), ("o", 6, 8)]]
HEALTH_FIELDS = ["dead", "saturated_share"]


def kernel_at(step):
    """[3, 8]: gate g's block holds (g + 1) * (1 + step), one NaN at step 50."""
    data = np.repeat(np.arange(1, 5, dtype=np.float32), 2)[None, :].repeat(3, 0) * (1 + step)
    if step == 50:
        data[1, 3] = np.nan  # in gate f
    return data


def health_at(step):
    return np.stack([np.arange(4) % 2, np.full(4, step / 1000)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("kept_logs")
    with tf.summary.create_file_writer(str(root / "run_a")).as_default():
        for step in STEPS:
            assert tb_rnn_plugin.weight(
                "lstm/kernel", kernel_at(step), step=step, matrix="kernel", gates=GATES,
                layer="lstm", cell="LSTM", direction="forward",
            )
            assert tb_rnn_plugin.activation(
                "lstm/activation", np.ones((2, 3, 4), np.float32) * step, step=step,
                layer="lstm", cell="LSTM", direction="forward",
            )
            assert tb_rnn_plugin.unit_health(
                "lstm/activation", health_at(step), step=step, fields=HEALTH_FIELDS,
                thresholds={"dead": 1e-6}, layer="lstm", cell="LSTM", direction="forward",
            )
    logdir = str(root)
    dp = data_provider_over(logdir, samples=10)
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints={"rnn": 10}, logdir=logdir)
    plugin = rnn_plugin.RnnLoader().load(ctx)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


def _get(client, **query):
    return client.get(PREFIX + "/kept", query_string=query)


def _body(client, **query):
    response = _get(client, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/octet-stream"
    return payloads.parse_profile_body(response.get_data())


def test_gate_stats_are_every_step_with_their_fields_and_gates(client):
    header, steps, wall_times, data = _body(client, run="run_a", tag="lstm/kernel", kind="gate_stats")
    assert list(steps) == list(STEPS)  # all 30, though the blob series keeps 10
    assert header["kind"] == "gate_stats"
    assert header["axes"] == ["gate", "statistic"]
    assert header["metadata"]["fields"] == list(metadata.GATE_STAT_FIELDS)
    assert [g["name"] for g in header["metadata"]["gates"]] == ["i", "f", "c", "o"]
    assert (header["rows"], header["columns"]) == (4, len(metadata.GATE_STAT_FIELDS))
    field = list(metadata.GATE_STAT_FIELDS).index
    for k, step in enumerate(STEPS):
        blocks = [kernel_at(step)[:, g["start"]:g["stop"]] for g in GATES]
        nan = [np.isnan(b).sum() for b in blocks]
        norms = [np.linalg.norm(b[np.isfinite(b)]) for b in blocks]
        np.testing.assert_allclose(data[k, :, field("l2_norm")], norms, rtol=1e-6)
        np.testing.assert_array_equal(data[k, :, field("nan_count")], nan)
    assert data[STEPS.index(50), 1, field("nan_count")] == 1  # gate f, step 50


def test_gate_histogram_counts_every_finite_value(client):
    header, steps, _, data = _body(client, run="run_a", tag="lstm/kernel", kind="gate_histogram")
    assert len(header["metadata"]["bin_edges"]) + 1 == header["columns"]
    finite = np.array([np.isfinite(kernel_at(s).reshape(3, 4, 2)).sum(axis=(0, 2)) for s in STEPS])
    np.testing.assert_array_equal(data.sum(axis=2), finite)


def test_unit_health_rows_are_units(client):
    header, steps, _, data = _body(client, run="run_a", tag="lstm/activation", kind="unit_health")
    assert header["metadata"]["fields"] == HEALTH_FIELDS
    assert header["metadata"]["thresholds"] == {"dead": 1e-6}
    np.testing.assert_allclose(data, np.stack([health_at(s) for s in STEPS]))


def test_rank_one_companions_are_one_row(client):
    header, steps, _, data = _body(client, run="run_a", tag="lstm/activation", kind="stats")
    assert (header["rows"], header["columns"]) == (1, len(metadata.STAT_FIELDS))
    assert header["axes"] == ["statistic"]
    np.testing.assert_allclose(data[:, 0, 0], [np.sqrt(24.0) * s for s in STEPS], rtol=1e-6)


@pytest.mark.parametrize(
    "query, status, words",
    [
        (dict(run="run_a", tag="lstm/kernel"), 400, "kind"),
        (dict(run="run_a", tag="lstm/kernel", kind="pinned"), 400, "kind must be one of"),
        (dict(run="run_a", tag="lstm/kernel", kind="unit_health"), 404, "no unit_health"),
        (dict(run="run_a", tag="nope", kind="stats"), 404, "nope"),
        (dict(run="nope", tag="lstm/kernel", kind="stats"), 404, "nope"),
    ],
)
def test_bad_queries_answer_4xx(client, query, status, words):
    response = _get(client, **query)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
