"""The pieces both probes share: one recurrent layer's cell rerun with a
zero tensor eps_t added to h_t.

For a layer with hidden states h_t, on a fixed probe batch:
  activation       y_t = h_t (every timestep, also for return_sequences=False)
  output gradient  dL/dy_t through what comes after the layer
  state gradient   dL/dh_t in total, including the path through the recurrence

The layer's own cell runs again inside a keras.layers.RNN that adds eps_t to
h_t, both to the output and to the state carried to t+1; dL/deps_t is
exactly the total state gradient, in one backward pass. (Cloning the layer
with return_sequences=True would only give the gradient at the last step.)
model_probe runs this rerun in place of the layer inside the whole model;
split_probe between the two halves of the model split at the layer.

Every cell whose output is its first state works: LSTM, GRU, SimpleRNN,
ConvLSTM1D/2D/3D, a user's own cell, and a stack of cells
(keras.layers.RNN([cell_a, cell_b]), StackedRNNCells), where each sub-cell k
gets its own eps^k added to its h^k, which feeds cell k+1 at the same step and
cell k itself at the next. check_direction verifies, on the probe batch, that
the rerun reproduces the layer's own output.

Tensors come back as numpy arrays in input-time order (a backward direction
is flipped back), shaped [samples, timesteps, channels]; a per-timestep state
with more than one axis (ConvLSTM: spatial..., filters) is flattened in C
order, and "channel_shape" gives its shape.
"""

import contextlib
import inspect
import math

import keras
import numpy as np
import tensorflow as tf

# Keras' own cells whose output is their first state h_t. Checked with
# isinstance, never by name (a subclass keeps its cell type).
_CELL_TYPES = (
    (keras.layers.LSTMCell, "LSTM"),
    (keras.layers.GRUCell, "GRU"),
    (keras.layers.SimpleRNNCell, "SimpleRNN"),
)

MERGES = {
    "concat": lambda a, b: tf.concat([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "ave": lambda a, b: (a + b) / 2,
    "mul": lambda a, b: a * b,
    None: lambda a, b: [a, b],
}

# The first call's check that the rebuilt RNN reproduces the layer: largest
# difference allowed, relative to the largest |output|. The two runs differ by
# rounding only (on a GPU, Keras runs LSTM and GRU layers through cuDNN, with
# TF32 matmuls); a cell whose output is not its state differs by O(1).
_CHECK_TOLERANCE = {"float64": 1e-6, "float32": 2e-2}
_CHECK_TOLERANCE_OTHER = 5e-2  # float16, bfloat16

NOT_ITS_STATE = (
    "its cell's output is not its first state (output != new_states[0] on "
    "the probe batch), so dL/dh_t cannot be separated from the output"
)


@contextlib.contextmanager
def quiet_first_trace():
    """Around calls of a tf.function made per probe (or horizon): each is
    traced once, but a run with several probes (layers, horizons, fits)
    made TensorFlow warn of "frequent retracing" into the training log."""
    tf_logger = tf.get_logger()
    level = tf_logger.level
    tf_logger.setLevel("ERROR")
    try:
        yield
    finally:
        tf_logger.setLevel(level)


class UnsupportedLayerError(ValueError):
    """The probe cannot handle this layer; the message says why."""


def is_recurrent(layer):
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def _conv_lstm_cell_class():
    # Keras 3 does not export ConvLSTMCell; every ConvLSTM layer's cell is one.
    try:
        from keras.src.layers.rnn.conv_lstm import ConvLSTMCell
    except ImportError:
        ConvLSTMCell = type(keras.layers.ConvLSTM1D(1, 1).cell)
    return ConvLSTMCell


_ConvLSTMCell = _conv_lstm_cell_class()


def cell_type(cell):
    """A cell's name: "LSTM", "GRU", "SimpleRNN", "ConvLSTM1D"/"2D"/"3D", or
    the class name of any other cell (a user's own)."""
    for cls, name in _CELL_TYPES:
        if isinstance(cell, cls):
            return name
    if isinstance(cell, _ConvLSTMCell):
        return "ConvLSTM%dD" % cell.rank
    return type(cell).__name__


def leaf_cells(cell):
    """The cells of a (possibly nested) StackedRNNCells in call order, or [cell]."""
    if isinstance(cell, keras.layers.StackedRNNCells):
        return [leaf for sub in cell.cells for leaf in leaf_cells(sub)]
    return [cell]


def _call_has_training_arg(cell):
    has = getattr(cell, "_call_has_training_arg", None)
    if has is None:
        try:
            has = "training" in inspect.signature(cell.call).parameters
        except (TypeError, ValueError):
            has = False
    return has


def _call_cell(cell, inputs, states, training):
    """Calls a cell as keras.layers.RNN and StackedRNNCells do."""
    kwargs = {}
    if isinstance(cell, keras.layers.Layer) and _call_has_training_arg(cell):
        kwargs["training"] = training
    call = cell.__call__ if callable(cell) else cell.call
    return call(inputs, states, **kwargs)


def _output_shape(cell, step_input_shape):
    """A cell's per-step output shape (no batch axis), as keras.layers.RNN sees it."""
    if isinstance(cell, _ConvLSTMCell):
        return tuple(cell.compute_output_shape((None,) + tuple(step_input_shape))[0][1:])
    size = getattr(cell, "output_size", None)
    if size is None:
        size = cell.state_size
        if isinstance(size, (list, tuple)):
            size = size[0]
    if isinstance(size, (list, tuple)) or hasattr(size, "as_list"):
        return tuple(size)
    if isinstance(size, int) and size > 0:
        return (size,)
    raise UnsupportedLayerError(
        "its %s cell has no usable output_size or state_size (%r)"
        % (type(cell).__name__, size)
    )


def _first_state_shape(cell):
    """The static shape of state 0 (no batch axis), or None if not plain ints."""
    size = cell.state_size
    if isinstance(size, (list, tuple)):
        size = size[0] if size else None
    return (size,) if isinstance(size, int) and size > 0 else None


class _Leaf:
    """One cell whose h_t the probe logs (the cell, or a sub-cell of a stack)."""

    def __init__(self, cell, index, step_input_shape):
        self.cell = cell
        self.index = index  # int inside a stack, None otherwise
        self.name = cell_type(cell)
        self.shape = _output_shape(cell, step_input_shape)
        state_shape = _first_state_shape(cell)
        if state_shape is not None and state_shape != self.shape:
            raise UnsupportedLayerError(
                "its cell's output is not its first state (its %s cell's output "
                "shape %s != state 0's %s), so dL/dh_t cannot be separated from "
                "the output" % (self.name, self.shape, state_shape)
            )
        self.size = math.prod(self.shape)
        # ConvLSTM with channels_first computes h as (filters, spatial...):
        # report (spatial..., filters) like every other layout.
        self.channels_first = (
            isinstance(cell, _ConvLSTMCell) and cell.data_format == "channels_first"
        )
        shape = self.shape[1:] + self.shape[:1] if self.channels_first else self.shape
        self.channel_shape = list(shape) if len(shape) != 1 else None

    def to_report_layout(self, array):
        """[B, T, size] in the cell's layout -> [B, T, size] as (spatial..., filters)."""
        if not self.channels_first:
            return array
        batch, steps = array.shape[:2]
        unflat = array.reshape((batch, steps) + self.shape)
        rank = len(self.shape)
        moved = np.moveaxis(unflat, 2, 2 + rank - 1)
        return np.ascontiguousarray(moved).reshape(batch, steps, self.size)


class _StatePerturbedCell(keras.layers.Layer):
    """Runs `cell` (a cell or StackedRNNCells) adding eps^k_t to every h^k_t.

    Each step's input is one flat vector: x_t (flattened), then eps^k_t
    (flattened) for every leaf cell k in call order. The addition reaches both
    the leaf's output (the input of the next cell in a stack, and the layer's
    output for the last) and its carried state 0, so dL/deps^k_t is the total
    dL/dh^k_t. The output is every leaf's h^k_t, flattened and concatenated;
    the states keep the cell's own structure.
    """

    def __init__(self, cell, leaves, step_input_shape, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.leaves = leaves
        self.step_input_shape = tuple(step_input_shape)
        self.input_size = math.prod(self.step_input_shape)
        self.state_size = cell.state_size
        self.output_size = sum(leaf.size for leaf in leaves)

    def build(self, input_shape):
        self.built = True  # the cell is built: the layer has run in the model

    def get_initial_state(self, batch_size=None):
        get_initial_state = getattr(self.cell, "get_initial_state", None)
        if get_initial_state:
            return get_initial_state(batch_size=batch_size)
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        return [tf.zeros((batch_size, d), dtype=dtype) for d in sizes]

    def call(self, inputs, states, training=False):
        _, new_states, outputs = self.run(inputs, states, training)
        return tf.concat(outputs, axis=-1), new_states

    def run(self, inputs, states, training=False, record=None):
        """(last h, new states, [flat h^k]); `record` collects (output, state 0)."""
        x = tf.reshape(inputs[:, : self.input_size], (-1,) + self.step_input_shape)
        eps, offset = [], self.input_size
        for leaf in self.leaves:
            eps.append(tf.reshape(inputs[:, offset : offset + leaf.size], (-1,) + leaf.shape))
            offset += leaf.size
        outputs = []
        h, new_states = self._run(self.cell, x, states, iter(eps), training, outputs, record)
        return h, new_states, [tf.reshape(o, (-1, leaf.size)) for o, leaf in zip(outputs, self.leaves)]

    def _run(self, cell, x, states, eps, training, outputs, record):
        if isinstance(cell, keras.layers.StackedRNNCells):
            # As StackedRNNCells.call, with each leaf's h perturbed.
            new_states = []
            for sub, sub_states in zip(cell.cells, states):
                was_nested = keras.tree.is_nested(sub_states)
                sub_states = list(sub_states) if was_nested else [sub_states]
                x, sub_states = self._run(sub, x, sub_states, eps, training, outputs, record)
                if len(sub_states) == 1 and not was_nested:
                    sub_states = sub_states[0]
                new_states.append(sub_states)
            return x, new_states
        output, new_states = _call_cell(cell, x, states, training)
        new_states = list(new_states) if keras.tree.is_nested(new_states) else [new_states]
        if record is not None:
            record.append((output, new_states[0]))
        h = output + next(eps)
        new_states[0] = h
        outputs.append(h)
        return h, new_states


class Direction:
    """One keras.layers.RNN (a direction of a layer) rebuilt with eps_t."""

    def __init__(self, rnn_layer, step_input_shape, direction):
        self.layer = rnn_layer
        self.direction = direction
        self.input_size = math.prod(step_input_shape)
        cell = rnn_layer.cell
        stacked = isinstance(cell, keras.layers.StackedRNNCells)
        self.leaves = []
        shape = tuple(step_input_shape)
        for index, leaf_cell in enumerate(leaf_cells(cell)):
            leaf = _Leaf(leaf_cell, index if stacked else None, shape)
            self.leaves.append(leaf)
            shape = leaf.shape
        self.offsets = np.cumsum([0] + [leaf.size for leaf in self.leaves]).tolist()
        self.size = self.offsets[-1]
        self.cell = _StatePerturbedCell(
            cell, self.leaves, step_input_shape, dtype=rnn_layer.dtype_policy
        )
        self.perturbed = self._perturbed_rnn(return_state=False)
        self.perturbed_with_states = self._perturbed_rnn(return_state=True)

    def _perturbed_rnn(self, return_state):
        return keras.layers.RNN(
            self.cell,
            return_sequences=True,
            return_state=return_state,
            go_backwards=self.layer.go_backwards,
            zero_output_for_mask=self.layer.zero_output_for_mask,
            dtype=self.layer.dtype_policy,
        )

    def leaf_part(self, tensor, k):
        return tensor[..., self.offsets[k] : self.offsets[k + 1]]

    def to_input_time(self, sequence):
        """Flips a sequence in processing order back to input-time order."""
        return tf.reverse(sequence, axis=[1]) if self.layer.go_backwards else sequence

    def layer_output(self, sequence, return_sequences):
        """The direction's output as its layer computes it, from the rerun."""
        last = self.leaves[-1]
        if not return_sequences:
            sequence = sequence[:, -1]
        part = self.leaf_part(sequence, len(self.leaves) - 1)
        return tf.reshape(part, tf.concat([tf.shape(part)[:-1], last.shape], axis=0))


def at_last_real_step(direction, sequence, mask, values, carried=False):
    """[B, T, C] (processing order): `values` [B, C] at each sample's last
    processed step, 0 elsewhere. The last step is T-1, or under a mask the
    last real one where Keras carries the output (or, `carried`, the state)
    over the padding, i.e. unless zero_output_for_mask zeroes the output."""
    timesteps = tf.shape(sequence)[1]
    if mask is None or (direction.layer.zero_output_for_mask and not carried):
        last = tf.fill(tf.shape(sequence)[:1], timesteps - 1)
    else:
        real = tf.cast(direction.to_input_time(mask), tf.int32)  # processing order
        last = timesteps - 1 - tf.argmax(tf.reverse(real, axis=[1]), axis=1, output_type=tf.int32)
    at_last = tf.one_hot(last, timesteps, dtype=values.dtype)
    return at_last[:, :, None] * values[:, None, :]


def direction_entries(directions, per_direction):
    """The result dicts (see LayerProbe.__call__) of each direction's leaf
    cells, from per-direction tensors "activation", "state_gradient" (all
    leaves side by side) and "output_gradient" (the last leaf's)."""
    entries = []
    for direction, tensors in zip(directions, per_direction):
        activation = np.asarray(tensors["activation"])
        state_gradient = np.asarray(tensors["state_gradient"])
        last = len(direction.leaves) - 1
        for k, leaf in enumerate(direction.leaves):
            output_gradient = None
            if k == last:
                output_gradient = leaf.to_report_layout(np.asarray(tensors["output_gradient"]))
            entries.append({
                "direction": direction.direction,
                "cell": leaf.name,
                "cell_index": leaf.index,
                "channel_shape": leaf.channel_shape,
                "activation": leaf.to_report_layout(direction.leaf_part(activation, k)),
                "output_gradient": output_gradient,
                "state_gradient": leaf.to_report_layout(direction.leaf_part(state_gradient, k)),
            })
    return entries


def check_direction(direction, sub, inputs, mask, initial_state, rerun_output):
    """None if `sub` (the layer's own RNN) gives the rerun's output on these
    inputs and each of its cells outputs its first state at the first
    processed step; else why not. Runs the layer: its seed generators are
    put back (dropout masks are prepared even with training=False)."""
    kept = [(v, np.array(v.numpy())) for v in sub.non_trainable_variables]
    try:
        with quiet_first_trace():
            reference, first_steps = tf.function(_reference, autograph=False)(
                direction, sub, inputs, mask, initial_state
            )
    finally:
        for variable, value in kept:
            variable.assign(value)
    for leaf, (output, state) in zip(direction.leaves, first_steps):
        if _differs(output, state, leaf.cell):
            where = "" if leaf.index is None else " (cell %d of its stack)" % leaf.index
            return NOT_ITS_STATE + where
    if _differs(rerun_output, reference, sub):
        return (
            "rerunning its cell in keras.layers.RNN does not reproduce "
            "its output on the probe batch (largest difference %.3g); "
            "a layer whose call does more than run its cell is not "
            "supported" % np.max(np.abs(np.asarray(rerun_output, np.float64) - np.asarray(reference, np.float64)))
        )
    return None


def _reference(direction, sub, u, mask, initial_state):
    """The layer's own output on u, and the (output, state 0) of each of its
    cells at the first processed step."""
    reference = sub(u, initial_state=initial_state, mask=mask, training=False)
    if sub.return_state:
        reference = reference[0]
    step = u[:, -1] if sub.go_backwards else u[:, 0]
    dtype = direction.cell.compute_dtype  # cast as the rerun's call would
    flat = tf.concat([
        tf.cast(tf.reshape(step, (-1, direction.input_size)), dtype),
        tf.zeros(tf.stack([tf.shape(u)[0], direction.size]), dtype=dtype),
    ], axis=-1)
    if initial_state is None:
        states = direction.perturbed.get_initial_state(batch_size=tf.shape(u)[0])
    else:
        states = list(initial_state)
    states = keras.tree.map_structure(lambda s: tf.cast(s, dtype), states)
    record = []
    direction.cell.run(flat, states, training=False, record=record)
    return reference, record


def _differs(got, want, layer):
    """Whether two runs differ beyond rounding; NaN/Inf must sit at the same
    places (a model trained into NaN is still the same computation)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return True
    finite = np.isfinite(want)
    if not np.array_equal(np.isfinite(got), finite) or not np.array_equal(
        got[~finite], want[~finite], equal_nan=True
    ):
        return True
    got, want = got[finite], want[finite]
    dtype = getattr(layer, "compute_dtype", "float32")
    tolerance = _CHECK_TOLERANCE.get(str(dtype), _CHECK_TOLERANCE_OTHER)
    scale = max(np.max(np.abs(want), initial=0.0), 1e-3)
    return not np.max(np.abs(got - want), initial=0.0) <= tolerance * scale
