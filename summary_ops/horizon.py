"""Gradient horizon (RNNbow's itemized gradients) of one recurrent layer.

For a model whose output has a time axis (y and y_pred [B, T, ...]), the
compiled loss splits into per-timestep losses L_t with sum_t L_t = L:

  l[b, t] = w[b, t] * v[b, t] / D,   L_t = sum_b l[b, t]

where v[b, t] is the loss function's per-element value (the compiled loss
with reduction "none", e.g. mse's mean over the last axis), w the sample
weight (per sample [B] or per step [B, T]) merged with the output's Keras
mask exactly as Keras merges them (for "sum_over_batch_size"/"mean": real
steps weigh total/valid, padded steps 0; otherwise the mask is 0/1), and D
Keras' divisor (B*T for "sum_over_batch_size"/"mean", 1 for "sum", the sum
of the merged weights for "mean_with_sample_weight"). Padded steps thus have
L_t contributions of exactly 0, and since a masked step keeps the state,
dL_t/dh_j is 0 at padded j too. Regularisation losses do not depend on h and
are left out; the first call checks sum_t L_t against model.compute_loss
minus them.

The horizon is G[b, k, j] = ||dL_{t_k}/dh_j|| (sample b's part of L_t, which
is the only part that depends on sample b's h), for targets t_k and every
source step j, both in input-time order. A forward direction has G = 0 for
j > t, a backward one (go_backwards, Bidirectional's backward layer) for
j < t, unless layers after this one mix timesteps. After a go_backwards
layer that is not in a Bidirectional, the model's output, and so its loss,
runs in processing order: target t is the loss at output position T-1-t,
the one computed at input time t ("step_losses" keep the loss's own order).

Methods, all exact through the recurrence (they agree to rounding):

method="reverse" (the default): an explicit reverse-mode recurrence. One
forward pass over the layer's cell (as keras.layers.RNN runs it; the first
call checks its output against the layer's own) records every step's input
states and gives the output the layers after it see; then
a loop runs back over the steps in processing order, carrying one cotangent
(of the cell's states, all samples) per active target t: target t joins at
its own step with its direct cotangent dl_t/dy_t and leaves once the lag
exceeds max_lag. At each step, the cell's VJP is taken once for all active
cotangents, with respect to the states and eps_t only: no weight gradients.
Keras' LSTM, GRU and SimpleRNN cells (exact types, activations with a known
derivative) take a hand-written reverse step (cell_reverse: elementwise
factors saved by the forward pass, then one matmul of all A*B cotangents
with the recurrent kernel); any other cell, a stack included, the generic
one: tf.vectorized_map/pfor of a one-step tf.GradientTape over the cell,
whose forward step is recomputed once for the B samples, not per cotangent
(an op pfor cannot vectorise runs in a loop over them instead). So the work is
triangular (sum_t (t + 1) cotangent steps instead of T per target) and with
max_lag L proportional to T (L + 1), not T^2. Its direct cotangents need
the layers after this one to be time-local (l_t depends on y_t only, as for
Dense or TimeDistributed heads): then dl_t/dy_j = [j == t] dL/dy_t, and
one backward pass of L gives them all. Every call checks this with distinct
weights r_t (d(sum_t r_t l_t)/dy_j = r_j dL/dy_j, to rounding); where it
fails (a Conv1D, an RNN or attention after the layer) the call, and every
later one, falls back to method="jacobian" (`last_method` says which ran).
Masks keep the state at padded steps as keras.layers.RNN does; the output
there gets no cotangent (the loss weighs padded steps 0). Its first call
(tracing) costs ~1 s for an LSTM.

method="jacobian": dl[b, t]/deps[b, j] as rows of a batch Jacobian of the
layer's cell rerun inside LayerProbe's perturbed RNN (h_t + eps_t), with
tf.GradientTape.batch_jacobian and pfor: every target backpropagates over
the whole sequence (T^2 cotangent steps, max_lag saves nothing), and its
first call (tracing) costs ~12-15 s even for a tiny LSTM. method="tile"
tiles the batch K times (K targets), copy k contributing only its loss at
t_k, so one forward and one backward pass of a K*B batch give every row
(max_copies bounds K*B per pass, splitting the targets into chunks).
method="loop" (also GradientHorizon.loop): one backward pass per target,
as a reference.

max_lag keeps only j >= t - max_lag (forward) or j <= t + max_lag
(backward); the rest is set to 0. With "reverse" it makes the computation
cheaper in proportion; `targets` (a subset of t) does too, with every
method.

A sequence-to-one model (the loss has no time axis, e.g. return_sequences
=False after the layer) has one loss: its horizon is one row,
||dL/dh_j|| over j (LayerProbe's state gradient norms), reported with
targets=[T-1].
"""

import warnings

import numpy as np
import tensorflow as tf
import keras

from tb_rnn_plugin.summary_ops import horizon_reverse
# The horizon's statistics (pure numpy), importable from here as before.
from tb_rnn_plugin.summary_ops.horizon_stats import horizon_statistics, lag_profile  # noqa: F401
from tb_rnn_plugin.summary_ops.probe import UnsupportedLayerError, quiet_first_trace
from tb_rnn_plugin.summary_ops.split_probe import LayerProbe

_SUM_CHECK_RTOL = {"float64": 1e-8}
_SUM_CHECK_RTOL_OTHER = 1e-3
# The time-locality check (method "reverse"): largest |d(sum_t r_t l_t)/dy_j
# - r_j dL/dy_j| allowed, relative to 2 max |dL/dy| (rounding only).
_LOCAL_RTOL = {"float64": 1e-9, "float32": 1e-4}
_LOCAL_RTOL_OTHER = 1e-2


def _as_int_mask(mask, dtype):
    return tf.cast(mask, dtype)


class GradientHorizon(LayerProbe):
    """G[b, t, j] = ||dL_t/dh_j|| of one recurrent layer, on a batch.

    Args:
      model: a compiled Keras model with one output.
      layer: a keras.layers.RNN or Bidirectional in it (as for LayerProbe).
      max_lag: None, or an int >= 0: entries with lag |t - j| > max_lag on
        the causal side are set to 0.
      targets: None (every t) or a list of timesteps t (negative counts from
        the end) whose losses L_t are differentiated.
      return_vectors: also return dL_t/dh_j itself ("vectors", [B, K, T, C]).
      method: "reverse" (the default), "jacobian", "tile" or "loop" (below).
      max_copies: with method="tile", the most batch copies per pass.
      hand_written: with method="reverse", Keras' LSTM, GRU and SimpleRNN
        cells take their hand-written reverse step (cell_reverse); False
        gives every cell the generic one (pfor), as a user's own cell gets.

    Calling it on (x, y, sample_weight) returns
      {"mask": [B, T] bool or None,
       "step_losses": [B, T] l[b, t] (sum = the compiled loss without
                      regularisation), None for a sequence-to-one model,
       "directions": [ {"direction": None/"forward"/"backward",
                        "cell", "cell_index",
                        "horizon": [B, K, T] float,
                        "targets": list of t (None = all T),
                        "max_lag": int or None,
                        "vectors": [B, K, T, C] (with return_vectors)} ]}
    with one dict per direction and, for a stack of cells, per sub-cell.
    """

    METHODS = ("reverse", "tile", "jacobian", "loop")
    # What method="reverse" falls back to where the layers after this one
    # mix timesteps.
    FALLBACK = "jacobian"
    # What the reverse recurrence takes each row's gradient in
    # (horizon_reverse.reverse_direction's `source`): eps_t added to h_t.
    REVERSE_SOURCE = "state"

    def __init__(self, model, layer, max_lag=None, targets=None, return_vectors=False,
                 method="reverse", max_copies=None, hand_written=True):
        super().__init__(model, layer)
        if max_lag is not None and (int(max_lag) != max_lag or max_lag < 0):
            raise ValueError("max_lag must be None or an int >= 0, got %r" % (max_lag,))
        if method not in self.METHODS:
            raise ValueError("method must be one of %s, got %r" % (self.METHODS, method))
        self.max_lag = None if max_lag is None else int(max_lag)
        self.targets = None if targets is None else [int(t) for t in targets]
        self.return_vectors = return_vectors
        self.method = method
        self.max_copies = max_copies
        self._loss = _single_loss(model)
        self._fns = {}
        self._sum_checked = False
        self._not_time_local = False
        self.last_method = None
        self.hand_written = hand_written
        # Per direction, the reverse step method "reverse" traced:
        # "hand-written" (cell_reverse) or "pfor".
        self.reverse_steps = []

    # -- public ---------------------------------------------------------------

    def __call__(self, x, y=None, sample_weight=None):
        return self._run(self.method, x, y, sample_weight)

    def loop(self, x, y=None, sample_weight=None):
        """The same result by a second method: one backward pass per target
        (a Python loop of tape.gradient calls inside one tf.function). Slow;
        for tests and benchmarks."""
        return self._run("loop", x, y, sample_weight)

    # -- internals ------------------------------------------------------------

    def _run(self, method, x, y, sample_weight):
        if self._unsupported is not None:
            raise UnsupportedLayerError(self._unsupported)
        if method == "reverse" and self._not_time_local:
            method = self.FALLBACK
        self.last_method = method
        if method not in self._fns:
            self._fns[method] = tf.function(
                lambda x, y, w: self._horizon_eager(x, y, w, method),
                reduce_retracing=True, autograph=False,
            )
        with warnings.catch_warnings(), quiet_first_trace():
            warnings.simplefilter("ignore", UserWarning)
            mask, steps, compiled, per_direction, targets, outputs, local = self._fns[method](
                x, y, sample_weight
            )
            if not bool(local):
                # The layers after this one mix timesteps: the reverse
                # recurrence's direct cotangents would be wrong.
                self._not_time_local = True
                return self._run(self.FALLBACK, x, y, sample_weight)
            if not self._checked:  # LayerProbe's check: the rerun reproduces the layer
                self._check_reproduces_layer(x, outputs)
        if steps is not None and not self._sum_checked:
            self._check_sum(steps, compiled)
        targets = [int(t) for t in np.asarray(targets)]
        result = {
            "mask": None if mask is None else np.asarray(mask),
            "step_losses": None if steps is None else np.asarray(steps),
        }
        # The targets reported: None when every t is (a sequence-to-one
        # model's one row says which step it is).
        reported = targets if (self.targets is not None or steps is None) else None
        result.update(self._report(per_direction, targets, reported))
        return result

    def _report(self, per_direction, targets, reported):
        """{"directions": [one entry per direction and leaf cell]} (see the
        class docstring) from the computed rows; an InputDependency
        (dependency.py) reports its one sum over directions instead."""
        entries = []
        for direction, (norms, vectors) in zip(self.directions, per_direction):
            # vectors [B, K, T, C_all] (None when only the norms were
            # computed), norms [B, K, T, leaves] (None: taken from vectors).
            vectors = None if vectors is None else np.asarray(vectors)
            norms = None if norms is None else np.asarray(norms)
            backward = direction.layer.go_backwards
            for k, leaf in enumerate(direction.leaves):
                timesteps = (vectors if norms is None else norms).shape[2]
                keep = _lag_keep(targets, timesteps, self.max_lag, backward)
                part = None
                if vectors is not None:
                    part = vectors[..., direction.offsets[k]:direction.offsets[k + 1]]
                    if leaf.channels_first:
                        b, kk, t, c = part.shape
                        part = leaf.to_report_layout(part.reshape(b * kk, t, c)).reshape(part.shape)
                    part = part * keep[None, :, :, None]
                if norms is None:
                    horizon = np.sqrt(np.sum(np.square(part), axis=-1))
                else:
                    horizon = norms[..., k] * keep[None]
                entry = {
                    "direction": direction.direction,
                    "cell": leaf.name,
                    "cell_index": leaf.index,
                    "horizon": horizon,
                    "targets": reported,
                    "max_lag": self.max_lag,
                }
                if self.return_vectors:
                    entry["vectors"] = part
                entries.append(entry)
        return {"directions": entries}

    def _check_sum(self, steps, compiled):
        total = float(np.sum(np.asarray(steps, dtype=np.float64)))
        compiled = float(compiled)
        dtype = str(np.asarray(steps).dtype)
        rtol = _SUM_CHECK_RTOL.get(dtype, _SUM_CHECK_RTOL_OTHER)
        if not abs(total - compiled) <= rtol * max(abs(compiled), 1e-12) + 1e-12:
            raise UnsupportedLayerError(
                "the per-timestep losses do not add up to the compiled loss "
                "(%.6g != %.6g): its loss or output structure is not supported "
                "(one output, one loss whose per-element values are [B, T])"
                % (total, compiled)
            )
        self._sum_checked = True

    def _forward(self, u, mask, eps_all, offsets):
        flat_u = tf.reshape(u, tf.concat([tf.shape(u)[:2], [self._input_size]], axis=0))
        eps = [eps_all[..., offsets[i]:offsets[i + 1]] for i in range(len(self.directions))]
        sequences = [
            d.perturbed(tf.concat([flat_u, e], axis=-1), mask=mask, training=False)
            for d, e in zip(self.directions, eps)
        ]
        outputs = [self._layer_output(d, seq) for d, seq in zip(self.directions, sequences)]
        post_inputs = self._post_inputs(outputs, mask)
        if mask is not None and self.layer.return_sequences and not self._post_takes_mask:
            # The layer's output carries its input's mask (as keras.layers.RNN
            # computes it), so the layers after it and the loss see the
            # padding as in the model itself.
            for tensor in (post_inputs if isinstance(post_inputs, list) else [post_inputs]):
                tensor._keras_mask = mask
        return self._post(post_inputs, training=False), outputs

    def _eps(self, u, copies=1):
        size = sum(d.size for d in self.directions)
        shape = tf.concat([[copies * tf.shape(u)[0], tf.shape(u)[1]], [size]], axis=0)
        return tf.zeros(shape, dtype=u.dtype)

    def _horizon_eager(self, x, y, sample_weight, method):
        if method == "reverse":
            return self._reverse_eager(x, y, sample_weight)
        u, mask = self._pre_layer(x)
        timesteps = u.shape[1]
        if timesteps is None:
            raise UnsupportedLayerError("the batch's number of timesteps must be static")
        offsets = np.cumsum([0] + [d.size for d in self.directions]).tolist()
        eps_all = self._eps(u)
        source = self._source(u, eps_all)
        with tf.GradientTape(persistent=(method == "loop")) as tape:
            tape.watch(source)
            y_pred, outputs = self._forward(u, mask, eps_all, offsets)
            steps = self._step_losses(y, y_pred, sample_weight, timesteps)
            compiled = self.model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
            )
            if self.model.losses:
                compiled = compiled - tf.cast(tf.add_n(self.model.losses), compiled.dtype)
            targets = [timesteps - 1] if steps is None else self._normalised_targets(timesteps)
            loss_targets = self._loss_positions(targets, timesteps)
            if steps is not None and method != "tile":
                selected = tf.gather(steps, loss_targets, axis=1)  # [B, K]
            if steps is not None and method == "loop":  # slices recorded too
                per_target = [tf.reduce_sum(selected[:, k]) for k in range(len(targets))]
        if steps is None:
            # Sequence-to-one: one loss, one row.
            vectors = tape.gradient(compiled, source, unconnected_gradients="zero")[:, None]
        elif method == "loop":
            rows = [
                tape.gradient(loss_k, source, unconnected_gradients="zero")
                for loss_k in per_target
            ]
            vectors = tf.stack(rows, axis=1)
        elif method == "jacobian":
            vectors = tape.batch_jacobian(
                selected, source, unconnected_gradients="zero", experimental_use_pfor=True
            )  # [B, K, T, C_all] (or the source's per-step shape)
        else:
            chunk = len(targets) if not self.max_copies else max(1, int(self.max_copies))
            vectors = tf.concat([
                self._tiled_rows(u, mask, y, sample_weight, loss_targets[i:i + chunk], offsets)
                for i in range(0, len(targets), chunk)
            ], axis=1)
        return mask, steps, compiled, self._split_rows(vectors, offsets), tf.constant(targets), outputs, tf.constant(True)

    # -- method="reverse": an explicit reverse-mode recurrence ------------------

    def _reverse_eager(self, x, y, sample_weight):
        u, mask = self._pre_layer(x)
        timesteps = u.shape[1]
        if timesteps is None:
            raise UnsupportedLayerError("the batch's number of timesteps must be static")
        if not self.layer.return_sequences:  # sequence-to-one: one backward pass
            return self._horizon_eager(x, y, sample_weight, "loop")
        flat_u = tf.reshape(u, tf.concat([tf.shape(u)[:2], [self._input_size]], axis=0))
        # One forward pass per direction records every step's states; its
        # outputs feed the layers after this one (and the first call checks
        # them against the layer's own).
        self.reverse_steps = []
        records = []
        for d in self.directions:
            records.append(horizon_reverse.record(d, flat_u, mask, timesteps, self.hand_written))
            self.reverse_steps.append("pfor" if records[-1]["known"] is None else "hand-written")
        outputs = [self._layer_output(d, rec["sequence"]) for d, rec in zip(self.directions, records)]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(outputs)
            post_inputs = self._post_inputs(outputs, mask)
            y_pred = self._post(post_inputs, training=False)
            steps = self._step_losses(y, y_pred, sample_weight, timesteps)
            compiled = self.model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
            )
            if self.model.losses:
                compiled = compiled - tf.cast(tf.add_n(self.model.losses), compiled.dtype)
            if steps is not None:
                # Distinct weights per timestep, for the time-locality check.
                r = tf.constant(1.0 + (np.arange(timesteps) * 0.6180339887) % 1.0, steps.dtype)
                total = tf.reduce_sum(steps)
                weighted = tf.reduce_sum(steps * r[None, :])
        if steps is None:
            del tape
            return self._horizon_eager(x, y, sample_weight, "loop")
        direct = tape.gradient(total, outputs, unconnected_gradients="zero")
        direct_r = tape.gradient(weighted, outputs, unconnected_gradients="zero")
        del tape
        # Time-local: the layers after this one and the loss map output t to
        # l[:, t] alone, so dl_t/dy_j = [j == t] dL/dy_t (checked with the
        # distinct weights r: d(sum_t r_t l_t)/dy_j must be r_j dL/dy_j).
        local = tf.constant(True)
        for d, g, g_r in zip(self.directions, direct, direct_r):
            # Output position p of this direction is the loss's timestep p,
            # or T-1-p for Bidirectional's backward layer (flipped back).
            flipped = self.bidirectional and d is self.directions[1]
            r_d = tf.reverse(r, [0]) if flipped else r
            r_d = tf.reshape(tf.cast(r_d, g.dtype), [1, timesteps] + [1] * (len(g.shape) - 2))
            scale = tf.reduce_max(tf.abs(g)) * 2.0
            tol = _LOCAL_RTOL.get(g.dtype.name, _LOCAL_RTOL_OTHER)
            err = tf.reduce_max(tf.abs(g_r - r_d * g))
            local = tf.logical_and(local, err <= tol * scale + tf.cast(1e-30, g.dtype))
        targets = self._normalised_targets(timesteps)
        per_direction = [
            horizon_reverse.reverse_direction(
                d, rec, g, targets, timesteps, self.max_lag, self.return_vectors,
                source=self.REVERSE_SOURCE,
            )
            for d, rec, g in zip(self.directions, records, direct)
        ]
        return mask, steps, compiled, per_direction, tf.constant(targets), outputs, local

    def _source(self, u, eps):
        """What the rows differentiate the losses against: here eps_t, added
        to h_t ([B, T, C_all], all directions side by side); an
        InputDependency (dependency.py) takes the layer's input u."""
        return eps

    def _split_rows(self, vectors, offsets):
        """[(norms, vectors)] per direction of the rows [B, K, T, C_all]
        against _source (norms None: taken from the vectors)."""
        return [
            (None, vectors[..., offsets[i]:offsets[i + 1]]) for i in range(len(self.directions))
        ]

    def _tiled_rows(self, u, mask, y, sample_weight, targets, offsets):
        """dl[b, t_k]/deps[b, j] for the K targets: [B, K, T, C_all].

        The batch is tiled K times (copy k first); copy k contributes only
        its loss at step t_k, so one backward pass gives every row.
        """
        copies = len(targets)
        batch, timesteps = tf.shape(u)[0], u.shape[1]
        tile = lambda v: None if v is None else tf.tile(
            v, tf.concat([[copies], tf.ones([len(v.shape) - 1], tf.int32)], axis=0)
        )
        u_k, mask_k = tile(u), tile(mask)
        y_k = tile(tf.convert_to_tensor(y))
        w_k = None if sample_weight is None else tile(tf.convert_to_tensor(sample_weight))
        eps_k = self._eps(u, copies)
        source = self._source(u_k, eps_k)
        with tf.GradientTape() as tape:
            tape.watch(source)
            y_pred, _ = self._forward(u_k, mask_k, eps_k, offsets)
            steps = self._step_losses(y_k, y_pred, w_k, timesteps, copies=copies)
            pick = tf.one_hot(targets, timesteps, dtype=steps.dtype)  # [K, T]
            steps = tf.reshape(steps, tf.stack([copies, batch, timesteps]))
            loss = tf.reduce_sum(steps * pick[:, None, :])
        grad = tape.gradient(loss, source, unconnected_gradients="zero")
        grad = tf.reshape(grad, tf.stack([copies, batch, timesteps, -1]))  # per step flat
        return tf.transpose(grad, [1, 0, 2, 3])

    def _loss_positions(self, targets, timesteps):
        """The loss's timesteps of targets given in input time: the same,
        except after a go_backwards layer (not Bidirectional), whose output,
        and so the loss, runs in processing order (position q is computed at
        input time T-1-q)."""
        if not self.bidirectional and self.layer.go_backwards and self.layer.return_sequences:
            return [timesteps - 1 - t for t in targets]
        return list(targets)

    def _normalised_targets(self, timesteps):
        if self.targets is None:
            return list(range(timesteps))
        out = []
        for t in self.targets:
            n = t + timesteps if t < 0 else t
            if not 0 <= n < timesteps:
                raise ValueError("target %d is outside 0..%d" % (t, timesteps - 1))
            out.append(n)
        return out

    def _step_losses(self, y, y_pred, sample_weight, timesteps, copies=1):
        """l[b, t] with sum = the compiled loss, or None without a time axis.

        copies: the batch is that many copies of the real one; each copy's
        l is then the real batch's (Keras' divisor taken per copy)."""
        if isinstance(y_pred, (list, tuple)):
            if len(y_pred) != 1:
                raise UnsupportedLayerError("only a model with one output is supported")
            y_pred = y_pred[0]
        in_mask = getattr(y_pred, "_keras_mask", None)
        loss, reduction = self._loss
        dtype = y_pred.dtype if y_pred.dtype.is_floating else tf.float32
        y_pred_c = tf.cast(y_pred, dtype)
        y_true = tf.cast(y, dtype)
        values = loss(y_true, y_pred_c)
        if len(values.shape) != 2 or values.shape[1] != timesteps:
            return None
        out_mask = getattr(values, "_keras_mask", None)
        mask = in_mask if out_mask is None else (out_mask if in_mask is None else in_mask & out_mask)
        values = tf.cast(values, dtype)
        weight = None
        if sample_weight is not None:
            weight = tf.cast(sample_weight, dtype)
            if len(weight.shape) == 1:
                weight = weight[:, None]
            elif len(weight.shape) == 3 and weight.shape[-1] == 1:
                weight = weight[..., 0]
            weight = weight * tf.ones_like(values)
        if mask is not None:
            mask = tf.cast(mask, dtype)
            if reduction in ("mean", "sum_over_batch_size"):
                total = tf.cast(tf.size(mask), dtype)
                mask = mask * tf.math.divide_no_nan(total, tf.reduce_sum(mask))
            weight = mask if weight is None else weight * mask
        weighted = values if weight is None else values * weight
        if reduction in ("mean", "sum_over_batch_size"):
            divisor = tf.cast(tf.size(values), dtype) / copies
        elif reduction == "mean_with_sample_weight" and weight is not None:
            divisor = tf.reduce_sum(weight) / copies
        elif reduction == "mean_with_sample_weight":
            divisor = tf.cast(tf.size(values), dtype) / copies
        elif reduction == "sum":
            divisor = tf.ones((), dtype)
        else:
            raise UnsupportedLayerError("loss reduction %r is not supported" % (reduction,))
        return tf.math.divide_no_nan(weighted, divisor)


def _single_loss(model):
    """(per-element loss function, reduction) of the model's compiled loss."""
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        loss = list(loss.values())
    if isinstance(loss, (list, tuple)):
        if len(loss) != 1:
            raise UnsupportedLayerError("only a model with one output and one loss is supported")
        loss = loss[0]
    if loss is None:
        raise UnsupportedLayerError("the model is not compiled with a loss")
    loss = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(loss, keras.losses.Loss):
        return loss.call, loss.reduction or "none"
    if callable(loss):
        return _same_rank_first(loss), "sum_over_batch_size"
    raise UnsupportedLayerError("its compiled loss %r is not supported" % (loss,))


def _same_rank_first(fn):
    """`fn` called as compile() calls a plain loss function: y [B] against a
    [B, 1] output (or the reverse) is expanded or squeezed to the same rank
    first, with Keras' own rule (not public API: its LossFunctionWrapper)."""
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank

    def call(y_true, y_pred):
        return fn(*squeeze_or_expand_to_same_rank(y_true, y_pred))

    return call


def _lag_keep(targets, timesteps, max_lag, backward):
    """[K, T] 1.0 where j is within max_lag of t_k on the causal side."""
    t = np.asarray(targets)[:, None]
    j = np.arange(timesteps)[None, :]
    lag = (j - t) if backward else (t - j)
    if max_lag is None:
        return np.ones(lag.shape)
    return (lag <= max_lag).astype(np.float64)
