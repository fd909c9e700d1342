"""The README's quick start, first command, exactly as written.

From the root of a clean copy of this checkout (tracked files and untracked
ones git does not ignore, as they are in the working tree), in a fresh venv
whose bin/ comes first on PATH, `bash -c` runs the README's `pip install ...`
line: a non-editable install, then the demo, which trains three models and
starts TensorBoard on port 6006. The test waits until the RNN plugin serves
the three runs there, then stops the whole process group.

This is the path users take and CI's `pip install -e` does not: Python run
from the repository root finds the source folder tb_rnn_plugin/ before the
installed package (it once failed with ModuleNotFoundError for
tb_rnn_plugin.summary_ops).

Minutes, not seconds (pip installs TensorFlow into the venv; the demo trains
for about 35 s on 2 cores). Deselect with `python -m pytest -m "not quickstart"`.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
PORT = 6006  # The README's command does not choose one: the demo's default.
TAGS_URL = "http://127.0.0.1:%d/data/plugin/rnn/tags" % PORT
EXPECTED_RUNS = {"lstm", "gru", "simplernn"}
TOTAL_TIMEOUT_S = 15 * 60
OUTPUT_TAIL_CHARS = 6000

pytestmark = pytest.mark.quickstart


def readme_install_command():
    """The first line starting with `pip install` in the README's quick-start
    code block."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "README.md's quick start has no code block"
    for line in block.group(1).splitlines():
        if line.strip().startswith("pip install"):
            return line.strip()
    raise AssertionError("README.md's quick-start code block has no line starting with 'pip install'")


def copy_checkout(destination):
    """Tracked files plus untracked, not-ignored ones, with their working-tree
    content (so uncommitted work is tested too)."""
    try:
        listing = subprocess.run(
            # safe.directory: CI may check out as another user than it runs as.
            ["git", "-c", "safe.directory=*", "ls-files", "-z",
             "--cached", "--others", "--exclude-standard"],
            cwd=REPO, check=True, capture_output=True, timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(
            "the quick-start test copies a git checkout; `git ls-files` failed in %s: %s"
            % (REPO, getattr(error, "stderr", b"").decode(errors="replace").strip() or error),
            pytrace=False,
        )
    copied = 0
    for name in listing.decode("utf-8", errors="surrogateescape").split("\0"):
        source = REPO / name
        if not name or not os.path.lexists(source):  # e.g. deleted, not yet committed
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        copied += 1
    assert (destination / "README.md").is_file() and (destination / "setup.py").is_file(), copied


def port_in_use(port):
    """Whether something already answers on localhost:port (IPv4 or IPv6)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                if probe.connect_ex((host, port)) == 0:
                    return True
        except OSError:  # no IPv6 here
            pass
    return False


def fetch_runs():
    """The runs the plugin serves, or None while TensorBoard is not up yet."""
    try:
        with urllib.request.urlopen(TAGS_URL, timeout=5) as response:
            if response.status != 200:
                return None
            return set(json.load(response)["runs"])
    except (urllib.error.URLError, ConnectionError, socket.timeout, ValueError, KeyError):
        return None


def output_tail(log_path):
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    # Keras' progress bars redraw with \r; keep the last state of each line.
    lines = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join(lines)[-OUTPUT_TAIL_CHARS:]


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_group(process):
    """SIGTERM the command's whole process group (bash, pip, the demo and its
    TensorBoard), SIGKILL what is left after 15 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        give_up = time.monotonic() + 15
        while time.monotonic() < give_up:
            process.poll()  # reap bash, else its zombie keeps the group alive
            if not group_alive(process.pid):
                break
            time.sleep(0.2)
        else:
            continue
        break
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass


def test_readme_quick_start_first_command(tmp_path):
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    command = readme_install_command()
    if port_in_use(PORT):
        pytest.fail(
            "port %d is already in use: the README's quick start starts TensorBoard "
            "there. Stop whatever listens on it (another TensorBoard?) and rerun, "
            "or deselect this test with -m 'not quickstart'." % PORT,
            pytrace=False,
        )

    clone = tmp_path / "clone"
    copy_checkout(clone)
    venv = tmp_path / "venv"
    # No --system-site-packages: everything the command needs, it installs.
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300,
    )
    assert created.returncode == 0, (
        "`%s -m venv` failed (on Debian/Ubuntu: apt-get install python3-venv):\n%s%s"
        % (sys.executable, created.stdout, created.stderr)
    )

    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    log_path = tmp_path / "quickstart.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=clone, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        runs = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    "`%s` exited with status %d after %.0f s before TensorBoard served "
                    "the RNN plugin's runs on port %d. Output (tail):\n%s"
                    % (command, process.returncode, time.monotonic() - started, PORT,
                       output_tail(log_path)),
                    pytrace=False,
                )
            runs = fetch_runs()
            if runs is not None and EXPECTED_RUNS <= runs:
                break
            time.sleep(2)
        else:
            pytest.fail(
                "after %.0f s TensorBoard on port %d served runs %s (expected %s). "
                "Output (tail):\n%s"
                % (time.monotonic() - started, PORT, sorted(runs) if runs is not None else None,
                   sorted(EXPECTED_RUNS), output_tail(log_path)),
                pytrace=False,
            )
        # The answer came from this command's TensorBoard, not a stray one.
        assert process.poll() is None, output_tail(log_path)
        assert runs == EXPECTED_RUNS, (runs, output_tail(log_path))
        print("quick start served %s after %.0f s" % (sorted(runs), time.monotonic() - started))
    finally:
        stop_group(process)
