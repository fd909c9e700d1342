"""The Keras callback that feeds the RNN tab."""

import collections
import contextlib
import functools
import itertools
import warnings

import keras
import numpy as np
import tensorflow as tf

from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops import gate_activations as gate_activations_lib
from tb_rnn_plugin.summary_ops import gates as gates_lib
from tb_rnn_plugin.summary_ops import health as health_lib
from tb_rnn_plugin.summary_ops import horizon as horizon_lib
from tb_rnn_plugin.summary_ops import labels as labels_lib
from tb_rnn_plugin.summary_ops import probe as probe_lib
from tb_rnn_plugin.summary_ops import summary

_QUANTITIES = (
    ("activation", summary.activation),
    ("output_gradient", summary.output_gradient),
    ("state_gradient", summary.state_gradient),
)


class RNNTensorBoard(keras.callbacks.Callback):
    """Logs per-timestep activations and gradients of recurrent layers.

    Every `update_freq` training steps (and at the first and last step of
    each `fit`), for each selected layer, on a fixed probe batch, it writes
    to `log_dir`:
      - `<layer>/activation`: the outputs y_t = h_t at every timestep (also
        for return_sequences=False),
      - `<layer>/output_gradient`: dL/dy_t through downstream layers only,
      - `<layer>/state_gradient`: the total dL/dh_t through the recurrence,
      - `<layer>/mask`: which timesteps are real, when the layer is masked.
    Bidirectional layers write each direction separately, in input-time
    order: `<layer>/forward/...` and `<layer>/backward/...`.

    With `log_weights` (the default), at the same steps, for every cell of
    every logged layer (per direction, per stacked cell) and each of its
    weight matrices (`kernel`, `recurrent_kernel`, `bias`; a GRU with
    reset_after=True has `input_bias` and `recurrent_bias` instead of
    `bias`), in Keras' own layout (gates side by side on the last axis):
      - `<layer>[/<direction>][/cell_<i>]/<matrix>/weight`,
      - `.../<matrix>/weight_gradient`: dL/dW on the probe batch (compiled
        loss plus the model's regularization losses, inference mode,
        unscaled),
    each with `/gate_stats` and `/gate_histogram`, per-gate statistics and
    histograms kept for every step.

    With `log_gate_activations` (the default), for layers of Keras' own LSTM
    and GRU cells (also Bidirectional and stacked), on the probe batch:
      - `<layer>[/<direction>][/cell_<i>]/gate_<name>`: each gate's
        activation per timestep (LSTM i, f, candidate, o; GRU z, r,
        candidate), recomputed from the cell's weights and the layer's
        inputs (Keras does not expose them),
      - `.../cell_state`: an LSTM's cell state c_t,
      - `.../gate_f/memory_timescale` (GRU: `gate_z/...`): per unit,
        T_u = -1 / ln(mean gate), kept for every step.
    SimpleRNN has no gates; ConvLSTM and users' own cells are not recomputed.

    The loss is the model's compiled loss on the probe batch, in inference
    mode (no dropout), without loss scaling. The probe batch is fixed, so
    logged steps are comparable over training. Logging problems are warned
    about once and never stop training; steps that do not log cost nothing.

    Args:
      log_dir: directory of this run's event files.
      layers: None for every recurrent layer (keras.layers.RNN subclasses and
        Bidirectional), or a list of layer names, indices into model.layers,
        or layer objects.
      update_freq: log every this many training steps (int > 0).
      probe_data: `(x, y)` or `(x, y, sample_weight)` to compute on, or a
        tf.data.Dataset whose first batch is used. None: the first training
        batch, kept for the rest of training.
      max_samples: how many samples of the probe batch to write (int > 0).
        The loss and its gradients are computed on the whole probe batch.
      log_weights: also log the cells' weights and weight gradients, split
        by gate (bool).
      log_gate_activations: also log LSTM/GRU gate activations and the LSTM
        cell state per timestep (bool).
      gradient_horizon: None (off, the default: each logging step costs
        about 3 training steps more for an LSTM(256) over 100 timesteps
        and a probe batch of 16, 1.3 with max_lag=20; README, Cost), True,
        or a dict of options for
        horizon.GradientHorizon (`max_lag`, `targets`, `method`): logs
        `<layer>[/<direction>][/cell_<i>]/gradient_horizon`, G[b, k, j] =
        ||dL_{t_k}/dh_j|| on the probe batch, with `/horizon_stats` (the
        step's max and effective horizon) and `/lag_profile` kept for every
        step.
      health_thresholds: overrides of health.DEFAULT_THRESHOLDS (a dict)
        for `<layer>[/<direction>][/cell_<i>]/activation/unit_health`, per
        unit and logged step, kept whole: dead, saturated, gate-saturated
        and exploding units (summary_ops/health.py).
      vocabulary: None, or the class names for the labels row: a list or
        tuple of strings (index = class id), or an adapted
        keras.layers.StringLookup or TextVectorization (its
        get_vocabulary()). At most metadata.MAX_VOCABULARY (50,000) entries
        are stored (the first ones, with a warning); ids past them show as
        numbers.
      full_every: write the big tensors (per-timestep tensors, gates, cell
        state, gradient horizon, weights and weight gradients) at every
        `full_every`-th logging step, counted from the last step they were
        written at (int > 0; 1: at every logging step). They are also written,
        and pinned (never sampled away), at the first logging step of each
        fit() and at each series' first logging step holding NaN or +-Inf
        (the whole step: every series). The small
        kept series (stats, profile, gate statistics and histograms, unit
        health, memory timescales, horizon statistics) are written at every
        logging step, from full-precision values.
      precision: "bfloat16" (the default: half the bytes, float32's range,
        about 3 significant digits; NaN and +-Inf kept) or "float32", how
        the big tensors' values are stored. The plugin serves both as
        float32.

    Labels (for classifiers): at the steps and for the layers that log a
    gradient horizon, `<layer>/labels` holds the true and the predicted
    class of the probe samples at each timestep of the model's output
    (metadata.LABELS; one per layer, also for Bidirectional), -1 where the
    loss ignores the timestep (masked, sample_weight 0, ignore_class). Read
    from a model with one output [batch, timesteps, classes] (or [batch,
    classes]: one label per sequence) compiled with sparse categorical or
    categorical crossentropy (argmax over the classes; also their focal
    variants) or binary crossentropy on one unit (class 1 where the output
    is > 0.5, > 0 with from_logits, and where the label is > 0.5). Other
    losses (regression) log no labels.
    """

    def __init__(
        self,
        log_dir="logs",
        layers=None,
        update_freq=100,
        probe_data=None,
        max_samples=4,
        log_weights=True,
        log_gate_activations=True,
        gradient_horizon=None,
        health_thresholds=None,
        vocabulary=None,
        full_every=10,
        precision=summary.BFLOAT16,
    ):
        super().__init__()
        _require_positive_int("update_freq", update_freq)
        _require_positive_int("max_samples", max_samples)
        _require_positive_int("full_every", full_every)
        if precision not in summary.PRECISIONS:
            raise ValueError(
                "precision must be one of %s, got %r" % (list(summary.PRECISIONS), precision)
            )
        self.log_dir = str(log_dir)
        self.layers = layers
        self.update_freq = update_freq
        self.max_samples = max_samples
        self.log_weights = bool(log_weights)
        self.log_gate_activations = bool(log_gate_activations)
        self._horizon_options = _horizon_options(gradient_horizon)
        self.health_thresholds = health_lib.thresholds_with(health_thresholds)
        self.vocabulary = _vocabulary_list(vocabulary)
        if self.vocabulary is not None and self._horizon_options is None:
            warnings.warn(
                "RNNTensorBoard: the vocabulary names the classes of the labels row, which "
                "is logged with the gradient horizon; pass gradient_horizon=True to log it",
                stacklevel=2,
            )
        # (step, labels_lib result) of the last logged step: computed once for all layers.
        self._labels_at = (None, None)
        # Tags whose metadata the current writer (event file) has written:
        # the kept series and the labels carry it on their first write only.
        self._described_writer = None
        self._described_tags = set()
        self.full_every = full_every
        self.precision = precision
        # Logging steps since the big tensors were last written.
        self._logs_since_full = 0
        # Tags of the series that have held NaN or +-Inf at a logged step.
        self._non_finite_tags = set()
        # layer -> horizon_lib.GradientHorizon, built at the first logging step.
        self._horizons = {}
        # (ids of the variables, tf.function): _traced_weight_gradients.
        self._weight_gradient_fn = None
        # layer -> GateRecorder, or None where its cells have no gates to recompute.
        self._gate_recorders = {}
        self._probe_batch = _unpack_probe_data(probe_data)
        self._layer_probes = None
        self._weight_layers = []
        self._probed_setup = None
        self._restore_train_function = None
        self._writer = None
        self._epoch_start_step = 0
        self._next_log_step = 0
        self._last_logged_step = None
        self._first_log_of_fit = True
        self._warned = set()

    # -- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        # The probes trace the compiled loss: rebuild them after compile().
        setup = (id(self.model), id(self.model.optimizer), id(self.model.loss))
        if self._probed_setup != setup:
            selected = self._selected_layers()
            self._layer_probes = self._build_probes(selected)
            self._gate_recorders = {}
            self._horizons = {}
            self._weight_gradient_fn = None  # traced with the compiled loss
            # Weights need no probe: they are logged also for a layer whose
            # per-timestep probe is unsupported or dropped.
            self._weight_layers = list(selected) if self.log_weights else []
            self._probed_setup = setup
        if self._probe_batch is None:
            self._capture_first_training_batch()
        else:
            self._check_probe_batch()
        self._next_log_step = self._iterations() + 1
        self._first_log_of_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_step = self._iterations()

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the index in this epoch of the last step just run (one
        # call may cover several steps with steps_per_execution > 1).
        if self._epoch_start_step + batch + 1 >= self._next_log_step:
            self._log_now()

    def on_train_end(self, logs=None):
        if self._restore_train_function is not None:
            self._restore_train_function()  # fit() ended before any step
        if self._last_logged_step != self._iterations():
            self._log_now()
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception as e:  # Never fail the end of training.
                self._warn_once("writer", "RNNTensorBoard: could not close the event file: %s" % e)
            self._writer = None

    def _iterations(self):
        """Training steps done so far (optimizer.iterations, also when mirrored)."""
        return int(self.model.optimizer.iterations.numpy())

    # -- choosing layers ---------------------------------------------------

    def _selected_layers(self):
        recurrent = probe_lib.recurrent_layers(self.model)
        if self.layers is None:
            if not recurrent:
                self._warn_once(
                    "model", "RNNTensorBoard: the model has no recurrent layer "
                    "(keras.layers.RNN or Bidirectional) at its top level; nothing to log"
                )
            return recurrent
        requested = self.layers
        if isinstance(requested, (str, int, keras.layers.Layer)):
            requested = [requested]
        return [self._resolve_layer(spec, recurrent) for spec in requested]

    def _resolve_layer(self, spec, recurrent):
        choices = "recurrent layers of this model: %s" % (
            [layer.name for layer in recurrent] or "none"
        )
        layers = self.model.layers
        if isinstance(spec, keras.layers.Layer):
            layer = spec if any(spec is l for l in layers) else None
        elif isinstance(spec, str):
            layer = next((l for l in layers if l.name == spec), None)
        elif isinstance(spec, int) and not isinstance(spec, bool):
            layer = layers[spec] if -len(layers) <= spec < len(layers) else None
        else:
            raise ValueError(
                "layers: each entry must be a layer name, index or layer, got %r" % (spec,)
            )
        if layer is None:
            raise ValueError("layers: no layer %r in the model; %s" % (spec, choices))
        if not probe_lib.is_recurrent(layer):
            raise ValueError(
                "layers: %r is a %s, not a recurrent layer; %s"
                % (spec, type(layer).__name__, choices)
            )
        return layer

    def _build_probes(self, layers):
        probes = []
        for layer in layers:
            try:
                probes.append(probe_lib.LayerProbe(self.model, layer))
            except Exception as e:  # Keras raises many types for unusual models.
                reason = str(e) if isinstance(e, probe_lib.UnsupportedLayerError) else (
                    "%s: %s" % (type(e).__name__, e)
                )
                self._warn_once(
                    layer.name,
                    "RNNTensorBoard: skipping layer %r (%s): %s"
                    % (layer.name, type(layer).__name__, reason),
                )
        return probes

    # -- the probe batch ---------------------------------------------------

    def _check_probe_batch(self):
        """Fails early, naming probe_data, if it does not fit the model."""
        x, y, sample_weight = self._probe_batch
        try:
            with _model_state_kept(self.model):
                y_pred = self.model(x, training=False)
                self.model.compute_loss(
                    x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
                )
        except Exception as e:  # Keras raises many types for a misfit batch.
            raise ValueError(
                "probe_data does not fit the model (it must be (x, y) or "
                "(x, y, sample_weight) as passed to model.fit): %s: %s"
                % (type(e).__name__, e)
            ) from None

    def _capture_first_training_batch(self):
        """Keeps a copy of the first batch fit() trains on, without losing it.

        Keras gives callbacks no access to batch data. fit() calls
        model.train_function(iterator) once per execution and the function
        also accepts a plain iterable of batches, so for one call we take the
        batches of that execution from the iterator, keep a numpy copy of
        the first, and train on exactly those batches; then the original
        function is back in place.
        """
        model = self.model
        train_function = model.train_function
        if train_function is None or not (self._layer_probes or self._weight_layers):
            return

        def restore():
            model.train_function = train_function
            self._restore_train_function = None

        def train_function_keeping_first_batch(iterator):
            restore()
            batches = _batches_of_one_execution(iterator, model.steps_per_execution or 1)
            first = next(batches)
            try:
                self._probe_batch = _to_numpy_batch(first, model.distribute_strategy)
            except Exception as e:  # e.g. ragged or sparse inputs
                self._warn_once(
                    "probe", "RNNTensorBoard: cannot keep the first training batch "
                    "(%s: %s); pass probe_data=(x, y) to log" % (type(e).__name__, e)
                )
            return train_function(itertools.chain([first], batches))

        model.train_function = train_function_keeping_first_batch
        self._restore_train_function = restore

    # -- writing -----------------------------------------------------------
    #
    # A logging step first computes every series (each layer's, then the
    # weights') as _Writes, then decides for the whole step whether the big
    # tensors are written (full) and pinned, then writes: the kept
    # companions at every logging step, the big tensors at full ones.

    def _log_now(self):
        try:
            step = self._iterations()
            self._next_log_step = (step // self.update_freq + 1) * self.update_freq
            if (
                self._probe_batch is None
                or not (self._layer_probes or self._weight_layers)
                or not _is_chief(self.model)
            ):
                return
            self._last_logged_step = step
            groups = []
            with _model_state_kept(self.model):
                for layer_probe in list(self._layer_probes):
                    groups.append(self._layer_writes(layer_probe, step))
                if self._weight_layers:
                    groups.append(self._weight_writes(step))
            groups = [g for g in groups if g is not None]
            # The untrained model, and each series' first NaN/Inf, must
            # never be sampled away: the whole step is written and pinned.
            pinned = self._newly_non_finite(groups) or self._first_log_of_fit
            self._logs_since_full += 1
            full = pinned or self._logs_since_full >= self.full_every
            if full:
                self._logs_since_full = 0
            self._write(groups, step, full, pinned)
            self._first_log_of_fit = False
        except Exception as e:  # Logging must never stop training.
            self._warn_once("logging", "RNNTensorBoard: logging failed: %s: %s" % (type(e).__name__, e))

    def _newly_non_finite(self, groups):
        """True if a series holds NaN or +-Inf for the first time (noted)."""
        newly = False
        for group in groups:
            for write in group.writes:
                if write.data is None or write.tag in self._non_finite_tags:
                    continue
                if not np.all(np.isfinite(write.data)):
                    self._non_finite_tags.add(write.tag)
                    newly = True
        return newly

    def _write(self, groups, step, full, pinned):
        storage = dict(full=full, pinned=pinned, precision=self.precision)
        for group in groups:
            try:
                described = self._described()
                # record_if(True): Keras' own TensorBoard callback holds a
                # global record_if(step % its update_freq == 0) around the
                # batch loop; our steps must not depend on another
                # callback's schedule.
                with self._writer.as_default(step=step), tf.summary.record_if(True), \
                        summary.metadata_once(described):
                    for write in group.writes:
                        if write.data is None:
                            write.write()
                        else:
                            write.write(**storage)
            except Exception as e:  # One layer's failure must not stop the others.
                self._warn_once(group.warn_key, "%s: %s: %s" % (group.failure, type(e).__name__, e))

    def _layer_writes(self, layer_probe, step):
        """The layer's _Group at this step, or None (warned) if it cannot be probed."""
        x, y, sample_weight = self._probe_batch
        layer = layer_probe.layer
        try:
            result = layer_probe(x, y, sample_weight)
            gate_results = self._gate_activations(layer, result)
            horizon_result = self._gradient_horizon(layer, x, y, sample_weight)
            writes = self._layer_series(layer, result, gate_results, horizon_result)
            if horizon_result is not None:
                self._log_labels(layer, result, horizon_result, step)
        except probe_lib.UnsupportedLayerError as e:
            # Found on the probe batch (e.g. a cell whose output is not its
            # state): the layer cannot be logged at any step.
            self._layer_probes.remove(layer_probe)
            self._warn_once(
                layer.name,
                "RNNTensorBoard: skipping layer %r (%s): %s" % (layer.name, type(layer).__name__, e),
            )
            return None
        except Exception as e:  # One layer's failure must not stop the others.
            self._warn_once(
                layer.name,
                "RNNTensorBoard: could not log layer %r at step %d: %s: %s"
                % (layer.name, step, type(e).__name__, e),
            )
            return None
        return _Group(
            layer.name, "RNNTensorBoard: could not log layer %r at step %d" % (layer.name, step),
            writes,
        )

    def _gate_activations(self, layer, probed):
        """The layer's recomputed gates (gate_activations.GateRecorder's
        result) on the inputs the probe saw, or [] when off or its cells have none."""
        if not self.log_gate_activations:
            return []
        if layer not in self._gate_recorders:
            try:
                self._gate_recorders[layer] = gate_activations_lib.GateRecorder(layer)
            except gate_activations_lib.UnsupportedCellError:
                self._gate_recorders[layer] = None  # SimpleRNN, ConvLSTM, own cells
        recorder = self._gate_recorders[layer]
        if recorder is None:
            return []
        return recorder(probed["inputs"], probed["mask"])

    def _gradient_horizon(self, layer, x, y, sample_weight):
        """GradientHorizon's result for the layer, or None when off or unsupported."""
        if self._horizon_options is None:
            return None
        if layer not in self._horizons:
            try:
                self._horizons[layer] = horizon_lib.GradientHorizon(
                    self.model, layer, **self._horizon_options
                )
            except (probe_lib.UnsupportedLayerError, ValueError) as e:
                self._drop_horizon(layer, e)
        horizon = self._horizons[layer]
        if horizon is None:
            return None
        try:
            return horizon(x, y, sample_weight)
        except probe_lib.UnsupportedLayerError as e:
            self._drop_horizon(layer, e)
            return None

    def _drop_horizon(self, layer, reason):
        """No horizon for this layer from now on; said once."""
        self._horizons[layer] = None
        self._warn_once(
            "horizon " + layer.name,
            "RNNTensorBoard: no gradient horizon for layer %r: %s" % (layer.name, reason),
        )

    def _weight_writes(self, step):
        """The weights' _Group: every logged layer's weight matrices and
        their gradients, by gate; None (warned) if they cannot be computed."""
        try:
            entries = _weight_entries(self._weight_layers)
            gradients = self._weight_gradients(entries)
            writes = []
            for entry, gradient in zip(entries, gradients):
                matrix = entry["matrix"]
                common = dict(
                    matrix=entry["name"],
                    gates=matrix.gates,
                    layer=entry["layer"].name,
                    cell=entry["cell"],
                    direction=entry["direction"],
                    cell_index=entry["cell_index"],
                )
                writes.append(_blob_write(
                    summary.weight, "%s/weight" % entry["prefix"], matrix.value(), **common
                ))
                if gradient is not None:
                    writes.append(_blob_write(
                        summary.weight_gradient, "%s/weight_gradient" % entry["prefix"],
                        gradient, **common
                    ))
        except Exception as e:  # Logging must never stop training.
            self._warn_once(
                "weights", "RNNTensorBoard: could not log weights at step %d: %s: %s"
                % (step, type(e).__name__, e)
            )
            return None
        return _Group("weights", "RNNTensorBoard: could not log weights at step %d" % step, writes)

    def _weight_gradients(self, entries):
        """dL/dW (numpy, per entry's matrix; None if not trainable or unconnected).

        L is the compiled loss plus the model's regularization losses
        (model.compute_loss) on the whole probe batch, in inference mode,
        without loss scaling; one tape over the logged layers' variables.
        """
        x, y, sample_weight = self._probe_batch
        variables = []
        for entry in entries:
            variable = entry["matrix"].variable
            if getattr(variable, "trainable", True) and not any(variable is v for v in variables):
                variables.append(variable)
        if not variables:
            return [None] * len(entries)
        grads = self._traced_weight_gradients(variables)(x, y, sample_weight)
        by_variable = []
        for variable, grad in zip(variables, grads):
            if isinstance(grad, tf.IndexedSlices):
                grad = tf.convert_to_tensor(grad)
            by_variable.append((variable, None if grad is None else np.asarray(grad)))
        result = []
        for entry in entries:
            matrix = entry["matrix"]
            grad = next((g for v, g in by_variable if v is matrix.variable), None)
            if grad is not None and matrix.row is not None:
                grad = grad[matrix.row]
            result.append(grad)
        return result

    def _traced_weight_gradients(self, variables):
        """A tf.function (x, y, sample_weight) -> dL/dv for `variables`,
        traced once for them: eager, the tape costs a 2-layer LSTM(256) over
        100 timesteps 1.4 s per logging step, half the step."""
        key = tuple(id(v) for v in variables)
        if self._weight_gradient_fn is None or self._weight_gradient_fn[0] != key:
            def gradients(x, y, sample_weight):
                with tf.GradientTape() as tape:
                    y_pred = self.model(x, training=False)
                    loss = self.model.compute_loss(
                        x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
                    )
                return tape.gradient(loss, variables)

            self._weight_gradient_fn = (
                key, tf.function(gradients, reduce_retracing=True, autograph=False)
            )
        return self._weight_gradient_fn[1]

    def _ensure_writer(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)

    def _described(self):
        """The tags whose metadata the current event file holds (the writer
        made if need be; a new writer, a new file, starts empty)."""
        self._ensure_writer()
        if self._described_writer is not self._writer:
            self._described_writer, self._described_tags = self._writer, set()
        return self._described_tags

    def _layer_series(self, layer, result, gate_results=(), horizon_result=None):
        """[_Write] of one layer at one logging step, in writing order."""
        keep = slice(0, self.max_samples)
        writes = []
        mask_tag = None
        if result["mask"] is not None:
            mask_tag = "%s/mask" % layer.name
            writes.append(_blob_write(
                summary.timestep_mask, mask_tag, result["mask"][keep], layer=layer.name
            ))
        for entry in result["directions"]:
            for kind, write in _QUANTITIES:
                if entry.get(kind) is None:
                    continue  # e.g. no output gradient for an inner stacked cell
                writes.append(_blob_write(
                    write,
                    "%s/%s" % (_tag_prefix(layer, entry), kind),
                    entry[kind][keep],
                    layer=layer.name,
                    cell=entry["cell"],
                    direction=entry["direction"],
                    mask_tag=mask_tag,
                    cell_index=entry.get("cell_index"),
                    channel_shape=entry.get("channel_shape"),
                ))
        writes.extend(self._health_writes(layer, result, gate_results))
        for entry in gate_results:
            common = dict(
                layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                mask_tag=mask_tag, cell_index=entry["cell_index"],
            )
            prefix = _tag_prefix(layer, entry)
            for gate, values in entry["gates"].items():
                gate_tag = "%s/gate_%s" % (prefix, gate)
                writes.append(_blob_write(
                    summary.gate_activation, gate_tag, values[keep], gate=gate, **common
                ))
                if gate == gate_activations_lib.KEEP_GATE[entry["cell"]]:
                    # Over the whole probe batch, not only the samples written.
                    writes.append(_kept_write(
                        summary.memory_timescales,
                        gate_tag,
                        gate_activations_lib.memory_timescales(values, result["mask"]),
                        gate=gate, layer=layer.name, cell=entry["cell"],
                        direction=entry["direction"], cell_index=entry["cell_index"],
                    ))
            if entry["cell_state"] is not None:
                writes.append(_blob_write(
                    summary.cell_state, "%s/cell_state" % prefix, entry["cell_state"][keep],
                    **common
                ))
        if horizon_result is not None:
            writes.extend(self._horizon_writes(layer, horizon_result, keep, mask_tag))
        return writes

    def _health_writes(self, layer, result, gate_results):
        """Unit health per direction and cell, over the whole probe batch."""
        gates_of = {(g["direction"], g["cell_index"]): g for g in gate_results}
        writes = []
        for entry in result["directions"]:
            gates = gates_of.get((entry["direction"], entry.get("cell_index")))
            names = health_lib.SATURATION_GATES.get(gates["cell"], ()) if gates else ()
            cell = _leaf_cell(layer, entry["direction"], entry.get("cell_index"))
            values = health_lib.unit_health(
                entry["activation"], entry["state_gradient"], result["mask"],
                bound=health_lib.activation_bound(cell),
                gates=[gates["gates"][n] for n in names] if names else None,
                thresholds=self.health_thresholds,
            )
            writes.append(_kept_write(
                summary.unit_health,
                "%s/activation" % _tag_prefix(layer, entry), values,
                fields=health_lib.FIELDS, thresholds=self.health_thresholds,
                layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                cell_index=entry.get("cell_index"),
            ))
        return writes

    def _horizon_writes(self, layer, horizon_result, keep, mask_tag):
        mask = horizon_result["mask"]
        writes = []
        for entry in horizon_result["directions"]:
            backward = entry["direction"] == "backward" or (
                entry["direction"] is None and getattr(layer, "go_backwards", False)
            )
            writes.append(_blob_write(
                summary.gradient_horizon,
                "%s/gradient_horizon" % _tag_prefix(layer, entry), entry["horizon"][keep],
                targets=entry["targets"], max_lag=entry["max_lag"], backward=backward,
                mask=None if mask is None else mask[keep],
                layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                mask_tag=mask_tag, cell_index=entry["cell_index"],
            ))
        return writes

    def _log_labels(self, layer, result, horizon_result, step):
        """Writes `<layer>/labels` (true and predicted class of the probe
        samples) when the model is a classifier whose output timesteps match
        the layer's (or are one label per sequence); never raises."""
        try:
            if self._labels_at[0] != step:
                self._labels_at = (step, self._probe_labels())
            labels = self._labels_at[1]
            if labels is None or not horizon_result["directions"]:
                return
            layer_steps = horizon_result["directions"][0]["horizon"].shape[-1]
            output_steps = labels["true"].shape[1]
            if labels["sequence_to_one"]:
                task = "one label per sequence: the model's output has no timestep axis"
            elif output_steps == layer_steps:
                task = None
            else:
                self._warn_once(
                    "labels " + layer.name,
                    "RNNTensorBoard: no labels for layer %r: the model's output has %d "
                    "timesteps, the layer %d" % (layer.name, output_steps, layer_steps),
                )
                return
            described = self._described()
            tag = "%s/labels" % layer.name
            keep = slice(0, self.max_samples)
            with self._writer.as_default(step=step), tf.summary.record_if(True):
                summary.labels(
                    tag, labels["true"][keep], labels["predicted"][keep],
                    vocabulary=self.vocabulary, task=task, loss=labels["loss"],
                    layer=layer.name,
                    mask_tag=None if result["mask"] is None else "%s/mask" % layer.name,
                    pinned=self._first_log_of_fit,
                    # The metadata (maybe a big vocabulary) once per event file.
                    with_metadata=tag not in described,
                )
            described.add(tag)
        except Exception as e:  # Logging must never stop training.
            self._warn_once(
                "labels", "RNNTensorBoard: could not log labels at step %d: %s: %s"
                % (step, type(e).__name__, e)
            )

    def _probe_labels(self):
        """labels_lib.probe_labels on the probe batch, or None (said once
        when the model is a classifier whose labels cannot be read)."""
        x, y, sample_weight = self._probe_batch
        try:
            labels = labels_lib.probe_labels(self.model, x, y, sample_weight)
        except labels_lib.NoLabelsError as e:
            self._warn_once("labels reading", "RNNTensorBoard: no labels row: %s" % e)
            return None
        if labels is None and self.vocabulary is not None:
            self._warn_once(
                "labels reading", "RNNTensorBoard: a vocabulary was given, but the loss %r "
                "is not one the labels row reads (sparse categorical, categorical or binary "
                "crossentropy): no labels" % (self.model.loss,)
            )
        elif labels is not None and self.vocabulary is not None and (
            len(self.vocabulary) < labels["classes"]
        ):
            self._warn_once(
                "labels vocabulary", "RNNTensorBoard: the vocabulary names %d classes, the "
                "model has %d: higher ids show as numbers"
                % (len(self.vocabulary), labels["classes"])
            )
        return labels

    def _warn_once(self, key, message):
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=3)


# One series' write at a logging step. A series with a big tensor (`data`,
# checked for NaN/Inf before writing) is written by
# write(full=, pinned=, precision=); a kept-only one (data None) by write().
_Write = collections.namedtuple("_Write", "tag data write")
# A layer's (or the weights') writes, and what a failure to write them is
# warned as (once per warn_key).
_Group = collections.namedtuple("_Group", "warn_key failure writes")


def _blob_write(op, tag, data, **fields):
    return _Write(tag, data, functools.partial(op, tag, data, **fields))


def _kept_write(op, *args, **fields):
    return _Write(None, None, functools.partial(op, *args, **fields))


def _leaf_cell(layer, direction, cell_index):
    """The cell object behind a probe entry (direction, index in a stack)."""
    if isinstance(layer, keras.layers.Bidirectional):
        layer = layer.forward_layer if direction == "forward" else layer.backward_layer
    cell = layer.cell
    if cell_index is not None and isinstance(cell, keras.layers.StackedRNNCells):
        cell = cell.cells[cell_index]
    return cell


_HORIZON_OPTIONS = ("max_lag", "targets", "method")


def _horizon_options(option):
    """gradient_horizon's argument as GradientHorizon keyword arguments, or None (off)."""
    if option is None or option is False:
        return None
    if option is True:
        return {}
    if not isinstance(option, dict):
        raise ValueError("gradient_horizon must be None, True or a dict, got %r" % (option,))
    unknown = sorted(set(option) - set(_HORIZON_OPTIONS))
    if unknown:
        raise ValueError(
            "gradient_horizon: unknown option(s) %s (known: %s)" % (unknown, list(_HORIZON_OPTIONS))
        )
    return dict(option)


def _tag_prefix(layer, entry):
    """`layer[/direction][/cell_<i>]`: where one direction's (or cell's) tags go."""
    parts = [layer.name]
    if entry["direction"] is not None:
        parts.append(entry["direction"])
    if entry.get("cell_index") is not None:
        parts.append("cell_%d" % entry["cell_index"])
    return "/".join(parts)


def _weight_entries(layers):
    """[{"layer", "prefix", "direction", "cell_index", "cell", "matrix"}] of `layers`."""
    entries = []
    for layer in layers:
        for slot in gates_lib.layer_cells(layer):
            prefix = _tag_prefix(
                layer, {"direction": slot.direction, "cell_index": slot.cell_index}
            )
            seen = {}
            for matrix in slot.matrices():
                # A user's cell may have two weights with the same leaf name.
                count = seen.get(matrix.name, 0)
                seen[matrix.name] = count + 1
                name = matrix.name if count == 0 else "%s_%d" % (matrix.name, count)
                entries.append({
                    "layer": layer,
                    "prefix": "%s/%s" % (prefix, name),
                    "name": name,
                    "direction": slot.direction,
                    "cell_index": slot.cell_index,
                    "cell": probe_lib.cell_type(slot.cell),
                    "matrix": matrix,
                })
    return entries


def _vocabulary_list(vocabulary):
    """The vocabulary argument as a list of strings (index = class id), or None."""
    if vocabulary is None:
        return None
    if isinstance(vocabulary, (keras.layers.StringLookup, keras.layers.TextVectorization)):
        tokens = [
            t.decode("utf-8", "replace") if isinstance(t, bytes) else t
            for t in vocabulary.get_vocabulary()
        ]
        # Before adapt() a lookup holds only its mask and out-of-vocabulary tokens.
        special = {"", "[UNK]", getattr(vocabulary, "oov_token", None),
                   getattr(vocabulary, "mask_token", None)}
        if all(t in special for t in tokens):
            raise ValueError(
                "vocabulary: the %s has no vocabulary yet (adapt() it or pass vocabulary= "
                "to it first)" % type(vocabulary).__name__
            )
    elif isinstance(vocabulary, (list, tuple)) or (
        isinstance(vocabulary, np.ndarray) and vocabulary.ndim == 1
    ):
        tokens = list(vocabulary)
    else:
        raise TypeError(
            "vocabulary must be None, a list or tuple of strings (index = class id), or a "
            "keras.layers.StringLookup or TextVectorization; got %s" % type(vocabulary).__name__
        )
    if not tokens:
        raise ValueError("vocabulary is empty; pass None to show class ids")
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(
                "vocabulary[%d] is a %s (%r); every entry must be a string"
                % (index, type(token).__name__, token)
            )
    if len(tokens) > metadata.MAX_VOCABULARY:
        warnings.warn(
            "RNNTensorBoard: the vocabulary has %d entries; the first %d are stored, "
            "higher class ids show as numbers" % (len(tokens), metadata.MAX_VOCABULARY),
            stacklevel=3,
        )
        tokens = tokens[:metadata.MAX_VOCABULARY]
    return tokens


def _require_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError("%s must be a positive integer, got %r" % (name, value))


def _unpack_probe_data(probe_data):
    """(x, y, sample_weight) from what the user gave, or None."""
    if probe_data is None:
        return None
    if isinstance(probe_data, tf.data.Dataset):
        probe_data = next(iter(probe_data.take(1)))
        return _to_numpy_batch(probe_data, None)
    if not isinstance(probe_data, (tuple, list)) or len(probe_data) not in (2, 3):
        raise ValueError(
            "probe_data must be (x, y), (x, y, sample_weight) or a "
            "tf.data.Dataset, got %s" % type(probe_data).__name__
        )
    x, y, sample_weight = (list(probe_data) + [None])[:3]
    return x, y, sample_weight


def _batches_of_one_execution(iterator, steps_per_execution):
    """Yields the batches one train_function call would take from `iterator`."""
    if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
        # A plain iterable (train_on_batch, or another callback's wrapper).
        yield from iter(iterator)
        return
    yield iterator.get_next()  # OutOfRangeError ends the epoch, as in Keras
    for _ in range(steps_per_execution - 1):
        optional = iterator.get_next_as_optional()
        if not optional.has_value():
            return
        yield optional.get_value()


def _to_numpy_batch(data, strategy):
    """A batch from a (possibly distributed) iterator as numpy (x, y, sw)."""

    def local(t):
        if strategy is not None and not isinstance(t, (tf.Tensor, np.ndarray)):
            # Per-replica parts of a distributed batch, put back together.
            return np.concatenate([np.asarray(p) for p in strategy.experimental_local_results(t)])
        return np.asarray(t)

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    return tuple(
        None if part is None else tf.nest.map_structure(local, part)
        for part in (x, y, sample_weight)
    )


@contextlib.contextmanager
def _model_state_kept(model):
    """Restores the model's non-trainable and metric variables after probing.

    Probing must leave training exactly as it was. model.compute_loss
    updates per-output loss trackers of multi-output models (metrics); and
    Keras 3's RNN.call draws dropout masks even with training=False, which
    advances the cells' SeedGenerator states (non-trainable variables), so
    a later training step would draw other masks.
    """
    variables = list(model.metrics_variables) + list(model.non_trainable_variables)
    values = [v.numpy() for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, values):
            variable.assign(value)


def _is_chief(model):
    """Under multi-worker tf.distribute only the chief writes."""
    resolver = getattr(model.distribute_strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None:
        return True
    return task_type == "chief" or (task_type == "worker" and resolver.task_id == 0)
