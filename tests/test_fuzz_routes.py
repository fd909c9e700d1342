"""Every route, fuzzed: never a 500, never a stack trace, never a stray file.

Query strings get missing, repeated, huge, negative, non-numeric, unicode
and path-like values for run/tag/step; paths under /data/plugin/rnn/ get
random segments, dot-dot in every spelling, encoded slashes and absolute
paths. The logdir is the broken one of test_broken_logs (string tensors,
metadata nested 700 to 5000 deep, rank-0 and rank-5 tensors, steps at the
int64 limits, undecodable blobs, truncated files...).

Three ways in: an in-process app over TensorBoard's MultiplexerDataProvider
(hypothesis, thousands of requests), and real `tensorboard` subprocesses
with --load_fast=false and --load_fast=true (the Rust data server), a few
hundred seeded random requests each, bounded in time. Every response must:
  - have a status below 500 (and one TensorBoard or the plugin means);
  - carry no Python traceback;
  - if 200: be JSON from /tags or /steps, a tensor from /tensor whose bytes
    match its shape header (and, for a good series, the logged values), or
    byte for byte one of the frontend's files from /static/;
  - never contain bytes of a file the plugin does not serve.
"""

import collections
import importlib.resources
import json
import random
import re
import time
import urllib.parse

import numpy as np
import pytest
from tb_rnn_plugin import payloads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:
    import test_broken_logs as broken
except ImportError:  # tests/ imported as a package
    from tests import test_broken_logs as broken

PREFIX = broken.PREFIX
ROUTES = ("tags", "steps", "tensor", "profile", "kept", "health", "probes")
KINDS = ("stats", "profile", "gate_stats", "unit_health", "pinned", "weight")
OK_STATUSES = {200, 301, 302, 308, 400, 404, 405, 414, 422}

# In-process requests tried (hypothesis examples x requests each).
IN_PROCESS_EXAMPLES = 2500
# Per real TensorBoard: stop at this many requests or this many seconds.
SERVER_REQUESTS = 600
SERVER_SECONDS = 40.0

TRIED = collections.Counter()


# The folders of the frontend whose files /static/ serves, besides its top level.
STATIC_FOLDERS = ("vendor", "shell", "data", "views", "draw")


def _frontend_files():
    root = importlib.resources.files("tb_rnn_plugin.frontend")

    def servable(folder, prefix):
        return {
            prefix + p.name: p.read_bytes()
            for p in folder.iterdir()
            if re.fullmatch(r"[A-Za-z0-9_-]+\.(js|css)", p.name) and p.is_file()
        }

    files = servable(root, "")
    for name in STATIC_FOLDERS:
        folder = root.joinpath(name)
        if folder.is_dir():
            files.update(servable(folder, name + "/"))
    return files


STATIC_FILES = _frontend_files()

# Bytes of files next to or far from the frontend that must never be served.
FORBIDDEN = [
    b"class RnnPlugin(base_plugin.TBPlugin)",  # tb_rnn_plugin/plugin.py
    b"def parse_step(value)",  # tb_rnn_plugin/reading.py
    b"_STATIC_PACKAGE",  # plugin.py again
    b"root:x:0:0",  # /etc/passwd
    b"brain.Event:2",  # an event file
    b"learning rate 1e-3",  # foreign/notes.txt in the logdir
    b"\x89PNG",  # foreign/plot.png
]

KNOWN_RUNS = sorted(set(broken.GOOD) | {r for r, _ in broken.UNREADABLE} | set(broken.NOT_RUNS))
KNOWN_TAGS = sorted(
    {t for tags in broken.GOOD.values() for t in tags}
    | {t for _, t in broken.UNREADABLE}
    | {t for _, t in broken.SKIPPED}
    | {t for _, t in broken.MIDDLE_DEPTHS}
    | {t for _, t in broken.PYTHON_ONLY_UNREADABLE}
    | {"empty_sequence", "lstm/mask", "a/stats", "a/pinned", "lstm/activation/pinned"}
)
NASTY_VALUES = [
    "", " ", "0", "-0", "+0", "00", "1", "-1", "-5", "9",
    "1" * 4301,  # was a 500: more digits than Python's int() takes
    "0" * 4300 + "1",  # was a 500 too: leading zeros count for int()
    "-" + "0" * 4300 + "5",
    "9" * 25, str(2**63 - 1), str(2**63), str(-(2**63)), str(-(2**63) - 1),
    "1.5", "1e3", "0x10", "NaN", "inf", "-inf", "1_000", "٣", "１２", "½", "²",
    "true", "null", "[]", "{}", "%", "%zz", "%00", "\x00", "\t1\n", "1\n2",
    "../plugin.py", "../../../../etc/passwd", "/etc/passwd", "..\\..\\plugin.py",
    "C:\\Windows\\win.ini", "file:///etc/passwd", "~/.ssh/id_rsa", "./", "..",
    "%2e%2e%2f%2e%2e%2fplugin.py", "static/../plugin.py",
    "ü/😀 tag", "\u202eevil", "\ufeff", "a" * 20000, "𝟘𝟙",
    "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:x}", "%s%s%n",
]


def value_pool():
    return KNOWN_RUNS + KNOWN_TAGS + NASTY_VALUES


# Path segments under /data/plugin/rnn/ (static included).
SEGMENTS = [
    "tags", "steps", "tensor", "profile", "kept", "static", "vendor", "index.js", "style.css", "api.js", "", ".",
    "..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "..%2f", "..%2F", "%2f", "%5c", "..%5c",
    "%00", "plugin.py", "reading.py", "__init__.py", "metadata.py", "etc", "passwd",
    "index.js%00.py", "index.js.map", ".hidden.js", "INDEX.JS", "x.JS", "ü", "😀",
    "%ff", "%c0%ae%c0%ae", "~", "..;", "a" * 300, "static/", "frontend", "tb_rnn_plugin",
    "shell", "data", "views", "draw", "app.js", "registry.js", "shell.css", "views.css", "kinds.py",
]
STATIC_PATHS = [
    "/static/index.js", "/static/../plugin.py", "/static/..%2fplugin.py",
    "/static/%2e%2e/plugin.py", "/static/%2e%2e%2freading.py", "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd", "/static/..%5cplugin.py", "/static/C:%5cWindows",
    "/static/./index.js", "/static/index.js/", "/static/index.js?x=../../plugin.py",
    "/static/../../../../../../etc/passwd", "/static/" + "../" * 40 + "etc/passwd",
    "/static/frontend/index.js", "/static/%252e%252e/plugin.py", "/../plugin.py",
    "/tags/../static/index.js", "/static", "/static/", "/tags/", "/tags/x", "//tags",
    "/static/shell/app.js", "/static/data/api.js", "/static/views/registry.js",
    "/static/draw/dom.js", "/static/views/../../plugin.py", "/static/data/%2e%2e/index.js",
    "/static/draw/..%2f..%2fkinds.py", "/static/shell/shell/app.js", "/static/views/",
    "/static/data/__init__.py", "/static/views/registry.js.map", "/static/VIEWS/registry.js",
]


def _encode_query(pairs, raw):
    """A query string: pairs percent-encoded, or (raw) pasted as they are."""
    if raw:
        return "&".join("%s=%s" % (k, v) for k, v in pairs)
    return urllib.parse.urlencode(pairs)


def build_path(route, pairs, raw=False):
    return PREFIX + "/" + route + "?" + _encode_query(pairs, raw)


# ---- checking one response ---------------------------------------------------


def check_response(path, status, headers, body):
    """Asserts the invariants of the module docstring for one response."""
    where = "%s -> %s %r" % (path[:300], status, body[:300])
    assert status < 500, where
    assert status in OK_STATUSES, where
    assert b"Traceback (most recent call last)" not in body, where
    for secret in FORBIDDEN:
        assert secret not in body, where
    if status != 200:
        return
    content_type = headers.get("Content-Type", "")
    # TensorBoard routes "/tags/" as "/tags".
    route = urllib.parse.urlsplit(path).path[len(PREFIX):].rstrip("/")
    if route in ("/tags", "/steps", "/health", "/probes"):
        assert content_type.startswith("application/json"), where
        json.loads(body)
    elif route == "/tensor":
        assert content_type == "application/octet-stream", where
        shape = [int(d) for d in headers["X-Tensor-Shape"].split(",") if d]
        assert len(body) == 4 * int(np.prod(shape)), where
        _check_values(path, headers, body, shape)
    elif route in ("/profile", "/kept"):
        assert content_type == "application/octet-stream", where
        header, steps, wall_times, data = payloads.parse_profile_body(body)
        shape = [int(d) for d in headers["X-Profile-Shape"].split(",")]
        assert list(data.shape) == shape == [header["steps"], header["rows"], header["columns"]], where
        assert len(body) == (4 + int.from_bytes(body[:4], "little") + 16 * shape[0]
                             + 4 * int(np.prod(shape))), where
    else:
        assert body in STATIC_FILES.values(), where
        assert content_type.startswith(("text/javascript", "text/css")), where


def _check_values(path, headers, body, shape):
    args = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    run, tag = args.get("run", [None])[0], args.get("tag", [None])[0]
    if run in broken.GOOD and tag in broken.GOOD[run]:
        step = int(headers["X-Tensor-Step"])
        array = np.frombuffer(body, "<f4").reshape(shape)
        np.testing.assert_array_equal(array, broken.values_at(step))


# ---- the logdir and the in-process app ---------------------------------------


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    return broken.write_broken_logdir(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def app(logdir):
    return broken.InProcessClient(logdir)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print("\nrequests tried per loader: %s" % dict(TRIED))


STEPS = ["0", "3", "8", "9", "-5", str(2**63 - 1), "0" * 4300 + "1", "1" * 4301]


def _values(known=()):
    return st.one_of(
        st.sampled_from(list(known) or value_pool()),
        st.sampled_from(value_pool()),
        st.text(max_size=30),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.builds(
            lambda sign, zeros, digits: sign + "0" * zeros + digits,
            st.sampled_from(["", "+", "-"]),
            st.sampled_from([0, 1, 19, 4299, 4300, 4301, 10000]),
            st.integers(min_value=0, max_value=10**25).map(str),
        ),
    )


# Each name: missing, once, or repeated; plus stray parameters sometimes.
# Names draw from their own pools first, so bad series are hit, not only
# unknown ones.
_pairs = st.lists(
    st.one_of(
        st.tuples(st.just("run"), _values(KNOWN_RUNS)),
        st.tuples(st.just("tag"), _values(KNOWN_TAGS)),
        st.tuples(st.just("step"), _values(STEPS)),
        st.tuples(st.just("kind"), _values(KINDS)),
        st.tuples(st.sampled_from(["x", "", "run[]", "RUN"]), _values()),
    ),
    max_size=6,
)


@settings(
    max_examples=IN_PROCESS_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(route=st.sampled_from(ROUTES), pairs=_pairs, raw=st.booleans())
def test_fuzz_queries_in_process(app, route, pairs, raw):
    path = build_path(route, pairs, raw)
    check_response(path, *app.get(path))
    TRIED["in-process (MultiplexerDataProvider)"] += 1


@settings(
    max_examples=IN_PROCESS_EXAMPLES // 2,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    path=st.one_of(
        st.sampled_from(STATIC_PATHS),
        st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6).map(lambda s: "/" + "/".join(s)),
        st.text(min_size=1, max_size=40).map(lambda s: "/static/" + s),
        st.text(min_size=1, max_size=40).map(lambda s: "/" + s),
    ),
    query=st.sampled_from(["", "?run=good&tag=lstm/activation&step=0", "?x=..%2f..%2f"]),
)
def test_fuzz_paths_in_process(app, path, query):
    full = PREFIX + path + query
    check_response(full, *app.get(full))
    TRIED["in-process (MultiplexerDataProvider)"] += 1


def test_known_good_answers_in_process(app):
    """The checks above have teeth: good requests do answer 200 with values."""
    for run, tags in broken.GOOD.items():
        for tag, steps in tags.items():
            path = build_path("tensor", [("run", run), ("tag", tag), ("step", steps[-1])])
            status, headers, body = app.get(path)
            assert status == 200, (path, body[:200])
            check_response(path, status, headers, body)
    for name in STATIC_FILES:
        status, headers, body = app.get(PREFIX + "/static/" + name)
        assert status == 200 and body == STATIC_FILES[name]


# ---- real TensorBoard, both loaders ------------------------------------------


def _wire(path):
    """`path` as HTTP can carry it: characters outside printable ASCII (and
    '#') percent-encoded, everything else, '%' included, left as it is."""
    return "".join(
        c if 32 < ord(c) < 127 and c != "#" else urllib.parse.quote(c, safe="")
        for c in path
    )


def random_requests(rnd):
    """Endless seeded requests mixing the in-process strategies' ingredients."""
    pool = value_pool()

    def value(known=()):
        pick = rnd.random()
        if pick < 0.5 and known:
            return rnd.choice(known)
        if pick < 0.8:
            return rnd.choice(pool)
        if pick < 0.9:
            return str(rnd.randint(-(2**70), 2**70))
        return "".join(chr(rnd.choice([rnd.randint(32, 126), rnd.randint(160, 0x2FFF)]))
                       for _ in range(rnd.randint(0, 12)))

    known = {"run": KNOWN_RUNS, "tag": KNOWN_TAGS, "step": STEPS, "kind": KINDS, "x": ()}

    while True:
        pick = rnd.random()
        if pick < 0.7:
            names = [rnd.choice(["run", "tag", "step", "run", "tag", "step", "kind", "x"])
                     for _ in range(rnd.randint(0, 5))]
            pairs = [(n, value(known[n])) for n in names]
            yield build_path(rnd.choice(ROUTES), pairs, rnd.random() < 0.3)
        elif pick < 0.85:
            yield PREFIX + rnd.choice(STATIC_PATHS)
        else:
            yield PREFIX + "/" + "/".join(rnd.choice(SEGMENTS) for _ in range(rnd.randint(1, 5)))


def _good_requests():
    for run, tags in broken.GOOD.items():
        for tag, steps in tags.items():
            yield build_path("steps", [("run", run), ("tag", tag)])
            yield build_path("tensor", [("run", run), ("tag", tag), ("step", steps[0])])
    yield PREFIX + "/tags"
    for name in STATIC_FILES:
        yield PREFIX + "/static/" + name


@pytest.mark.parametrize("load_fast", [False, True], ids=["load_fast=false", "load_fast=true"])
def test_fuzz_real_tensorboard(logdir, load_fast):
    server = broken.ServerClient(logdir, load_fast=load_fast)
    label = "tensorboard --load_fast=%s" % ("true" if load_fast else "false")
    try:
        server.start(runs=broken.GOOD)
        statuses = collections.Counter()
        for path in _good_requests():  # the same checks pass on what must work
            status, headers, body = server.get(_wire(path))
            assert status == 200, (path, body[:200])
            check_response(path, status, headers, body)
        requests = random_requests(random.Random(1234 + load_fast))
        deadline = time.monotonic() + SERVER_SECONDS
        tried = 0
        while tried < SERVER_REQUESTS and time.monotonic() < deadline:
            path = _wire(next(requests))
            status, headers, body = server.get(path)
            statuses[status] += 1
            try:
                check_response(path, status, headers, body)
            except AssertionError:
                print(server.log_text())
                raise
            tried += 1
        TRIED[label] += tried
        print("\n%s: %d requests, statuses %s" % (label, tried, dict(statuses)))
        assert tried >= 100, "only %d requests in %.0f s" % (tried, SERVER_SECONDS)
        assert "Traceback" not in server.log_text(), server.log_text()
    finally:
        server.stop()
