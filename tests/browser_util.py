"""Helpers for end-to-end tests: a real TensorBoard and Debian's Chromium.

TensorBoard runs as a subprocess (`python -m tensorboard.main`) on
127.0.0.1 and a free port; Chromium is driven through Playwright's Python
package with `executable_path` pointing at the system browser (Playwright's
own browser download is not used).
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "End-to-end browser tests need Debian's Chromium and the playwright "
    "Python package: `apt-get install chromium` and `pip install playwright` "
    "(Playwright's own browser download is not needed)."
)

# The document TensorBoard loads the plugin's ES module into.
PLUGIN_FRAME_URL = "/data/plugin_entry.html?name=rnn"


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_browser(reason):
    """Fails under CI=true (the browser is part of the test setup), else skips."""
    message = "%s %s" % (reason, INSTALL_HINT)
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def chromium_path():
    """Path of the system Chromium; fails (CI) or skips the test without it."""
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    missing_browser("Chromium not found.")


def sync_playwright():
    """playwright.sync_api.sync_playwright, or fail (CI) / skip."""
    try:
        from playwright.sync_api import sync_playwright as sp
    except ImportError:
        missing_browser("The playwright package is not installed.")
    return sp


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0):
    """(status, body bytes) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class TensorBoardServer:
    """A `tensorboard --logdir DIR` subprocess on 127.0.0.1 and a free port."""

    def __init__(self, logdir, extra_args=()):
        self.logdir = str(logdir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self._log = tempfile.NamedTemporaryFile(
            mode="w+", prefix="tensorboard-", suffix=".log", delete=False
        )
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "tensorboard.main",
                "--logdir", self.logdir,
                "--host", "127.0.0.1",
                "--port", str(self.port),
                *extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def log_text(self):
        self._log.flush()
        with open(self._log.name, encoding="utf-8", errors="replace") as f:
            return f.read()[-4000:]

    def _check_alive(self):
        if self.process.poll() is not None:
            raise RuntimeError(
                "tensorboard exited with code %s:\n%s"
                % (self.process.returncode, self.log_text())
            )

    def wait_until_serving(self, timeout=60.0):
        """Waits until the plugin listing answers."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                status, _ = http_get(self.url + "/data/plugins_listing", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "tensorboard did not answer within %.0f s:\n%s"
                    % (timeout, self.log_text())
                )
            time.sleep(0.2)

    def wait_for_runs(self, runs, timeout=60.0):
        """Waits until the rnn plugin's /tags lists every run in `runs`."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self._check_alive()
            try:
                status, body = http_get(self.url + "/data/plugin/rnn/tags", timeout=5)
                last = (status, body[:300])
                if status == 200 and set(runs) <= set(json.loads(body)["runs"]):
                    return json.loads(body)
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "rnn runs %s not listed within %.0f s (last answer %r):\n%s"
                    % (sorted(runs), timeout, last, self.log_text())
                )
            time.sleep(0.3)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)


def require_browser():
    """Skips (or fails under CI) when Chromium or Playwright is missing: call
    it before expensive setup."""
    chromium_path()
    sync_playwright()


@contextlib.contextmanager
def serving(logdir, runs):
    """A TensorBoard over `logdir`, once it lists every run in `runs`; stopped on exit."""
    require_browser()
    tb = TensorBoardServer(logdir)
    try:
        tb.wait_until_serving()
        tb.wait_for_runs(list(runs))
        tb.logdir_path = logdir
        yield tb
    finally:
        tb.stop()


@contextlib.contextmanager
def served(tmp_path_factory, name, write_logdir, runs):
    """serving() a new temporary logdir `name` that write_logdir(logdir)
    fills; skips (or fails under CI) without a browser before any work."""
    require_browser()
    logdir = tmp_path_factory.mktemp(name)
    write_logdir(logdir)
    with serving(logdir, runs) as tb:
        yield tb


@contextlib.contextmanager
def chromium():
    """Headless system Chromium through Playwright, closed on exit."""
    with sync_playwright()() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch_chromium(playwright):
    """Launches headless system Chromium with flags that work in containers."""
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
    )


def open_plugin(browser, url, width, height):
    """(context, page, plugin frame) of TensorBoard at `url` on the RNN tab,
    in a new browser context of that viewport; page.console_errors collects."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.console_errors = ConsoleErrors(page)
    page.goto(url + "/#rnn")
    return context, page, plugin_frame(page)


class ConsoleErrors:
    """Collects console errors and uncaught page errors of a Playwright page."""

    def __init__(self, page):
        self.messages = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.messages.append("pageerror: %s" % error))

    def _on_console(self, message):
        if message.type == "error":
            self.messages.append("console.error: %s (%s)" % (message.text, message.location))

    def take(self):
        messages, self.messages = self.messages, []
        return messages


def plugin_frame(page, timeout=30.0):
    """The frame of the RNN plugin's document inside TensorBoard's page."""
    deadline = time.monotonic() + timeout
    while True:
        for frame in page.frames:
            if PLUGIN_FRAME_URL in frame.url:
                return frame
        if time.monotonic() > deadline:
            raise TimeoutError(
                "no frame with %s; frames: %s"
                % (PLUGIN_FRAME_URL, [f.url for f in page.frames])
            )
        page.wait_for_timeout(100)


# ---- reading what the tab drew ---------------------------------------------


def canvas_selector(run, direction="none", view="heatmap"):
    return 'canvas.rnn-plot[data-run="%s"][data-direction="%s"][data-view="%s"]' % (
        run, direction, view,
    )


# The colour drawn at the centre of data cell (t, c), from the layout the
# canvas publishes in data-* attributes (t0, c0: the zoom window's start).
_PIXEL_JS = """([selector, t, c]) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return null;
  const d = canvas.dataset;
  const dpr = Number(d.dpr);
  const t0 = Number(d.t0 || 0), c0 = Number(d.c0 || 0);
  const x = Math.floor((Number(d.plotX) + (t - t0 + 0.5) * Number(d.cellWidth)) * dpr);
  const y = Math.floor((Number(d.plotY) + (c - c0 + 0.5) * Number(d.cellHeight)) * dpr);
  return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data);
}"""


def pixel(frame, selector, t, c):
    rgba = frame.evaluate(_PIXEL_JS, [selector, t, c])
    assert rgba is not None, "no canvas %s" % selector
    return tuple(rgba[:3])


def is_positive_colour(rgb):
    r, g, b = rgb
    return r > b + 60


def is_negative_colour(rgb):
    r, g, b = rgb
    return b > r + 60


def is_grey(rgb):
    return max(rgb) - min(rgb) < 16


def forget_kept_state(page):
    """Forgets the tab's kept selection (frontend/persist.js): its
    localStorage entries and its part of TensorBoard's hash, so the next
    load of the plugin's frame starts from the defaults."""
    page.evaluate(
        """() => {
          for (const key of Object.keys(localStorage)) {
            if (key.startsWith("tb-rnn-plugin.state.")) localStorage.removeItem(key);
          }
          if (location.hash.startsWith("#rnn&")) history.replaceState(history.state, "", "#rnn");
        }"""
    )


# RdBu (reversed) as colormap.js has it, for the colour a value must get.
_STOPS = [
    (-1.0, (5, 48, 97)), (-2 / 3, (33, 102, 172)), (-1 / 3, (146, 197, 222)),
    (0.0, (247, 247, 247)), (1 / 3, (244, 165, 130)), (2 / 3, (178, 24, 43)),
    (1.0, (103, 0, 31)),
]


def diverging(x):
    """The colour the tab gives x in [-1, 1] (values beyond clip)."""
    x = min(1.0, max(-1.0, x))
    i = 0
    while i < len(_STOPS) - 2 and x > _STOPS[i + 1][0]:
        i += 1
    (x0, c0), (x1, c1) = _STOPS[i], _STOPS[i + 1]
    f = (x - x0) / (x1 - x0)
    return tuple(round(a + f * (b - a)) for a, b in zip(c0, c1))
