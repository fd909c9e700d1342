"""Every kind of series the RNN tab shows, and every recurrent cell it knows,
declared once.

Both sides import this module: the training side (summary_ops/) to write
series, the TensorBoard side (metadata, reading, health, the routes) to read
and describe them, and through the facts `describe` adds to each series'
metadata in /tags, the browser. So it imports neither TensorFlow nor Keras,
nor anything else of this package.

A kind says what one stored tensor is: its axes, how it is stored, the kept
companions written with it, whether /profile serves it, the order of its
timestep axis and the metadata fields it carries. A cell type says which
gates its weights hold side by side (Keras' order), how its gate activation
series are named, which gate keeps the old state and which weight matrices
it has.
"""

import dataclasses
from typing import Optional, Tuple

# Per-timestep kinds: big tensors, one blob per logged step (sampled).
ACTIVATION = "activation"
OUTPUT_GRADIENT = "output_gradient"
STATE_GRADIENT = "state_gradient"
MASK = "mask"
# Recomputed from the cell's weights (summary_ops/gate_activations.py): one
# gate's activation per timestep (metadata `gate` names it), and an LSTM's
# cell state c_t.
GATE_ACTIVATION = "gate_activation"
CELL_STATE = "cell_state"
# A weight matrix of a cell in Keras' own layout (gates side by side on the
# last axis), and its gradient; one tensor per matrix per logged step.
WEIGHT = "weight"
WEIGHT_GRADIENT = "weight_gradient"
# RNNbow's itemized gradients: G[b, k, j] = ||dL_{targets[k]} / dh_j|| on the
# probe batch (summary_ops/horizon.py), [sample, target, timestep], both axes
# in input-time order; metadata `targets` (a list, or null for all T),
# `max_lag` and `backward`.
GRADIENT_HORIZON = "gradient_horizon"
# A classifier's true and predicted class per sample and timestep of the
# model's output (metadata.LABEL_LOSSES says how the ids were read).
LABELS = "labels"
# The probe batch's input at a layer's timesteps, in input-time order,
# written once per run and again when the probe changes: TOKENS, the token
# ids [sample, timestep] where the layer is fed through an Embedding
# (metadata `vocabulary`, as LABELS'); INPUT_FEATURES otherwise, [sample,
# timestep, feature].
TOKENS = "tokens"
INPUT_FEATURES = "input_features"
# Input dependency (the information dependency of Karpathy et al.,
# Distill's connectivity): D[b, k, j] = ||dL_{targets[k]} / de_j|| on the
# probe batch, e_j the layer's input at timestep j (an embedding vector or
# the features), L2 over its last axis; [sample, target, timestep], both
# axes in input-time order, metadata `targets` as GRADIENT_HORIZON's.
INPUT_DEPENDENCY = "input_dependency"

# Kept companions: small float32 tensors, every logged step.
STATS = "stats"
PROFILE = "profile"
# Per-gate statistics and histograms of a WEIGHT or WEIGHT_GRADIENT series.
GATE_STATS = "gate_stats"
GATE_HISTOGRAM = "gate_histogram"
# Per unit u, the memory timescale T_u = -1 / ln(mean g_u) of the memory
# gate (Mahto et al., ICLR 2021); a companion of that gate's series.
MEMORY_TIMESCALE = "memory_timescale"
# Per logged step: HORIZON_STAT_FIELDS of a GRADIENT_HORIZON, and its lag
# profile m(lag), lag = 0..L (summary_ops/horizon.py lag_profile).
HORIZON_STATS = "horizon_stats"
LAG_PROFILE = "lag_profile"
# Per unit, the measures summary_ops/health.py names in `fields`; a
# companion of the layer's ACTIVATION series.
UNIT_HEALTH = "unit_health"
# Kept series of the whole run (no layer, no `of_tag`; `standalone` kinds):
# the compiled loss and metrics on the probe batch at every logged step,
# [metric], metadata `names` (["loss", ...]); and a fingerprint of the probe
# batch (inputs and targets), PROBE_FINGERPRINT_PARTS 16-bit pieces of a
# SHA-256 (each exact in float32), so that the tab can tell whether runs
# side by side probe the same inputs.
PROBE_LOSS = "probe_loss"
PROBE_FINGERPRINT = "probe_fingerprint"
PROBE_LOSS_TAG = "probe/loss"
PROBE_FINGERPRINT_TAG = "probe/fingerprint"
PROBE_FINGERPRINT_PARTS = 4

# The values of a STATS tensor, in order: over the whole logged tensor of
# one step, the L2 norm and max |v| of its finite values, and how many
# values are NaN, +Inf and -Inf. `written` is 1 where the step's tensor
# itself was written, 0 where only the kept series were (RNNTensorBoard's
# full_every); older logs lack it.
STAT_FIELDS = ("l2_norm", "max_abs", "nan_count", "posinf_count", "neginf_count", "written")
# The columns of a GATE_STATS tensor, per gate (row), over that gate's
# block of the matrix: L2 norm, max |v|, mean and (population) standard
# deviation of its finite values (NaN when it has none), and how many values
# are NaN, +Inf, -Inf and exactly zero.
GATE_STAT_FIELDS = (
    "l2_norm", "max_abs", "mean", "std",
    "nan_count", "posinf_count", "neginf_count", "zero_count",
)
# The values of a HORIZON_STATS tensor: the step's largest ||dL_t/dh_j||
# (RNNbow's overview) and the effective horizon, sum_l l m(l) / sum_l m(l)
# over the lag profile (summary_ops/horizon.py horizon_statistics says why).
HORIZON_STAT_FIELDS = ("max", "effective_horizon")
# The fields of a LABELS tensor.
LABEL_FIELDS = ("true", "predicted")

# How a GATE_HISTOGRAM's bins are named: signed log-magnitude edges
# 10^(k / per_decade), metadata.histogram_edges spells them out.
HISTOGRAM_BINS = {"min_exponent": -9, "max_exponent": 3, "per_decade": 2}

# The order of a series' timestep axis: input time (a backward direction's
# tensors are flipped back), or the model output's own order (labels).
INPUT_TIME = "input"
OUTPUT_TIME = "output"

# How a kind is stored: one serialized tensor per step in a blob sequence
# (TensorBoard samples it), or a small float32 tensor series kept whole.
BLOB = "blob"
TENSOR = "tensor"

# Metadata fields a kind may carry beyond the common ones, each None unless
# the writer says (metadata.create_summary_metadata checks and normalises).
MATRIX_FIELDS = ("matrix", "gates")
GATE_FIELD = ("gate",)
HORIZON_FIELDS = ("targets", "max_lag", "backward")
HEALTH_FIELDS = ("fields", "thresholds")
LABEL_OPTIONS = ("vocabulary", "task", "loss")
TOKEN_OPTIONS = ("vocabulary",)
DEPENDENCY_FIELDS = ("targets", "backward")
LOSS_FIELDS = ("names",)


@dataclasses.dataclass(frozen=True)
class Kind:
    """What one stored tensor of a series is.

    name: the metadata `kind`.
    axes: names of the stored tensor's axes; with `ranked`, a rank-2
      tensor's (a weight's rank varies: metadata.weight_axes).
    storage: BLOB or TENSOR.
    companions: the kept companion kinds written with every series of this
      kind (GET /kept?kind= serves them; MEMORY_TIMESCALE only for a cell's
      memory gate, UNIT_HEALTH only when the callback logs health).
    profile: GET /profile serves the series' `<tag>/profile`.
    time_order: INPUT_TIME or OUTPUT_TIME for a kind with a timestep axis,
      else None.
    options: the extra metadata fields it carries (MATRIX_FIELDS, ...).
    required: those of `options` a series of this kind must have.
    fields: the names of its last axis' entries, when fixed for the kind.
    constants: more metadata fields fixed for the kind, as (name, value).
    gate_naming: "weight" (gates named as weight blocks: i, f, c, o) or
      "activation" (as gate activation series: i, f, candidate, o): how its
      cell's gates are named in its metadata; None if it has none.
    standalone: a kept (TENSOR) series of the whole run, not the companion
      of another series: it has no `of_tag` and its tag is fixed.
    """

    name: str
    axes: Tuple[str, ...]
    storage: str = BLOB
    companions: Tuple[str, ...] = ()
    profile: bool = False
    time_order: Optional[str] = None
    options: Tuple[str, ...] = ()
    required: Tuple[str, ...] = ()
    ranked: bool = False
    fields: Optional[Tuple[str, ...]] = None
    constants: Tuple[Tuple[str, object], ...] = ()
    gate_naming: Optional[str] = None
    standalone: bool = False


_PER_TIMESTEP = ("sample", "timestep", "channel")
_WITH_PROFILE = (STATS, PROFILE)
_WEIGHT_COMPANIONS = (STATS, GATE_STATS, GATE_HISTOGRAM)
_HORIZON_COMPANIONS = (STATS, HORIZON_STATS, LAG_PROFILE)

KIND_LIST = (
    Kind(ACTIVATION, _PER_TIMESTEP, companions=_WITH_PROFILE + (UNIT_HEALTH,), profile=True,
         time_order=INPUT_TIME, gate_naming="activation"),
    Kind(OUTPUT_GRADIENT, _PER_TIMESTEP, companions=_WITH_PROFILE, profile=True,
         time_order=INPUT_TIME, gate_naming="activation"),
    Kind(STATE_GRADIENT, _PER_TIMESTEP, companions=_WITH_PROFILE, profile=True,
         time_order=INPUT_TIME, gate_naming="activation"),
    Kind(MASK, ("sample", "timestep"), time_order=INPUT_TIME),
    Kind(GATE_ACTIVATION, _PER_TIMESTEP, companions=_WITH_PROFILE + (MEMORY_TIMESCALE,),
         time_order=INPUT_TIME, options=GATE_FIELD, required=GATE_FIELD,
         gate_naming="activation"),
    Kind(CELL_STATE, _PER_TIMESTEP, companions=_WITH_PROFILE, time_order=INPUT_TIME,
         gate_naming="activation"),
    Kind(WEIGHT, ("row", "column"), companions=_WEIGHT_COMPANIONS, options=MATRIX_FIELDS,
         ranked=True, gate_naming="weight"),
    Kind(WEIGHT_GRADIENT, ("row", "column"), companions=_WEIGHT_COMPANIONS,
         options=MATRIX_FIELDS, ranked=True, gate_naming="weight"),
    Kind(GRADIENT_HORIZON, ("sample", "target", "timestep"), companions=_HORIZON_COMPANIONS,
         time_order=INPUT_TIME, options=HORIZON_FIELDS),
    Kind(LABELS, ("sample", "timestep", "field"), companions=(STATS,), time_order=OUTPUT_TIME,
         options=LABEL_OPTIONS, fields=LABEL_FIELDS),
    Kind(TOKENS, ("sample", "timestep"), time_order=INPUT_TIME, options=TOKEN_OPTIONS),
    Kind(INPUT_FEATURES, ("sample", "timestep", "feature"), time_order=INPUT_TIME),
    Kind(INPUT_DEPENDENCY, ("sample", "target", "timestep"), companions=(STATS,),
         time_order=INPUT_TIME, options=DEPENDENCY_FIELDS),
    Kind(PROBE_LOSS, ("metric",), storage=TENSOR, options=LOSS_FIELDS, standalone=True),
    Kind(PROBE_FINGERPRINT, ("part",), storage=TENSOR, standalone=True),
    Kind(STATS, ("statistic",), storage=TENSOR, fields=STAT_FIELDS),
    Kind(PROFILE, ("sample", "timestep"), storage=TENSOR, time_order=INPUT_TIME),
    Kind(GATE_STATS, ("gate", "statistic"), storage=TENSOR, options=MATRIX_FIELDS,
         fields=GATE_STAT_FIELDS, gate_naming="weight"),
    Kind(GATE_HISTOGRAM, ("gate", "bin"), storage=TENSOR, options=MATRIX_FIELDS,
         constants=(("bins", HISTOGRAM_BINS),), gate_naming="weight"),
    Kind(MEMORY_TIMESCALE, ("unit",), storage=TENSOR, options=GATE_FIELD,
         gate_naming="activation"),
    Kind(HORIZON_STATS, ("statistic",), storage=TENSOR, options=HORIZON_FIELDS,
         fields=HORIZON_STAT_FIELDS),
    Kind(LAG_PROFILE, ("lag",), storage=TENSOR, options=HORIZON_FIELDS),
    Kind(UNIT_HEALTH, ("unit", "field"), storage=TENSOR, options=HEALTH_FIELDS,
         gate_naming="activation"),
)
KINDS_BY_NAME = {kind.name: kind for kind in KIND_LIST}
KINDS = tuple(KINDS_BY_NAME)
# Big tensors written per timestep by summary_ops.summary.timestep_tensor.
TIMESTEP_KINDS = (ACTIVATION, OUTPUT_GRADIENT, STATE_GRADIENT, MASK, GATE_ACTIVATION, CELL_STATE)
WEIGHT_KINDS = (WEIGHT, WEIGHT_GRADIENT)
# Kept companions, stored as small float32 tensors.
COMPANION_TENSOR_KINDS = tuple(
    kind.name for kind in KIND_LIST if kind.storage == TENSOR and not kind.standalone)
# Kept series of the whole run, each under its one tag.
STANDALONE_KINDS = tuple(kind.name for kind in KIND_LIST if kind.standalone)
# The kinds whose `<tag>/profile` GET /profile serves.
PROFILED_KINDS = tuple(kind.name for kind in KIND_LIST if kind.profile)


def kind_of(name):
    """The Kind named `name`; ValueError for an unknown one."""
    try:
        return KINDS_BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError("kind must be one of %s, got %r" % (KINDS, name)) from None


# Weight matrices of a cell, in the order they are shown: the input kernel,
# the recurrence, then the biases (a GRU with reset_after=True splits its
# (2, 3U) bias into an input and a recurrent row).
KERNEL = "kernel"
RECURRENT_KERNEL = "recurrent_kernel"
BIAS = "bias"
INPUT_BIAS = "input_bias"
RECURRENT_BIAS = "recurrent_bias"
MATRIX_ORDER = (KERNEL, RECURRENT_KERNEL, BIAS, INPUT_BIAS, RECURRENT_BIAS)

# What a person reads for each gate name, weight blocks and series alike.
GATE_LABELS = {
    "i": "input gate i", "f": "forget gate f", "c": "candidate c", "o": "output gate o",
    "z": "update gate z", "r": "reset gate r", "h": "candidate h", "candidate": "candidate",
}


@dataclasses.dataclass(frozen=True)
class Cell:
    """One type of recurrent cell, as the metadata `cell` names it.

    weight_gates: the gates side by side on the last axis of each weight,
      in Keras' order (SimpleRNN: one block).
    activation_gates: the names of its gate activation series, in the same
      order (the candidate is "candidate"); () when they are not recomputed.
    memory_gate: the gate that keeps the old state (LSTM c_t = f c_{t-1} +
      ...; GRU h = z h_{t-1} + (1 - z) candidate), whose mean sets the
      memory timescale; None without one.
    saturation_gates: the gates whose saturation locks the memory open or
      shut (summary_ops/health.py).
    matrices: its weight matrices in MATRIX_ORDER (a GRU with
      reset_after=False has one `bias` instead of the two rows).
    """

    name: str
    weight_gates: Tuple[str, ...]
    activation_gates: Tuple[str, ...] = ()
    memory_gate: Optional[str] = None
    saturation_gates: Tuple[str, ...] = ()
    matrices: Tuple[str, ...] = (KERNEL, RECURRENT_KERNEL, BIAS)


LSTM = Cell("LSTM", ("i", "f", "c", "o"), ("i", "f", "candidate", "o"), "f", ("i", "f"))
GRU = Cell("GRU", ("z", "r", "h"), ("z", "r", "candidate"), "z", ("z",),
           (KERNEL, RECURRENT_KERNEL, INPUT_BIAS, RECURRENT_BIAS))
SIMPLE_RNN = Cell("SimpleRNN", ("h",))
# ConvLSTM's gates sit on the last axis of a conv kernel; they are not
# recomputed as series.
CONV_LSTM = Cell("ConvLSTM", ("i", "f", "c", "o"), memory_gate="f")
CELLS = {cell.name: cell for cell in (LSTM, GRU, SIMPLE_RNN)}
CELLS.update({"ConvLSTM%dD" % rank: CONV_LSTM for rank in (1, 2, 3)})


def cell_of(name):
    """The Cell a metadata `cell` names, or None (a user's own cell, or none)."""
    return CELLS.get(name) if isinstance(name, str) else None


def gate_order(kind, cell):
    """The gate names of `cell` (a Cell or None) as series of `kind` (a
    Kind) name them, in Keras' order; None when either has no gates."""
    if cell is None or kind.gate_naming is None:
        return None
    names = cell.weight_gates if kind.gate_naming == "weight" else cell.activation_gates
    return list(names) if names else None


def companions_of(kind, cell, gate):
    """The kept companion kinds written with one series of `kind` (a Kind)
    of `cell` (a Cell or None); a gate activation has memory timescales only
    when `gate` is its cell's memory gate."""
    memory = cell is not None and gate is not None and gate == cell.memory_gate
    return [c for c in kind.companions if c != MEMORY_TIMESCALE or memory]


# A SimpleRNN's weights have one block, h: the whole cell, not a candidate.
_WHOLE_CELL_LABEL = "h (the whole cell)"


def gate_label(gate, cell):
    """How the tab names `gate` of `cell` (a Cell or None)."""
    if cell is SIMPLE_RNN and gate == "h":
        return _WHOLE_CELL_LABEL
    return GATE_LABELS.get(gate, "gate " + gate)


def describe(parsed):
    """The facts the browser needs about one series, from its parsed
    metadata (kind, cell, direction, gate, backward): the fields /tags adds
    to it, documented in docs/http_api.md."""
    kind = kind_of(parsed.get("kind"))
    cell = cell_of(parsed.get("cell"))
    order = gate_order(kind, cell)
    backward = parsed.get("backward")
    if not isinstance(backward, bool):  # not written: only a direction says
        backward = {"backward": True, "forward": False}.get(parsed.get("direction"))
    facts = {
        "has_profile": kind.profile,
        "companions": companions_of(kind, cell, parsed.get("gate")),
        "time_order": kind.time_order,
        "backward": backward,
        "gate_order": order,
        "gate_labels": None if order is None else {g: gate_label(g, cell) for g in order},
        "memory_gate": cell.memory_gate if cell is not None else None,
    }
    if MATRIX_FIELDS[0] in kind.options:
        facts["matrix_order"] = list(MATRIX_ORDER)
    known_range = value_range(kind, cell, parsed.get("gate"))
    if known_range:  # absent when not known (as matrix_order is for other kinds)
        facts["value_range"] = known_range
    return facts


def value_range(kind, cell, gate):
    """[lo, hi] when every value of a series is known to lie there, else
    None: a known cell's gate activations other than the candidate are its
    recurrent_activation's output, Keras' sigmoid (or hard_sigmoid) by
    default, so in [0, 1]. (A layer built with another recurrent_activation
    would leave it; the tab checks the values it draws.)"""
    gates = gate_order(kind, cell) if kind.name == GATE_ACTIVATION else None
    if gates and gate in gates and gate != "candidate":
        return [0, 1]
    return None
