"""End to end: the RNN tab follows new data without its own Reload button.

A real TensorBoard (--reload_interval 1, so it reads new events within a
second or two) serves a logdir that the test keeps appending to while the
tab is open, as a training job would. The tab must show new steps by itself
(it polls its index while visible, and follows TensorBoard's reload
message), keep what the user selected, follow the last step only when the
user was on it, keep what is drawn when a check fails, and not redraw when
nothing changed.
"""

import json
import time

import numpy as np
import pytest

try:
    import browser_util
except ImportError:  # tests/ imported as a package
    from tests import browser_util

RUN_A = "run_a"
RUN_B = "run_b"
LAYER = "lstm"
SAMPLES, TIMESTEPS, CHANNELS = 2, 8, 3
VIEWPORT = {"width": 1400, "height": 1000}
READY = "#rnn-app[data-state=ready]"
# The tab checks its index this often (frontend/shell/refresh.js POLL_MS), in seconds.
POLL_SECONDS = 10
# TensorBoard's own reload button, in its top bar (outside the plugin's iframe).
TB_RELOAD_BUTTON = "app-header-reload button.reload-button"


def values(step, kind):
    """[samples, timesteps, channels]: sample 0 all +scale, sample 1 all
    -scale, scale growing with the step, so the drawn range tells which
    step and sample a panel shows."""
    scale = (step + 1.0) * (0.1 if kind == "output_gradient" else 1.0)
    data = np.ones((SAMPLES, TIMESTEPS, CHANNELS), np.float32) * scale
    data[1] *= -1
    return data


class LiveLogdir:
    """Runs whose event files stay open and grow, like a training job's."""

    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.path = path
        self._writers = {}

    def write(self, run, steps):
        import tb_rnn_plugin

        writer = self._writers.get(run)
        if writer is None:
            writer = self._tf.summary.create_file_writer(str(self.path / run))
            self._writers[run] = writer
        with writer.as_default():
            for step in steps:
                for kind, op in (
                    ("activation", tb_rnn_plugin.activation),
                    ("output_gradient", tb_rnn_plugin.output_gradient),
                ):
                    op("%s/%s" % (LAYER, kind), values(step, kind), step=step,
                       layer=LAYER, cell="LSTM")
        writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()


def wait_for_backend_step(server, run, step, timeout=30.0):
    """Waits until TensorBoard's backend lists `step` as the run's newest."""
    deadline = time.monotonic() + timeout
    tag = "%s/activation" % LAYER
    while True:
        status, body = browser_util.http_get(server.url + "/data/plugin/rnn/tags")
        if status == 200:
            entry = json.loads(body)["runs"].get(run, {}).get(tag)
            if entry and entry["max_step"] >= step:
                return
        if time.monotonic() > deadline:
            raise TimeoutError("backend did not list step %d of %s" % (step, run))
        time.sleep(0.2)


INITIAL_STEPS = {RUN_A: [0, 10, 20], RUN_B: [0, 10, 20]}


@pytest.fixture
def live(tmp_path, request):
    """A growing logdir and a TensorBoard over it: run_a and run_b at
    steps 0, 10, 20, or what an indirect parameter {run: steps} says."""
    browser_util.chromium_path()  # skip (or fail under CI) before any work
    browser_util.sync_playwright()
    initial = getattr(request, "param", INITIAL_STEPS)
    # TensorBoard starts while TensorFlow loads and writes the first steps.
    server = browser_util.TensorBoardServer(tmp_path, ["--reload_interval", "1"])
    logdir = None
    try:
        logdir = LiveLogdir(tmp_path)
        for run, steps in initial.items():
            logdir.write(run, steps)
        server.wait_until_serving()
        server.wait_for_runs(list(initial))
        yield logdir, server
    finally:
        server.stop()
        if logdir is not None:
            logdir.close()


@pytest.fixture
def page(live):
    _, server = live
    with browser_util.chromium() as chromium:
        page = chromium.new_context(viewport=VIEWPORT).new_page()
        page.console_errors = browser_util.ConsoleErrors(page)
        page.goto(server.url + "/#rnn")
        yield page


def open_tab(page, state="ready"):
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector("#rnn-app[data-state=%s]" % state, timeout=20000)
    return frame


def settle(frame):
    frame.wait_for_selector(READY, timeout=20000)


def wait_until(frame, predicate_js, arg=None, timeout=POLL_SECONDS + 20):
    frame.wait_for_function(predicate_js, arg=arg, timeout=timeout * 1000)


def step_shown(frame):
    return frame.text_content("#rnn-step-value").strip()


def slider_length(frame):
    return int(frame.get_attribute("#rnn-step", "max")) + 1


def set_visibility(frame, state):
    """Makes the tab's document report `state` and fires visibilitychange,
    as a browser does when the user switches browser tabs."""
    frame.evaluate(
        """(state) => {
          Object.defineProperty(document, "visibilityState", {configurable: true, get: () => state});
          Object.defineProperty(document, "hidden", {configurable: true, get: () => state === "hidden"});
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def checks_done(frame):
    return int(frame.get_attribute("#rnn-app", "data-checks") or 0)


def check_now(frame):
    """Makes the tab check its index at once (as on returning to the
    browser tab) and waits for the check to finish."""
    before = checks_done(frame)
    set_visibility(frame, "visible")
    wait_until(frame, "(n) => Number(document.querySelector('#rnn-app').dataset.checks || 0) > n",
               before, timeout=10)


def assert_selection(frame, runs_checked, step):
    """The user's choices of test_new_steps_* are all still in place."""
    for run, checked in runs_checked.items():
        assert frame.is_checked('#rnn-runs input[data-run="%s"]' % run) == checked, run
    assert frame.input_value("#rnn-layer") == LAYER
    assert frame.input_value("#rnn-quantity") == "output_gradient"
    assert frame.input_value("#rnn-sample") == "1"
    assert frame.input_value("#rnn-view") == "lines"
    assert frame.input_value("#rnn-range-mode") == "fixed"
    assert frame.input_value("#rnn-range-value") == "5"
    assert step_shown(frame) == str(step)
    panels = frame.locator(".rnn-panel")
    assert panels.count() == 1
    assert panels.get_attribute("data-run") == RUN_A
    assert panels.get_attribute("data-step") == str(step)
    canvas = frame.locator("canvas.rnn-plot")
    assert canvas.get_attribute("data-view") == "lines"
    assert canvas.get_attribute("data-sample") == "1"
    assert float(canvas.get_attribute("data-vmax")) == 5


def test_new_steps_appear_without_reload_and_selection_is_kept(live, page):
    logdir, server = live
    frame = open_tab(page)
    tensor_requests = []
    page.on("request", lambda r: "/data/plugin/rnn/tensor?" in r.url and tensor_requests.append(r.url))

    # The user's choices: one run, a non-default quantity, sample, view and range.
    frame.uncheck('#rnn-runs input[data-run="%s"]' % RUN_B)
    settle(frame)
    frame.select_option("#rnn-quantity", "output_gradient")
    settle(frame)
    frame.fill("#rnn-sample", "1")
    settle(frame)
    frame.select_option("#rnn-view", "lines")
    settle(frame)
    frame.select_option("#rnn-range-mode", "fixed")
    frame.fill("#rnn-range-value", "5")
    settle(frame)
    selection = {RUN_A: True, RUN_B: False}
    assert_selection(frame, selection, 20)
    assert slider_length(frame) == 3

    # On the last step: a new step is shown by itself, selection kept.
    logdir.write(RUN_A, [30])
    wait_until(frame, "() => document.querySelector('#rnn-step-value').textContent.trim() === '30'")
    settle(frame)
    assert slider_length(frame) == 4
    assert_selection(frame, selection, 30)

    # Nothing new: a check redraws nothing (the same canvas stays).
    frame.evaluate("() => { document.querySelector('canvas.rnn-plot').dataset.marker = 'kept'; }")
    check_now(frame)
    assert frame.locator("canvas.rnn-plot[data-marker=kept]").count() == 1

    # Not on the last step: new steps join the slider, the view stays put.
    frame.fill("#rnn-step", "1")
    settle(frame)
    assert step_shown(frame) == "10"
    del tensor_requests[:]
    logdir.write(RUN_A, [40])
    logdir.write(RUN_B, [50])  # unchecked run: does not join the slider
    wait_until(frame, "() => Number(document.querySelector('#rnn-step').max) === 4")
    settle(frame)
    assert slider_length(frame) == 5
    assert frame.input_value("#rnn-step") == "1"
    assert_selection(frame, selection, 10)
    # The tensor of step 10 is still cached: the redraw fetched nothing.
    assert not tensor_requests, tensor_requests
    # The newest step is there to go to.
    frame.fill("#rnn-step", "4")
    settle(frame)
    assert_selection(frame, selection, 40)

    # Checking run_b brings its own newer step onto the slider.
    frame.check('#rnn-runs input[data-run="%s"]' % RUN_B)
    settle(frame)
    assert slider_length(frame) == 6
    assert not page.console_errors.take()


def test_tensorboard_reload_button_brings_new_steps(live, page):
    logdir, server = live
    frame = open_tab(page)
    frame.select_option("#rnn-quantity", "output_gradient")
    settle(frame)
    assert step_shown(frame) == "20"

    # With the document hidden the tab does not poll: only TensorBoard's
    # reload (its postMessage to plugin frames) can bring the new step.
    set_visibility(frame, "hidden")
    logdir.write(RUN_A, [30])
    wait_for_backend_step(server, RUN_A, 30)
    page.wait_for_timeout((POLL_SECONDS + 2) * 1000)
    assert step_shown(frame) == "20", "the tab polled while hidden"

    page.click(TB_RELOAD_BUTTON)
    wait_until(frame, "() => document.querySelector('#rnn-step-value').textContent.trim() === '30'",
               timeout=10)
    settle(frame)
    assert frame.input_value("#rnn-quantity") == "output_gradient"
    assert frame.get_attribute('.rnn-panel[data-run="%s"]' % RUN_A, "data-step") == "30"

    # Back to visible: the tab checks at once, not at its next poll.
    logdir.write(RUN_A, [40])
    wait_for_backend_step(server, RUN_A, 40)
    set_visibility(frame, "visible")
    wait_until(frame, "() => document.querySelector('#rnn-step-value').textContent.trim() === '40'",
               timeout=5)
    settle(frame)
    assert frame.input_value("#rnn-quantity") == "output_gradient"
    assert not page.console_errors.take()


def test_failed_check_keeps_what_is_drawn(live, page):
    logdir, server = live
    frame = open_tab(page)
    canvases = frame.locator("canvas.rnn-plot").count()
    assert canvases > 0
    assert frame.is_hidden("#rnn-refresh")

    pattern = "**/data/plugin/rnn/tags"
    page.route(pattern, lambda route: route.fulfill(
        status=503, body="index unavailable", content_type="text/plain"))
    try:
        check_now(frame)
        note = frame.text_content("#rnn-refresh")
        assert "503" in note and "index unavailable" in note
        assert "Could not check for new data" in note
        # What was drawn stays, with its controls; no error page instead.
        assert frame.locator("canvas.rnn-plot").count() == canvases
        assert frame.is_visible("#rnn-controls")
        assert frame.is_hidden("#rnn-message")
    finally:
        page.unroute(pattern)

    # The next check succeeds: the note goes, new data comes in.
    logdir.write(RUN_A, [30])
    wait_for_backend_step(server, RUN_A, 30)
    check_now(frame)
    wait_until(frame, "() => document.querySelector('#rnn-step-value').textContent.trim() === '30'",
               timeout=10)
    assert frame.is_hidden("#rnn-refresh")
    others = [m for m in page.console_errors.take() if "status of 503" not in m]
    assert not others, others


@pytest.mark.parametrize("live", [{}], indirect=True)
def test_data_appears_in_a_tab_opened_before_training(live, page):
    logdir, server = live
    frame = open_tab(page, state="empty")
    assert "No RNN data found" in frame.text_content("#rnn-message")
    logdir.write(RUN_A, [0])
    wait_until(frame, "() => document.querySelector('#rnn-app').dataset.state === 'ready'")
    assert frame.is_hidden("#rnn-message")
    assert step_shown(frame) == "0"
    assert frame.locator('canvas.rnn-plot[data-run="%s"]' % RUN_A).count() == 1
    assert not page.console_errors.take()
