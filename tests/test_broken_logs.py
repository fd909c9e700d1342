"""Broken and odd logs: the plugin serves what it can and says what it skipped.

Also home of the raw event writers the fuzz, live and big-log tests share:
they write Event protos directly (TFRecord framing through TensorFlow's C++
writer, so CRCs cost nothing), either exactly as summary_ops/summary.py
lays a series out or deliberately wrong.
"""

import functools
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.compat.proto import tensor_pb2
from tensorboard.compat.proto import tensor_shape_pb2
from tensorboard.util import tensor_util

from tb_rnn_plugin import metadata

PREFIX = "/data/plugin/rnn"

# ---- writing event files ---------------------------------------------------


def string_tensor(strings, shape=None):
    """A DT_STRING TensorProto holding `strings` (shape defaults to [len])."""
    shape = [len(strings)] if shape is None else list(shape)
    return tensor_pb2.TensorProto(
        dtype=7,  # DT_STRING
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape]
        ),
        string_val=list(strings),
    )


def raw_value(tag, tensor, content, *, plugin_name=metadata.PLUGIN_NAME,
              data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE):
    """A Summary.Value with any plugin content, data class and tensor."""
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode("utf-8")
    return summary_pb2.Summary.Value(
        tag=tag,
        metadata=summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=plugin_name, content=content
            ),
            data_class=data_class,
        ),
        tensor=tensor,
    )


def blob_of(array):
    """One step's blob as summary.py writes it: a serialized TensorProto."""
    return tensor_util.make_tensor_proto(np.asarray(array)).SerializeToString()


def stats_of(array):
    """metadata.STAT_FIELDS of an array, as summary.py computes them."""
    array = np.asarray(array, np.float32)
    finite = np.where(np.isfinite(array), array, 0).astype(np.float64)
    return np.array([
        np.sqrt((finite ** 2).sum()),
        np.abs(finite).max(),
        np.isnan(array).sum(),
        (array == np.inf).sum(),
        (array == -np.inf).sum(),
    ], np.float32)


@functools.lru_cache(maxsize=None)
def _summary_metadata(kind, of_tag, fields):
    return metadata.create_summary_metadata(kind, of_tag=of_tag, **dict(fields))


def rnn_values(tag, array, kind=metadata.ACTIVATION, *, pinned=False, **fields):
    """The Summary.Values of one step of a version-2 series, as summary.py writes them."""
    blob = blob_of(np.asarray(array, np.float32))
    fields = tuple(sorted(fields.items()))
    main = summary_pb2.Summary.Value(
        tag=tag,
        metadata=_summary_metadata(kind, None, fields),
        tensor=string_tensor([blob]),
    )
    values = [main]
    if kind != metadata.MASK:
        values.append(summary_pb2.Summary.Value(
            tag=metadata.stats_tag(tag),
            metadata=_summary_metadata(metadata.STATS, tag, fields),
            tensor=tensor_util.make_tensor_proto(stats_of(array)),
        ))
    if pinned:
        values.append(summary_pb2.Summary.Value(
            tag=metadata.pinned_tag(tag),
            metadata=_summary_metadata(kind, tag, fields),
            tensor=string_tensor([blob]),
        ))
    return values


def v1_value(tag, array, kind=metadata.ACTIVATION, **content_fields):
    """A version-1 step: the tensor itself in a DATA_CLASS_TENSOR series."""
    content = {"version": 1, "kind": kind, "axes": list(metadata.AXES.get(kind, ()))}
    content.update(content_fields)
    return raw_value(
        tag, tensor_util.make_tensor_proto(np.asarray(array)), content,
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def event(step, values, wall_time=None):
    return event_pb2.Event(
        step=step,
        wall_time=time.time() if wall_time is None else wall_time,
        summary=summary_pb2.Summary(value=list(values)),
    )


_file_counter = [0]


def event_file_path(run_dir):
    """A fresh event file name in `run_dir` (TensorBoard reads files in name order)."""
    _file_counter[0] += 1
    os.makedirs(run_dir, exist_ok=True)
    return os.path.join(
        str(run_dir),
        "events.out.tfevents.%d.%06d.rawlogs" % (int(time.time()), _file_counter[0]),
    )


class EventWriter:
    """Appends Event protos to one event file, TFRecord-framed by TensorFlow.

    `flush()` makes what was written visible to a reader; records are
    written whole, as TensorFlow's own summary writer writes them.
    """

    def __init__(self, run_dir):
        import tensorflow as tf

        self.path = event_file_path(run_dir)
        self._writer = tf.io.TFRecordWriter(self.path)
        self.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def write(self, event_proto):
        self._writer.write(event_proto.SerializeToString())

    def add(self, step, values, wall_time=None):
        self.write(event(step, values, wall_time))

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_run(run_dir, steps_and_values):
    """Writes one event file: `steps_and_values` is [(step, [Summary.Value])]."""
    with EventWriter(run_dir) as writer:
        for step, values in steps_and_values:
            writer.add(step, values)
        return writer.path


# ---- a logdir of broken and odd logs ---------------------------------------

SHAPE = (2, 3, 4)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_V2 = {"version": 2, "kind": metadata.ACTIVATION}
_TENSOR = summary_pb2.DATA_CLASS_TENSOR


def values_at(step, shape=SHAPE):
    """A tensor whose every value says which step it was logged at."""
    return (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1000.0 * step)


def deep_json(depth):
    return '{"version": 2, "kind": "activation", "x": %s%s}' % ("[" * depth, "]" * depth)


# run -> {tag: steps served with values_at(step)}: what must keep answering 200.
GOOD = {
    "good": {"lstm/activation": [0, 1, 2, 3, 4]},
    "v1_good": {"old/activation": [0, 1, 2]},
    "odd": {
        "ok": [0],
        "v99_known": [0],
        "../../etc/passwd": [0],
        "ü/😀 tag": [0],
        "huge_step": [2**63 - 1],
        "negative_step": [-5],
    },
    "truncated": {"a": list(range(9))},  # step 9 was cut mid-record
    "garbage_tail": {"a": list(range(10))},
    "garbage_between_files": {"a": list(range(8))},
    "foreign": {"a": [0, 1, 2]},
}
# run/tag -> (words the 422 of its step 0 must contain).
UNREADABLE = {
    ("odd", "strings_v1"): "not real numbers",
    ("odd", "strings_v2"): "not real numbers",
    ("odd", "not_a_tensor_proto"): "cannot be decoded",
    ("odd", "rank0_v1"): "has shape []",
    ("odd", "rank5_v1"): "has shape [1, 1, 1, 1, 2]",
    ("odd", "rank0_blob"): "has shape []",
    ("odd", "complex_v1"): "not real numbers",
    ("odd", "int_v1"): None,  # integers are numbers: served as float32
}
# Series the Python loader lists but the Rust data server drops on loading
# (a blob sequence must be a rank-1 string tensor there).
PYTHON_ONLY_UNREADABLE = {
    ("odd", "rank0_sequence"): "cannot be read",
    ("odd", "float_sequence"): "cannot be decoded",
}
# run/tag -> words its "skipped" reason must contain.
SKIPPED = {
    ("odd", "v99_unknown"): "version 99",
    ("odd", "deep_json"): "nested too deeply",
    ("odd", "not_json"): "not JSON",
}
# Nested deep enough to parse but to fail in copying (a RecursionError, a
# 500 before): how deep depends on the recursion limit, 1000 by default and
# 3000 once TensorFlow is imported (TensorBoard imports it when installed).
MIDDLE_DEPTHS = {("odd", "deep_json_700"): 700, ("odd", "deep_json_2000"): 2000}
NOT_RUNS = ("empty", "only_header", "foreign/junk")


def write_broken_logdir(root):
    """Writes GOOD, UNREADABLE, SKIPPED runs and series, and the NOT_RUNS, under `root`."""
    root = str(root)

    def steps_run(run, tag, steps, pinned_first=True):
        return write_run(os.path.join(root, run), [
            (s, rnn_values(tag, values_at(s), pinned=pinned_first and s == steps[0], layer="l"))
            for s in steps
        ])

    steps_run("good", "lstm/activation", range(5))
    write_run(os.path.join(root, "good"), [
        (s, rnn_values("lstm/mask", np.ones(SHAPE[:2]), metadata.MASK)) for s in range(5)
    ])
    write_run(os.path.join(root, "v1_good"), [
        (s, [v1_value("old/activation", values_at(s))]) for s in range(3)
    ])

    strings = tensor_util.make_tensor_proto(np.array([[[b"a", b"b"]]], dtype=object))
    odd = [
        (0, rnn_values("ok", values_at(0))),
        (0, [raw_value("v99_known", string_tensor([blob_of(values_at(0))]),
                       {"version": 99, "kind": "activation", "new_field": {"a": [1]}})]),
        (0, rnn_values("../../etc/passwd", values_at(0))),
        (0, rnn_values("ü/😀 tag", values_at(0))),
        (2**63 - 1, rnn_values("huge_step", values_at(2**63 - 1))),
        (-5, rnn_values("negative_step", values_at(-5))),
        (0, [raw_value("strings_v1", strings, {"version": 1, "kind": "activation"},
                       data_class=_TENSOR)]),
        (0, [raw_value("strings_v2", string_tensor([strings.SerializeToString()]), _V2)]),
        (0, [raw_value("not_a_tensor_proto", string_tensor([b"not a tensor proto"]), _V2)]),
        (0, [v1_value("rank0_v1", np.float32(3.0))]),
        (0, [v1_value("rank5_v1", np.zeros((1, 1, 1, 1, 2), np.float32))]),
        (0, [raw_value("rank0_blob", string_tensor([blob_of(np.float32(1.0))]), _V2)]),
        (0, [v1_value("complex_v1", np.ones((1, 1, 2), np.complex64))]),
        (0, [v1_value("int_v1", np.arange(6, dtype=np.int64).reshape(1, 2, 3))]),
        (0, [raw_value("rank0_sequence", string_tensor([blob_of(values_at(0))], shape=[]), _V2)]),
        (0, [raw_value("float_sequence", tensor_util.make_tensor_proto(np.ones(3, np.float32)), _V2)]),
        (0, [raw_value("empty_sequence", string_tensor([]), _V2)]),
        (0, [raw_value("v99_unknown", string_tensor([blob_of(values_at(0))]),
                       {"version": 99, "kind": "attention_map"})]),
        (0, [raw_value("deep_json", string_tensor([blob_of(values_at(0))]), deep_json(5000))]),
        *[(0, [raw_value(tag, string_tensor([blob_of(values_at(0))]), deep_json(depth))])
          for (_, tag), depth in MIDDLE_DEPTHS.items()],
        (0, [raw_value("not_json", string_tensor([blob_of(values_at(0))]), b"\xff{not json")]),
    ]
    write_run(os.path.join(root, "odd"), odd)

    # Training killed mid-write: the last record is cut half-way.
    path = steps_run("truncated", "a", range(10))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 50)
    # Garbage after good records, and garbage in a file followed by a good one.
    path = steps_run("garbage_tail", "a", range(10))
    with open(path, "ab") as f:
        f.write(np.random.default_rng(0).bytes(3000))
    path = steps_run("garbage_between_files", "a", range(5))
    with open(path, "ab") as f:
        f.write(b"\x00" * 7 + np.random.default_rng(1).bytes(100))
    steps_run("garbage_between_files", "a", range(5, 8), pinned_first=False)

    # Files that are no event files, and a folder of junk, in a run directory.
    steps_run("foreign", "a", range(3))
    foreign = os.path.join(root, "foreign")
    with open(os.path.join(foreign, "notes.txt"), "w") as f:
        f.write("learning rate 1e-3\n")
    with open(os.path.join(foreign, "plot.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + np.random.default_rng(2).bytes(500))
    os.makedirs(os.path.join(foreign, "junk"))
    with open(os.path.join(foreign, "junk", "events.out.tfevents.1.junk"), "wb") as f:
        f.write(np.random.default_rng(3).bytes(2000))
    with open(os.path.join(foreign, "junk", "data.bin"), "wb") as f:
        f.write(np.random.default_rng(4).bytes(200))

    # Empty runs: an empty event file; an event file with only its header.
    os.makedirs(os.path.join(root, "empty"))
    open(os.path.join(root, "empty", "events.out.tfevents.1.empty"), "wb").close()
    write_run(os.path.join(root, "only_header"), [])
    return root


# ---- clients: in-process and real TensorBoard --------------------------------


class InProcessClient:
    """The plugin in TensorBoard's WSGI app over MultiplexerDataProvider."""

    def __init__(self, logdir, sampling_hints=None, data_provider=None):
        from tensorboard.backend import application
        from tensorboard.plugins import base_plugin
        from werkzeug import test as werkzeug_test

        from tb_reading import data_provider_over
        from tb_rnn_plugin import plugin as rnn_plugin

        self.data_provider = data_provider or data_provider_over(logdir, samples=100)
        context = base_plugin.TBContext(
            data_provider=self.data_provider, sampling_hints=sampling_hints, logdir=str(logdir)
        )
        self.plugin = rnn_plugin.RnnLoader().load(context)
        app = application.TensorBoardWSGI([self.plugin], data_provider=self.data_provider)
        self._client = werkzeug_test.Client(app)

    def get(self, path):
        """(status, headers dict, body bytes); `path` is sent as it is."""
        response = self._client.get(path)
        return response.status_code, dict(response.headers), response.get_data()


class ServerClient:
    """A real `tensorboard` subprocess (this checkout's plugin) and raw HTTP to it."""

    def __init__(self, logdir, load_fast, extra_args=()):
        try:
            import browser_util
        except ImportError:
            from tests import browser_util

        # `python -m` puts the working directory first on sys.path; make
        # sure the subprocess imports this checkout whatever the cwd is.
        env_path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = ROOT + (os.pathsep + env_path if env_path else "")
        try:
            self.server = browser_util.TensorBoardServer(
                logdir,
                ["--load_fast=%s" % ("true" if load_fast else "false"),
                 "--reload_interval", "1", *extra_args],
            )
        finally:
            if env_path is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = env_path
        self.load_fast = load_fast
        self.port = self.server.port
        self.url = self.server.url

    def start(self, runs=(), timeout=90.0):
        self.server.wait_until_serving(timeout=timeout)
        if runs:
            self.server.wait_for_runs(runs, timeout=timeout)
        return self

    def get(self, path, timeout=30.0):
        """(status, headers dict, body bytes); `path` goes on the wire unchanged."""
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.putrequest("GET", path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def log_text(self):
        return self.server.log_text()

    def stop(self):
        self.server.stop()


def query(**params):
    from urllib.parse import urlencode

    return urlencode(params)


def get_json(client, path):
    status, headers, body = client.get(path)
    assert status == 200, (path, status, body[:500])
    return json.loads(body)


def get_tensor(client, run, tag, step):
    path = PREFIX + "/tensor?" + query(run=run, tag=tag, step=step)
    status, headers, body = client.get(path)
    assert status == 200, (path, status, body[:500])
    shape = tuple(int(d) for d in headers["X-Tensor-Shape"].split(",") if d)
    return np.frombuffer(body, "<f4").reshape(shape)


def get_error(client, path, code):
    status, headers, body = client.get(path)
    text = body.decode("utf-8", "replace")
    assert status == code, (path, status, text[:500])
    assert headers["Content-Type"].startswith("text/plain"), headers
    assert "Traceback" not in text
    return text


# ---- the tests ---------------------------------------------------------------


@pytest.fixture(scope="module")
def broken_logdir(tmp_path_factory):
    return write_broken_logdir(tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module", params=["in-process", "load_fast=false", "load_fast=true"])
def client(request, broken_logdir):
    if request.param == "in-process":
        yield InProcessClient(broken_logdir)
        return
    server = ServerClient(broken_logdir, load_fast=request.param.endswith("true"))
    try:
        yield server.start(runs=GOOD)
    finally:
        server.stop()


def _is_rust(client):
    return getattr(client, "load_fast", False)


def test_good_series_keep_serving_right_values(client):
    runs = get_json(client, PREFIX + "/tags")["runs"]
    for run, tags in GOOD.items():
        for tag, steps in tags.items():
            assert tag in runs.get(run, {}), (run, tag, sorted(runs.get(run, {})))
            body = get_json(client, PREFIX + "/steps?" + query(run=run, tag=tag))
            assert body["steps"] == steps, (run, tag)
            for step in steps:
                np.testing.assert_array_equal(get_tensor(client, run, tag, step), values_at(step))


def test_truncated_record_is_not_served(client):
    text = get_error(client, PREFIX + "/tensor?" + query(run="truncated", tag="a", step=9), 404)
    assert "step 9 not logged" in text
    assert "9 steps available: 0, 1, 2, ..., 6, 7, 8" in text


def test_foreign_files_and_empty_runs_are_no_runs(client):
    runs = get_json(client, PREFIX + "/tags")["runs"]
    for run in NOT_RUNS:
        assert run not in runs
        text = get_error(client, PREFIX + "/steps?" + query(run=run, tag="a"), 404)
        assert "no run %r" % run in text
    # The run with foreign files is whole, mask series included elsewhere.
    assert set(runs["foreign"]) == {"a"}
    assert set(runs["good"]) == {"lstm/activation", "lstm/mask"}
    np.testing.assert_array_equal(get_tensor(client, "good", "lstm/mask", 3), np.ones(SHAPE[:2]))


def test_newer_version_with_known_kind_is_read(client):
    entry = get_json(client, PREFIX + "/tags")["runs"]["odd"]["v99_known"]
    assert entry["metadata"]["version"] == 99
    assert entry["metadata"]["kind"] == "activation"
    assert entry["metadata"]["axes"] == ["sample", "timestep", "channel"]
    assert entry["metadata"]["new_field"] == {"a": [1]}


def test_skipped_series_say_why(client):
    index = get_json(client, PREFIX + "/tags")
    reasons = {(s["run"], s["tag"]): s["reason"] for s in index["skipped"]}
    for (run, tag), words in SKIPPED.items():
        assert words in reasons.get((run, tag), ""), (run, tag, reasons)
        assert tag not in index["runs"]["odd"]
        # Asked for anyway: a 422 with the same reason, never a 500.
        for route in ("steps", "tensor"):
            text = get_error(
                client, PREFIX + "/%s?" % route + query(run=run, tag=tag, step=0), 422
            )
            assert words in text
    assert "this plugin reads up to %d" % metadata.PROTO_VERSION in reasons[("odd", "v99_unknown")]


def test_json_under_the_parser_limit_is_listed_or_skipped(client):
    index = get_json(client, PREFIX + "/tags")
    skipped = {(s["run"], s["tag"]): s["reason"] for s in index["skipped"]}
    for run, tag in MIDDLE_DEPTHS:
        if tag in index["runs"][run]:
            np.testing.assert_array_equal(get_tensor(client, run, tag, 0), values_at(0))
        else:
            assert "nested too deeply" in skipped[(run, tag)]


def test_unreadable_steps_are_422_with_a_reason(client):
    runs = get_json(client, PREFIX + "/tags")["runs"]
    cases = dict(UNREADABLE)
    if not _is_rust(client):
        cases.update(PYTHON_ONLY_UNREADABLE)
    for (run, tag), words in cases.items():
        assert tag in runs[run], tag
        assert get_json(client, PREFIX + "/steps?" + query(run=run, tag=tag))["steps"] == [0]
        path = PREFIX + "/tensor?" + query(run=run, tag=tag, step=0)
        if words is None:
            np.testing.assert_array_equal(
                get_tensor(client, run, tag, 0), np.arange(6, dtype=np.float32).reshape(1, 2, 3)
            )
        else:
            assert words in get_error(client, path, 422), tag


def test_rust_loader_drops_malformed_sequences_silently(client):
    runs = get_json(client, PREFIX + "/tags")["runs"]
    for run, tag in PYTHON_ONLY_UNREADABLE:
        if _is_rust(client):
            assert tag not in runs[run]
            get_error(client, PREFIX + "/steps?" + query(run=run, tag=tag), 404)
        else:
            assert tag in runs[run]


def test_empty_blob_sequence_step_is_422(client):
    runs = get_json(client, PREFIX + "/tags")["runs"]
    if "empty_sequence" not in runs["odd"]:
        assert _is_rust(client)
        return
    assert get_json(client, PREFIX + "/steps?" + query(run="odd", tag="empty_sequence"))["steps"] == [0]
    text = get_error(client, PREFIX + "/tensor?" + query(run="odd", tag="empty_sequence", step=0), 422)
    assert "holds no tensor" in text
