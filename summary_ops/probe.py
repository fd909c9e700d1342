"""Exact per-timestep activations and gradients of one recurrent layer.

For a layer with hidden states h_t, on a fixed probe batch:
  activation       y_t = h_t (every timestep, also for return_sequences=False)
  output gradient  dL/dy_t through the downstream layers only
  state gradient   dL/dh_t in total, including the path through the recurrence

All three come from one forward and one backward pass. The model is split at
the layer (Keras clones the graph around it, sharing weights); the layer's own
cell runs again inside a keras.layers.RNN that adds a zero tensor eps_t to h_t,
both to the output and to the state carried to t+1. Then dL/deps_t is exactly
the total state gradient. Cloning the layer with return_sequences=True would
only give the gradient at the last step.

Every cell whose output is its first state works: LSTM, GRU, SimpleRNN,
ConvLSTM1D/2D/3D, a user's own cell, and a stack of cells
(keras.layers.RNN([cell_a, cell_b]), StackedRNNCells), where each sub-cell k
gets its own eps^k added to its h^k, which feeds cell k+1 at the same step and
cell k itself at the next. The first call checks, on the probe batch, that the
rebuilt RNN reproduces the layer's own output.

Tensors come back as numpy arrays in input-time order (a backward direction
is flipped back), shaped [samples, timesteps, channels]; a per-timestep state
with more than one axis (ConvLSTM: spatial..., filters) is flattened in C
order, and "channel_shape" gives its shape.
"""

import contextlib
import inspect
import math
import warnings

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


def recurrent_layers(model):
    """The model's recurrent layers (RNN subclasses and Bidirectional), in order."""
    return [layer for layer in model.layers if is_recurrent(layer)]


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


def _check_layer(layer):
    if isinstance(layer, keras.layers.Bidirectional):
        subs = [layer.forward_layer, layer.backward_layer]
    elif isinstance(layer, keras.layers.RNN):
        subs = [layer]
    else:
        raise UnsupportedLayerError("it is not a keras.layers.RNN or Bidirectional")
    for sub in subs:
        if sub.stateful:
            raise UnsupportedLayerError("stateful=True is not supported")
    if layer.return_state:
        raise UnsupportedLayerError("return_state=True is not supported")
    return subs


def _split_inputs(layer):
    """(sequence, mask) KerasTensors the layer was called with in the model."""
    try:
        flat = layer.input
    except (AttributeError, ValueError) as e:
        raise UnsupportedLayerError(
            "the model has no graph to split at it (start a Sequential model "
            "with keras.Input(shape), or build a functional model): %s" % e
        ) from None
    flat = flat if isinstance(flat, (list, tuple)) else [flat]
    sequence, rest = flat[0], list(flat[1:])
    masks = [t for t in rest if t.dtype == "bool" and len(t.shape) == 2]
    if len(masks) != len(rest):
        raise UnsupportedLayerError(
            "it is called with initial_state or extra inputs; only a sequence "
            "(and its mask) is supported"
        )
    mask = masks[0] if masks else getattr(sequence, "_keras_mask", None)
    return sequence, mask


class LayerProbe:
    """Computes activations, output and state gradients of one layer.

    Built once per layer (the split models and a traced tf.function), then
    called on a probe batch at each logging step. The first call also checks
    that the rebuilt RNN reproduces the layer's own output on that batch.

    Raises:
      UnsupportedLayerError: the layer or the model around it cannot be
        handled; the message says why. From the first call: the layer's
        cell does not output its first state, or the layer's output is not
        its cell's run in keras.layers.RNN.
    """

    def __init__(self, model, layer):
        subs = _check_layer(layer)
        self.model = model
        self.layer = layer
        self.bidirectional = isinstance(layer, keras.layers.Bidirectional)
        sequence, self._mask_input = _split_inputs(layer)
        step_input_shape = tuple(sequence.shape[2:])
        if None in step_input_shape:
            raise UnsupportedLayerError(
                "its input's per-timestep shape %s is not fully known" % (step_input_shape,)
            )
        self._input_size = math.prod(step_input_shape)
        names = ("forward", "backward") if self.bidirectional else (None,)
        self.directions = [Direction(s, step_input_shape, d) for s, d in zip(subs, names)]
        self._pre, self._post = self._split_model(model, layer, sequence)
        # No autograph: the code has no Python control flow on tensors (Keras'
        # RNN builds its own while_loop), and converting it costs ~0.1 s.
        self._compute = tf.function(
            self._compute_eager, reduce_retracing=True, autograph=False
        )
        self._checked = False
        self._unsupported = None

    def _split_model(self, model, layer, sequence):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                pre_outputs = [sequence] + ([self._mask_input] if self._mask_input is not None else [])
                pre = keras.Model(model.inputs, pre_outputs)
                outputs = layer.output if isinstance(layer.output, list) else [layer.output]
                try:
                    post = keras.Model(outputs, model.outputs)
                    self._post_takes_mask = False
                except ValueError:
                    if self._mask_input is None:
                        raise
                    # Downstream layers use the mask computed upstream.
                    post = keras.Model(outputs + [self._mask_input], model.outputs)
                    self._post_takes_mask = True
            except (ValueError, AttributeError, TypeError) as e:
                raise UnsupportedLayerError(
                    "the model cannot be split at it (every path from the "
                    "inputs to the outputs must pass through the layer, and "
                    "the model must be functional or Sequential): %s" % e
                ) from None
        return pre, post

    def __call__(self, x, y=None, sample_weight=None):
        """Returns {"mask": [B, T] bool or None, "inputs": the layer's input
        sequence [B, T, ...] (what it received on x), "directions": [dict]}.

        One dict per direction (None, "forward" or "backward") and, for a
        stack of cells, per sub-cell in call order (forward ones first):
          "direction", "cell" (the sub-cell's type: "LSTM", "GRU",
          "SimpleRNN", "ConvLSTM2D"..., or a custom cell's class name),
          "cell_index" (position in the stack, None for a single cell),
          "channel_shape" (the unflattened per-timestep shape, e.g. [H, W, F]
          for ConvLSTM2D; None for a vector state),
        and arrays [B, T, C] (C = prod(channel_shape) or units) in the model's
        float dtype, in input-time order: "activation" (h_t),
        "state_gradient" (total dL/dh_t), "output_gradient" (dL/dy_t; None
        for all but the last cell of a stack, whose h is not the output).
        """
        if self._unsupported is not None:
            raise UnsupportedLayerError(self._unsupported)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mask, per_direction, outputs, inputs = self._compute(x, y, sample_weight)
            if not self._checked:
                self._check_reproduces_layer(x, outputs)
        return {
            "mask": None if mask is None else np.asarray(mask),
            "inputs": np.asarray(inputs),
            "directions": direction_entries(self.directions, per_direction),
        }

    def _compute_eager(self, x, y, sample_weight):
        u, mask = self._pre_layer(x)
        flat_u = tf.reshape(u, tf.concat([tf.shape(u)[:2], [self._input_size]], axis=0))
        eps = [
            tf.zeros(tf.concat([tf.shape(u)[:2], [d.size]], axis=0), dtype=u.dtype)
            for d in self.directions
        ]
        with tf.GradientTape() as tape:
            tape.watch(eps)
            sequences = [
                d.perturbed(tf.concat([flat_u, e], axis=-1), mask=mask, training=False)
                for d, e in zip(self.directions, eps)
            ]
            # What each direction hands on: its last cell's sequence, or its
            # last output, in the layer's own shape.
            outputs = [self._layer_output(d, seq) for d, seq in zip(self.directions, sequences)]
            y_pred = self._post(self._post_inputs(outputs, mask), training=False)
            loss = self.model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
            )
        output_grads, state_grads = tape.gradient(
            loss,
            (outputs, eps),
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        per_direction = []
        for d, seq, out_grad, state_grad in zip(
            self.directions, sequences, output_grads, state_grads
        ):
            flat_grad = tf.reshape(
                out_grad, tf.concat([tf.shape(out_grad)[:-len(d.leaves[-1].shape)], [-1]], axis=0)
            )
            per_direction.append({
                "activation": d.to_input_time(seq),
                "output_gradient": d.to_input_time(
                    self._output_gradient_sequence(d, flat_grad, seq, mask)
                ),
                # eps is fed in input-time order, so its gradient already is.
                "state_gradient": state_grad,
            })
        return mask, per_direction, outputs, u

    def _pre_layer(self, x):
        pre_out = self._pre(x, training=False)
        pre_out = pre_out if isinstance(pre_out, (list, tuple)) else [pre_out]
        return pre_out[0], (pre_out[1] if self._mask_input is not None else None)

    def _layer_output(self, direction, sequence):
        return direction.layer_output(sequence, self.layer.return_sequences)

    def _output_gradient_sequence(self, direction, output_grad, sequence, mask):
        """dL/dy_t of the last cell over all timesteps, in processing order;
        with return_sequences=False only the last output reaches the loss."""
        if self.layer.return_sequences:
            return output_grad
        return at_last_real_step(direction, sequence, mask, output_grad)

    def _post_inputs(self, outputs, mask):
        """Turns the per-direction outputs into the layer's output."""
        if self.bidirectional:
            forward, backward = outputs
            if self.layer.return_sequences:
                backward = tf.reverse(backward, axis=[1])
            merged = MERGES[self.layer.merge_mode](forward, backward)
            outputs = merged if isinstance(merged, list) else [merged]
        else:
            outputs = list(outputs)
        if mask is not None and self.layer.return_sequences and not self._post_takes_mask:
            # In the model the layer's output carries the mask (Keras'
            # compute_mask), so the layers after it and the compiled loss
            # skip padded steps; the split model's inputs must carry it too.
            for output in outputs:
                output._keras_mask = mask
        if self._post_takes_mask:
            outputs = outputs + [mask]
        return outputs if len(outputs) > 1 else outputs[0]

    # -- the first call's check ----------------------------------------------

    def _check_reproduces_layer(self, x, outputs):
        """Raises UnsupportedLayerError unless, on this batch, each direction's
        own layer gives the rebuilt run's output (at eps = 0) and every cell's
        first-step output is its first state."""
        u, mask = self._pre_layer(x)
        problems = [
            check_direction(d, d.layer, u, mask, None, got)
            for d, got in zip(self.directions, outputs)
        ]
        self._checked = True
        problems = [p for p in problems if p is not None]
        if problems:
            self._unsupported = problems[0]
            raise UnsupportedLayerError(self._unsupported)


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


def compute_timestep_tensors(model, layer, x, y=None, sample_weight=None):
    """One-shot convenience: LayerProbe(model, layer)(x, y, sample_weight).

    `layer` is a layer object, name or index into model.layers. For repeated
    calls build a LayerProbe once (it traces a tf.function).
    """
    if isinstance(layer, (str, int)):
        layer = model.get_layer(name=layer) if isinstance(layer, str) else model.layers[layer]
    return LayerProbe(model, layer)(x, y, sample_weight)
