"""The input dependency's writer (kinds.INPUT_DEPENDENCY), stored as the
other big tensors are (summary.py): one blob per step, `<name>/stats` kept
for every step, a pinned copy on request."""

import tensorflow as tf

from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops import summary


def input_dependency(
    name, data, step=None, description=None, *, targets=None, backward=None, layer=None,
    cell=None, mask_tag=None, pinned=False, full=True, precision=summary.FLOAT32,
):
    """Writes an input dependency D [samples, targets, timesteps]: row k is
    ||dL_{targets[k]} / de_j|| over j, e_j the layer's input at timestep j
    (summary_ops/dependency.py computes it), both axes in input-time order.

    Args:
      name: the tag; the callback writes `<layer>/input_dependency`.
      data: numeric [samples, targets, timesteps].
      targets: the timestep of each row (None: row t is timestep t, all T).
      backward: True for a go_backwards layer (not in a Bidirectional), whose
        loss at input time t is the model's output position T-1-t; None:
        not said.
      layer, cell, mask_tag: see metadata.create_summary_metadata.
      pinned, full, precision: as for summary.timestep_tensor.

    Works eagerly and inside tf.function. Returns True if written, False
    if no default writer is set.

    Raises:
      ValueError: `data` is not a non-empty numeric rank-3 tensor, or
        `targets` does not name one timestep per row.
    """
    data = summary._validated_float32(data, 3, "data")
    rows = data.shape[1]
    if targets is not None:
        targets = [int(t) for t in targets]
        if rows is not None and len(targets) != rows:
            raise ValueError(
                "targets names %d timesteps, data has %d rows" % (len(targets), rows)
            )
    fields = dict(layer=layer, cell=cell, targets=targets, backward=backward)
    summary_metadata = metadata.create_summary_metadata(
        metadata.INPUT_DEPENDENCY, description=description, mask_tag=mask_tag, **fields
    )
    with tf.summary.experimental.summary_scope(
        name, "rnn_dependency_summary", values=[data, step]
    ) as (tag, _):
        companions = [(metadata.stats_tag(tag), metadata.STATS, summary._statistics(data))]
        return summary._write_series(
            tag, data, step, summary_metadata, companions, fields,
            metadata.create_summary_metadata(metadata.INPUT_DEPENDENCY, of_tag=tag, **fields)
            if pinned else None,
            full, precision,
        )
