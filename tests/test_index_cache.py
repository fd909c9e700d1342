"""The plugin's index cache and what /tags serves from it, over real event
files and TensorBoard's own data provider and WSGI application."""

import argparse
import json
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over
from test_plugin import PREFIX, _error, _json, _make, _tensor, _write_raw
from test_plugin import client, logdir  # noqa: F401 (fixtures)

import tb_rnn_plugin
from tb_rnn_plugin import plugin as rnn_plugin
from tb_rnn_plugin import storage


# The index: cached for TensorBoard's reload interval, served stale while it
# is listed again in the background, encoded and gzipped once per listing.


def _wait_for(predicate, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_index_cache_lists_once_per_lifetime_then_refreshes_in_background(monkeypatch):
    import threading

    clock = [100.0]
    monkeypatch.setattr(storage.time, "monotonic", lambda: clock[0])
    cache = storage.IndexCache(lifetime=5.0)
    calls = []
    release = threading.Event()

    def compute():
        calls.append(clock[0])
        if len(calls) > 1:
            release.wait(5)
        return "index %d" % len(calls)

    assert cache.get("e", compute) == "index 1"  # the first listing is waited for
    clock[0] += 4.9
    assert cache.get("e", compute) == "index 1"
    assert len(calls) == 1
    clock[0] += 0.2  # stale: answered at once, listed again in the background
    assert cache.get("e", compute) == "index 1"
    assert cache.get("e", compute) == "index 1"  # one refresh at a time
    _wait_for(lambda: len(calls) == 2)
    release.set()
    _wait_for(lambda: cache.get("e", compute) == "index 2")
    assert len(calls) == 2
    assert cache.get("other", compute) == "index 3"  # per experiment


def test_index_cache_keeps_the_last_index_when_a_refresh_fails(monkeypatch, caplog):
    clock = [0.0]
    monkeypatch.setattr(storage.time, "monotonic", lambda: clock[0])
    cache = storage.IndexCache(lifetime=1.0)
    assert cache.get("e", lambda: "good") == "good"
    clock[0] += 2

    def failing():
        raise RuntimeError("data provider down")

    with caplog.at_level(logging.WARNING):
        assert cache.get("e", failing) == "good"
        _wait_for(lambda: "listing the index failed" in caplog.text)
    _wait_for(lambda: "e" not in cache._refreshing)
    assert cache.get("e", lambda: "new") == "good"  # stale again: refreshes
    _wait_for(lambda: cache.get("e", lambda: "newer") == "new")


def test_index_cache_without_lifetime_lists_every_time():
    cache = storage.IndexCache(lifetime=0.0)
    counter = iter(range(10))
    assert [cache.get("e", lambda: next(counter)) for _ in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("interval, lifetime", [(None, 0.0), (5, 5.0), (1, 1.0), (0, float("inf"))])
def test_index_lifetime_is_the_reload_interval(interval, lifetime):
    flags = argparse.Namespace() if interval is None else argparse.Namespace(reload_interval=interval)
    assert storage.index_lifetime(flags) == lifetime
    assert storage.index_lifetime(None) == 0.0


def test_tags_is_gzipped_for_clients_that_accept_it(client):
    import gzip

    plain = client.get(PREFIX + "/tags")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    zipped = client.get(PREFIX + "/tags", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Content-Type"].startswith("application/json")
    assert json.loads(gzip.decompress(zipped.get_data())) == json.loads(plain.get_data())


def test_tags_metadata_with_nan_is_valid_json(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "r"))
    with w.as_default():
        assert _write_raw("x", np.ones((1, 1, 1)), 0, b'{"kind": "activation", "scale": NaN, "r": [Infinity]}')
    w.close()
    _, client = _make(str(tmp_path))
    text = client.get(PREFIX + "/tags").get_data(as_text=True)
    assert "NaN" not in text.replace('"NaN"', "")
    md = json.loads(text)["runs"]["r"]["x"]["metadata"]
    assert md["scale"] == "NaN" and md["r"] == ["Infinity"]


def test_tags_skips_metadata_nested_deeper_than_32(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "r"))
    with w.as_default():
        for depth in (5, 40, 1500, 2500, 5000):
            content = '{"kind": "activation", "x": %s%s}' % ("[" * depth, "]" * depth)
            assert _write_raw("d%d" % depth, np.ones((1, 1, 1)), 0, content.encode())
    w.close()
    _, client = _make(str(tmp_path))
    body = _json(client.get(PREFIX + "/tags"))
    assert set(body["runs"]["r"]) == {"d5"}
    assert {s["tag"] for s in body["skipped"]} == {"d40", "d1500", "d2500", "d5000"}
    assert all("nested too deeply" in s["reason"] for s in body["skipped"])


class _CallLog:
    """A data provider wrapper recording which methods the plugin calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def logged(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return logged


def test_tensor_and_steps_use_the_cached_index_and_list_series_newer_than_it(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path / "r"))
    with w.as_default():
        assert tb_rnn_plugin.activation("a", np.full((1, 2, 3), 7.0), step=3)
    w.close()
    dp = _CallLog(data_provider_over(str(tmp_path)))
    ctx = base_plugin.TBContext(
        data_provider=dp, flags=argparse.Namespace(reload_interval=60), logdir=str(tmp_path)
    )
    plugin = rnn_plugin.RnnLoader().load(ctx)
    client = werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))
    assert set(_json(client.get(PREFIX + "/tags"))["runs"]["r"]) == {"a"}

    dp.calls.clear()
    array, _ = _tensor(client, "r", "a", 3)
    assert array.tolist() == np.full((1, 2, 3), 7.0).tolist()
    assert dp.calls == ["read_blob_sequences", "read_blob"]  # no listing, no pinned lookup
    dp.calls.clear()
    assert _json(client.get(PREFIX + "/steps?run=r&tag=a"))["steps"] == [3]
    assert not [c for c in dp.calls if c.startswith("list_")]

    # A series logged after the index was listed is found by listing it alone.
    w = tf.summary.create_file_writer(str(tmp_path / "r2"))
    with w.as_default():
        assert tb_rnn_plugin.activation("b", np.full((1, 2, 3), 8.0), step=4)
    w.close()
    dp.inner._multiplexer.AddRunsFromDirectory(str(tmp_path))
    dp.inner._multiplexer.Reload()
    assert set(_json(client.get(PREFIX + "/tags"))["runs"]) == {"r"}  # still cached
    dp.calls.clear()
    array, _ = _tensor(client, "r2", "b", 4)
    assert array.tolist() == np.full((1, 2, 3), 8.0).tolist()
    assert dp.calls[0] == "list_blob_sequences"
    _error(client.get(PREFIX + "/tensor?run=r2&tag=nope&step=4"), 404)
