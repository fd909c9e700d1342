"""Tests for tb_rnn_plugin.kinds: each kind and cell declared once, and the
facts /tags adds to every series' metadata from it."""

import subprocess
import sys

import pytest

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata


def test_kinds_module_imports_neither_tensorflow_nor_keras():
    code = (
        "import sys; import tb_rnn_plugin.kinds; "
        "sys.exit(1 if {'tensorflow', 'keras'} & set(sys.modules) else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_every_companion_is_a_declared_tensor_kind():
    for kind in kinds.KIND_LIST:
        for companion in kind.companions:
            assert kinds.kind_of(companion).storage == kinds.TENSOR, (kind.name, companion)


def test_profiled_kinds_are_written_with_a_profile():
    assert kinds.PROFILED_KINDS == (kinds.ACTIVATION, kinds.OUTPUT_GRADIENT, kinds.STATE_GRADIENT)
    for name in kinds.PROFILED_KINDS:
        assert kinds.PROFILE in kinds.kind_of(name).companions


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        kinds.kind_of("hologram")


@pytest.mark.parametrize("cell, weight, activation, memory", [
    ("LSTM", ["i", "f", "c", "o"], ["i", "f", "candidate", "o"], "f"),
    ("ConvLSTM2D", ["i", "f", "c", "o"], None, "f"),
    ("GRU", ["z", "r", "h"], ["z", "r", "candidate"], "z"),
    ("SimpleRNN", ["h"], None, None),
    ("MyCell", None, None, None),
])
def test_gate_order_is_named_as_each_kind_names_gates(cell, weight, activation, memory):
    weight_facts = kinds.describe({"kind": kinds.WEIGHT, "cell": cell})
    gate_facts = kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": cell, "gate": "f"})
    assert weight_facts["gate_order"] == weight
    assert gate_facts["gate_order"] == activation
    assert weight_facts["memory_gate"] == gate_facts["memory_gate"] == memory


def test_memory_timescales_are_a_companion_of_the_memory_gate_only():
    forget = kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": "LSTM", "gate": "f"})
    update = kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": "LSTM", "gate": "i"})
    assert kinds.MEMORY_TIMESCALE in forget["companions"]
    assert kinds.MEMORY_TIMESCALE not in update["companions"]


def test_backward_is_what_was_written_else_what_the_direction_says():
    horizon = {"kind": kinds.GRADIENT_HORIZON, "cell": "LSTM"}
    assert kinds.describe(dict(horizon, backward=True))["backward"] is True
    assert kinds.describe(dict(horizon, direction="backward"))["backward"] is True
    assert kinds.describe(dict(horizon, direction="forward"))["backward"] is False
    assert kinds.describe(horizon)["backward"] is None


def test_matrix_order_only_on_matrix_kinds():
    assert kinds.describe({"kind": kinds.GATE_STATS})["matrix_order"] == list(kinds.MATRIX_ORDER)
    assert "matrix_order" not in kinds.describe({"kind": kinds.ACTIVATION})


def test_time_order_says_which_kinds_have_a_timestep_axis():
    for kind in kinds.KIND_LIST:
        has_timestep = "timestep" in kind.axes
        assert (kind.time_order is not None) == has_timestep, kind.name


def test_a_go_backwards_horizon_keeps_backward_in_its_metadata():
    for kind in (kinds.GRADIENT_HORIZON, kinds.LAG_PROFILE, kinds.HORIZON_STATS):
        md = metadata.create_summary_metadata(
            kind, backward=True, of_tag=None if kind == kinds.GRADIENT_HORIZON else "h",
        )
        assert metadata.parse_plugin_metadata(md.plugin_data.content)["backward"] is True


@pytest.mark.parametrize("make_cell, declared", [
    (lambda keras: keras.layers.LSTMCell(3), kinds.LSTM),
    (lambda keras: keras.layers.GRUCell(3), kinds.GRU),
    (lambda keras: keras.layers.SimpleRNNCell(3), kinds.SIMPLE_RNN),
])
def test_declared_gates_and_matrices_are_what_keras_cells_hold(make_cell, declared):
    import keras

    from tb_rnn_plugin.summary_ops import gates

    cell = make_cell(keras)
    cell.build((None, 2))
    names = gates.gate_names(cell)
    assert names == declared.weight_gates
    matrices = gates.cell_matrices(cell, names)
    assert tuple(m.name for m in matrices) == declared.matrices
    assert [g.name for g in matrices[0].gates] == list(declared.weight_gates)
    assert list(declared.matrices) == sorted(declared.matrices, key=kinds.MATRIX_ORDER.index)


def test_sigmoid_gates_activations_are_known_to_lie_in_zero_one():
    """value_range: [0, 1] for a known cell's gate activations other than
    the candidate (tanh, within +-1); absent for every other series."""
    for cell, gates in (("LSTM", ("i", "f", "o")), ("GRU", ("z", "r"))):
        for gate in gates:
            assert kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": cell, "gate": gate})["value_range"] == [0, 1]
        assert "value_range" not in kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": cell, "gate": "candidate"})
    assert "value_range" not in kinds.describe({"kind": kinds.GATE_ACTIVATION, "cell": "MyCell", "gate": "f"})
    assert "value_range" not in kinds.describe({"kind": kinds.ACTIVATION, "cell": "LSTM"})
    assert "value_range" not in kinds.describe({"kind": kinds.WEIGHT, "cell": "LSTM", "gate": "f"})
