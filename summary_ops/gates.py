"""Where each gate sits in a recurrent layer's weights.

Keras keeps the gates of a cell side by side on the last axis of each weight,
in the order tb_rnn_plugin/kinds.py declares per cell type: LSTM and
ConvLSTM i, f, c, o; GRU z, r, h; SimpleRNN one block. A GRU with reset_after=True (the default) has a bias of shape
(2, 3U): row 0 the input bias, row 1 the recurrent bias, which are two
different matrices here. The layout comes from the cell's type (isinstance),
never from weight names. A cell this module does not know gets its weights
whole, with no gate split.
"""

import dataclasses
from typing import Optional, Tuple

import keras

from tb_rnn_plugin import kinds

KERNEL = kinds.KERNEL
RECURRENT_KERNEL = kinds.RECURRENT_KERNEL
BIAS = kinds.BIAS
INPUT_BIAS = kinds.INPUT_BIAS
RECURRENT_BIAS = kinds.RECURRENT_BIAS

LSTM_GATES = kinds.LSTM.weight_gates
GRU_GATES = kinds.GRU.weight_gates
SIMPLE_RNN_GATES = kinds.SIMPLE_RNN.weight_gates


@dataclasses.dataclass(frozen=True)
class Gate:
    """Columns [start, stop) of the last axis (a Python slice)."""

    name: str
    start: int
    stop: int


@dataclasses.dataclass(frozen=True)
class Matrix:
    """One weight matrix of a cell, split by gate.

    `row` selects a row of the variable first (GRU's (2, 3U) bias), or is
    None for the whole variable. `gates` is None when the layout is unknown
    (a user's own cell): the matrix is then shown whole.
    """

    name: str
    variable: object
    row: Optional[int]
    gates: Optional[Tuple[Gate, ...]]

    def value(self):
        value = self.variable.numpy() if hasattr(self.variable, "numpy") else self.variable
        return value if self.row is None else value[self.row]


def _split(names, width):
    size, remainder = divmod(width, len(names))
    if remainder:
        raise ValueError("last axis %d does not split into %d gates" % (width, len(names)))
    return tuple(Gate(name, k * size, (k + 1) * size) for k, name in enumerate(names))


_CONV_LSTM_LAYERS = (keras.layers.ConvLSTM1D, keras.layers.ConvLSTM2D, keras.layers.ConvLSTM3D)


def gate_names(cell, rnn_layer=None):
    """The gate names of `cell` (in `rnn_layer`), or None if unknown.

    ConvLSTM's cell class is not public (nor an LSTMCell subclass), so it is
    recognised by its layer: ConvLSTM1D/2D/3D run one cell with gates i, f,
    c, o.
    """
    if isinstance(cell, keras.layers.LSTMCell) or (
        isinstance(rnn_layer, _CONV_LSTM_LAYERS) and cell is rnn_layer.cell
    ):
        return LSTM_GATES
    if isinstance(cell, keras.layers.GRUCell):
        return GRU_GATES
    if isinstance(cell, keras.layers.SimpleRNNCell):
        return SIMPLE_RNN_GATES
    return None


def cell_matrices(cell, names):
    """The weight matrices of one (non-stacked) cell, split into gates `names`.

    names: from gate_names(); None shows every weight whole.
    """
    if names is None:
        return [Matrix(w.path.rsplit("/", 1)[-1], w, None, None) for w in cell.weights]
    matrices = []
    for name in (KERNEL, RECURRENT_KERNEL):
        variable = getattr(cell, name)
        matrices.append(Matrix(name, variable, None, _split(names, variable.shape[-1])))
    bias = getattr(cell, "bias", None)
    if bias is not None:
        gates = _split(names, bias.shape[-1])
        if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
            matrices.append(Matrix(INPUT_BIAS, bias, 0, gates))
            matrices.append(Matrix(RECURRENT_BIAS, bias, 1, gates))
        else:
            matrices.append(Matrix(BIAS, bias, None, gates))
    return matrices


@dataclasses.dataclass(frozen=True)
class CellSlot:
    """One cell of a recurrent layer and where it sits."""

    direction: Optional[str]  # None, "forward" or "backward"
    cell_index: Optional[int]  # index in a StackedRNNCells, else None
    cell: object
    gate_names: Optional[Tuple[str, ...]]

    def matrices(self):
        return cell_matrices(self.cell, self.gate_names)


def layer_cells(layer):
    """[CellSlot] of a recurrent layer (RNN subclass or Bidirectional), in order."""
    if isinstance(layer, keras.layers.Bidirectional):
        directions = [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
    else:
        directions = [(None, layer)]
    slots = []
    for direction, rnn in directions:
        if isinstance(rnn.cell, keras.layers.StackedRNNCells):
            cells = list(enumerate(rnn.cell.cells))
        else:
            cells = [(None, rnn.cell)]
        slots.extend(
            CellSlot(direction, index, cell, gate_names(cell, rnn)) for index, cell in cells
        )
    return slots
