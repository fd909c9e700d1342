"""tf.summary-style writers of the kept series that belong to a whole run
(kinds.py's `standalone` kinds), not to one layer's series.

Like summary.py's writers they take the default writer and step from
tf.summary's context, return True if a summary was written and False if no
default writer is set, and work eagerly and inside tf.function. The values
are written as they are, NaN and Inf included: a loss that turned NaN is
what the tab must show.
"""

import tensorflow as tf

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata
from tb_rnn_plugin.summary_ops import summary


def probe_loss(values, names, step=None):
    """Writes the compiled loss and metrics on the probe batch at `step`
    (metadata.PROBE_LOSS) under the fixed tag kinds.PROBE_LOSS_TAG
    ("probe/loss"): float32 [metric], kept for every step.

    Args:
      values: numbers [len(names)]: the loss first, then each metric.
      names: their names, ["loss", metric, ...] (metadata `names`); the
        first must be "loss". The same at every step of a run: TensorBoard
        keeps the metadata of a tag's first write.
      step: int64 step; defaults to tf.summary.experimental.get_step().

    Raises:
      ValueError: `names` is empty, does not start with "loss" or does not
        match the number of values; `values` is not a numeric vector.
    """
    names = [str(name) for name in names]
    if not names or names[0] != "loss":
        raise ValueError('names must start with "loss", got %r' % (names,))
    values = summary._validated_float32(values, 1, "values")
    if values.shape[0] != len(names):
        raise ValueError(
            "values has %d entries, names %d (%s)" % (values.shape[0], len(names), names)
        )
    return summary._write_kept(
        kinds.PROBE_LOSS_TAG, metadata.PROBE_LOSS, values, step, None, dict(names=names)
    )
