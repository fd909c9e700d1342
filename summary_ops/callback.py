"""The Keras callback that feeds the RNN tab."""

import warnings

import keras
import tensorflow as tf

from tb_rnn_plugin.summary_ops import collectors as collectors_lib
from tb_rnn_plugin.summary_ops.callback_arguments import (
    DEPENDENCY_OPTIONS, HORIZON_OPTIONS, is_chief, options, require_positive_int, vocabulary_list,
)
from tb_rnn_plugin.summary_ops import health as health_lib
from tb_rnn_plugin.summary_ops import input_sources
from tb_rnn_plugin.summary_ops import model_probe as model_probe_lib
from tb_rnn_plugin.summary_ops import probe as probe_lib
from tb_rnn_plugin.summary_ops import probe_batch as probe_batch_lib
from tb_rnn_plugin.summary_ops import probe_collectors
from tb_rnn_plugin.summary_ops import size_budget
from tb_rnn_plugin.summary_ops import summary
from tb_rnn_plugin.summary_ops import write_path


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
    logged steps are comparable over training. That loss (with the
    regularization and add_loss terms, as fit() reports it) and the
    compiled metrics on the probe batch go to `probe/loss` at every logging
    step (run_summary.probe_loss; the metrics computed statelessly, so the
    ones fit() reports are untouched). Logging problems are warned
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
      input_dependency: None (off), True, or a dict of options (`targets`,
        `method`, `max_copies`) for dependency.InputDependency: logs
        `<layer>/input_dependency`, ||dL_{t_k}/de_j|| (e_j the layer's input)
        on the first recurrent layer fed by each model input (docs/callback.md).
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
      input_vocabulary: the strings of the token ids logged as `tokens`: a
        list, a Keras lookup layer, or a callable id -> str; None: the
        vocabulary of a StringLookup / TextVectorization feeding the
        Embedding, if any (not `vocabulary`, which names classes).
      max_step_bytes: the most bytes the big tensors of a full logging step
        may take (int, default 20 MB), or None for no limit. Measured at the
        first logging step, before writing: above it, fewer probe samples
        are written and then ConvLSTM states are averaged over blocks of
        spatial positions, with one warning saying what was done.

    Inputs: `probe/fingerprint` (a hash of the probe batch) at every logging
    step; `<layer>/tokens` or `<layer>/input_features` once per run and
    when the probe batch changes (docs/callback.md, "Probe batch").

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
        input_dependency=None,
        health_thresholds=None,
        vocabulary=None,
        full_every=10,
        precision=summary.BFLOAT16,
        max_step_bytes=20_000_000,
        input_vocabulary=None,
    ):
        super().__init__()
        require_positive_int("update_freq", update_freq)
        require_positive_int("max_samples", max_samples)
        require_positive_int("full_every", full_every)
        if max_step_bytes is not None:
            require_positive_int("max_step_bytes", max_step_bytes)
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
        self._horizon_options = options("gradient_horizon", gradient_horizon, HORIZON_OPTIONS)
        self._dependency_options = options("input_dependency", input_dependency, DEPENDENCY_OPTIONS)
        self.health_thresholds = health_lib.thresholds_with(health_thresholds)
        self.vocabulary = vocabulary_list(vocabulary)
        if self.vocabulary is not None and self._horizon_options is None:
            warnings.warn(
                "RNNTensorBoard: the vocabulary names the classes of the labels row, which "
                "is logged with the gradient horizon; pass gradient_horizon=True to log it",
                stacklevel=2,
            )
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
        self._probe_batch = probe_batch_lib.unpack_probe_data(probe_data)
        self.max_step_bytes = max_step_bytes
        self._inputs = probe_collectors.Inputs(
            input_sources.checked_input_vocabulary(input_vocabulary), max_step_bytes,
            self._warn_once,
        )
        # What the size budget lets a full step write (set at the first log).
        self._budget_checked = False
        self._samples = max_samples
        self._spatial_pool = 1
        # Built at on_train_begin for each compile (they trace its loss):
        self._model_probe = None  # model_probe.ModelProbe of the logged layers
        self._layer_collectors = []  # collectors_lib, in collecting order
        self._labels = None  # collectors_lib.Labels
        self._probe_loss = None  # probe_collectors.ProbeLoss
        self._weight_layers = []  # the layers whose weights are logged
        self._weights = None  # collectors_lib.Weights of them, made at the first log
        self._probed_setup = None
        self._restore_train_function = None
        self._writer = None
        self._group_writer = write_path.GroupWriter()
        self._epoch_start_step = 0
        self._next_log_step = 0
        self._last_logged_step = None
        self._first_log_of_fit = True
        self._warned = set()

    # -- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        # The probe traces the compiled loss: rebuild it after compile().
        setup = (id(self.model), id(self.model.optimizer), id(self.model.loss))
        if self._probed_setup != setup:
            self._build(self._selected_layers())
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
        recurrent = model_probe_lib.recurrent_layers(self.model)
        if self.layers is None:
            if not recurrent:
                self._warn_once(
                    "model", "RNNTensorBoard: the model has no recurrent layer "
                    "(keras.layers.RNN or Bidirectional, also inside nested "
                    "models); nothing to log"
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
        # Names and objects also reach recurrent layers of nested models.
        named = layers + [l for l in recurrent if not any(l is m for m in layers)]
        if isinstance(spec, keras.layers.Layer):
            layer = spec if any(spec is l for l in named) else None
        elif isinstance(spec, str):
            layer = next((l for l in named if l.name == spec), None)
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

    def _build(self, layers):
        """The probe and the collectors for `layers`. Weights need no probe:
        they are logged also for a layer whose per-timestep probe is
        unsupported or dropped."""
        self._weights = None  # at the first logging step: the model may not be built yet
        self._weight_layers = list(layers) if self.log_weights else []
        self._model_probe = model_probe_lib.ModelProbe(self.model, layers)
        self._warn_unsupported()
        self._layer_collectors = [collectors_lib.TimestepTensors()]
        if self.log_gate_activations:
            self._layer_collectors.append(collectors_lib.GateActivations())
        self._layer_collectors.append(collectors_lib.UnitHealth(self.health_thresholds))
        if self._horizon_options is not None:
            self._layer_collectors.append(
                collectors_lib.Horizons(self.model, self._horizon_options, self._warn_once)
            )
        if self._dependency_options is not None:
            self._layer_collectors.append(collectors_lib.InputDependencies(
                self.model, self._dependency_options, self._warn_once
            ))
        self._labels = collectors_lib.Labels(self.model, self.vocabulary, self._warn_once)
        self._probe_loss = probe_collectors.ProbeLoss(self.model)

    def _warn_unsupported(self):
        for layer, reason in self._model_probe.unsupported.items():
            self._warn_once(
                layer.name,
                "RNNTensorBoard: skipping layer %r (%s): %s. Its weights are still "
                "logged; see the README's 'What is not supported'"
                % (layer.name, type(layer).__name__, reason),
            )

    def _check_probe_batch(self):
        """Fails early, naming probe_data, if it does not fit the model."""
        x, y, sample_weight = self._probe_batch
        try:
            with model_probe_lib.model_state_kept(self.model):
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
        """Keeps a copy of the first batch fit() trains on (probe_batch)."""
        if self.model.train_function is None or not self._logs_anything():
            return

        def keep(batch):
            self._probe_batch = batch

        def cannot_keep(e):
            self._warn_once(
                "probe", "RNNTensorBoard: cannot keep the first training batch "
                "(%s: %s); pass probe_data=(x, y) to log" % (type(e).__name__, e)
            )

        restore = probe_batch_lib.keep_first_training_batch(self.model, keep, cannot_keep)

        def restore_once():
            restore()
            self._restore_train_function = None

        self._restore_train_function = restore_once

    def _logs_anything(self):
        return bool(self._model_probe.layers or self._weight_layers)

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
            if self._probe_batch is None or not self._logs_anything() or not is_chief(self.model):
                return
            self._last_logged_step = step
            # Everything that runs the model (the probe, labels, horizons)
            # inside: RNN calls draw dropout masks even in inference mode.
            with model_probe_lib.model_state_kept(self.model):
                probed = self._probe(step)
                if probed is None:
                    return
                groups, labels = self._collect(probed, step)
                if not self._budget_checked:
                    groups, labels = self._keep_in_budget(probed, step, groups, labels)
            # The untrained model, and each series' first NaN/Inf, must
            # never be sampled away: the whole step is written and pinned.
            pinned = (
                collectors_lib.newly_non_finite(groups, self._non_finite_tags)
                or self._first_log_of_fit
            )
            self._logs_since_full += 1
            full = pinned or self._logs_since_full >= self.full_every
            if full:
                self._logs_since_full = 0
            self._write(groups, step, full, pinned)
            self._write_labels(labels, step)
            self._write_inputs(probed, step)
            self._first_log_of_fit = False
        except Exception as e:  # Logging must never stop training.
            self._warn_once("logging", "RNNTensorBoard: logging failed: %s: %s" % (type(e).__name__, e))

    def _probe(self, step):
        """The probe pass's result at this step, or None (warned)."""
        if self._weight_layers and self._weights is None:
            self._weights = collectors_lib.Weights(self._weight_layers)
            self._model_probe.variables = self._weights.variables
        try:
            probed = self._model_probe(*self._probe_batch)
        except Exception as e:  # Keras raises many types for unusual models.
            self._warn_once(
                "probe", "RNNTensorBoard: the probe pass failed at step %d: %s: %s"
                % (step, type(e).__name__, e)
            )
            return None
        self._warn_unsupported()
        return probed

    def _keep_in_budget(self, probed, step, groups, labels):
        """At the first logging step: fewer samples, then pooled ConvLSTM
        positions, until a full step fits max_step_bytes (said once)."""
        self._budget_checked = True
        size = size_budget.step_bytes(groups, self.precision)
        if self.max_step_bytes is None or size <= self.max_step_bytes:
            return groups, labels
        shapes = [
            e.get("channel_shape") for r in probed["layers"].values() for e in r["directions"]
        ]
        smallest = size_budget.smallest_spatial_size(shapes)
        reduced = size
        while reduced > self.max_step_bytes:
            if self._samples > 1:
                self._samples = max(1, min(
                    self._samples - 1, int(self._samples * self.max_step_bytes / reduced)
                ))
            elif self._spatial_pool * 2 <= smallest:
                self._spatial_pool *= 2
            else:
                break
            groups, labels = self._collect(probed, step)
            reduced = size_budget.step_bytes(groups, self.precision)
        warnings.warn(size_budget.describe(
            self._samples, self.max_samples, self._spatial_pool, (size, reduced),
            self.max_step_bytes,
        ), stacklevel=4)
        return groups, labels

    def _collect(self, probed, step):
        """The step's writes (a Group per layer, then the weights') and labels."""
        groups, labels = [], []
        for layer, result in probed["layers"].items():
            ctx = collectors_lib.LayerStep(
                layer, result, step, self._probe_batch, self._samples, self._spatial_pool
            )
            failure = "RNNTensorBoard: could not log layer %r at step %d" % (layer.name, step)
            try:
                writes = [w for c in self._layer_collectors for w in c.collect(ctx)]
                labels.extend(self._labels.collect(ctx))
            except Exception as e:  # One layer's failure must not stop the others.
                self._warn_once(layer.name, "%s: %s: %s" % (failure, type(e).__name__, e))
                continue
            groups.append(collectors_lib.Group(layer.name, failure, writes))
        if self._weights is not None:
            failure = "RNNTensorBoard: could not log weights at step %d" % step
            try:
                writes = self._weights.collect(probed["weight_gradients"])
                groups.append(collectors_lib.Group("weights", failure, writes))
            except Exception as e:  # Logging must never stop training.
                self._warn_once("weights", "%s: %s: %s" % (failure, type(e).__name__, e))
        failure = "RNNTensorBoard: could not log the probe loss at step %d" % step
        try:
            writes = self._probe_loss.collect(probed, self._probe_batch)
            groups.append(collectors_lib.Group("probe loss", failure, writes))
        except Exception as e:  # Logging must never stop training.
            self._warn_once("probe loss", "%s: %s: %s" % (failure, type(e).__name__, e))
        return groups, labels

    def _write(self, groups, step, full, pinned):
        storage = dict(full=full, pinned=pinned, precision=self.precision)
        for group in groups:
            try:
                described = self._described()
                self._group_writer.write(group, self._writer, described, step, storage)
            except Exception as e:  # One layer's failure must not stop the others.
                self._warn_once(group.warn_key, "%s: %s: %s" % (group.failure, type(e).__name__, e))

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

    def _write_labels(self, labels, step):
        """summary.labels for each (tag, fields); never raises."""
        try:
            described = self._described()
            with self._writer.as_default(step=step), tf.summary.record_if(True):
                for tag, fields in labels:
                    summary.labels(
                        tag, fields.pop("true"), fields.pop("predicted"),
                        pinned=self._first_log_of_fit,
                        # The metadata (maybe a big vocabulary) once per event file.
                        with_metadata=tag not in described, **fields
                    )
                    described.add(tag)
        except Exception as e:  # Logging must never stop training.
            self._warn_once(
                "labels", "RNNTensorBoard: could not log labels at step %d: %s: %s"
                % (step, type(e).__name__, e)
            )

    def _write_inputs(self, probed, step):
        """The probe fingerprint and the layers' inputs (probe_collectors.Inputs)."""
        try:
            described = self._described()
            self._inputs.write(probed, step, self._probe_batch, self._samples, self._writer, described)
        except Exception as e:  # Logging must never stop training.
            self._warn_once("inputs", "RNNTensorBoard: could not log the probe batch's "
                            "inputs at step %d: %s: %s" % (step, type(e).__name__, e))

    def _warn_once(self, key, message):
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=3)
