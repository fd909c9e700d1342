"""Big logs: a wide index and big tensors, served right (timings: benchmarks/bench_routes.py).

  - Index: RUNS runs x TAGS tags (16 layers x 3 quantities + 2 masks, with
    their stats and pinned companions), as the callback lays them out;
    /tags lists them all with their metadata, gzipped when the client
    accepts it, under both loaders.
  - Big tensors: BIG_STEPS logged steps of a [4, 1000, 512] float32 state
    gradient (8 MB a step, ~330 MB of event file) written with the summary
    op. Every /tensor answers 200 with the logged values under
    --load_fast=true (one read_tensors of the series used to exceed the
    Rust data server's 256 MiB gRPC message: a 500) and false; and serving
    one step reads one blob, never the series (checked by wrapping the data
    provider in-process).
"""

import collections
import gzip
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

try:
    import test_broken_logs as broken
except ImportError:  # tests/ imported as a package
    from tests import test_broken_logs as broken

from tb_rnn_plugin import metadata

PREFIX = broken.PREFIX

LAYERS = 16
QUANTITIES = (metadata.ACTIVATION, metadata.OUTPUT_GRADIENT, metadata.STATE_GRADIENT)
MASKED_LAYERS = 2
TAGS = LAYERS * len(QUANTITIES) + MASKED_LAYERS  # 50
RUNS = 100
INDEX_STEPS = 2  # the test's index is wide, not long

BIG_SHAPE = (4, 1000, 512)
BIG_STEPS = 40
BIG_TAG = "lstm/state_gradient"


# ---- writing -----------------------------------------------------------------


def index_tags():
    """[(tag, kind, fields)] of one run of the index logdir."""
    tags = []
    for layer in range(LAYERS):
        name = "lstm_%02d" % layer
        mask_tag = "%s/mask" % name if layer < MASKED_LAYERS else None
        for kind in QUANTITIES:
            tags.append(("%s/%s" % (name, kind), kind,
                         dict(layer=name, cell="LSTM", mask_tag=mask_tag)))
        if mask_tag:
            tags.append((mask_tag, metadata.MASK, dict(layer=name)))
    assert len(tags) == TAGS
    return tags


def index_values(run, step, kind):
    shape = (2, 8, 4) if kind != metadata.MASK else (2, 8)
    return np.full(shape, run * 1000 + step, np.float32)


def write_index_logdir(root, runs=RUNS, steps=INDEX_STEPS):
    """`runs` runs of TAGS series each, `steps` steps, first step pinned."""
    tags = index_tags()
    for run in range(runs):
        with broken.EventWriter(os.path.join(str(root), "run_%03d" % run)) as writer:
            for step in range(steps):
                values = []
                for tag, kind, fields in tags:
                    values += broken.rnn_values(
                        tag, index_values(run, step, kind), kind, pinned=step == 0, **fields
                    )
                writer.add(step, values)
    return str(root)


def big_values(step):
    """[4, 1000, 512] float32 whose values say their step (exact in float32)."""
    size = int(np.prod(BIG_SHAPE))
    return ((np.arange(size, dtype=np.int64) % 997) + 1000 * step).astype(np.float32).reshape(BIG_SHAPE)


def write_big_logdir(root, steps=BIG_STEPS, run="big"):
    """`steps` steps of an 8 MB state gradient through the summary op (first pinned)."""
    import tensorflow as tf

    import tb_rnn_plugin

    writer = tf.summary.create_file_writer(os.path.join(str(root), run))
    with writer.as_default():
        for step in range(steps):
            assert tb_rnn_plugin.state_gradient(
                BIG_TAG, big_values(step), step=step, layer="lstm", cell="LSTM",
                pinned=step == 0,
            )
            writer.flush()
    writer.close()
    return str(root)


# ---- the index ---------------------------------------------------------------


@pytest.fixture(scope="module")
def index_logdir(tmp_path_factory):
    return write_index_logdir(tmp_path_factory.mktemp("index"))


def _check_index(index, runs=RUNS):
    assert index["skipped"] == []
    assert sorted(index["runs"]) == ["run_%03d" % r for r in range(runs)]
    expected = {tag: (kind, fields) for tag, kind, fields in index_tags()}
    for run, tags in index["runs"].items():
        assert set(tags) == set(expected), run
        for tag, entry in tags.items():
            kind, fields = expected[tag]
            assert entry["max_step"] == INDEX_STEPS - 1
            assert entry["metadata"]["kind"] == kind
            assert entry["metadata"]["layer"] == fields["layer"]
            assert entry["metadata"]["mask_tag"] == fields.get("mask_tag")
            assert entry["metadata"]["axes"] == list(metadata.AXES[kind])


def test_index_lists_every_series_in_process(index_logdir):
    client = broken.InProcessClient(index_logdir)
    _check_index(broken.get_json(client, PREFIX + "/tags"))
    array = broken.get_tensor(client, "run_042", "lstm_07/output_gradient", 1)
    np.testing.assert_array_equal(array, index_values(42, 1, metadata.OUTPUT_GRADIENT))
    body = broken.get_json(client, PREFIX + "/steps?" + broken.query(run="run_099", tag="lstm_01/mask"))
    assert body["steps"] == list(range(INDEX_STEPS))


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_index_lists_every_series_real_tensorboard(index_logdir, load_fast):
    import urllib.request

    server = broken.ServerClient(index_logdir, load_fast=load_fast)
    try:
        server.start(runs=["run_%03d" % r for r in range(RUNS)], timeout=120)
        plain = broken.get_json(server, PREFIX + "/tags")
        _check_index(plain)
        # Gzipped for a client that accepts it (browsers do), same JSON.
        request = urllib.request.Request(
            server.url + PREFIX + "/tags", headers={"Accept-Encoding": "gzip"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Content-Type"].startswith("application/json")
            zipped = response.read()
        assert json.loads(gzip.decompress(zipped)) == plain
        assert len(zipped) < len(json.dumps(plain)) / 5
    finally:
        server.stop()


# ---- big tensors ---------------------------------------------------------------


@pytest.fixture(scope="module")
def big_logdir(tmp_path_factory):
    return write_big_logdir(tmp_path_factory.mktemp("big"))


class CountingProvider:
    """Wraps a data provider and records the calls the plugin makes."""

    def __init__(self, inner):
        self._inner = inner
        self.calls = []

    def __getattr__(self, name):
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def recorded(*args, **kwargs):
            self.calls.append((name, kwargs.get("plugin_name"), kwargs.get("run_tag_filter")))
            return attribute(*args, **kwargs)

        return recorded


def test_big_tensor_reads_one_blob_never_the_series(big_logdir):
    from tb_reading import data_provider_over

    provider = CountingProvider(data_provider_over(big_logdir, samples=100))
    client = broken.InProcessClient(big_logdir, data_provider=provider)
    steps = broken.get_json(client, PREFIX + "/steps?" + broken.query(run="big", tag=BIG_TAG))
    assert steps["steps"] == list(range(BIG_STEPS))
    assert steps["logged_steps"] == BIG_STEPS
    for step in (0, 17, BIG_STEPS - 1):
        provider.calls.clear()
        array = broken.get_tensor(client, "big", BIG_TAG, step)
        np.testing.assert_array_equal(array, big_values(step))
        names = collections.Counter(name for name, _, _ in provider.calls)
        assert names["read_blob"] == 1, provider.calls
        assert names["read_tensors"] == 0, provider.calls
        for name, _, run_tag_filter in provider.calls:
            if name.startswith("read_"):
                assert run_tag_filter is None or (
                    list(run_tag_filter.runs) == ["big"] and len(run_tag_filter.tags) == 1
                ), (name, run_tag_filter)


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_every_big_tensor_answers_200_real_tensorboard(big_logdir, load_fast):
    server = broken.ServerClient(big_logdir, load_fast=load_fast)
    try:
        server.start(runs=["big"], timeout=120)
        path = PREFIX + "/steps?" + broken.query(run="big", tag=BIG_TAG)
        body = broken.get_json(server, path)
        # The Python loader may still be reading the file: wait for every step.
        for _ in range(120):
            if len(body["steps"]) == BIG_STEPS:
                break
            time.sleep(0.5)
            body = broken.get_json(server, path)
        assert body["steps"] == list(range(BIG_STEPS))
        assert body["logged_steps"] == BIG_STEPS
        for step in body["steps"]:
            array = broken.get_tensor(server, "big", BIG_TAG, step)
            np.testing.assert_array_equal(array, big_values(step))
        assert "Traceback" not in server.log_text()
    finally:
        server.stop()


# ---- long series: the companions are never sampled -----------------------------

LONG_STEPS = 250


@pytest.fixture(scope="module")
def long_logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("long")
    broken.write_run(str(root / "long"), [
        (step, broken.rnn_values("a", broken.values_at(step), pinned=step == 0, layer="l"))
        for step in range(LONG_STEPS)
    ])
    return str(root)


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_kept_series_keep_every_step_while_rnn_keeps_100(long_logdir, load_fast):
    """`rnn_kept=0` (the loader's default) is honoured by both loaders: every
    stats step and the pinned first step stay while "rnn" keeps 100 steps,
    the last included and (with 250 steps logged) the first dropped."""
    server = broken.ServerClient(long_logdir, load_fast=load_fast)
    try:
        server.start(runs=["long"])
        path = PREFIX + "/steps?" + broken.query(run="long", tag="a")
        body = broken.get_json(server, path)
        for _ in range(60):  # the Python loader may still be reading
            if body["logged_steps"] == LONG_STEPS:
                break
            time.sleep(0.5)
            body = broken.get_json(server, path)
        assert body["logged_steps"] == LONG_STEPS
        steps = body["steps"]
        assert steps[0] == 0 and steps[-1] == LONG_STEPS - 1
        assert len(steps) == 101, len(steps)  # 100 sampled, the last among them, + pinned 0
        for step in (0, steps[1], steps[50], LONG_STEPS - 1):
            np.testing.assert_array_equal(
                broken.get_tensor(server, "long", "a", step), broken.values_at(step)
            )
        # Step 0 is served from the pinned copy: the sampled series dropped it.
        missing = [s for s in range(1, LONG_STEPS) if s not in steps][0]
        text = broken.get_error(
            server, PREFIX + "/tensor?" + broken.query(run="long", tag="a", step=missing), 404
        )
        assert "101 steps available: 0, " in text
    finally:
        server.stop()
