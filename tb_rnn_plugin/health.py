"""The health overview: per run and layer (direction, stacked cell), where
training went wrong and since when. Pure functions over numpy arrays (no
TensorFlow, no data provider); health_service.py feeds them the kept
series, which TensorBoard holds for every logged step.

One row per run and layer (direction, cell of a stack) holds:

- `nonfinite`: the first logged step at which any series of the layer holds
  NaN or +-Inf (from each series' `stats`), and where: the series (kind,
  tag), for a weight or weight gradient the matrix and the gates with
  non-finite values (from `gate_stats`), for a per-timestep kind the first
  and last timestep and the first sample with one (from `profile`, into
  which NaN/Inf propagate), with the counts. Series that first go bad at
  the same step are ordered by SERIES_ORDER: the order in which one
  logging step computes them (weights, then the forward pass on the probe
  batch, then the backward pass), so the first one named is the one the
  others were computed from. Across steps nothing needs ordering: a NaN
  weight gradient at step k shows as NaN weights at the next logged step,
  which is later. Then by matrix (MATRIX_ORDER), gate and tag.
- `dead`, `saturated`, `gate_saturated`: the share of the layer's units
  that are dead, saturated and have saturated gates, from `unit_health`
  (summary_ops/health.py): dead and saturated are its 0/1 columns; a unit
  has saturated gates when its `gate_saturated_share` is at least the
  `saturated_share` threshold written with the series (default 0.9), the
  same share that makes a unit `saturated`. Each is taken at the latest
  logged step, with the step its current spell at or above PROBLEM_LEVELS
  began (`since`) and the first step it ever was (`first_step`).
- `dominant`: the share of units whose state gradient is at least
  `unit_health`'s `exploding` threshold (default 10) times the layer's
  median unit (its 0/1 `exploding` column), shaped like the shares above.
  Information, never a problem: a few units carrying far more gradient
  than the rest is what memory looks like (a GRU's or LSTM's long-range
  channels), not a gradient that grows.
- `vanishing` and `exploding` (gradient_reach.py): the gradient back through time, per sample
  first: each sample's ||dL/dh_first|| / ||dL/dh_last|| from the state
  gradient's `profile` (the L2 norm over channels, per sample and
  timestep), then the median over the probe batch's samples, with the
  spread (`p10`, `p90`, `min`, `max` of the per-sample ratios, `samples`
  with one, and `below` / `above`: how many are past the level). A ratio of
  batch means would let one sample decide for the batch. `vanishing` is a
  problem when the median is below VANISHING_LEVEL, `exploding` when it is
  above EXPLODING_LEVEL (growth back through time), or when the state
  gradient's L2 norm over the probe batch (its `stats`) jumps by
  TRAINING_JUMP or more against the median of the previous TRAINING_WINDOW
  logged steps (growth over training: `jump`, the latest such step).
  First and last are in the order the layer processes its input: for a
  layer that runs backwards (a backward direction, or a series whose
  metadata says `backward`: a go_backwards layer; stored in input-time
  order) that is input timestep T-1 over input timestep 0, and with a mask
  each sample's own first and last real timestep (the mask series' latest
  logged step: the callback's probe batch is fixed), so padding at either
  end does not read as vanishing.
  `vanishing` also has `reach` (gradient_reach.reach_summary): per
  sample, how many timesteps back ||dL/dh_t|| stays at or above
  VANISHING_LEVEL x the last one's, at the latest step (the summary's
  reach sentence, verdicts.py).

Units whose measure is NaN are left out of the shares; a step where every
unit is NaN has no share, and neither has a step at which the layer's
activation, state gradient or gates hold NaN/Inf (`over_nonfinite` says so
for the latest step): summary_ops/health.py compares with NaN there, and
a NaN unit would read as "not dead". A step without a value neither ends
nor starts a spell.
"""

import math

import numpy as np

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata
# The vanishing and exploding cells, and the spells every cell reports;
# also importable from here (the health row's parts).
from tb_rnn_plugin.gradient_reach import (  # noqa: F401
    EXPLODING_LEVEL,
    TRAINING_JUMP,
    TRAINING_WINDOW,
    VANISHING_LEVEL,
    exploding_summary,
    known_onset,
    onset,
    sample_ratios,
    training_jumps,
    vanishing_ratios,
    vanishing_summary,
)

# The order in which one logging step computes a layer's series: the weights
# as they are, the forward pass on the probe batch (activations, gates and
# cell state), the backward pass (dL/dy_t, dL/dh_t) and the weights'
# gradients. A series that first holds NaN at the same step as another one
# earlier in this order was computed from it.
SERIES_ORDER = (
    metadata.WEIGHT,
    metadata.GATE_ACTIVATION,
    metadata.CELL_STATE,
    metadata.ACTIVATION,
    metadata.OUTPUT_GRADIENT,
    metadata.STATE_GRADIENT,
    metadata.WEIGHT_GRADIENT,
)
MATRIX_ORDER = kinds.MATRIX_ORDER
# The kinds written with a `<tag>/profile`, where a NaN is located.
PROFILED = tuple(k.name for k in kinds.KIND_LIST if kinds.PROFILE in k.companions)

# The share of units from which a measure is a problem (highlighted, and
# the level its `since` / `first_step` refer to): a tenth of the units
# dead; a quarter saturated; half with saturated gates (a forget gate near
# 1 is what long memory needs, so some are expected).
PROBLEM_LEVELS = {"dead": 0.1, "saturated": 0.25, "gate_saturated": 0.5}
# Dominant units are information: their `since` / `first_step` count from
# the first such unit, and they are never a problem.
DOMINANT_SHARE = 1e-9
# summary_ops/health.py's default `exploding` threshold (gradient ratio of a
# unit over the median unit), for series whose metadata does not say.
DEFAULT_DOMINANT_RATIO = 10.0
# Default `saturated_share` threshold of summary_ops/health.py, for series
# whose metadata does not say.
DEFAULT_SATURATED_SHARE = 0.9

_STAT = {name: i for i, name in enumerate(metadata.STAT_FIELDS)}
_NONFINITE_FIELDS = ("nan_count", "posinf_count", "neginf_count")


def _rank(order, value):
    return order.index(value) if value in order else len(order)


def series_rank(series):
    """Sort key of a series (dict with kind, tag, metadata) among the
    candidates for the first non-finite value at one step."""
    meta = series.get("metadata") or {}
    return (
        _rank(SERIES_ORDER, series["kind"]),
        _rank(MATRIX_ORDER, meta.get("matrix")),
        str(meta.get("matrix") or ""),
        str(meta.get("gate") or ""),
        series["tag"],
    )


def first_nonfinite(steps, stats):
    """(step, {"nan", "posinf", "neginf"}) of the first step whose STATS row
    counts a NaN or +-Inf, or None.

    steps: [N] ascending; stats: [N, len(metadata.STAT_FIELDS)] (a row may be
    shorter or NaN-padded: missing counts read as 0).
    """
    stats = np.asarray(stats, np.float64).reshape(len(steps), -1)
    counts = np.zeros((len(steps), 3))
    for j, name in enumerate(_NONFINITE_FIELDS):
        column = _STAT[name]
        if column < stats.shape[1]:
            counts[:, j] = np.nan_to_num(stats[:, column], nan=0.0, posinf=0.0)
    bad = np.flatnonzero(counts.sum(axis=1) > 0)
    if not len(bad):
        return None
    i = int(bad[0])
    return int(steps[i]), dict(zip(("nan", "posinf", "neginf"), (int(c) for c in counts[i])))


def locate_in_gates(gate_stats, fields, gates):
    """Where a weight's non-finite values are: {"gate": first gate's name or
    None, "gates": [{"name", "nan", "posinf", "neginf"}] of every gate that
    has one}.

    gate_stats: [gates, fields] at the step; fields: its metadata's names;
    gates: its metadata's [{"name", ...}] (None: one row, the whole matrix).
    """
    gate_stats = np.asarray(gate_stats, np.float64)
    gate_stats = gate_stats.reshape(-1, gate_stats.shape[-1]) if gate_stats.ndim else gate_stats.reshape(1, 1)
    column = {name: i for i, name in enumerate(fields or ())}
    found = []
    for row in range(gate_stats.shape[0]):
        counts = {}
        for name, key in zip(_NONFINITE_FIELDS, ("nan", "posinf", "neginf")):
            i = column.get(name)
            value = gate_stats[row, i] if i is not None and i < gate_stats.shape[1] else 0.0
            counts[key] = int(value) if math.isfinite(value) else 0
        if sum(counts.values()):
            name = gates[row]["name"] if gates and row < len(gates) else None
            found.append(dict(name=name, **counts))
    return {"gate": found[0]["name"] if found else None, "gates": found}


def locate_in_profile(profile):
    """Where a per-timestep tensor's non-finite values are, from its profile
    [sample, timestep] at the step (a NaN or Inf in any channel makes the
    norm non-finite): {"timestep": first timestep with one, "last_timestep",
    "sample": the first sample with one at that timestep, "samples": how
    many samples have one, "cells": how many (sample, timestep)}; None if
    the profile is finite (e.g. only a channel beyond those written)."""
    profile = np.asarray(profile, np.float64)
    if profile.ndim != 2:
        return None
    bad = ~np.isfinite(profile)
    if not bad.any():
        return None
    timesteps = np.flatnonzero(bad.any(axis=0))
    first = int(timesteps[0])
    return {
        "timestep": first,
        "last_timestep": int(timesteps[-1]),
        "sample": int(np.flatnonzero(bad[:, first])[0]),
        "samples": int(bad.any(axis=1).sum()),
        "cells": int(bad.sum()),
    }


def unit_shares(steps, unit_health, fields, thresholds=None):
    """{measure: [N] share of units (NaN where no unit has a value)} for
    "dead", "saturated", "gate_saturated", "dominant" (the `exploding`
    column) over a unit_health series [N, units, fields]; measures whose
    column is absent are left out."""
    values = np.asarray(unit_health, np.float64)
    column = {name: i for i, name in enumerate(fields or ())}
    level = float((thresholds or {}).get("saturated_share", DEFAULT_SATURATED_SHARE))
    shares = {}
    for measure, field in (("dead", "dead"), ("saturated", "saturated"), ("dominant", "exploding"),
                           ("gate_saturated", "gate_saturated_share")):
        i = column.get(field)
        if i is None or i >= values.shape[-1]:
            continue
        v = values[:, :, i]
        flagged = (v >= level) if measure == "gate_saturated" else (v >= 0.5)
        known = np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[measure] = np.where(
                known.any(axis=1), (flagged & known).sum(axis=1) / known.sum(axis=1), np.nan)
    return shares


def share_summary(steps, shares, level, units):
    """The row's cell for one unit measure: {"value": share at the last step
    (None: no unit had a value), "units": count of those units, "of": how
    many units, "step", "since", "first_step", "level", "problem"}."""
    shares = np.asarray(shares, np.float64)
    last = shares[-1]
    since, first = known_onset(steps, shares, np.nan_to_num(shares, nan=-1.0) >= level)
    known = math.isfinite(last)
    return {
        "value": float(last) if known else None,
        "units": int(round(last * units)) if known else None,
        "of": int(units),
        "step": int(steps[-1]),
        "since": since,
        "first_step": first,
        "level": level,
        "problem": bool(known and last >= level),
    }


def row_key(meta):
    """(layer, direction, cell_index) of a series' metadata: its row."""
    cell_index = meta.get("cell_index")
    return (
        str(meta.get("layer")) if meta.get("layer") is not None else "(unnamed layer)",
        meta.get("direction") if meta.get("direction") in metadata.DIRECTIONS else None,
        cell_index if isinstance(cell_index, int) and not isinstance(cell_index, bool) else None,
    )


# What unit_health is computed from, on the probe batch.
UNIT_HEALTH_INPUTS = (metadata.ACTIVATION, metadata.STATE_GRADIENT, metadata.GATE_ACTIVATION)


def nonfinite_steps(candidates, kinds):
    """The steps at which any of `candidates` (as first_bad_series takes
    them) of `kinds` counts a NaN or Inf in its stats."""
    bad = set()
    for series in candidates:
        if series["kind"] not in kinds:
            continue
        stats = np.asarray(series["stats"], np.float64).reshape(len(series["steps"]), -1)
        columns = [_STAT[name] for name in _NONFINITE_FIELDS if _STAT[name] < stats.shape[1]]
        counts = np.nan_to_num(stats[:, columns], nan=0.0, posinf=0.0).sum(axis=1)
        bad.update(int(step) for step, count in zip(series["steps"], counts) if count > 0)
    return bad


def first_bad_series(candidates):
    """The first non-finite event among `candidates` [{"kind", "tag",
    "metadata", "steps", "stats"}]: (the candidate, step, counts) with the
    earliest step, ties by series_rank; None if all are finite."""
    best = None
    for series in candidates:
        found = first_nonfinite(series["steps"], series["stats"])
        if found is None:
            continue
        key = (found[0], series_rank(series))
        if best is None or key < best[0]:
            best = (key, series, found)
    if best is None:
        return None
    _, series, (step, counts) = best
    return series, step, counts


def nonfinite_cell(series, step, counts, location):
    """The row's nonfinite cell from first_bad_series and a location
    (locate_in_gates or locate_in_profile, or None)."""
    meta = series.get("metadata") or {}
    cell = {
        "step": int(step),
        "kind": series["kind"],
        "tag": series["tag"],
        "direction": meta.get("direction"),
        "cell_index": meta.get("cell_index"),
        "matrix": meta.get("matrix"),
        "gate": meta.get("gate"),
        "nan": counts["nan"],
        "posinf": counts["posinf"],
        "neginf": counts["neginf"],
    }
    cell.update(location or {})
    return cell


def health_row(run, key, cell, series_by_tag, unit_health=None, state_profile=None,
               locate=None):
    """One row of /health.

    Args:
      run: the run's name.
      key: row_key of the layer.
      cell: the layer's cell type (e.g. "LSTM") or None.
      series_by_tag: {tag: {"kind", "tag", "metadata", "steps", "stats"}}
        of the layer's series that have stats.
      unit_health: {"steps", "values" [N, units, fields], "fields",
        "thresholds"} or None.
      state_profile: {"steps", "values" [N, samples, timesteps], "mask"
        [samples, timesteps] or None, "backward": the series' metadata's
        (None: from the direction)} of the state gradient's profile, or
        None.
      locate: callable(series, step) -> location dict or None, reading the
        series' gate_stats or profile at that step (called at most once).
    """
    layer, direction, cell_index = key
    row = {
        "run": run, "layer": layer, "direction": direction, "cell_index": cell_index,
        "cell": cell, "nonfinite": None, "dead": None, "saturated": None,
        "gate_saturated": None, "dominant": None, "exploding": None, "vanishing": None,
        "steps": None, "latest_step": None,
    }
    logged = sorted({int(s) for series in series_by_tag.values() for s in series["steps"]})
    if logged:
        row["steps"], row["latest_step"] = len(logged), logged[-1]
    found = first_bad_series(series_by_tag.values())
    if found is not None:
        series, step, counts = found
        location = locate(series, step) if locate is not None else None
        row["nonfinite"] = nonfinite_cell(series, step, counts, location)
    if unit_health is not None and len(unit_health["steps"]):
        values = np.asarray(unit_health["values"], np.float64)
        shares = unit_shares(unit_health["steps"], values, unit_health["fields"],
                             unit_health.get("thresholds"))
        # Measures over NaN/Inf inputs mean nothing (NaN <= x is false: a NaN
        # unit reads as not dead): no value at those steps.
        over_nonfinite = np.isin(unit_health["steps"], sorted(
            nonfinite_steps(series_by_tag.values(), UNIT_HEALTH_INPUTS)))
        for measure, per_step in shares.items():
            cell_value = share_summary(unit_health["steps"], np.where(over_nonfinite, np.nan, per_step),
                                       PROBLEM_LEVELS.get(measure, DOMINANT_SHARE), values.shape[1])
            cell_value["tag"] = unit_health.get("tag")
            cell_value["over_nonfinite"] = bool(over_nonfinite[-1])
            row[measure] = cell_value
        if row["dominant"] is not None:
            row["dominant"].update(dominant_facts(unit_health.get("thresholds")))
    if state_profile is not None and len(state_profile["steps"]):
        row["vanishing"], row["exploding"] = through_time_cells(
            state_profile, direction, series_by_tag.get(state_profile.get("tag")))
    return row


def dominant_facts(thresholds):
    """What makes the dominant cell information: never a problem, and the
    gradient ratio over the median unit from which a unit is dominant."""
    ratio = (thresholds or {}).get("exploding", DEFAULT_DOMINANT_RATIO)
    return {"problem": False, "information": True, "ratio_level": float(ratio)}


def through_time_cells(state_profile, direction, stats_series=None):
    """(vanishing, exploding) cells of a row from its state_profile (as
    health_row takes it) and the state gradient's series with stats."""
    backward = state_profile.get("backward")  # the series' metadata (kinds.describe)
    if not isinstance(backward, bool):
        backward = direction == "backward"
    args = (state_profile["steps"], state_profile["values"], backward)
    vanishing = vanishing_summary(*args, mask=state_profile.get("mask"))
    exploding = exploding_summary(*args, mask=state_profile.get("mask"), stats_series=stats_series)
    vanishing["tag"] = exploding["tag"] = state_profile.get("tag")
    return vanishing, exploding


def row_order(row):
    """Sort key of rows: run, layer, forward before backward, cell index."""
    direction = {None: 0, "forward": 1, "backward": 2}.get(row["direction"], 3)
    cell_index = row["cell_index"] if row["cell_index"] is not None else -1
    return (row["run"], row["layer"], direction, cell_index)


def levels():
    """The documented levels, for the response (the tab shows them)."""
    return {"units": dict(PROBLEM_LEVELS), "vanishing": VANISHING_LEVEL,
            "exploding": EXPLODING_LEVEL, "training_jump": TRAINING_JUMP,
            "training_window": TRAINING_WINDOW, "dominant_ratio": DEFAULT_DOMINANT_RATIO}


# The kinds whose stats a row checks for NaN/Inf: every per-timestep kind
# but masks, and the weights (gradient horizons are left to their own view).
CHECKED_KINDS = PROFILED + metadata.WEIGHT_KINDS


def plan_rows(tags):
    """What to read for each row of one run, from its /tags entries
    {tag: {"metadata": parsed, ...}}: {row_key: {"cell", "series": [{"kind",
    "tag", "metadata"}], "unit_health": tag or None, "state_profile": tag or
    None}}. Rows are layers (direction, cell) with any checked series."""
    rows = {}
    for tag in sorted(tags):
        meta = (tags[tag] or {}).get("metadata") or {}
        kind = meta.get("kind")
        if kind not in CHECKED_KINDS:
            continue
        plan = rows.setdefault(row_key(meta), {
            "cell": None, "series": [], "unit_health": None, "state_profile": None,
        })
        plan["cell"] = plan["cell"] or meta.get("cell")
        plan["series"].append({"kind": kind, "tag": tag, "metadata": meta})
        if kinds.UNIT_HEALTH in kinds.kind_of(kind).companions:
            plan["unit_health"] = metadata.companion_tag(tag, metadata.UNIT_HEALTH)
        if kind == metadata.STATE_GRADIENT:
            plan["state_profile"] = metadata.profile_tag(tag)
    return rows


def kept_tags(plans):
    """Every kept tag the rows of `plans` (plan_rows) read up front."""
    tags = set()
    for plan in plans.values():
        tags.update(metadata.stats_tag(s["tag"]) for s in plan["series"])
        tags.update(t for t in (plan["unit_health"], plan["state_profile"]) if t)
    return tags


def stacked(points, rank):
    """(steps [N], values [N, ...]) of a kept series' {step: array}, or None
    when its steps do not stack (not real numbers, rank other than `rank`,
    shapes that differ): such a series is left out, never an error."""
    steps = sorted(points)
    if not steps:
        return None
    try:
        values = np.stack([np.asarray(points[s]) for s in steps])
    except (TypeError, ValueError):  # shapes that differ
        return None
    if values.ndim != rank + 1 or not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        return None
    return np.asarray(steps, np.int64), values.astype(np.float64)
