"""Remakes the screenshots in docs/img/ from today's tab.

    python docs/make_screenshots.py                  # train, serve, shoot: a few minutes
    python docs/make_screenshots.py --work /tmp/shots --reuse   # keep the logs, shoot again
    python docs/make_screenshots.py --only profile flow         # some of them

What it does, so that every picture can be remade and checked:
1. Writes logs with the demo's own code (`python -m tb_rnn_plugin.demo
   --no-tensorboard`): the quick start's demo (LSTM, GRU, SimpleRNN recalling
   the first token, default arguments) and the delayed-recall demo with the
   gradient horizon (`--task delayed --delay 5`, the README's command), and
   the text demo (`python -m tb_rnn_plugin.text_demo`). For
   the health overview, a small LSTM trained into NaN (its targets turn NaN
   from batch 5 on) next to copies of the demo's GRU and LSTM runs.
2. Starts a real `tensorboard` on 127.0.0.1 and a free port per logdir.
3. Drives Debian's Chromium through Playwright (`executable_path`
   /usr/bin/chromium; Playwright's own browser download is not needed), picks
   runs, layer, quantity and view in the RNN tab's own controls, waits until
   the tab says it is ready, and saves the tab (or the page) as PNG.

Needs the package with its `train` and `test` extras (TensorFlow, Keras,
TensorBoard, playwright) and `apt-get install chromium`. Look at every PNG
after remaking them: the script checks that the tab drew without errors, not
that the picture says what the guide says.
"""

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DOCS = pathlib.Path(__file__).resolve().parent
OUT = DOCS / "img"
CHROMIUM = "/usr/bin/chromium"
# Launch flags that work in containers (the browser tests use the same).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PLUGIN_FRAME_URL = "/data/plugin_entry.html?name=rnn"
READY = "#rnn-app[data-state=ready]"
DEMO_RUNS = ("gru", "lstm", "simplernn")
NAN_RUN = "lstm_nan"
TEXT_RUNS = ("lstm", "simplernn")


# ---- logs ------------------------------------------------------------------


def run_demo(logdir, *args, module="tb_rnn_plugin.demo"):
    """The demo's own code, as a user runs it, without starting TensorBoard."""
    command = [sys.executable, "-m", module, "--logdir", str(logdir),
               "--no-tensorboard", *args]
    print("$ python", " ".join(command[1:]), flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def train_into_nan(logdir):
    """A small LSTM whose targets are NaN from batch 5 on: from then on its loss,
    gradients and (one update later) weights are NaN. Logged at every step."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from tb_rnn_plugin import RNNTensorBoard

    keras.utils.set_random_seed(0)
    batch, batches, timesteps, features = 8, 12, 20, 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * batches, timesteps, features)).astype("float32")
    y = rng.normal(size=(batch * batches, 1)).astype("float32")
    y[5 * batch:] = np.nan
    model = keras.Sequential([
        keras.Input((timesteps, features)),
        keras.layers.LSTM(16, name="rnn"),
        keras.layers.Dense(1),
    ])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0,
              callbacks=[RNNTensorBoard(str(logdir), update_freq=1)])


def write_logs(work, reuse, needed):
    """{name: (logdir, runs)} under `work` for the logdirs `needed`; with
    reuse, trains only those that are missing."""
    logdirs = {
        "demo": (work / "demo", DEMO_RUNS),
        "delayed": (work / "delayed", DEMO_RUNS),
        "health": (work / "health", ("gru", "lstm", NAN_RUN)),
        "text": (work / "text", TEXT_RUNS),
    }
    if "health" in needed:
        needed = {"demo", *needed}  # it copies two demo runs
    for name, (logdir, _) in logdirs.items():
        if name not in needed:
            continue
        if reuse and logdir.is_dir():
            print("reusing", logdir)
            continue
        shutil.rmtree(logdir, ignore_errors=True)
        if name == "demo":
            run_demo(logdir)
        elif name == "delayed":
            run_demo(logdir, "--task", "delayed", "--delay", "5")
        elif name == "text":
            run_demo(logdir, module="tb_rnn_plugin.text_demo")
        else:
            for run in ("gru", "lstm"):
                shutil.copytree(work / "demo" / run, logdir / run)
            print("training", NAN_RUN, flush=True)
            train_into_nan(logdir / NAN_RUN)
    return logdirs


# ---- TensorBoard -------------------------------------------------------------


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tensorboard(logdir, runs, timeout=120.0):
    """A `tensorboard --logdir` on 127.0.0.1 that serves `runs` in the RNN tab."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError("tensorboard exited:\n" + log.read().decode(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(url + "/data/plugin/rnn/tags", timeout=5) as response:
                    if set(runs) <= set(json.load(response)["runs"]):
                        break
            except (OSError, ValueError, KeyError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("tensorboard on %s did not list runs %s" % (url, runs))
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# ---- the tab -----------------------------------------------------------------


class Tab:
    """The RNN tab in a fresh browser context (no kept selection)."""

    def __init__(self, browser, url, width, height, out):
        self.out = out
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.goto(url + "/#rnn")
        self.frame = self._plugin_frame()
        self.frame.wait_for_selector("#rnn-app:not([data-state=loading])", timeout=60000)
        self.ready()

    def _plugin_frame(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.page.frames:
                if PLUGIN_FRAME_URL in frame.url:
                    return frame
            self.page.wait_for_timeout(100)
        raise TimeoutError("no RNN plugin frame")

    def ready(self):
        # Let a change start its update, then wait until the tab has drawn.
        self.page.wait_for_timeout(300)
        self.frame.wait_for_selector(READY, timeout=60000)
        self.page.wait_for_timeout(300)

    def runs(self, runs):
        for box in self.frame.locator("#rnn-runs input[data-run]").all():
            box.set_checked(box.get_attribute("data-run") in runs)
            self.ready()

    def choose(self, selector, value):
        self.frame.select_option(selector, value)
        self.ready()

    def setup(self, runs, layer="rnn", quantity=None, view=None):
        self.runs(runs)
        self.choose("#rnn-layer", layer)
        if quantity:
            self.choose("#rnn-quantity", quantity)
        if view:
            self.choose("#rnn-view", view)

    def first_step(self):
        self.frame.fill("#rnn-step", "0")
        self.frame.dispatch_event("#rnn-step", "change")
        self.ready()

    def fit_height(self):
        """Makes the page as tall as the tab's content, so that nothing is cut
        off by the plugin's iframe (it scrolls inside its own frame)."""
        for _ in range(3):
            top = self.page.locator("iframe").first.bounding_box()["y"]
            content = self.frame.evaluate("() => document.documentElement.scrollHeight")
            viewport = self.page.viewport_size
            wanted = int(top + content + 8)
            if wanted <= viewport["height"]:
                break
            self.page.set_viewport_size({"width": viewport["width"], "height": wanted})
            self.ready()

    def shoot(self, name, whole_page=False):
        path = self.out / name
        self.fit_height()
        # No hover highlight or focus ring from the last click in the picture.
        self.page.mouse.move(0, 0)
        self.frame.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.wait_for_timeout(200)
        if whole_page:
            self.page.screenshot(path=str(path), full_page=True)
        else:
            self.frame.locator("#rnn-app").screenshot(path=str(path))
        if self.errors:
            raise RuntimeError("%s: errors in the page: %s" % (name, self.errors))
        print("wrote", path, "(%d kB)" % (path.stat().st_size // 1024), flush=True)

    def close(self):
        self.context.close()


# Each shot: (name, logdir name, width, how to get there). The names are what
# the docs link to; docs/guide/*.md say what each one shows.

def shot_state_gradient(tab):
    # Each run on its own colour scale: the GRU's gradient is ~10x smaller
    # than the LSTM's, and on one scale it would look empty.
    tab.setup(DEMO_RUNS, quantity="state_gradient", view="heatmap")
    tab.frame.uncheck("#rnn-shared")
    tab.ready()
    tab.shoot("state_gradient_heatmap.png")


def shot_profile(tab):
    tab.setup(DEMO_RUNS, quantity="state_gradient", view="profile")
    tab.shoot("state_gradient_profile.png")


def shot_flow(tab):
    tab.setup(DEMO_RUNS, quantity="state_gradient", view="flow")
    tab.shoot("state_gradient_flow.png")


def shot_horizon(tab):
    tab.setup(("lstm", "simplernn"), quantity="gradient_horizon", view="horizon")
    tab.shoot("horizon.png")


def shot_horizon_training(tab):
    tab.setup(DEMO_RUNS, quantity="gradient_horizon", view="horizon_training")
    tab.shoot("horizon_training.png")


def shot_activation_lines(tab):
    tab.setup(("gru", "lstm"), quantity="activation", view="lines")
    tab.shoot("activation_lines.png")


def shot_activation_samples(tab):
    tab.setup(("gru",), quantity="activation", view="samples")
    tab.shoot("activation_samples.png")


def shot_gates(tab):
    tab.setup(("lstm",), quantity="gate_activation", view="heatmap")
    tab.shoot("gate_activations.png")


def shot_weights(tab):
    # The first logged step: the LSTM's forget-gate bias at 1 (unit_forget_bias).
    tab.setup(("gru", "lstm"), quantity="weight", view="weights")
    tab.first_step()
    tab.shoot("weights_by_gate.png")


def shot_gate_distributions(tab):
    tab.setup(("gru", "lstm"), quantity="weight_gradient", view="distributions")
    tab.shoot("gate_distributions.png")


def shot_gate_norms(tab):
    tab.setup(("gru", "lstm"), quantity="weight_gradient", view="norms")
    tab.shoot("gate_norms.png")


def shot_health(tab):
    # The overview over all three runs, then a click on the NaN run's first
    # NaN step: the tab opens the quantity it names at that step.
    tab.setup(("gru", "lstm", NAN_RUN), quantity="activation", view="heatmap")
    health = tab.frame.locator("#rnn-health")
    health.wait_for(state="visible", timeout=60000)
    if health.get_attribute("open") is None:
        tab.frame.locator("#rnn-health > summary").click()
    cell = tab.frame.locator('#rnn-health tr[data-run="%s"] td[data-column="nonfinite"]' % NAN_RUN)
    cell.click()
    tab.ready()
    # The overview stays; the panels below keep to the NaN run.
    tab.runs((NAN_RUN,))
    tab.shoot("health_nan.png")


def shot_summary(tab):
    # The top of the tab over the demo: the summary sentences, the folded
    # health line, the controls and the loss on the probe batch.
    tab.setup(DEMO_RUNS, quantity="state_gradient", view="profile")
    tab.frame.wait_for_selector("#rnn-summary:not([hidden])", timeout=60000)
    tab.frame.wait_for_selector("#rnn-loss:not([hidden])", timeout=60000)
    tab.ready()
    tab.shoot("summary_and_loss.png")


def shot_text(tab):
    tab.setup(TEXT_RUNS, quantity="activation", view="text")
    tab.shoot("text_view.png")


def shot_input_dependency(tab):
    tab.setup(TEXT_RUNS, quantity="input_dependency", view="input_dependency")
    tab.shoot("input_dependency.png")


def shot_dark(tab):
    tab.setup(DEMO_RUNS, quantity="state_gradient", view="profile")
    tab.page.click('button[aria-label="Menu for changing light or dark theme"]')
    tab.page.click('button[mat-menu-item]:has-text("Dark")')
    tab.frame.wait_for_function("() => document.documentElement.classList.contains('rnn-dark')")
    tab.ready()
    tab.shoot("dark_mode.png")


SHOTS = {
    "state_gradient": ("demo", 1200, 900, shot_state_gradient),
    "profile": ("demo", 1200, 900, shot_profile),
    "flow": ("demo", 1200, 900, shot_flow),
    "horizon": ("delayed", 1200, 900, shot_horizon),
    "horizon_training": ("delayed", 1200, 900, shot_horizon_training),
    "lines": ("demo", 1200, 900, shot_activation_lines),
    "samples": ("demo", 1200, 900, shot_activation_samples),
    "gates": ("demo", 1200, 900, shot_gates),
    "weights": ("demo", 1200, 900, shot_weights),
    "distributions": ("demo", 1200, 900, shot_gate_distributions),
    "norms": ("demo", 1200, 900, shot_gate_norms),
    "health": ("health", 1200, 900, shot_health),
    "dark": ("demo", 1200, 900, shot_dark),
    "summary": ("demo", 1200, 900, shot_summary),
    "text": ("text", 1200, 900, shot_text),
    "input_dependency": ("text", 1200, 900, shot_input_dependency),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=pathlib.Path, default=None,
                        help="where the logs go (default: a temporary folder, removed after)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the logs already under --work instead of training again")
    parser.add_argument("--only", nargs="+", choices=sorted(SHOTS), help="only these shots")
    parser.add_argument("--out", type=pathlib.Path, default=OUT,
                        help="where the PNGs go (default: docs/img, where the docs link to them)")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        parser.error("needs Debian's Chromium at %s: apt-get install chromium" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    names = args.only or list(SHOTS)
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        work = args.work
        if work is None:
            work = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rnn_shots_")))
        work.mkdir(parents=True, exist_ok=True)
        logdirs = write_logs(work.resolve(), args.reuse, {SHOTS[n][0] for n in names})
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for logdir_name in dict.fromkeys(SHOTS[n][0] for n in names):
            logdir, runs = logdirs[logdir_name]
            with tensorboard(logdir, runs) as url:
                for name in names:
                    where, width, height, take = SHOTS[name]
                    if where != logdir_name:
                        continue
                    tab = Tab(browser, url, width, height, args.out)
                    try:
                        take(tab)
                    finally:
                        tab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
