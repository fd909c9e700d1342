"""What a logging step computes, one small collector per quantity.

The callback decides when to log and where to write; each collector turns
the step's probe pass (model_probe.ModelProbe's result) into the series of
one quantity, as Writes. A new quantity is a new collector here and one
line in RNNTensorBoard's list of layer collectors.

A layer collector has `collect(ctx) -> [Write]`, where ctx is a LayerStep;
it may leave results on ctx for the collectors after it (the gates for the
unit health, the horizon for the labels).
"""

import collections

import keras
import numpy as np

from tb_rnn_plugin.summary_ops import dependency as dependency_lib
from tb_rnn_plugin.summary_ops import dependency_summary
from tb_rnn_plugin.summary_ops import gate_activations as gate_activations_lib
from tb_rnn_plugin.summary_ops import gates as gates_lib
from tb_rnn_plugin.summary_ops import health as health_lib
from tb_rnn_plugin.summary_ops import horizon as horizon_lib
from tb_rnn_plugin.summary_ops import labels as labels_lib
from tb_rnn_plugin.summary_ops import probe as probe_lib
from tb_rnn_plugin.summary_ops import size_budget
from tb_rnn_plugin.summary_ops import summary

# One series' write at a logging step: write(*arrays, **storage). A series
# with a big tensor (`data`, checked for NaN/Inf before writing) takes
# storage (full=, pinned=, precision=); a kept-only one (data None) not.
# `traceable`: the op can run inside a tf.function (write_path traces them).
Write = collections.namedtuple("Write", "tag data arrays write traceable")
# A layer's (or the weights') writes, and what a failure to write them is
# warned as (once per warn_key).
Group = collections.namedtuple("Group", "warn_key failure writes")


def blob_write(op, tag, data, traceable=True, **fields):
    def write(data, **storage):
        return op(tag, data, **fields, **storage)

    return Write(tag, data, (data,), write, traceable)


def kept_write(op, tag, values, **fields):
    def write(values, **_):
        return op(tag, values, **fields)

    return Write(None, None, (values,), write, True)


def tag_prefix(layer, entry):
    """`layer[/direction][/cell_<i>]`: where one direction's (or cell's) tags go."""
    parts = [layer.name]
    if entry["direction"] is not None:
        parts.append(entry["direction"])
    if entry.get("cell_index") is not None:
        parts.append("cell_%d" % entry["cell_index"])
    return "/".join(parts)


def leaf_cell(layer, direction, cell_index):
    """The cell object behind a probe entry (direction, index in a stack)."""
    if isinstance(layer, keras.layers.Bidirectional):
        layer = layer.forward_layer if direction == "forward" else layer.backward_layer
    cell = layer.cell
    if cell_index is not None and isinstance(cell, keras.layers.StackedRNNCells):
        cell = cell.cells[cell_index]
    return cell


def runs_backwards(layer):
    """True for a standalone go_backwards layer; None for a Bidirectional,
    whose series say it by their direction."""
    return getattr(layer, "go_backwards", None)


class LayerStep:
    """One layer at one logging step: what its collectors read and share."""

    def __init__(self, layer, result, step, probe_batch, samples, spatial_pool=1):
        self.layer = layer
        self.result = result  # ModelProbe's result for the layer
        self.step = step
        self.probe_batch = probe_batch  # (x, y, sample_weight)
        self.keep = slice(0, samples)  # the samples written
        self.spatial_pool = spatial_pool  # ConvLSTM positions averaged per block
        self.mask_tag = None if result["mask"] is None else "%s/mask" % layer.name
        self.gate_results = []  # set by GateActivations
        self.horizon_result = None  # set by Horizons


_QUANTITIES = (
    ("activation", summary.activation),
    ("output_gradient", summary.output_gradient),
    ("state_gradient", summary.state_gradient),
)


class TimestepTensors:
    """The mask, and per direction and cell: activation, output and state gradient."""

    def collect(self, ctx):
        layer, result, keep = ctx.layer, ctx.result, ctx.keep
        writes = []
        if ctx.mask_tag is not None:
            writes.append(blob_write(
                summary.timestep_mask, ctx.mask_tag, result["mask"][keep], layer=layer.name
            ))
        for entry in result["directions"]:
            for kind, write in _QUANTITIES:
                if entry.get(kind) is None:
                    continue  # e.g. no output gradient for an inner stacked cell
                values, channel_shape = size_budget.pooled(entry, kind, ctx.spatial_pool)
                writes.append(blob_write(
                    write, "%s/%s" % (tag_prefix(layer, entry), kind), values[keep],
                    layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                    mask_tag=ctx.mask_tag, cell_index=entry.get("cell_index"),
                    channel_shape=channel_shape, backward=runs_backwards(layer),
                ))
        return writes


class GateActivations:
    """LSTM/GRU gates and the LSTM cell state, recomputed from the layer's
    inputs and initial states as the probe saw them; memory timescales."""

    def __init__(self):
        self._recorders = {}  # layer -> GateRecorder, or None: no gates to recompute

    def collect(self, ctx):
        recorder = self._recorder(ctx.layer)
        if recorder is None:
            return []
        result = ctx.result
        ctx.gate_results = recorder(result["inputs"], result["mask"], result.get("initial_state"))
        return [w for entry in ctx.gate_results for w in self._writes(ctx, entry)]

    def _recorder(self, layer):
        if layer not in self._recorders:
            try:
                self._recorders[layer] = gate_activations_lib.GateRecorder(layer)
            except gate_activations_lib.UnsupportedCellError:
                self._recorders[layer] = None  # SimpleRNN, ConvLSTM, own cells
        return self._recorders[layer]

    @staticmethod
    def _writes(ctx, entry):
        layer, keep = ctx.layer, ctx.keep
        common = dict(
            layer=layer.name, cell=entry["cell"], direction=entry["direction"],
            cell_index=entry["cell_index"],
        )
        blob_fields = dict(mask_tag=ctx.mask_tag, backward=runs_backwards(layer), **common)
        prefix = tag_prefix(layer, entry)
        writes = []
        for gate, values in entry["gates"].items():
            gate_tag = "%s/gate_%s" % (prefix, gate)
            writes.append(blob_write(
                summary.gate_activation, gate_tag, values[keep], gate=gate, **blob_fields
            ))
            if gate == gate_activations_lib.KEEP_GATE[entry["cell"]]:
                # Over the whole probe batch, not only the samples written.
                writes.append(kept_write(
                    summary.memory_timescales, gate_tag,
                    gate_activations_lib.memory_timescales(values, ctx.result["mask"]),
                    gate=gate, **common
                ))
        if entry["cell_state"] is not None:
            writes.append(blob_write(
                summary.cell_state, "%s/cell_state" % prefix, entry["cell_state"][keep],
                **blob_fields
            ))
        return writes


class UnitHealth:
    """Dead, saturated, gate-saturated and exploding units per direction and
    cell, over the whole probe batch."""

    def __init__(self, thresholds):
        self.thresholds = thresholds

    def collect(self, ctx):
        layer, result = ctx.layer, ctx.result
        gates_of = {(g["direction"], g["cell_index"]): g for g in ctx.gate_results}
        writes = []
        for entry in result["directions"]:
            gates = gates_of.get((entry["direction"], entry.get("cell_index")))
            names = health_lib.SATURATION_GATES.get(gates["cell"], ()) if gates else ()
            cell = leaf_cell(layer, entry["direction"], entry.get("cell_index"))
            values = health_lib.unit_health(
                size_budget.pooled(entry, "activation", ctx.spatial_pool)[0],
                size_budget.pooled(entry, "state_gradient", ctx.spatial_pool)[0],
                result["mask"],
                bound=health_lib.activation_bound(cell),
                gates=[gates["gates"][n] for n in names] if names else None,
                thresholds=self.thresholds,
            )
            writes.append(kept_write(
                summary.unit_health, "%s/activation" % tag_prefix(layer, entry), values,
                fields=health_lib.FIELDS, thresholds=self.thresholds,
                layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                cell_index=entry.get("cell_index"),
            ))
        return writes


class Horizons:
    """The gradient horizon of each layer (horizon_lib.GradientHorizon, on a
    model split at the layer); a layer it cannot handle is said once."""

    def __init__(self, model, options, warn_once):
        self.model = model
        self.options = options
        self.warn_once = warn_once
        self._horizons = {}  # layer -> GradientHorizon or None

    def collect(self, ctx):
        horizon = self._horizon(ctx.layer)
        if horizon is None:
            return []
        try:
            ctx.horizon_result = horizon(*ctx.probe_batch)
        except probe_lib.UnsupportedLayerError as e:
            self._drop(ctx.layer, e)
            return []
        return self._writes(ctx)

    def _horizon(self, layer):
        if layer not in self._horizons:
            try:
                self._horizons[layer] = horizon_lib.GradientHorizon(self.model, layer, **self.options)
            except (probe_lib.UnsupportedLayerError, ValueError) as e:
                self._drop(layer, e)
        return self._horizons[layer]

    def _drop(self, layer, reason):
        self._horizons[layer] = None
        self.warn_once(
            "horizon " + layer.name,
            "RNNTensorBoard: no gradient horizon for layer %r: %s" % (layer.name, reason),
        )

    @staticmethod
    def _writes(ctx):
        layer, keep, horizon_result = ctx.layer, ctx.keep, ctx.horizon_result
        mask = horizon_result["mask"]
        writes = []
        for entry in horizon_result["directions"]:
            backward = entry["direction"] == "backward" or (
                entry["direction"] is None and getattr(layer, "go_backwards", False)
            )
            writes.append(blob_write(
                summary.gradient_horizon,
                "%s/gradient_horizon" % tag_prefix(layer, entry), entry["horizon"][keep],
                traceable=False,  # its statistics are numpy
                targets=entry["targets"], max_lag=entry["max_lag"], backward=backward,
                mask=None if mask is None else mask[keep],
                layer=layer.name, cell=entry["cell"], direction=entry["direction"],
                mask_tag=ctx.mask_tag, cell_index=entry["cell_index"],
            ))
        return writes


class InputDependencies:
    """`<layer>/input_dependency` (dependency_lib.InputDependency) of the
    first recurrent layers fed by a model input; the layers after them are
    skipped quietly, a layer it cannot handle is said once."""

    def __init__(self, model, options, warn_once):
        self.model = model
        self.options = options
        self.warn_once = warn_once
        self._dependencies = {}  # layer -> InputDependency or None

    def collect(self, ctx):
        layer = ctx.layer
        if layer not in self._dependencies:
            self._dependencies[layer] = self._build(layer)
        dependency = self._dependencies[layer]
        if dependency is None:
            return []
        try:
            result = dependency(*ctx.probe_batch)
        except probe_lib.UnsupportedLayerError as e:
            self._drop(layer, e)
            return []
        return [blob_write(
            dependency_summary.input_dependency, "%s/input_dependency" % layer.name,
            result["dependency"][ctx.keep], targets=result["targets"],
            backward=bool(getattr(layer, "go_backwards", False)), layer=layer.name,
            cell=probe_lib.cell_type(leaf_cell(layer, "forward", None)), mask_tag=ctx.mask_tag,
        )]

    def _build(self, layer):
        try:
            return dependency_lib.InputDependency(self.model, layer, **self.options)
        except dependency_lib.NotFirstLayerError:
            return None  # a recurrent layer before it logs the input's dependency
        except (probe_lib.UnsupportedLayerError, ValueError) as e:
            return self._drop(layer, e)

    def _drop(self, layer, reason):
        self._dependencies[layer] = None
        self.warn_once(
            "input dependency " + layer.name,
            "RNNTensorBoard: no input dependency for layer %r: %s" % (layer.name, reason),
        )


class Labels:
    """`<layer>/labels`: the true and predicted class of the probe samples,
    for the layers that log a horizon (labels_lib), read once per step."""

    def __init__(self, model, vocabulary, warn_once):
        self.model = model
        self.vocabulary = vocabulary
        self.warn_once = warn_once
        self._labels_at = (None, None)  # (step, labels_lib result)

    def collect(self, ctx):
        """[(tag, keyword arguments of summary.labels)]: written apart,
        since its metadata (maybe a big vocabulary) goes once per file."""
        horizon_result = ctx.horizon_result
        if horizon_result is None or not horizon_result["directions"]:
            return []
        if self._labels_at[0] != ctx.step:
            self._labels_at = (ctx.step, self._probe_labels(ctx.probe_batch))
        labels = self._labels_at[1]
        if labels is None:
            return []
        layer = ctx.layer
        layer_steps = horizon_result["directions"][0]["horizon"].shape[-1]
        if labels["sequence_to_one"]:
            task = "one label per sequence: the model's output has no timestep axis"
        elif labels["true"].shape[1] == layer_steps:
            task = None
        else:
            self.warn_once(
                "labels " + layer.name,
                "RNNTensorBoard: no labels for layer %r: the model's output has %d "
                "timesteps, the layer %d" % (layer.name, labels["true"].shape[1], layer_steps),
            )
            return []
        return [("%s/labels" % layer.name, dict(
            true=labels["true"][ctx.keep], predicted=labels["predicted"][ctx.keep],
            vocabulary=self.vocabulary, task=task, loss=labels["loss"], layer=layer.name,
            mask_tag=ctx.mask_tag,
        ))]

    def _probe_labels(self, probe_batch):
        """labels_lib.probe_labels on the probe batch, or None (said once
        when the model is a classifier whose labels cannot be read)."""
        try:
            labels = labels_lib.probe_labels(self.model, *probe_batch)
        except labels_lib.NoLabelsError as e:
            self.warn_once("labels reading", "RNNTensorBoard: no labels row: %s" % e)
            return None
        if labels is None and self.vocabulary is not None:
            self.warn_once(
                "labels reading", "RNNTensorBoard: a vocabulary was given, but the loss %r "
                "is not one the labels row reads (sparse categorical, categorical or binary "
                "crossentropy): no labels" % (self.model.loss,)
            )
        elif labels is not None and self.vocabulary is not None and (
            len(self.vocabulary) < labels["classes"]
        ):
            self.warn_once(
                "labels vocabulary", "RNNTensorBoard: the vocabulary names %d classes, the "
                "model has %d: higher ids show as numbers"
                % (len(self.vocabulary), labels["classes"])
            )
        return labels


class Weights:
    """Every logged layer's weight matrices and their gradients, by gate.

    dL/dW comes from the probe pass (ModelProbe's `variables`): the compiled
    loss plus the model's regularization losses on the whole probe batch,
    inference mode, no loss scaling.
    """

    def __init__(self, layers):
        self.entries = weight_entries(layers)
        self.variables = []
        for entry in self.entries:
            variable = entry["matrix"].variable
            if getattr(variable, "trainable", True) and not any(variable is v for v in self.variables):
                self.variables.append(variable)

    def collect(self, gradients_by_variable):
        writes = []
        for entry in self.entries:
            matrix = entry["matrix"]
            common = dict(
                matrix=entry["name"], gates=matrix.gates, layer=entry["layer"].name,
                cell=entry["cell"], direction=entry["direction"], cell_index=entry["cell_index"],
            )
            writes.append(blob_write(
                summary.weight, "%s/weight" % entry["prefix"], matrix.value(), **common
            ))
            gradient = self._gradient(matrix, gradients_by_variable)
            if gradient is not None:
                writes.append(blob_write(
                    summary.weight_gradient, "%s/weight_gradient" % entry["prefix"],
                    gradient, **common
                ))
        return writes

    def _gradient(self, matrix, gradients_by_variable):
        gradient = next(
            (g for v, g in zip(self.variables, gradients_by_variable) if v is matrix.variable),
            None,
        )
        if gradient is not None and matrix.row is not None:
            gradient = gradient[matrix.row]
        return gradient


def weight_entries(layers):
    """[{"layer", "prefix", "name", "direction", "cell_index", "cell", "matrix"}] of `layers`."""
    entries = []
    for layer in layers:
        for slot in gates_lib.layer_cells(layer):
            prefix = tag_prefix(layer, {"direction": slot.direction, "cell_index": slot.cell_index})
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


def newly_non_finite(groups, seen_tags):
    """True if a series holds NaN or +-Inf for the first time (added to seen_tags)."""
    newly = False
    for group in groups:
        for write in group.writes:
            if write.data is None or write.tag in seen_tags:
                continue
            if not np.all(np.isfinite(write.data)):
                seen_tags.add(write.tag)
                newly = True
    return newly

