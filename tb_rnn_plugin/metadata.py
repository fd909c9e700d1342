"""Plugin metadata: what a series written for the RNN tab holds.

The content is versioned JSON (utf-8) inside SummaryMetadata.plugin_data, so
other writers can produce it without this package and the frontend never has
to guess meaning from tag strings. Nothing here imports TensorFlow.
"""

import json

from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "rnn"

# Bump when the meaning of a field changes; parse_plugin_metadata keeps
# reading older versions.
PROTO_VERSION = 1

ACTIVATION = "activation"
OUTPUT_GRADIENT = "output_gradient"
STATE_GRADIENT = "state_gradient"
MASK = "mask"

# kind -> axis names of the stored float32 tensor.
AXES = {
    ACTIVATION: ("sample", "timestep", "channel"),
    OUTPUT_GRADIENT: ("sample", "timestep", "channel"),
    STATE_GRADIENT: ("sample", "timestep", "channel"),
    MASK: ("sample", "timestep"),
}
KINDS = tuple(AXES)
DIRECTIONS = ("forward", "backward")


def create_summary_metadata(
    kind,
    *,
    layer=None,
    cell=None,
    direction=None,
    mask_tag=None,
    display_name=None,
    description=None,
):
    """Builds a SummaryMetadata proto for one per-timestep series.

    Args:
      kind: one of KINDS.
      layer: name of the recurrent layer the tensor belongs to.
      cell: cell type, e.g. "LSTM", "GRU", "SimpleRNN".
      direction: "forward", "backward" (Bidirectional), or None.
      mask_tag: tag of the MASK series (same run, same steps) that says which
        timesteps are padding, or None when nothing is masked.
    """
    if kind not in AXES:
        raise ValueError("kind must be one of %s, got %r" % (KINDS, kind))
    if direction not in (None,) + DIRECTIONS:
        raise ValueError(
            "direction must be None or one of %s, got %r" % (DIRECTIONS, direction)
        )
    content = {
        "version": PROTO_VERSION,
        "kind": kind,
        "axes": list(AXES[kind]),
        "layer": layer,
        "cell": cell,
        "direction": direction,
        "mask_tag": mask_tag,
    }
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR,
    )


def parse_plugin_metadata(content):
    """Reads the plugin_data content of one series into a dict.

    Tolerant of older versions (a missing field reads as None) and of fields
    added by newer ones (kept as they are).

    Raises:
      ValueError: the content is not a JSON object with a known `kind`.
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as e:
        raise ValueError("plugin metadata is not JSON: %s" % e)
    if not isinstance(parsed, dict):
        raise ValueError("plugin metadata is not a JSON object")
    kind = parsed.get("kind")
    if not isinstance(kind, str) or kind not in AXES:
        raise ValueError("unknown kind in plugin metadata: %r" % (kind,))
    result = {
        "version": 0,
        "layer": None,
        "cell": None,
        "direction": None,
        "mask_tag": None,
        "axes": list(AXES[parsed["kind"]]),
    }
    result.update(parsed)
    return result
