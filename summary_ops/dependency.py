"""Input dependency (the "information dependency" of Karpathy et al.'s
notebook, Distill's "connectivity") of the first recurrent layer fed by a
model input.

D[b, k, j] = ||dL_{t_k} / de_j||, the L2 norm over e_j's per-timestep
axes, where e_j is the layer's input at timestep j (an embedding vector, or
the features) and L_t the loss at output position t, sample b's part: how
much the loss at t depends on what the layer read at j. Both axes are in
input-time order.

It is the gradient horizon's construction (horizon.GradientHorizon) with
e_j in place of h_j, so it shares everything but the differentiated
tensor: the per-timestep losses l[b, t] (they add up to the compiled loss
without regularisation, checked at the first call), the targets (a subset
of t, negative ones counted from the end; after a go_backwards layer not
in a Bidirectional, target t is the loss computed at input time t), the
sequence-to-one case (one row, targets [T-1]) and the methods:

"reverse" (the default), the horizon's reverse recurrence over the layer's
steps (horizon_reverse), each step's VJP taken in its input x_p as well
as its states, always by the generic step (pfor over a one-step tape: the
hand-written cell_reverse steps give state cotangents only). Where the
layers after this one mix timesteps (another RNN stacked after it, a
Conv1D, attention) its direct cotangents do not hold, and every call
falls back to "tile" (`last_method` says which ran);
"tile": the batch tiled once per target, one forward and one backward
pass of a K*B batch (`max_copies` bounds K*B per pass);
"jacobian" and "loop" (one backward pass per target), for checks.

The gradient reaches e_j through every path after it: every direction of
a Bidirectional layer (one sum, so one series without a direction), the
layers stacked after the layer and the head. Where a step is padded
(masked), the layer keeps its state and ignores e_j, so D is 0 there.

Which layer: "first" means that no recurrent layer lies between a model
input and the layer (InputDependency raises NotFirstLayerError
otherwise): a model with stacked recurrent layers has one. As for the
horizon, every path from the inputs to the outputs must pass through it
(two inputs, each through its own recurrent layer: unsupported). e_j is what the
layer receives: the Embedding's vectors (also after dropout or a Dense),
not the token ids, which have no gradient.
"""

import numpy as np
import tensorflow as tf

from tb_rnn_plugin.summary_ops import horizon as horizon_lib
from tb_rnn_plugin.summary_ops import model_probe as model_probe_lib
from tb_rnn_plugin.summary_ops import probe as probe_lib


class NotFirstLayerError(probe_lib.UnsupportedLayerError):
    """The layer is fed by another recurrent layer: its input dependency
    is not logged (the first recurrent layer's is)."""


class InputDependency(horizon_lib.GradientHorizon):
    """D[b, k, j] = ||dL_{t_k}/de_j|| of one recurrent layer, on a batch.

    Args:
      model: a compiled Keras model with one output and one loss.
      layer: a keras.layers.RNN or Bidirectional in it, fed by a model
        input through no other recurrent layer (the split probe's
        conditions hold: every path from the inputs to the outputs passes
        through it).
      targets: None (every t) or a list of timesteps t (negative counts from
        the end) whose losses L_t are differentiated.
      method: "reverse" (the default), "tile", "jacobian" or "loop" (see the
        module).
      max_copies: with method="tile", the most batch copies per pass.

    Calling it on (x, y, sample_weight) returns
      {"mask": [B, T] bool or None,
       "step_losses": [B, T] l[b, t] (sum = the compiled loss without
                      regularisation), None for a sequence-to-one model,
       "dependency": [B, K, T] float64, D in input-time order,
       "targets": list of t (None = all T)}.

    Raises:
      UnsupportedLayerError: as GradientHorizon, and (at construction) when
        a recurrent layer feeds this one (NotFirstLayerError).
      ValueError: an unknown method, or a target outside the sequence.
    """

    METHODS = ("reverse", "tile", "jacobian", "loop")
    FALLBACK = "tile"
    REVERSE_SOURCE = "input"

    def __init__(self, model, layer, targets=None, method="reverse", max_copies=None):
        # The reverse recurrence takes the generic (pfor) step: the
        # hand-written ones (cell_reverse) give state cotangents only.
        super().__init__(
            model, layer, targets=targets, method=method, max_copies=max_copies,
            hand_written=False,
        )
        upstream = recurrent_upstream(self._pre)
        if upstream:
            raise NotFirstLayerError(
                "recurrent layer %r feeds it: the input dependency is taken at the first "
                "recurrent layer fed by a model input" % upstream[0].name
            )

    def _source(self, u, eps):
        return u  # e_j: the layer's input

    def _split_rows(self, vectors, offsets):
        # dL_t/de_j over e_j's per-timestep axes, flattened: [B, K, T, F].
        # The directions share e: one entry.
        shape = tf.shape(vectors)
        return [(None, tf.reshape(vectors, tf.concat([shape[:3], [-1]], axis=0)))]

    def _report(self, per_direction, targets, reported):
        # The directions' gradients in e_j add up (method "reverse" runs
        # them apart); in float64: squares of small float32 gradients
        # would underflow.
        vectors = sum(np.asarray(v, dtype=np.float64) for _, v in per_direction)
        return {"dependency": np.sqrt(np.sum(np.square(vectors), axis=-1)), "targets": reported}


def recurrent_upstream(pre_model):
    """The recurrent layers (also inside nested models) of the model that
    computes a layer's input from the model's inputs (LayerProbe's `_pre`)."""
    return model_probe_lib.recurrent_layers(pre_model)
