"""Plugin metadata: what a series written for the RNN tab holds.

The content is versioned JSON (utf-8) inside SummaryMetadata.plugin_data, so
other writers can produce it without this package and the frontend never has
to guess meaning from tag strings. Nothing here imports TensorFlow.
"""

import copy
import functools
import json

from tensorboard.compat.proto import summary_pb2

from tb_rnn_plugin import kinds

PLUGIN_NAME = "rnn"
# Series TensorBoard must keep whole (its loader sets this plugin's sample
# count to "all"): small per-step statistics, and the first logged step of
# each big series, which TensorBoard's reservoir sampling would otherwise drop.
KEPT_PLUGIN_NAME = "rnn_kept"

# Bump when the meaning of a field changes; parse_plugin_metadata keeps
# reading older versions.
# 1: per-timestep tensors as DATA_CLASS_TENSOR series.
# 2: per-timestep tensors as blob sequences (one serialized TensorProto per
#    step) so that one step is read without the others; `<tag>/stats` and
#    `<tag>/pinned` companions under KEPT_PLUGIN_NAME.
PROTO_VERSION = 2

# The kinds and their facts are declared once, in kinds.py; these names
# stay here for the code and the users that read them from this module.
ACTIVATION = kinds.ACTIVATION
OUTPUT_GRADIENT = kinds.OUTPUT_GRADIENT
STATE_GRADIENT = kinds.STATE_GRADIENT
MASK = kinds.MASK
GATE_ACTIVATION = kinds.GATE_ACTIVATION
CELL_STATE = kinds.CELL_STATE
MEMORY_TIMESCALE = kinds.MEMORY_TIMESCALE
GRADIENT_HORIZON = kinds.GRADIENT_HORIZON
HORIZON_STATS = kinds.HORIZON_STATS
LAG_PROFILE = kinds.LAG_PROFILE
UNIT_HEALTH = kinds.UNIT_HEALTH
STATS = kinds.STATS
PROFILE = kinds.PROFILE
WEIGHT = kinds.WEIGHT
WEIGHT_GRADIENT = kinds.WEIGHT_GRADIENT
GATE_STATS = kinds.GATE_STATS
GATE_HISTOGRAM = kinds.GATE_HISTOGRAM
LABELS = kinds.LABELS
TOKENS = kinds.TOKENS
INPUT_FEATURES = kinds.INPUT_FEATURES
INPUT_DEPENDENCY = kinds.INPUT_DEPENDENCY
PROBE_LOSS = kinds.PROBE_LOSS
PROBE_FINGERPRINT = kinds.PROBE_FINGERPRINT

# kind -> axis names of the stored float32 tensor (a weight's: rank 2).
AXES = {kind.name: kind.axes for kind in kinds.KIND_LIST}
KINDS = kinds.KINDS
TIMESTEP_KINDS = kinds.TIMESTEP_KINDS
WEIGHT_KINDS = kinds.WEIGHT_KINDS
DIRECTIONS = ("forward", "backward")

STAT_FIELDS = kinds.STAT_FIELDS
GATE_STAT_FIELDS = kinds.GATE_STAT_FIELDS

# The bins of a GATE_HISTOGRAM: signed log-magnitude, fixed for every step
# and run so that steps stack into a ridgeline and runs compare, and so
# that one outlier cannot squash the rest into one linear bin: one
# outlier adds one count to a far bin. Magnitude edges 10^(k / PER_DECADE)
# for k in [MIN_EXPONENT * PER_DECADE, MAX_EXPONENT * PER_DECADE]; a value
# v falls in bin i where HISTOGRAM_EDGES[i - 1] <= v < HISTOGRAM_EDGES[i]
# (the first and last bins are open: beyond -10^MAX, beyond +10^MAX). The
# middle bin [-10^MIN, 10^MIN) holds exact zeros and tiny values. Only
# finite values are counted: NaN and +-Inf are counted apart in GATE_STATS,
# so a NaN never corrupts a histogram.
# A GATE_HISTOGRAM's metadata names its bins by these three numbers (a few
# bytes in every step's record) rather than the 50 edges (730 bytes).
HISTOGRAM_BINS = kinds.HISTOGRAM_BINS
HISTOGRAM_MIN_EXPONENT = HISTOGRAM_BINS["min_exponent"]
HISTOGRAM_MAX_EXPONENT = HISTOGRAM_BINS["max_exponent"]
HISTOGRAM_BINS_PER_DECADE = HISTOGRAM_BINS["per_decade"]


def histogram_edges(bins):
    """The inner bin edges, ascending, of the signed log-magnitude bins
    `bins` ({"min_exponent", "max_exponent", "per_decade"}, integers);
    ValueError for anything else or more than 1000 edges."""
    if not isinstance(bins, dict) or not all(
        isinstance(bins.get(key), int) and not isinstance(bins.get(key), bool)
        for key in HISTOGRAM_BINS
    ):
        raise ValueError("histogram bins must be integers %s, got %r" % (sorted(HISTOGRAM_BINS), bins))
    low, high, per = bins["min_exponent"], bins["max_exponent"], bins["per_decade"]
    if not (per > 0 and -300 <= low < high <= 300 and (high - low) * per <= 500):
        raise ValueError("histogram bins %r do not make 2 to 1000 finite edges" % (bins,))
    magnitudes = [10.0 ** (k / per) for k in range(low * per, high * per + 1)]
    return tuple([-m for m in reversed(magnitudes)] + magnitudes)


# The inner bin edges, ascending (len(HISTOGRAM_EDGES) + 1 bins).
HISTOGRAM_EDGES = histogram_edges(HISTOGRAM_BINS)

HORIZON_STAT_FIELDS = kinds.HORIZON_STAT_FIELDS

# The fields of a LABELS tensor, and how its class ids were read from the
# model's output: argmax over the classes (labels as ids, or as one-hot or
# probabilities), or one sigmoid unit thresholded at 0.5 (0 for logits).
LABEL_FIELDS = kinds.LABEL_FIELDS
LABEL_LOSSES = ("sparse_categorical", "categorical", "binary")
# The most vocabulary entries stored in a LABELS series' metadata (which
# TensorBoard's index sends whole to the tab); ids past it show as numbers.
MAX_VOCABULARY = 50000

# Companion series of a per-timestep series `tag`, under KEPT_PLUGIN_NAME.
STATS_SUFFIX = "/stats"
PROFILE_SUFFIX = "/profile"
PINNED_SUFFIX = "/pinned"
GATE_STATS_SUFFIX = "/gate_stats"
GATE_HISTOGRAM_SUFFIX = "/gate_histogram"
MEMORY_TIMESCALE_SUFFIX = "/memory_timescale"
HORIZON_STATS_SUFFIX = "/horizon_stats"
LAG_PROFILE_SUFFIX = "/lag_profile"
# Companion kinds that are small float32 tensors (DATA_CLASS_TENSOR).
COMPANION_TENSOR_KINDS = kinds.COMPANION_TENSOR_KINDS
# Companions of a weight series, split by gate (metadata names matrix, gates).
GATE_COMPANION_KINDS = (GATE_STATS, GATE_HISTOGRAM)


def weight_axes(rank):
    """Axis names of a weight of `rank` in Keras' layout: the gates' columns
    last, the input (or state) channels before them, and a ConvLSTM kernel's
    spatial axes (`kernel_0`, ...) first."""
    if rank < 1:
        raise ValueError("a weight has rank >= 1, got %r" % (rank,))
    if rank == 1:
        return ("column",)
    return tuple("kernel_%d" % k for k in range(rank - 2)) + ("row", "column")


def companion_tag(tag, kind):
    """Tag of the kept companion of kind `kind` (COMPANION_TENSOR_KINDS) of `tag`."""
    if kind not in COMPANION_TENSOR_KINDS:
        raise ValueError("kind must be one of %s, got %r" % (COMPANION_TENSOR_KINDS, kind))
    return "%s/%s" % (tag, kind)


# Tags of the kept companions of the series `tag`: its per-step statistics,
# profile (L2 norm over channels, [sample, timestep]), per-gate statistics
# and histograms (weights) and memory timescales (a memory gate's series).
stats_tag = functools.partial(companion_tag, kind=STATS)
profile_tag = functools.partial(companion_tag, kind=PROFILE)
gate_stats_tag = functools.partial(companion_tag, kind=GATE_STATS)
gate_histogram_tag = functools.partial(companion_tag, kind=GATE_HISTOGRAM)
memory_timescale_tag = functools.partial(companion_tag, kind=MEMORY_TIMESCALE)


def pinned_tag(tag):
    """Tag of the copies of `tag` at steps that must never be sampled away."""
    return tag + PINNED_SUFFIX


def create_summary_metadata(
    kind,
    *,
    layer=None,
    cell=None,
    direction=None,
    mask_tag=None,
    cell_index=None,
    channel_shape=None,
    of_tag=None,
    matrix=None,
    gates=None,
    rank=None,
    gate=None,
    targets=None,
    max_lag=None,
    backward=None,
    fields=None,
    thresholds=None,
    vocabulary=None,
    task=None,
    loss=None,
    names=None,
    display_name=None,
    description=None,
):
    """Builds a SummaryMetadata proto for one series of this plugin.

    Args:
      kind: one of KINDS.
      layer: name of the recurrent layer the tensor belongs to.
      cell: cell type, e.g. "LSTM", "GRU", "SimpleRNN".
      direction: "forward", "backward" (Bidirectional), or None.
      mask_tag: tag of the MASK series (same run, same steps) that says which
        timesteps are padding, or None when nothing is masked.
      cell_index: index of the cell in a StackedRNNCells, else None.
      channel_shape: the per-timestep shape flattened into the channel axis
        (ConvLSTM: spatial dims and filters), else None.
      of_tag: for a companion series (STATS, or a pinned copy), the tag of
        the per-timestep series it belongs to; None for that series itself.
      matrix: WEIGHT_KINDS and GATE_COMPANION_KINDS: which weight of the cell
        ("kernel", "recurrent_kernel", "bias", "input_bias",
        "recurrent_bias", or a user's cell's own weight name).
      gates: WEIGHT_KINDS and GATE_COMPANION_KINDS: [{"name", "start", "stop"}], the
        columns [start, stop) of the last axis each gate holds (also
        accepted: objects with those attributes), or None when the layout
        is unknown (a user's own cell: the matrix goes whole, and its
        GATE_STATS and GATE_HISTOGRAM have one row over the whole matrix).
      rank: WEIGHT_KINDS: the rank of the stored tensor (axes are
        weight_axes(rank)); default 2.
      gate: GATE_ACTIVATION (and its companions): the gate's name.
      fields, thresholds: UNIT_HEALTH: the names of its columns and the
        thresholds (name -> number) they were computed with.
      targets, max_lag: GRADIENT_HORIZON (and its companions): the target
        timesteps of its rows (None: all T) and the largest lag kept (None:
        all).
      backward: whether the layer processes its input from the last
        timestep to the first (go_backwards, Bidirectional's backward
        direction); None: not said. Always stored for GRADIENT_HORIZON and
        its companions, for other kinds when given.
      vocabulary, task, loss: LABELS: the class names (index = class id;
        at most MAX_VOCABULARY), or None; a note for the reader, or None;
        one of LABEL_LOSSES, or None. TOKENS: `vocabulary` as LABELS'.
      names: PROBE_LOSS: the names of its values (["loss", metric, ...]).

    A `standalone` kind (PROBE_LOSS, PROBE_FINGERPRINT) is a kept series of
    the whole run: under KEPT_PLUGIN_NAME without `of_tag` or `layer`.

    Per-timestep kinds are blob sequences (one serialized float32
    TensorProto per step) under PLUGIN_NAME, or under KEPT_PLUGIN_NAME when
    `of_tag` makes them a pinned copy; STATS are float32 tensors under
    KEPT_PLUGIN_NAME.
    """
    declared = kinds.kind_of(kind)
    if direction not in (None,) + DIRECTIONS:
        raise ValueError(
            "direction must be None or one of %s, got %r" % (DIRECTIONS, direction)
        )
    given = dict(
        matrix=matrix, gates=gates, gate=gate, targets=targets, max_lag=max_lag,
        backward=backward, fields=fields, thresholds=thresholds, vocabulary=vocabulary,
        task=task, loss=loss, names=names,
    )
    for name in declared.required:
        if given[name] is None:
            raise ValueError("a %s series needs %s" % (kind, name))
    if declared.storage == kinds.TENSOR and of_tag is None and not declared.standalone:
        raise ValueError("a %s series needs of_tag" % kind)
    if declared.standalone and of_tag is not None:
        raise ValueError("a %s series belongs to the whole run: no of_tag" % kind)
    content = {
        "version": PROTO_VERSION,
        "kind": kind,
        "axes": list(weight_axes(2 if rank is None else int(rank)) if declared.ranked
                     else declared.axes),
        "layer": layer,
        "cell": cell,
        "direction": direction,
        "mask_tag": mask_tag,
        "cell_index": cell_index,
        "channel_shape": None if channel_shape is None else [int(d) for d in channel_shape],
        "of_tag": of_tag,
    }
    content.update(_options_json(declared, given))
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=KEPT_PLUGIN_NAME
            if of_tag is not None or declared.standalone else PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR
        if declared.storage == kinds.TENSOR
        else summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def _options_json(declared, given):
    """The kind-specific metadata fields of a series of the Kind `declared`:
    its options from `given` (name -> value or None), normalised, then its
    fixed fields. `gate` and `backward` are kept for any kind they are given
    for (a gate activation's companions carry its gate; any series of a
    go_backwards layer may say it runs backwards)."""
    content = {name: _OPTION_JSON[name](given[name]) for name in declared.options}
    content.update(
        (name, _OPTION_JSON[name](given[name])) for name in _ANY_KIND if given[name] is not None
    )
    if declared.fields is not None:
        content["fields"] = list(declared.fields)
    content.update((name, copy.deepcopy(value)) for name, value in declared.constants)
    return content


def _optional(convert):
    return lambda value: None if value is None else convert(value)


def _vocabulary_json(vocabulary):
    vocabulary = [str(token) for token in vocabulary]
    if len(vocabulary) > MAX_VOCABULARY:
        raise ValueError(
            "a vocabulary holds at most %d entries, got %d" % (MAX_VOCABULARY, len(vocabulary))
        )
    return vocabulary


def _loss_json(loss):
    if loss not in LABEL_LOSSES:
        raise ValueError("loss must be None or one of %s, got %r" % (LABEL_LOSSES, loss))
    return loss


def gates_json(gates):
    """[{"name", "start", "stop"}] of gates given as dicts or objects with
    those attributes (summary_ops/gates.py Gate), or None."""
    if gates is None:
        return None
    result = []
    for gate in gates:
        if isinstance(gate, dict):
            name, start, stop = gate["name"], gate["start"], gate["stop"]
        else:
            name, start, stop = gate.name, gate.start, gate.stop
        result.append({"name": str(name), "start": int(start), "stop": int(stop)})
    return result


# Options any kind stores when given.
_ANY_KIND = ("gate", "backward")
# How each kind-specific option is stored (kinds.Kind.options).
_OPTION_JSON = {
    "matrix": lambda matrix: matrix,
    "gates": lambda gates: gates_json(gates),
    "gate": _optional(str),
    "targets": _optional(lambda targets: [int(t) for t in targets]),
    "max_lag": _optional(int),
    "backward": _optional(bool),
    "fields": lambda fields: [str(f) for f in (fields or ())],
    "thresholds": lambda thresholds: {str(k): float(v) for k, v in (thresholds or {}).items()},
    "vocabulary": _optional(_vocabulary_json),
    "task": _optional(str),
    "loss": _optional(_loss_json),
    "names": _optional(lambda names: [str(n) for n in names]),
}


def parse_plugin_metadata(content):
    """Reads the plugin_data content of one series into a dict.

    Tolerant of older versions (a missing field reads as None) and of fields
    added by newer ones (kept as they are). Results are cached by content:
    an index of thousands of series repeats the same few contents.

    Raises:
      ValueError: the content is not a JSON object with a known `kind`; the
        message says why, for the person reading it.
    """
    if isinstance(content, str):
        content = content.encode("utf-8", errors="replace")
    return copy.deepcopy(_parse_cached(bytes(content)))


@functools.lru_cache(maxsize=4096)
def _parse_cached(content):
    try:
        parsed = json.loads(content.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        raise ValueError("plugin metadata is not JSON: %s" % e) from None
    except RecursionError:
        raise ValueError("plugin metadata is JSON nested too deeply to read") from None
    if not isinstance(parsed, dict):
        raise ValueError("plugin metadata is not a JSON object")
    kind = parsed.get("kind")
    if not isinstance(kind, str) or kind not in kinds.KINDS_BY_NAME:
        version = parsed.get("version")
        newer = isinstance(version, int) and version > PROTO_VERSION
        raise ValueError(
            "unknown kind %r in plugin metadata%s"
            % (
                kind,
                " of version %d (this plugin reads up to %d; upgrade tb-rnn-plugin)"
                % (version, PROTO_VERSION)
                if newer
                else "",
            )
        )
    declared = kinds.KINDS_BY_NAME[kind]
    result = {
        "version": 0,
        "layer": None,
        "cell": None,
        "direction": None,
        "mask_tag": None,
        "cell_index": None,
        "channel_shape": None,
        "of_tag": None,
    }
    result.update((name, None) for name in declared.options)
    if declared.fields is not None:
        result["fields"] = list(declared.fields)
    result.update(parsed)
    if "bins" in parsed:  # a histogram's; older logs list bin_edges
        result["bin_edges"] = list(histogram_edges(parsed["bins"]))
    stored_axes = parsed.get("axes")
    if (
        declared.ranked
        and isinstance(stored_axes, list)
        and stored_axes
        and all(isinstance(a, str) for a in stored_axes)
    ):
        result["axes"] = list(stored_axes)  # the rank of a weight varies
    else:
        result["axes"] = list(declared.axes)
    return result
