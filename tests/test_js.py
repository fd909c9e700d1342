"""The frontend's pure JavaScript, tested with Node's built-in test runner.

`node --test tests/js/` runs on its own too; this runs it from the README's
test command so CI cannot skip it.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from tb_rnn_plugin import kinds

JS_TESTS = pathlib.Path(__file__).parent / "js"


def served_facts():
    """{"kind|cell|gate": the facts /tags adds}, for every kind, cell and
    gate (tests/js/served_facts.mjs reads it)."""
    facts = {}
    for kind in kinds.KIND_LIST:
        for cell in [None] + sorted(kinds.CELLS):
            gates = kinds.gate_order(kind, kinds.cell_of(cell)) or []
            for gate in [None] + list(gates):
                parsed = {"kind": kind.name, "cell": cell, "gate": gate}
                facts["%s|%s|%s" % (kind.name, cell or "", gate or "")] = kinds.describe(parsed)
    return facts


def write_served_facts(directory):
    path = pathlib.Path(directory) / "kind_facts.json"
    path.write_text(json.dumps(served_facts()))
    return str(path)


def test_node_test_runner_passes():
    node = shutil.which("node")
    if node is None:
        message = "Node.js (20+) runs the frontend's pure-JS tests: apt-get install nodejs"
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JS tests found in %s" % JS_TESTS
    with tempfile.TemporaryDirectory() as directory:
        env = dict(os.environ, RNN_KIND_FACTS=write_served_facts(directory))
        result = subprocess.run(
            [node, "--test", *files], capture_output=True, text=True, timeout=120, env=env
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "# fail 0" in output and "# pass 0" not in output, output[-2000:]


if __name__ == "__main__" and sys.argv[1:] == ["--facts"]:
    print(write_served_facts(tempfile.mkdtemp()))
