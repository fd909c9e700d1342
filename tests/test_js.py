"""The frontend's pure JavaScript, tested with Node's built-in test runner.

`node --test tests/js/` runs on its own too; this runs it from the README's
test command so CI cannot skip it.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

JS_TESTS = pathlib.Path(__file__).parent / "js"


def test_node_test_runner_passes():
    node = shutil.which("node")
    if node is None:
        message = "Node.js (20+) runs the frontend's pure-JS tests: apt-get install nodejs"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JS tests found in %s" % JS_TESTS
    result = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "# fail 0" in output and "# pass 0" not in output, output[-2000:]
