"""tf.summary-style writers for per-timestep tensors.

Each function writes one float32 tensor with plugin metadata saying what it
is (tb_rnn_plugin.metadata). They follow tf.summary's conventions: the
default writer and step come from tf.summary's context, they return True if
a summary was written and False if no default writer is set, and they work
eagerly and inside tf.function. NaN and Inf are written as they are: seeing
them is part of the point.

Storage (metadata version 2): the tensor is one blob per step (a serialized
TensorProto), so TensorBoard serves one step without reading the others.
Next to it go `<tag>/stats`, a few numbers, and `<tag>/profile`, the L2 norm
over channels per sample and timestep, which TensorBoard keeps for every
step (the tensor itself is sampled); and with `pinned=True` a copy
that is never sampled away (the callback pins the first step of each fit:
the untrained model).

Weights and weight gradients (weight(), weight_gradient()) are stored the
same way, without a profile and with `<tag>/gate_stats`, per-gate
statistics kept for every step.

Every writer of a big tensor also takes `full` (False: write only the kept
companions, computed from the values given; the RNNTensorBoard callback
writes the big tensors only every few logging steps) and `precision`:
"float32" (the default) or "bfloat16", the blob's values rounded to
bfloat16 (round to nearest even; NaN and +-Inf kept; float32's exponent
range, so 1e-30 stays 1e-30 to 3 significant digits) at half the bytes.
The companions are always float32, computed from the values as given.
"""

import contextlib
import contextvars
import inspect

import numpy as np
import tensorflow as tf

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata

FLOAT32 = "float32"
BFLOAT16 = "bfloat16"
# How a blob's values can be stored (see the module docstring).
PRECISIONS = (FLOAT32, BFLOAT16)


def timestep_tensor(
    name, data, kind, step=None, description=None, *, layer=None, cell=None, direction=None,
    mask_tag=None, cell_index=None, channel_shape=None, pinned=False, full=True,
    precision=FLOAT32, gate=None, backward=None, argument_name="data",
):
    """Writes a per-timestep tensor of the given kind (see metadata.KINDS).

    Args:
      name: the tag (TensorBoard prefixes enclosing name scopes).
      data: numeric tensor shaped as metadata.AXES[kind] says:
        [samples, timesteps, channels], or [samples, timesteps] for a mask.
      kind: what the tensor is, one of metadata.KINDS.
      step: int64 step; defaults to tf.summary.experimental.get_step().
      description: optional long description (markdown).
      layer, cell, direction, mask_tag, cell_index, channel_shape: see
        metadata.create_summary_metadata.
      pinned: also write a copy TensorBoard never samples away. Meant for a
        few steps per run (the callback pins the first logged step of each
        fit()); every pinned step stays in TensorBoard's memory. A pinned
        step is always written full.
      full: False writes only the kept companions (stats, profile), not
        the tensor itself (a mask has none: nothing is written).
      precision: "float32" or "bfloat16", how the tensor's values are
        stored (the companions are float32 either way).
      gate: for metadata.GATE_ACTIVATION, the gate's name.
      backward: True for a layer that processes its input from the last
        timestep to the first (go_backwards; a Bidirectional's backward
        direction says so by `direction`), None: not said.
      argument_name: what error messages call `data`.

    Raises:
      ValueError: `data` has the wrong rank, a non-numeric dtype or no
        elements; `kind` or `direction` is unknown; a gate activation has
        no gate; no step is given or set.
    """
    if kind not in metadata.TIMESTEP_KINDS:
        raise ValueError("kind must be one of %s, got %r" % (metadata.TIMESTEP_KINDS, kind))
    fields = dict(
        layer=layer,
        cell=cell,
        direction=direction,
        mask_tag=mask_tag,
        cell_index=cell_index,
        channel_shape=channel_shape,
    )
    if gate is not None or kind == metadata.GATE_ACTIVATION:
        fields["gate"] = gate
    if backward is not None:
        fields["backward"] = bool(backward)
    summary_metadata = metadata.create_summary_metadata(kind, description=description, **fields)
    data = _validated_float32(data, len(metadata.AXES[kind]), argument_name)
    with tf.summary.experimental.summary_scope(
        name, "rnn_timestep_summary", values=[data, step]
    ) as (tag, _):
        companions = [
            (metadata.companion_tag(tag, companion), companion, _FROM_DATA[companion](data))
            for companion in kinds.kind_of(kind).companions if companion in _FROM_DATA
        ]
        return _write_series(
            tag, data, step, summary_metadata, companions, fields,
            metadata.create_summary_metadata(kind, of_tag=tag, **fields) if pinned else None,
            full, precision,
        )


def memory_timescales(
    gate_tag, timescales, step=None, *, gate, layer=None, cell=None, direction=None,
    cell_index=None,
):
    """Writes per-unit memory timescales [units] (metadata.MEMORY_TIMESCALE)
    as the kept companion of the gate series `gate_tag` (the full tag, as
    gate_activation returned it under its name scope)."""
    return _write_kept(
        metadata.memory_timescale_tag(gate_tag), metadata.MEMORY_TIMESCALE,
        _validated_float32(timescales, 1, "timescales"), step, gate_tag,
        dict(layer=layer, cell=cell, direction=direction, cell_index=cell_index, gate=gate),
    )


def gradient_horizon(
    name, data, step=None, description=None, *, targets=None, max_lag=None, backward=False,
    mask=None, layer=None, cell=None, direction=None, mask_tag=None, cell_index=None,
    pinned=False, full=True, precision=FLOAT32,
):
    """Writes a gradient horizon G [samples, targets, timesteps]
    (metadata.GRADIENT_HORIZON: row k is ||dL_{targets[k]}/dh_j|| over j),
    its `stats`, and, kept for every step, `<name>/horizon_stats`
    (metadata.HORIZON_STAT_FIELDS) and `<name>/lag_profile`.

    Args:
      targets: the timestep of each row (None: row t is timestep t, all T).
      max_lag: the largest lag |t - j| kept (None: all), as computed.
      backward: the layer runs backwards (go_backwards, Bidirectional's
        backward direction): lags count j - t.
      mask: [samples, timesteps] real (1) / padded (0), or None; padded
        steps are left out of the lag profile.

    `pinned`, `full` and `precision` as for timestep_tensor. Eager only (the
    statistics are computed with numpy from `data`), as the callback calls it; inside a tf.function, compute G and write it from
    outside.
    """
    from tb_rnn_plugin.summary_ops import horizon as horizon_lib  # numpy only at call

    data = _validated_float32(data, 3, "data")
    values = data.numpy()
    statistics = horizon_lib.horizon_statistics(values, targets, backward, mask, max_lag)
    # `backward` goes in the metadata too: the tab counts lags from it (a
    # go_backwards layer has no direction to tell it).
    fields = dict(
        layer=layer, cell=cell, direction=direction, cell_index=cell_index,
        targets=targets, max_lag=max_lag, backward=bool(backward),
    )
    summary_metadata = metadata.create_summary_metadata(
        metadata.GRADIENT_HORIZON, description=description, mask_tag=mask_tag, **fields
    )
    with tf.summary.experimental.summary_scope(
        name, "rnn_horizon_summary", values=[data, step]
    ) as (tag, _):
        companions = [
            (metadata.stats_tag(tag), metadata.STATS, _statistics(data)),
            (
                tag + metadata.HORIZON_STATS_SUFFIX, metadata.HORIZON_STATS,
                tf.constant([statistics[f] for f in metadata.HORIZON_STAT_FIELDS], tf.float32),
            ),
            (tag + metadata.LAG_PROFILE_SUFFIX, metadata.LAG_PROFILE,
             tf.constant(statistics["profile"], tf.float32)),
        ]
        return _write_series(
            tag, data, step, summary_metadata, companions, fields,
            metadata.create_summary_metadata(metadata.GRADIENT_HORIZON, of_tag=tag, **fields)
            if pinned else None,
            full, precision,
        )


def unit_health(
    of_tag, values, step=None, *, fields, thresholds, layer=None, cell=None, direction=None,
    cell_index=None,
):
    """Writes per-unit health measures [units, len(fields)]
    (metadata.UNIT_HEALTH, summary_ops/health.py) as the kept companion
    `<of_tag>/unit_health` of the layer's activation series `of_tag`."""
    return _write_kept(
        of_tag + "/unit_health", metadata.UNIT_HEALTH, _validated_float32(values, 2, "values"),
        step, of_tag,
        dict(fields=fields, thresholds=thresholds, layer=layer, cell=cell, direction=direction,
             cell_index=cell_index),
    )


def weight_tensor(
    name, data, kind, step=None, description=None, *, matrix=None, gates=None, layer=None,
    cell=None, direction=None, cell_index=None, pinned=False, full=True, precision=FLOAT32,
    argument_name="data",
):
    """Writes one weight matrix (or its gradient) of a cell, split by gate.

    Stored like the per-timestep tensors: one blob per step under `name`,
    `<name>/stats` (metadata.STAT_FIELDS over the whole matrix) and, with
    `pinned`, `<name>/pinned`; plus `<name>/gate_stats`, a float32 tensor
    [gates, metadata.GATE_STAT_FIELDS], and `<name>/gate_histogram`, float32
    counts [gates, bins] over metadata.HISTOGRAM_EDGES, both kept for every
    step. No profile.

    Args:
      name: the tag.
      data: numeric tensor of any rank >= 1 in Keras' own layout: the gates
        side by side on the last axis.
      kind: metadata.WEIGHT or metadata.WEIGHT_GRADIENT.
      matrix: the weight's name ("kernel", "recurrent_kernel", "bias",
        "input_bias", "recurrent_bias", or a user's cell's own).
      gates: [Gate] (name, start, stop) or dicts, the columns of the last
        axis each gate holds; None: unknown layout, the matrix goes whole
        and gate_stats has one row.
      layer, cell, direction, cell_index: see metadata.create_summary_metadata.
      pinned: also write a copy TensorBoard never samples away.
      full, precision: as for timestep_tensor.

    Raises:
      ValueError: `data` is a scalar, empty or not numeric; `kind` or
        `direction` is unknown; a gate lies outside the last axis.
    """
    if kind not in metadata.WEIGHT_KINDS:
        raise ValueError("kind must be one of %s, got %r" % (metadata.WEIGHT_KINDS, kind))
    data = _validated_float32(data, None, argument_name)
    rank = data.shape.rank
    width = data.shape[-1]
    gate_list = metadata.gates_json(gates)
    if gate_list is not None:
        for gate in gate_list:
            if not 0 <= gate["start"] < gate["stop"] <= width:
                raise ValueError(
                    "gate %r: columns [%d, %d) are not inside the last axis (%d)"
                    % (gate["name"], gate["start"], gate["stop"], width)
                )
    fields = dict(
        layer=layer, cell=cell, direction=direction, cell_index=cell_index,
        matrix=matrix, gates=gate_list,
    )
    summary_metadata = metadata.create_summary_metadata(
        kind, description=description, rank=rank, **fields
    )
    with tf.summary.experimental.summary_scope(
        name, "rnn_weight_summary", values=[data, step]
    ) as (tag, _):
        columns = None if gate_list is None else [(g["start"], g["stop"]) for g in gate_list]
        gate_stats, gate_histogram = _gate_companions(data, columns)
        companions = [
            (metadata.stats_tag(tag), metadata.STATS, _statistics(data)),
            (metadata.gate_stats_tag(tag), metadata.GATE_STATS, gate_stats),
            (metadata.gate_histogram_tag(tag), metadata.GATE_HISTOGRAM, gate_histogram),
        ]
        return _write_series(
            tag, data, step, summary_metadata, companions, fields,
            metadata.create_summary_metadata(kind, of_tag=tag, rank=rank, **fields) if pinned else None,
            full, precision,
        )


def _kind_writer(name, kind, write, doc, *, dropped=(), required=(), data_name="data"):
    """The public writer `name` of one kind: `write` (timestep_tensor or
    weight_tensor) with `kind` fixed, its signature less the `dropped`
    options, with `required` ones without a default, and `data` called
    `data_name`. Calls are checked against that signature, so a writer
    refuses what its kind does not take, as a hand-written one would."""
    parameters = []
    for parameter in inspect.signature(write).parameters.values():
        if parameter.name in ("kind", "argument_name") + tuple(dropped):
            continue
        if parameter.name in required:
            parameter = parameter.replace(default=inspect.Parameter.empty)
        if parameter.name == "data":
            parameter = parameter.replace(name=data_name)
        parameters.append(parameter)
    signature = inspect.Signature(parameters)

    def writer(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs).arguments
        arguments["data"] = arguments.pop(data_name)
        return write(kind=kind, argument_name=data_name, **arguments)

    writer.__name__ = writer.__qualname__ = name
    writer.__doc__ = doc
    writer.__signature__ = signature
    return writer


_NOT_A_GATE = ("gate",)
activation = _kind_writer(
    "activation", metadata.ACTIVATION, timestep_tensor,
    """Writes a layer's outputs y_t, [samples, timesteps, channels].""", dropped=_NOT_A_GATE)
output_gradient = _kind_writer(
    "output_gradient", metadata.OUTPUT_GRADIENT, timestep_tensor,
    """Writes dL/dy_t through downstream layers, [samples, timesteps, channels].""",
    dropped=_NOT_A_GATE)
state_gradient = _kind_writer(
    "state_gradient", metadata.STATE_GRADIENT, timestep_tensor,
    """Writes the total dL/dh_t through the recurrence, [samples, timesteps, channels].""",
    dropped=_NOT_A_GATE)
gate_activation = _kind_writer(
    "gate_activation", metadata.GATE_ACTIVATION, timestep_tensor,
    """Writes one gate's activation per timestep, [samples, timesteps, units]
    (e.g. an LSTM's forget gate f_t; `gate` names it).""",
    dropped=("channel_shape",), required=("gate",))
cell_state = _kind_writer(
    "cell_state", metadata.CELL_STATE, timestep_tensor,
    """Writes an LSTM's cell state c_t, [samples, timesteps, units].""",
    dropped=("channel_shape",) + _NOT_A_GATE)
timestep_mask = _kind_writer(
    "timestep_mask", metadata.MASK, timestep_tensor,
    """Writes which timesteps are real (1) and which are padding (0), [samples, timesteps].""",
    dropped=("cell", "direction", "mask_tag", "cell_index", "channel_shape", "backward")
    + _NOT_A_GATE,
    data_name="mask")
weight = _kind_writer(
    "weight", metadata.WEIGHT, weight_tensor,
    """Writes a cell's weight matrix in Keras' layout (see weight_tensor).""")
weight_gradient = _kind_writer(
    "weight_gradient", metadata.WEIGHT_GRADIENT, weight_tensor,
    """Writes dL/dW of a cell's weight matrix in Keras' layout (see weight_tensor).""")


def _gate_companions(data, columns):
    """(gate stats [G, metadata.GATE_STAT_FIELDS], gate histograms [G, bins])
    float32 of a weight matrix; columns: each gate's (start, stop) on the
    last axis, or None for one row over everything. Histograms count each
    gate's finite values in metadata.HISTOGRAM_EDGES' bins."""
    width = data.shape[-1]
    if columns is None:
        columns = [(0, width)]
    index = np.concatenate([np.arange(start, stop) for start, stop in columns])
    gate_of_column = np.repeat(np.arange(len(columns)), [stop - start for start, stop in columns])
    return _traced_gate_companions(
        tf.reshape(data, [-1, width]), tf.constant(index, tf.int32),
        tf.constant(gate_of_column, tf.int32), tf.constant(len(columns), tf.int32),
    )


@tf.function(autograph=False, input_signature=[
    tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32),
    tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32),
])
def _traced_gate_companions(matrix, index, gate_of_column, n_gates):
    """_gate_companions of a [rows, width] matrix, all gates at once: their
    columns gathered side by side, reduced per column, then per gate. One
    trace for every matrix and layout (~0.3 s once): run eagerly, as the
    callback would at every logging step, its ops cost more than the work
    for small matrices, and a trace per layout ~0.6 s each."""
    values = tf.transpose(tf.gather(matrix, index, axis=1))  # [gate columns, rows]
    finite = tf.math.is_finite(values)
    finite_values = tf.where(finite, values, tf.zeros_like(values))

    def per_gate(column_values, reduce=tf.math.unsorted_segment_sum):
        return reduce(column_values, gate_of_column, n_gates)

    def count(condition):
        return per_gate(tf.reduce_sum(tf.cast(condition, tf.float32), axis=1))

    n = count(finite)
    mean = per_gate(tf.reduce_sum(finite_values, axis=1)) / n  # NaN where none is finite
    centred = tf.where(finite, values - tf.gather(mean, gate_of_column)[:, None], tf.zeros_like(values))
    gate_stats = tf.stack([
        tf.sqrt(per_gate(tf.reduce_sum(tf.square(finite_values), axis=1))),
        per_gate(tf.reduce_max(tf.abs(finite_values), axis=1), tf.math.unsorted_segment_max),
        mean,
        tf.sqrt(per_gate(tf.reduce_sum(tf.square(centred), axis=1)) / n),
        count(tf.math.is_nan(values)),
        count(tf.equal(values, float("inf"))),
        count(tf.equal(values, float("-inf"))),
        count(tf.equal(values, 0.0)),
    ], axis=1)
    edges = tf.constant(metadata.HISTOGRAM_EDGES, tf.float32)
    bins = len(metadata.HISTOGRAM_EDGES) + 1
    # side="right": v == edge[i] counts in bin i + 1, i.e. edge <= v.
    bin_index = tf.searchsorted(edges, tf.reshape(finite_values, [-1]), side="right", out_type=tf.int32)
    slot = tf.repeat(gate_of_column * bins, tf.shape(values)[1]) + bin_index
    histograms = tf.math.bincount(
        slot, weights=tf.reshape(tf.cast(finite, tf.float32), [-1]),
        minlength=n_gates * bins, maxlength=n_gates * bins, dtype=tf.float32,
    )
    return gate_stats, tf.reshape(histograms, [n_gates, bins])


def _channel_norm(data):
    """The L2 norm over the last axis, float32, computed in float64: in
    float32 the squares of values below ~1e-19 underflow, and a vanishing
    gradient's profile (the point of it) would read 0 or be off by far."""
    return tf.cast(tf.norm(tf.cast(data, tf.float64), axis=-1), tf.float32)


def _write_series(
    tag, data, step, summary_metadata, companions, fields, pinned_metadata, full, precision,
):
    """Writes `data` as one blob at `step` (unless `full` is False and the
    step is not pinned), its small companions [(tag, kind, values)] (kept
    series of `tag` with the metadata `fields`), and a pinned copy unless
    pinned_metadata is None.

    Returns what tf.summary.write returned for the blob, or for the first
    companion when no blob is written (False when nothing is).
    """
    if precision not in PRECISIONS:
        raise ValueError("precision must be one of %s, got %r" % (PRECISIONS, precision))
    written = False
    if full or pinned_metadata is not None:
        blob = _blob(data, precision)
        written = tf.summary.write(tag=tag, tensor=blob, step=step, metadata=summary_metadata)
        if pinned_metadata is not None:
            tf.summary.write(
                tag=metadata.pinned_tag(tag), tensor=blob, step=step, metadata=pinned_metadata
            )
    for companion_tag, kind, values in companions:
        if kind == metadata.STATS:  # STAT_FIELDS' last: whether the tensor was written
            values = tf.concat([values, [1.0 if written is not False else 0.0]], 0)
        kept = _write_kept(companion_tag, kind, values, step, tag, fields)
        if written is False:
            written = kept
    return written


def _blob(data, precision):
    """string [1]: `data` (float32) as a serialized TensorProto, float32 or
    bfloat16. TensorFlow's cast rounds to nearest even and keeps NaN and
    +-Inf; the proto holds the raw 16-bit values in tensor_content."""
    if precision == BFLOAT16:
        data = tf.cast(data, tf.bfloat16)
    return tf.reshape(tf.io.serialize_tensor(data), [1])


# Within metadata_once: the tags whose metadata the event file being
# written already holds. None: every write carries its metadata.
_DESCRIBED_TAGS = contextvars.ContextVar("tb_rnn_plugin_described_tags", default=None)


@contextlib.contextmanager
def metadata_once(described):
    """Within it, the kept series (stats, profiles, gate statistics and
    histograms, unit health, ...) carry their plugin metadata only on their
    first write among the tags of `described`, a set the caller keeps per
    event file (it is updated). TensorBoard keeps the first metadata of a
    tag and ignores later ones, so this only drops copies: 20-35 % of the
    kept series' bytes. RNNTensorBoard writes this way; a caller that
    starts a new event file must pass a new set."""
    token = _DESCRIBED_TAGS.set(described)
    try:
        yield
    finally:
        _DESCRIBED_TAGS.reset(token)


def _write_kept(tag, kind, values, step, of_tag, fields):
    """Writes a small series of kind `kind` that belongs to the series
    `of_tag`, under KEPT_PLUGIN_NAME (TensorBoard keeps every step)."""
    described = _DESCRIBED_TAGS.get()
    if described is not None and tag in described:
        return tf.summary.write(tag=tag, tensor=values, step=step)
    written = tf.summary.write(
        tag=tag, tensor=values, step=step,
        metadata=metadata.create_summary_metadata(kind, of_tag=of_tag, **fields),
    )
    if described is not None:
        described.add(tag)
    return written


def _statistics(data):
    """metadata.STAT_FIELDS of a float32 tensor but the last, `written`
    (which _write_series adds: it knows whether the tensor is written), as
    a float32 vector."""
    return _traced_statistics(tf.reshape(data, [-1]))


# The kept companions timestep_tensor computes from the tensor itself (of
# those kinds.py declares for its kind; the callback writes the others).
_FROM_DATA = {metadata.STATS: _statistics, metadata.PROFILE: _channel_norm}


@tf.function(autograph=False, input_signature=[tf.TensorSpec([None], tf.float32)])
def _traced_statistics(values):
    # Traced once for every series: eagerly, its ops cost the callback
    # about 2 ms per series and logging step, more than the work.
    finite = tf.math.is_finite(values)
    finite_values = tf.where(finite, values, tf.zeros_like(values))

    def count(condition):
        return tf.reduce_sum(tf.cast(condition, tf.float32))

    return tf.stack([
        tf.norm(finite_values),
        tf.reduce_max(tf.abs(finite_values)),
        count(tf.math.is_nan(values)),
        count(tf.equal(values, float("inf"))),
        count(tf.equal(values, float("-inf"))),
    ])


def _validated_float32(data, rank, argument_name):
    """Checks what can be checked before running and casts to float32."""
    try:
        tensor = tf.convert_to_tensor(data)
    except (TypeError, ValueError) as e:
        raise ValueError("%s must be a numeric tensor: %s" % (argument_name, e)) from None
    if not (tensor.dtype.is_floating or tensor.dtype.is_integer or tensor.dtype.is_bool):
        raise ValueError(
            "%s must be numeric (float, int or bool), got dtype %s"
            % (argument_name, tensor.dtype.name)
        )
    shape = tensor.shape
    if rank is None:  # weights: any rank >= 1
        if shape.rank is None or shape.rank < 1:
            raise ValueError("%s must have rank >= 1, got shape %s" % (argument_name, shape))
    elif shape.rank != rank:
        raise ValueError("%s must have rank %d, got shape %s" % (argument_name, rank, shape))
    if any(dim == 0 for dim in shape.as_list()):
        raise ValueError("%s must not be empty, got shape %s" % (argument_name, shape))
    return tf.cast(tensor, tf.float32)


def labels(
    name, true_ids, predicted_ids, step=None, description=None, *, vocabulary=None, task=None,
    loss=None, layer=None, mask_tag=None, pinned=False, with_metadata=True,
):
    """Writes a classifier's true and predicted class per sample and
    timestep (metadata.LABELS): float32 [samples, timesteps, 2], field 0
    the true class id, field 1 the predicted one, -1 where there is no label.
    With `<name>/stats` (kept for every step: it counts the logged steps)
    and, with `pinned`, `<name>/pinned`; no profile.

    Args:
      true_ids, predicted_ids: integer class ids [samples, timesteps] (-1:
        no label); [samples] for one label per sequence (a timestep axis of
        length 1 is added).
      vocabulary: the class names, index = class id (at most
        metadata.MAX_VOCABULARY), or None: the tab shows ids.
      task: a note on how the labels map onto the layer's timesteps (e.g.
        one label per sequence), or None.
      loss: how the ids were read, one of metadata.LABEL_LOSSES, or None.
      with_metadata: False writes the step without its metadata, which a
        big vocabulary would otherwise repeat at every step; TensorBoard
        keeps the first metadata it reads for a tag, so the first write of
        a tag in each event file must have it (the callback does so).

    Ids are stored as float32: exact up to 2**24. Class ids are meant to be
    integers >= -1; anything else is a ValueError, as are shapes that differ.
    """
    true_ids = _validated_ids(true_ids, "true_ids")
    predicted_ids = _validated_ids(predicted_ids, "predicted_ids")
    if true_ids.shape != predicted_ids.shape:
        raise ValueError(
            "true_ids and predicted_ids must have the same shape, got %s and %s"
            % (true_ids.shape, predicted_ids.shape)
        )
    data = tf.stack([true_ids, predicted_ids], axis=-1)
    fields = dict(layer=layer, mask_tag=mask_tag)
    full = dict(fields, vocabulary=vocabulary, task=task, loss=loss)
    summary_metadata = (
        metadata.create_summary_metadata(metadata.LABELS, description=description, **full)
        if with_metadata else None
    )
    with tf.summary.experimental.summary_scope(
        name, "rnn_labels_summary", values=[data, step]
    ) as (tag, _):
        blob = tf.reshape(tf.io.serialize_tensor(data), [1])
        written = tf.summary.write(tag=tag, tensor=blob, step=step, metadata=summary_metadata)
        stats = tf.concat([_statistics(data), [1.0]], 0)  # written: labels are, every step
        _write_kept(metadata.stats_tag(tag), metadata.STATS, stats, step, tag, fields)
        if pinned:
            tf.summary.write(
                tag=metadata.pinned_tag(tag), tensor=blob, step=step,
                metadata=metadata.create_summary_metadata(metadata.LABELS, of_tag=tag, **full),
            )
        return written


def _validated_ids(ids, argument_name):
    """[samples, timesteps] float32 class ids from integer ids of rank 1 or 2."""
    array = _validated_float32(ids, None, argument_name)
    if array.shape.rank == 1:
        array = array[:, tf.newaxis]
    if array.shape.rank != 2:
        raise ValueError(
            "%s must be [samples, timesteps] or [samples], got shape %s"
            % (argument_name, array.shape)
        )
    values = array.numpy() if tf.executing_eagerly() else None
    if values is not None and not (
        (values == values.round()).all() and (values >= -1).all()
    ):
        raise ValueError("%s must be integer class ids >= 0, or -1 for no label" % argument_name)
    return array
