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

Tensors come back as numpy arrays in input-time order (a backward direction
is flipped back), shaped [samples, timesteps, units].
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

# Cells whose output is their (first) state h_t, so adding eps_t to both is
# adding it to h_t. Checked with isinstance, never by name (DESIGN.md 3).
_CELL_TYPES = (
    (keras.layers.LSTMCell, "LSTM"),
    (keras.layers.GRUCell, "GRU"),
    (keras.layers.SimpleRNNCell, "SimpleRNN"),
)

_MERGES = {
    "concat": lambda a, b: tf.concat([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "ave": lambda a, b: (a + b) / 2,
    "mul": lambda a, b: a * b,
    None: lambda a, b: [a, b],
}


class UnsupportedLayerError(ValueError):
    """The probe cannot handle this layer; the message says why."""


def is_recurrent(layer):
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def recurrent_layers(model):
    """The model's recurrent layers (RNN subclasses and Bidirectional), in order."""
    return [layer for layer in model.layers if is_recurrent(layer)]


def cell_type(cell):
    """"LSTM", "GRU" or "SimpleRNN"; raises UnsupportedLayerError otherwise."""
    for cls, name in _CELL_TYPES:
        if isinstance(cell, cls):
            return name
    raise UnsupportedLayerError(
        "its cell is a %s; per-timestep state gradients need an LSTMCell, "
        "GRUCell or SimpleRNNCell (a custom cell's hidden state is unknown)"
        % type(cell).__name__
    )


class _StatePerturbedCell(keras.layers.Layer):
    """Runs `cell` and adds eps_t, fed after x_t in the input, to h_t.

    The addition reaches both the output and the carried hidden state (state
    0 for LSTM, GRU and SimpleRNN), so dL/deps_t is the total dL/dh_t.
    """

    def __init__(self, cell, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.input_dim = input_dim
        self.state_size = cell.state_size
        self.output_size = cell.output_size

    def call(self, inputs, states, training=False):
        x_t = inputs[..., : self.input_dim]
        eps_t = inputs[..., self.input_dim :]
        h_t, new_states = self.cell(x_t, states, training=training)
        h_t = h_t + eps_t
        if isinstance(new_states, (list, tuple)):
            new_states = [h_t] + list(new_states[1:])
        else:
            new_states = h_t
        return h_t, new_states


class _Direction:
    """One keras.layers.RNN (a direction of a layer) rebuilt with eps_t."""

    def __init__(self, rnn_layer, input_dim, direction):
        self.layer = rnn_layer
        self.direction = direction
        self.cell = cell_type(rnn_layer.cell)
        self.units = rnn_layer.cell.output_size
        self.perturbed = keras.layers.RNN(
            _StatePerturbedCell(rnn_layer.cell, input_dim),
            return_sequences=True,
            go_backwards=rnn_layer.go_backwards,
            zero_output_for_mask=rnn_layer.zero_output_for_mask,
        )

    def to_input_time(self, sequence):
        """Flips a sequence in processing order back to input-time order."""
        return tf.reverse(sequence, axis=[1]) if self.layer.go_backwards else sequence


def _check_layer(layer):
    if isinstance(layer, keras.layers.Bidirectional):
        subs = [layer.forward_layer, layer.backward_layer]
    elif isinstance(layer, keras.layers.RNN):
        subs = [layer]
    else:
        raise UnsupportedLayerError("it is not a keras.layers.RNN or Bidirectional")
    for sub in subs:
        cell_type(sub.cell)
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
    called on a probe batch at each logging step.

    Raises:
      UnsupportedLayerError: the layer or the model around it cannot be
        handled; the message says why.
    """

    def __init__(self, model, layer):
        subs = _check_layer(layer)
        self.model = model
        self.layer = layer
        self.bidirectional = isinstance(layer, keras.layers.Bidirectional)
        sequence, self._mask_input = _split_inputs(layer)
        input_dim = sequence.shape[-1]
        names = ("forward", "backward") if self.bidirectional else (None,)
        self.directions = [_Direction(s, input_dim, d) for s, d in zip(subs, names)]
        self._pre, self._post = self._split_model(model, layer, sequence)
        # No autograph: the code has no Python control flow on tensors (Keras'
        # RNN builds its own while_loop), and converting it costs ~0.1 s.
        self._compute = tf.function(
            self._compute_eager, reduce_retracing=True, autograph=False
        )

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
        """Returns {"mask": [B, T] float32 or None, "directions": [dict]}.

        Each direction dict has "direction" (None, "forward" or "backward"),
        "cell", and arrays (in the model's float dtype) "activation",
        "output_gradient", "state_gradient", each [B, T, units] in
        input-time order. The mask is boolean, True for real timesteps.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mask, per_direction = self._compute(x, y, sample_weight)
        result = {
            "mask": None if mask is None else np.asarray(mask),
            "directions": [],
        }
        for direction, tensors in zip(self.directions, per_direction):
            entry = {"direction": direction.direction, "cell": direction.cell}
            entry.update({k: np.asarray(v) for k, v in tensors.items()})
            result["directions"].append(entry)
        return result

    def _compute_eager(self, x, y, sample_weight):
        pre_out = self._pre(x, training=False)
        pre_out = pre_out if isinstance(pre_out, (list, tuple)) else [pre_out]
        u = pre_out[0]
        mask = pre_out[1] if self._mask_input is not None else None
        eps = [
            tf.zeros(tf.concat([tf.shape(u)[:2], [d.units]], axis=0), dtype=u.dtype)
            for d in self.directions
        ]
        with tf.GradientTape() as tape:
            tape.watch(eps)
            sequences = [
                d.perturbed(tf.concat([u, e], axis=-1), mask=mask, training=False)
                for d, e in zip(self.directions, eps)
            ]
            # What each direction hands on: its sequence, or its last output.
            outputs = [
                seq if self.layer.return_sequences else seq[:, -1] for seq in sequences
            ]
            y_pred = self._post(self._post_inputs(outputs, mask), training=False)
            loss = self.model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
            )
        output_grads, state_grads = tape.gradient(
            loss,
            (outputs, eps),
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        per_direction = [
            {
                "activation": d.to_input_time(seq),
                "output_gradient": d.to_input_time(
                    self._output_gradient_sequence(d, out_grad, seq, mask)
                ),
                # eps is fed in input-time order, so its gradient already is.
                "state_gradient": state_grad,
            }
            for d, seq, out_grad, state_grad in zip(
                self.directions, sequences, output_grads, state_grads
            )
        ]
        return mask, per_direction

    def _output_gradient_sequence(self, direction, output_grad, sequence, mask):
        """dL/dy_t over all timesteps, in processing order.

        With return_sequences=False only the last output reaches the loss.
        Under a mask that output is h at the last real timestep (Keras carries
        it over the padding), so that is where its gradient belongs; every
        other timestep's output gradient is exactly 0.
        """
        if self.layer.return_sequences:
            return output_grad
        timesteps = tf.shape(sequence)[1]
        if mask is None or direction.layer.zero_output_for_mask:
            last = tf.fill(tf.shape(sequence)[:1], timesteps - 1)
        else:
            real = tf.cast(direction.to_input_time(mask), tf.int32)  # processing order
            last = timesteps - 1 - tf.argmax(tf.reverse(real, axis=[1]), axis=1, output_type=tf.int32)
        at_last = tf.one_hot(last, timesteps, dtype=output_grad.dtype)
        return at_last[:, :, None] * output_grad[:, None, :]

    def _post_inputs(self, outputs, mask):
        """Turns the per-direction outputs into the layer's output."""
        if self.bidirectional:
            forward, backward = outputs
            if self.layer.return_sequences:
                backward = tf.reverse(backward, axis=[1])
            merged = _MERGES[self.layer.merge_mode](forward, backward)
            outputs = merged if isinstance(merged, list) else [merged]
        else:
            outputs = list(outputs)
        if self._post_takes_mask:
            outputs = outputs + [mask]
        return outputs if len(outputs) > 1 else outputs[0]


def compute_timestep_tensors(model, layer, x, y=None, sample_weight=None):
    """One-shot convenience: LayerProbe(model, layer)(x, y, sample_weight).

    `layer` is a layer object, name or index into model.layers. For repeated
    calls build a LayerProbe once (it traces a tf.function).
    """
    if isinstance(layer, (str, int)):
        layer = model.get_layer(name=layer) if isinstance(layer, str) else model.layers[layer]
    return LayerProbe(model, layer)(x, y, sample_weight)
