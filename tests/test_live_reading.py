"""Live training: a writer process logs while TensorBoard reads.

A real subprocess writes STEPS steps with the summary ops (a pinned first
step, a flush after each step, ~400 kB a step so records are often caught
half-written on disk) while two real `tensorboard --reload_interval 1`
processes, one per loader, serve the same logdir. A reader loop polls
/steps on both and fetches /tensor for every step it lists (and a few older
ones again): every listed step must be served, 200, with the shape and the
values that say which step it is: never a 500, a 404 for a listed step, or
a half-written tensor. New steps must appear while the writer runs; at the
end both list every step, logged_steps included. Bounded: about 30 s.
"""

import json
import os
import random
import subprocess
import sys
import time

import numpy as np

try:
    import test_broken_logs as broken
except ImportError:  # tests/ imported as a package
    from tests import test_broken_logs as broken

PREFIX = broken.PREFIX
RUN = "live"
TAG = "live/state_gradient"
STEPS = 60  # under the 100 TensorBoard keeps: no listed step is sampled away
SHAPE = (4, 200, 128)  # 400 kB a step
PAUSE = 0.12  # seconds between steps
DEADLINE = 75.0


def live_values(step):
    """[4, 200, 128] float32 whose values say their step (exact in float32)."""
    return (np.arange(np.prod(SHAPE), dtype=np.float32).reshape(SHAPE) % 251) + 1000.0 * step


_WRITER = """
import sys, time
import numpy as np
import tensorflow as tf
import tb_rnn_plugin
from test_live_reading import live_values, STEPS, TAG, PAUSE
writer = tf.summary.create_file_writer(sys.argv[1])
with writer.as_default():
    for step in range(STEPS):
        assert tb_rnn_plugin.state_gradient(
            TAG, live_values(step), step=step, layer="live", cell="LSTM", pinned=step == 0
        )
        writer.flush()
        print("wrote", step, flush=True)
        time.sleep(PAUSE)
writer.close()
"""


def _start_writer(run_dir):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [broken.ROOT, os.path.dirname(os.path.abspath(__file__))]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(run_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=broken.ROOT,
    )


class Reader:
    """Polls one TensorBoard and checks every step it lists."""

    def __init__(self, server):
        self.server = server
        self.checked = set()
        self.sizes = []  # len(/steps) at each poll, while the writer runs
        self.tensors = 0
        self.rnd = random.Random(7)

    def _check_tensor(self, step):
        path = PREFIX + "/tensor?" + broken.query(run=RUN, tag=TAG, step=step)
        status, headers, body = self.server.get(path)
        assert status == 200, (self.label, path, status, body[:300])
        assert headers["X-Tensor-Shape"] == ",".join(map(str, SHAPE)), headers
        array = np.frombuffer(body, "<f4").reshape(SHAPE)
        np.testing.assert_array_equal(array, live_values(step), err_msg="%s step %d" % (self.label, step))
        self.tensors += 1

    @property
    def label(self):
        return "load_fast=%s" % ("true" if self.server.load_fast else "false")

    def poll(self):
        """One round; returns the /steps body, or None before the run exists."""
        status, _, body = self.server.get(PREFIX + "/steps?" + broken.query(run=RUN, tag=TAG))
        if status == 404:  # the run or series is not loaded yet
            assert not self.checked, (self.label, "a listed series disappeared", body)
            return None
        assert status == 200, (self.label, status, body[:300])
        listing = json.loads(body)
        steps = listing["steps"]
        assert steps == sorted(set(steps)) and set(steps) <= set(range(STEPS)), steps
        assert self.checked <= set(steps), (self.label, "listed steps disappeared")
        self.sizes.append(len(steps))
        for step in [s for s in steps if s not in self.checked]:
            self._check_tensor(step)
            self.checked.add(step)
        for step in self.rnd.sample(steps, min(2, len(steps))):
            self._check_tensor(step)  # served again, still right
        status, _, body = self.server.get(PREFIX + "/tags")
        assert status == 200, (self.label, status, body[:300])
        return listing


def test_steps_appear_while_training_and_every_listed_step_is_served(tmp_path):
    logdir = tmp_path / "logs"
    logdir.mkdir()
    servers = [broken.ServerClient(str(logdir), load_fast=fast) for fast in (False, True)]
    writer = None
    try:
        for server in servers:
            server.start()
        readers = [Reader(server) for server in servers]
        writer = _start_writer(logdir / RUN)
        start = time.monotonic()
        while writer.poll() is None:
            assert time.monotonic() - start < DEADLINE, "writer still running"
            for reader in readers:
                reader.poll()
            time.sleep(0.2)
        output = writer.stdout.read().decode("utf-8", "replace")
        assert writer.returncode == 0, output[-3000:]
        assert "wrote %d" % (STEPS - 1) in output

        # Once the writer is done, both loaders list every step.
        final = {}
        while len(final) < len(readers):
            assert time.monotonic() - start < DEADLINE, (
                "not every step listed: %s" % {r.label: len(r.checked) for r in readers}
            )
            for reader in readers:
                listing = reader.poll()
                if listing and listing["steps"] == list(range(STEPS)) and listing["logged_steps"] == STEPS:
                    final[reader.label] = listing
            time.sleep(0.3)

        for reader in readers:
            assert reader.checked == set(range(STEPS))
            # Steps appeared over time, not all at once at the end.
            growth = sorted(set(reader.sizes))
            assert len(growth) >= 4 and growth[0] < STEPS // 2, (reader.label, reader.sizes)
            print("%s: %d polls, %d tensors checked, /steps sizes seen %s"
                  % (reader.label, len(reader.sizes), reader.tensors, growth))
        for server in servers:
            assert "Traceback" not in server.log_text(), server.log_text()
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait()
        for server in servers:
            server.stop()
