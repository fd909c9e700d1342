"""The plugin's /static route: the tab's own files, nothing else."""

import importlib.resources
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from test_plugin import PREFIX, _error, _make
from test_plugin import client, logdir  # noqa: F401 (fixtures)

from tb_rnn_plugin import plugin as rnn_plugin


# /static


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2Fplugin.py",
        "/static/../plugin.py",
        "/static/nope.py",
        "/static/__init__.py",
        "/static/missing.js",
        "/static/sub/index.js",
        "/static/.hidden.js",
        "/static/index.js.map",
        "/static/%2e%2e%2freading.py",
    ],
)
def test_static_rejects_bad_names(client, path):
    text = _error(client.get(PREFIX + path), 404)
    assert "Traceback" not in text


@pytest.fixture
def static_package(tmp_path, monkeypatch):
    """A throwaway package standing in for tb_rnn_plugin.frontend."""
    pkg = tmp_path / "fake_rnn_frontend"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "index.js").write_text("export function render() {}\n")
    (pkg / "style.css").write_text("body { color: red; }\n")
    (pkg / "secret.py").write_text("SECRET = 1\n")
    (pkg / "views").mkdir()
    (pkg / "views" / "heatmap.js").write_text("export const id = 'heatmap';\n")
    (pkg / "other").mkdir()
    (pkg / "other" / "x.js").write_text("export const x = 1;\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(rnn_plugin, "_STATIC_PACKAGE", "fake_rnn_frontend")
    yield pkg
    sys.modules.pop("fake_rnn_frontend", None)


def test_static_serves_js_and_css(logdir, static_package):
    _, client = _make(logdir)
    response = client.get(PREFIX + "/static/index.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.get_data() == (static_package / "index.js").read_bytes()
    response = client.get(PREFIX + "/static/style.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.get_data() == b"body { color: red; }\n"
    _error(client.get(PREFIX + "/static/secret.py"), 404)
    _error(client.get(PREFIX + "/static/other.js"), 404)


def test_static_serves_the_frontends_sub_folders_only(logdir, static_package):
    _, client = _make(logdir)
    response = client.get(PREFIX + "/static/views/heatmap.js")
    assert response.status_code == 200
    assert response.get_data() == (static_package / "views" / "heatmap.js").read_bytes()
    _error(client.get(PREFIX + "/static/other/x.js"), 404)  # not one of the tab's folders
    _error(client.get(PREFIX + "/static/views/../index.js"), 404)


def _frontend_files():
    try:
        root = importlib.resources.files("tb_rnn_plugin.frontend")
        return sorted(
            p.name
            for p in root.iterdir()
            if re.match(r"^[A-Za-z0-9_-]+\.(js|css)$", p.name) and p.is_file()
        )
    except ModuleNotFoundError:
        return []


def test_static_serves_real_frontend_files(client):
    names = _frontend_files()
    if not names:
        pytest.skip("tb_rnn_plugin.frontend has no .js/.css files yet")
    root = importlib.resources.files("tb_rnn_plugin.frontend")
    for name in names:
        response = client.get(PREFIX + "/static/" + name)
        assert response.status_code == 200, name
        expected = "text/javascript" if name.endswith(".js") else "text/css"
        assert response.headers["Content-Type"].startswith(expected)
        assert response.get_data() == root.joinpath(name).read_bytes()


def test_static_index_js_when_present(client):
    root = importlib.resources.files("tb_rnn_plugin.frontend")
    if not root.joinpath("index.js").is_file():
        pytest.skip("frontend/index.js not written yet")
    response = client.get(PREFIX + "/static/index.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "name", ["../plugin.py", "..", "", "plugin.py", "a/b.js", "index.js\x00.py", "x.JS"]
)
def test_static_impl_refuses_unsafe_names(logdir, name):
    from tensorboard import errors

    plugin, _ = _make(logdir)
    with pytest.raises(errors.NotFoundError):
        plugin.static_impl(name)
