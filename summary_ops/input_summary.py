"""Writers of what the probe batch puts into a layer, and of its fingerprint.

  tokens            the token ids a layer sees [samples, timesteps]
                    (kinds.TOKENS, metadata `vocabulary`),
  input_features    the layer's input [samples, timesteps, features]
                    (kinds.INPUT_FEATURES),
  probe_fingerprint 4 float32 pieces of a SHA-256 of the probe batch
                    (kinds.PROBE_FINGERPRINT, a kept series of the whole run
                    under the fixed tag kinds.PROBE_FINGERPRINT_TAG);
                    fingerprint_of computes them.

Tokens and features are big blob series under PLUGIN_NAME, one serialized
float32 TensorProto per step, always float32 (a token id must stay exact:
bfloat16 holds integers only up to 256). They have no kept companions: the
callback writes them once per run and again when the probe batch changes,
and the tab shows the latest written at or before the step it draws.
"""

import hashlib

import numpy as np
import tensorflow as tf

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata

# Token ids are stored as float32: exact up to 2**24.
MAX_TOKEN_ID = 2**24


def tokens(
    name, ids, step=None, description=None, *, vocabulary=None, layer=None, direction=None,
    backward=None, mask_tag=None, with_metadata=True,
):
    """Writes the token ids a layer sees, [samples, timesteps], in
    input-time order (kinds.TOKENS).

    Args:
      name: the tag, `<layer>[/<direction>]/tokens` by convention.
      ids: integer token ids [samples, timesteps] (ints, or floats holding
        integers), >= 0 and below 2**24. Padding keeps its id (usually 0);
        `mask_tag` says where it is.
      step: int64 step; defaults to tf.summary.experimental.get_step().
      vocabulary: the token strings, index = id (at most
        metadata.MAX_VOCABULARY), or None: the tab shows ids.
      layer, direction, backward, mask_tag: see
        metadata.create_summary_metadata.
      with_metadata: False writes the step without its metadata, which a
        big vocabulary would otherwise repeat; TensorBoard keeps the first
        metadata of a tag it reads, so the first write of a tag in each
        event file must carry it (the callback does so).

    Returns True if written, False if no default writer is set.

    Raises:
      ValueError: `ids` is not [samples, timesteps], is empty, or holds
        something other than integers in [0, 2**24); the vocabulary is too
        long; `direction` is unknown.
    """
    values = _validated_array(ids, 2, "ids")
    if not (np.all(values == np.round(values)) and np.all(values >= 0)
            and np.all(values < MAX_TOKEN_ID)):
        raise ValueError("ids must be integer token ids in [0, 2**24)")
    summary_metadata = None
    if with_metadata:
        summary_metadata = metadata.create_summary_metadata(
            metadata.TOKENS, description=description, layer=layer, direction=direction,
            backward=backward, mask_tag=mask_tag, vocabulary=vocabulary,
        )
    return _write_blob(name, values, step, summary_metadata, "rnn_tokens_summary")


def input_features(
    name, data, step=None, description=None, *, layer=None, direction=None, backward=None,
    mask_tag=None,
):
    """Writes a layer's input, [samples, timesteps, features], in input-time
    order (kinds.INPUT_FEATURES). A per-timestep input of higher rank
    (ConvLSTM's images) is flattened into the feature axis by the caller.

    Raises:
      ValueError: `data` is not numeric, not of rank 3, or empty.
    """
    values = _validated_array(data, 3, "data")
    summary_metadata = metadata.create_summary_metadata(
        metadata.INPUT_FEATURES, description=description, layer=layer, direction=direction,
        backward=backward, mask_tag=mask_tag,
    )
    return _write_blob(name, values, step, summary_metadata, "rnn_input_features_summary")


def probe_fingerprint(values, step=None):
    """Writes the probe batch's fingerprint (fingerprint_of's 4 floats) under
    kinds.PROBE_FINGERPRINT_TAG, a kept series (every step stays)."""
    values = _validated_array(values, 1, "values")
    if values.shape != (kinds.PROBE_FINGERPRINT_PARTS,) or not (
        np.all(values == np.round(values)) and np.all((values >= 0) & (values < 2**16))
    ):
        raise ValueError(
            "values must be %d integers in [0, 65536) (fingerprint_of's), got %r"
            % (kinds.PROBE_FINGERPRINT_PARTS, values.tolist())
        )
    return tf.summary.write(
        tag=kinds.PROBE_FINGERPRINT_TAG, tensor=tf.constant(values, tf.float32), step=step,
        metadata=metadata.create_summary_metadata(metadata.PROBE_FINGERPRINT),
    )


def fingerprint_of(inputs, targets=None):
    """float32 [kinds.PROBE_FINGERPRINT_PARTS]: the first 64 bits of a
    SHA-256 over the probe batch's inputs and targets, as 16-bit pieces
    (each exact in float32).

    `inputs` and `targets` are arrays (numpy, tensors, lists) or nested
    structures of them (tf.nest's: dicts in sorted key order), or None.
    What is hashed: the nesting (keys), and for each leaf its position, dtype, shape and bytes
    (strings as UTF-8, each with its length), so equal batches give equal
    fingerprints in any process, and float32 and float64 copies of the
    same values differ.
    """
    digest = hashlib.sha256()
    for part_name, part in (("inputs", inputs), ("targets", targets)):
        digest.update(part_name.encode())
        # The nesting (dict keys, list or tuple) too, not only the leaves.
        digest.update(repr(tf.nest.map_structure(lambda _: 0, part)).encode())
        for index, leaf in enumerate(tf.nest.flatten(part)):
            digest.update(b"|leaf %d|" % index)
            _hash_leaf(digest, leaf)
    pieces = np.frombuffer(digest.digest()[: 2 * kinds.PROBE_FINGERPRINT_PARTS], dtype=">u2")
    return pieces.astype(np.float32)


def fingerprint_hex(values):
    """The hex string of fingerprint_of's pieces (16 hex digits)."""
    return "".join("%04x" % int(v) for v in np.asarray(values).reshape(-1))


def _hash_leaf(digest, leaf):
    if leaf is None:
        digest.update(b"None")
        return
    array = np.asarray(leaf)
    digest.update(("%s %s" % (_dtype_name(array), array.shape)).encode())
    if array.dtype.kind in "OSU":
        for item in array.reshape(-1):
            text = item if isinstance(item, bytes) else str(item).encode("utf-8")
            digest.update(b"%d:" % len(text))
            digest.update(text)
    else:
        # Little-endian, C order: the same bytes on any machine.
        digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())


def _dtype_name(array):
    # Strings hash alike whatever numpy made of them (bytes, str or object).
    return "string" if array.dtype.kind in "OSU" else array.dtype.name


def _validated_array(data, rank, argument_name):
    """`data` as float32 numpy of rank `rank`, or a clear ValueError."""
    try:
        array = np.asarray(data)
    except Exception as e:  # e.g. ragged lists
        raise ValueError("%s must be a numeric array: %s" % (argument_name, e)) from None
    if array.dtype.kind not in "biuf":
        raise ValueError(
            "%s must be numeric (float, int or bool), got dtype %s" % (argument_name, array.dtype)
        )
    if array.ndim != rank:
        raise ValueError("%s must have rank %d, got shape %s" % (argument_name, rank, array.shape))
    if array.size == 0:
        raise ValueError("%s must not be empty, got shape %s" % (argument_name, array.shape))
    return array.astype(np.float32)


def _write_blob(name, values, step, summary_metadata, scope):
    with tf.summary.experimental.summary_scope(name, scope, values=[step]) as (tag, _):
        blob = tf.reshape(tf.io.serialize_tensor(tf.constant(values, tf.float32)), [1])
        return tf.summary.write(tag=tag, tensor=blob, step=step, metadata=summary_metadata)
