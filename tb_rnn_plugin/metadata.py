"""Plugin metadata: what a series written for the RNN tab holds.

The content is versioned JSON (utf-8) inside SummaryMetadata.plugin_data, so
other writers can produce it without this package and the frontend never has
to guess meaning from tag strings. Nothing here imports TensorFlow.
"""

import copy
import functools
import json

from tensorboard.compat.proto import summary_pb2

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

ACTIVATION = "activation"
OUTPUT_GRADIENT = "output_gradient"
STATE_GRADIENT = "state_gradient"
MASK = "mask"
# Recomputed from the cell's weights (summary_ops/gate_activations.py): one
# gate's activation per timestep (metadata `gate` names it: LSTM i, f,
# candidate, o; GRU z, r, candidate), and an LSTM's cell state c_t.
GATE_ACTIVATION = "gate_activation"
CELL_STATE = "cell_state"
# Per unit u, the memory timescale T_u = -1 / ln(mean g_u) of the gate g
# that keeps the old state (LSTM f; GRU z, as Keras' h = z h_{t-1} + (1 - z)
# candidate), its mean over the probe batch's real timesteps (Mahto et
# al., ICLR 2021). A companion of that gate's GATE_ACTIVATION series.
MEMORY_TIMESCALE = "memory_timescale"
# RNNbow's itemized gradients: G[b, k, j] = ||dL_{targets[k]} / dh_j|| on the
# probe batch (summary_ops/horizon.py), [sample, target, timestep], both axes
# in input-time order; metadata `targets` (a list, or null for all T) and
# `max_lag`. A blob sequence like the per-timestep kinds.
GRADIENT_HORIZON = "gradient_horizon"
# Per logged step, kept whole: HORIZON_STAT_FIELDS of a GRADIENT_HORIZON, and
# its lag profile m(lag), lag = 0..L (horizon.lag_profile).
HORIZON_STATS = "horizon_stats"
LAG_PROFILE = "lag_profile"
# Per unit of a layer (direction, stacked cell) and logged step, kept whole:
# the measures summary_ops/health.py names in `fields`, with the
# `thresholds` used. A companion of the layer's ACTIVATION series.
UNIT_HEALTH = "unit_health"
STATS = "stats"
PROFILE = "profile"
# A weight matrix of a cell in Keras' own layout (gates side by side on the
# last axis), and its gradient; one tensor per matrix per logged step.
WEIGHT = "weight"
WEIGHT_GRADIENT = "weight_gradient"
# Per-gate statistics of a WEIGHT or WEIGHT_GRADIENT series, [gate, statistic].
GATE_STATS = "gate_stats"
# Per-gate histograms of a WEIGHT or WEIGHT_GRADIENT series, [gate, bin].
GATE_HISTOGRAM = "gate_histogram"
# A classifier's true and predicted class per sample and timestep of the
# model's output, [sample, timestep, LABEL_FIELDS], class ids as float32, -1
# where there is no label (masked timesteps, sample_weight 0). Metadata
# `vocabulary` (class id -> token, or null), `task` (null, or a note on how
# the labels map onto the layer's timesteps) and `loss` (how the ids were
# read: LABEL_LOSSES). A blob sequence with `/stats` and `/pinned`, no profile.
LABELS = "labels"

# kind -> axis names of the stored float32 tensor.
AXES = {
    ACTIVATION: ("sample", "timestep", "channel"),
    OUTPUT_GRADIENT: ("sample", "timestep", "channel"),
    STATE_GRADIENT: ("sample", "timestep", "channel"),
    MASK: ("sample", "timestep"),
    GATE_ACTIVATION: ("sample", "timestep", "channel"),
    CELL_STATE: ("sample", "timestep", "channel"),
    STATS: ("statistic",),
    PROFILE: ("sample", "timestep"),
    # The rank of a weight varies (ConvLSTM kernels are rank 3-5): these are
    # the axes of a rank-2 matrix; each series stores its own (weight_axes).
    WEIGHT: ("row", "column"),
    WEIGHT_GRADIENT: ("row", "column"),
    GATE_STATS: ("gate", "statistic"),
    GATE_HISTOGRAM: ("gate", "bin"),
    MEMORY_TIMESCALE: ("unit",),
    GRADIENT_HORIZON: ("sample", "target", "timestep"),
    HORIZON_STATS: ("statistic",),
    LAG_PROFILE: ("lag",),
    UNIT_HEALTH: ("unit", "field"),
    LABELS: ("sample", "timestep", "field"),
}
KINDS = tuple(AXES)
# Big tensors, stored one blob per step and sampled by TensorBoard.
TIMESTEP_KINDS = (ACTIVATION, OUTPUT_GRADIENT, STATE_GRADIENT, MASK, GATE_ACTIVATION, CELL_STATE)
# Weights and their gradients, stored like TIMESTEP_KINDS (blob per step,
# `/stats`, `/pinned`) plus `/gate_stats`; their axes depend on their rank.
WEIGHT_KINDS = (WEIGHT, WEIGHT_GRADIENT)
DIRECTIONS = ("forward", "backward")

# The values of a STATS tensor, in order: over the whole logged tensor of
# one step, the L2 norm and max |v| of its finite values, and how many
# values are NaN, +Inf and -Inf.
# `written` is 1 where the step's tensor itself was written, 0 where only
# the kept series were (RNNTensorBoard's full_every); older logs lack it.
STAT_FIELDS = ("l2_norm", "max_abs", "nan_count", "posinf_count", "neginf_count", "written")

# The columns of a GATE_STATS tensor, per gate (row), over that gate's
# block of the matrix: L2 norm, max |v|, mean and (population) standard
# deviation of its finite values (NaN when it has none), and how many values
# are NaN, +Inf, -Inf and exactly zero.
GATE_STAT_FIELDS = (
    "l2_norm", "max_abs", "mean", "std",
    "nan_count", "posinf_count", "neginf_count", "zero_count",
)

# The bins of a GATE_HISTOGRAM: signed log-magnitude, fixed for every step
# and run so that steps stack into a ridgeline and runs compare, and so
# that one outlier cannot squash the rest (TensorBoard issue 405): one
# outlier adds one count to a far bin. Magnitude edges 10^(k / PER_DECADE)
# for k in [MIN_EXPONENT * PER_DECADE, MAX_EXPONENT * PER_DECADE]; a value
# v falls in bin i where HISTOGRAM_EDGES[i - 1] <= v < HISTOGRAM_EDGES[i]
# (the first and last bins are open: beyond -10^MAX, beyond +10^MAX). The
# middle bin [-10^MIN, 10^MIN) holds exact zeros and tiny values. Only
# finite values are counted: NaN and +-Inf are counted apart in GATE_STATS,
# so a NaN never corrupts a histogram (TensorBoard issue 87).
HISTOGRAM_MIN_EXPONENT = -9
HISTOGRAM_MAX_EXPONENT = 3
HISTOGRAM_BINS_PER_DECADE = 2


# How a GATE_HISTOGRAM's metadata names its bins: these three numbers (a
# few bytes in every step's record) rather than the 50 edges (730 bytes).
HISTOGRAM_BINS = {
    "min_exponent": HISTOGRAM_MIN_EXPONENT,
    "max_exponent": HISTOGRAM_MAX_EXPONENT,
    "per_decade": HISTOGRAM_BINS_PER_DECADE,
}


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

# The values of a HORIZON_STATS tensor: the step's largest ||dL_t/dh_j||
# (RNNbow's overview) and the effective horizon, sum_l l m(l) / sum_l m(l)
# over the lag profile (horizon.horizon_statistics says why this one).
HORIZON_STAT_FIELDS = ("max", "effective_horizon")

# The fields of a LABELS tensor, and how its class ids were read from the
# model's output: argmax over the classes (labels as ids, or as one-hot or
# probabilities), or one sigmoid unit thresholded at 0.5 (0 for logits).
LABEL_FIELDS = ("true", "predicted")
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
COMPANION_TENSOR_KINDS = (
    STATS, PROFILE, GATE_STATS, GATE_HISTOGRAM, MEMORY_TIMESCALE, HORIZON_STATS, LAG_PROFILE,
    UNIT_HEALTH,
)
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


def stats_tag(tag):
    """Tag of the per-step statistics of the series `tag` (kept whole)."""
    return tag + STATS_SUFFIX


def profile_tag(tag):
    """Tag of the per-step profile of `tag`: L2 norm over channels, [sample, timestep]."""
    return tag + PROFILE_SUFFIX


def gate_stats_tag(tag):
    """Tag of the per-step, per-gate statistics of the weight series `tag` (kept whole)."""
    return tag + GATE_STATS_SUFFIX


def gate_histogram_tag(tag):
    """Tag of the per-step, per-gate histograms of the weight series `tag` (kept whole)."""
    return tag + GATE_HISTOGRAM_SUFFIX


def memory_timescale_tag(tag):
    """Tag of the per-step memory timescales of the gate series `tag` (kept whole)."""
    return tag + MEMORY_TIMESCALE_SUFFIX


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
    fields=None,
    thresholds=None,
    vocabulary=None,
    task=None,
    loss=None,
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
      vocabulary, task, loss: LABELS: the class names (index = class id;
        at most MAX_VOCABULARY), or None; a note for the reader, or None;
        one of LABEL_LOSSES, or None.

    Per-timestep kinds are blob sequences (one serialized float32
    TensorProto per step) under PLUGIN_NAME, or under KEPT_PLUGIN_NAME when
    `of_tag` makes them a pinned copy; STATS are float32 tensors under
    KEPT_PLUGIN_NAME.
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
        "cell_index": cell_index,
        "channel_shape": None if channel_shape is None else [int(d) for d in channel_shape],
        "of_tag": of_tag,
    }
    if kind == STATS:
        content["fields"] = list(STAT_FIELDS)
    if kind in WEIGHT_KINDS:
        content["axes"] = list(weight_axes(2 if rank is None else int(rank)))
    if kind in WEIGHT_KINDS or kind in GATE_COMPANION_KINDS:
        content["matrix"] = matrix
        content["gates"] = _gates_json(gates)
    if kind == GATE_STATS:
        content["fields"] = list(GATE_STAT_FIELDS)
    if kind == GATE_ACTIVATION and gate is None:
        raise ValueError("a %s series needs gate" % kind)
    if gate is not None:
        content["gate"] = str(gate)
    if kind in (GRADIENT_HORIZON, HORIZON_STATS, LAG_PROFILE):
        content["targets"] = None if targets is None else [int(t) for t in targets]
        content["max_lag"] = None if max_lag is None else int(max_lag)
    if kind == HORIZON_STATS:
        content["fields"] = list(HORIZON_STAT_FIELDS)
    if kind == UNIT_HEALTH:
        content["fields"] = [str(f) for f in (fields or ())]
        content["thresholds"] = {str(k): float(v) for k, v in (thresholds or {}).items()}
    if kind == GATE_HISTOGRAM:
        content["bins"] = dict(HISTOGRAM_BINS)
    if kind == LABELS:
        content.update(_labels_json(vocabulary, task, loss))
    if kind in COMPANION_TENSOR_KINDS and of_tag is None:
        raise ValueError("a %s series needs of_tag" % kind)
    kept = of_tag is not None
    return summary_pb2.SummaryMetadata(
        display_name=display_name or "",
        summary_description=description or "",
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=KEPT_PLUGIN_NAME if kept else PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_TENSOR
        if kind in COMPANION_TENSOR_KINDS
        else summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def _gates_json(gates):
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


def _labels_json(vocabulary, task, loss):
    if vocabulary is not None:
        vocabulary = [str(token) for token in vocabulary]
        if len(vocabulary) > MAX_VOCABULARY:
            raise ValueError(
                "a vocabulary holds at most %d entries, got %d" % (MAX_VOCABULARY, len(vocabulary))
            )
    if loss is not None and loss not in LABEL_LOSSES:
        raise ValueError("loss must be None or one of %s, got %r" % (LABEL_LOSSES, loss))
    return {
        "fields": list(LABEL_FIELDS),
        "vocabulary": vocabulary,
        "task": None if task is None else str(task),
        "loss": loss,
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
    if not isinstance(kind, str) or kind not in AXES:
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
    if kind in WEIGHT_KINDS or kind in GATE_COMPANION_KINDS:
        result.update(matrix=None, gates=None)
    if kind in (GATE_ACTIVATION, MEMORY_TIMESCALE):
        result["gate"] = None
    if kind in (GRADIENT_HORIZON, HORIZON_STATS, LAG_PROFILE):
        result.update(targets=None, max_lag=None)
    if kind == LABELS:
        result.update(_labels_json(None, None, None))
    result.update(parsed)
    if kind == GATE_HISTOGRAM and "bins" in parsed:  # older logs list bin_edges
        result["bin_edges"] = list(histogram_edges(parsed["bins"]))
    stored_axes = parsed.get("axes")
    if (
        kind in WEIGHT_KINDS
        and isinstance(stored_axes, list)
        and stored_axes
        and all(isinstance(a, str) for a in stored_axes)
    ):
        result["axes"] = list(stored_axes)  # the rank of a weight varies
    else:
        result["axes"] = list(AXES[kind])
    return result
