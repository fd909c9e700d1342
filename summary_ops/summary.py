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
"""

import tensorflow as tf

from tb_rnn_plugin import metadata


def timestep_tensor(
    name,
    data,
    kind,
    step=None,
    description=None,
    *,
    layer=None,
    cell=None,
    direction=None,
    mask_tag=None,
    cell_index=None,
    channel_shape=None,
    pinned=False,
    argument_name="data",
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
        fit()); every pinned step stays in TensorBoard's memory.
      argument_name: what error messages call `data`.

    Raises:
      ValueError: `data` has the wrong rank, a non-numeric dtype or no
        elements; `kind` or `direction` is unknown; no step is given or set.
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
    summary_metadata = metadata.create_summary_metadata(kind, description=description, **fields)
    data = _validated_float32(data, len(metadata.AXES[kind]), argument_name)
    with tf.summary.experimental.summary_scope(
        name, "rnn_timestep_summary", values=[data, step]
    ) as (tag, _):
        blob = tf.reshape(tf.io.serialize_tensor(data), [1])
        written = tf.summary.write(tag=tag, tensor=blob, step=step, metadata=summary_metadata)
        if kind != metadata.MASK:
            for companion_tag, companion, values in (
                (metadata.stats_tag(tag), metadata.STATS, _statistics(data)),
                (metadata.profile_tag(tag), metadata.PROFILE, tf.norm(data, axis=-1)),
            ):
                tf.summary.write(
                    tag=companion_tag,
                    tensor=values,
                    step=step,
                    metadata=metadata.create_summary_metadata(companion, of_tag=tag, **fields),
                )
        if pinned:
            tf.summary.write(
                tag=metadata.pinned_tag(tag),
                tensor=blob,
                step=step,
                metadata=metadata.create_summary_metadata(kind, of_tag=tag, **fields),
            )
        return written


def activation(
    name, data, step=None, description=None, *, layer=None, cell=None, direction=None,
    mask_tag=None, cell_index=None, channel_shape=None, pinned=False,
):
    """Writes a layer's outputs y_t, [samples, timesteps, channels]."""
    return timestep_tensor(
        name, data, metadata.ACTIVATION, step, description,
        layer=layer, cell=cell, direction=direction, mask_tag=mask_tag,
        cell_index=cell_index, channel_shape=channel_shape, pinned=pinned,
    )


def output_gradient(
    name, data, step=None, description=None, *, layer=None, cell=None, direction=None,
    mask_tag=None, cell_index=None, channel_shape=None, pinned=False,
):
    """Writes dL/dy_t through downstream layers, [samples, timesteps, channels]."""
    return timestep_tensor(
        name, data, metadata.OUTPUT_GRADIENT, step, description,
        layer=layer, cell=cell, direction=direction, mask_tag=mask_tag,
        cell_index=cell_index, channel_shape=channel_shape, pinned=pinned,
    )


def state_gradient(
    name, data, step=None, description=None, *, layer=None, cell=None, direction=None,
    mask_tag=None, cell_index=None, channel_shape=None, pinned=False,
):
    """Writes the total dL/dh_t through the recurrence, [samples, timesteps, channels]."""
    return timestep_tensor(
        name, data, metadata.STATE_GRADIENT, step, description,
        layer=layer, cell=cell, direction=direction, mask_tag=mask_tag,
        cell_index=cell_index, channel_shape=channel_shape, pinned=pinned,
    )


def timestep_mask(name, mask, step=None, description=None, *, layer=None, pinned=False):
    """Writes which timesteps are real (1) and which are padding (0), [samples, timesteps]."""
    return timestep_tensor(
        name, mask, metadata.MASK, step, description, layer=layer, pinned=pinned,
        argument_name="mask",
    )


def _statistics(data):
    """metadata.STAT_FIELDS of a float32 tensor, as a float32 vector."""
    finite = tf.math.is_finite(data)
    finite_values = tf.where(finite, data, tf.zeros_like(data))

    def count(condition):
        return tf.reduce_sum(tf.cast(condition, tf.float32))

    return tf.stack([
        tf.norm(tf.reshape(finite_values, [-1])),
        tf.reduce_max(tf.abs(finite_values)),
        count(tf.math.is_nan(data)),
        count(tf.equal(data, float("inf"))),
        count(tf.equal(data, float("-inf"))),
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
    if shape.rank != rank:
        raise ValueError("%s must have rank %d, got shape %s" % (argument_name, rank, shape))
    if any(dim == 0 for dim in shape.as_list()):
        raise ValueError("%s must not be empty, got shape %s" % (argument_name, shape))
    return tf.cast(tensor, tf.float32)
