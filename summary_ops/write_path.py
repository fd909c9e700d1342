"""Where a logging step's series go: each group's writes in one traced call.

Run eagerly, every summary op (its statistics, bfloat16 blob, kept
companions) costs the callback 0.3-3 ms of dispatch, more than the work: a
logging step of an LSTM(64) spent 52 ms of its 77 ms writing. Traced, a
group (a layer, or the weights) is one call. The arrays are the function's
arguments, so nothing of a step is baked into the graph; a function is
traced once per group, storage (full, pinned, precision) and whether the
event file already holds the group's metadata (metadata_once decides that
while tracing), and dropped with its writer.
"""

import tensorflow as tf

from tb_rnn_plugin.summary_ops import probe as probe_lib
from tb_rnn_plugin.summary_ops import summary


class GroupWriter:
    def __init__(self):
        self._writer = None
        self._functions = {}  # key -> tf.function
        self._described_groups = set()  # group keys whose metadata the file holds

    def write(self, group, writer, described, step, storage):
        """Writes `group` at `step` into `writer` (its file's described tags
        in `described`, updated). record_if(True): Keras' own TensorBoard
        callback holds a global record_if(step % its update_freq == 0)
        around the batch loop; our steps must not depend on its schedule."""
        if writer is not self._writer:
            self._writer, self._functions, self._described_groups = writer, {}, set()
        traced = [w for w in group.writes if w.traceable]
        layout = (group.warn_key, tuple((w.tag, len(w.arrays)) for w in traced))
        key = layout + (tuple(sorted(storage.items())), layout in self._described_groups)
        if key not in self._functions:
            self._functions[key] = tf.function(
                self._writes_of(traced, writer, described, storage), autograph=False,
                reduce_retracing=True,
            )
        arrays = [a for w in traced for a in w.arrays]
        with probe_lib.quiet_first_trace():
            self._functions[key](tf.constant(step, tf.int64), *arrays)
        self._described_groups.add(layout)
        eager = [w for w in group.writes if not w.traceable]
        with writer.as_default(step=step), tf.summary.record_if(True), \
                summary.metadata_once(described):
            for w in eager:
                w.write(*w.arrays, **storage)

    @staticmethod
    def _writes_of(writes, writer, described, storage):
        def run(step, *arrays):
            arrays = iter(arrays)
            with writer.as_default(step=step), tf.summary.record_if(True), \
                    summary.metadata_once(described):
                for w in writes:
                    w.write(*[next(arrays) for _ in w.arrays], **storage)
            return tf.constant(True)

        return run
