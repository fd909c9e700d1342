"""A recurrent layer probed on the model split at it (Keras clones the
graph on both sides, sharing weights): the layer's own cell reruns with
eps_t added to h_t between the two halves.

The callback probes layers in place (model_probe.ModelProbe), which works
on every model; this split probe remains the gradient horizon's base (its
methods rerun the layer's part many times without the rest of the model)
and, in the tests, a second computation of the same numbers. It needs
every path from the inputs to the outputs to pass through the layer.
"""

import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from tb_rnn_plugin.summary_ops.probe import (
    MERGES,
    Direction,
    UnsupportedLayerError,
    at_last_real_step,
    check_direction,
    direction_entries,
)


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
