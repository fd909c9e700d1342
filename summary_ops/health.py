"""Unit health of a recurrent layer on the probe batch: dead, saturated,
gate-saturated and exploding units, one row of measures per unit.

All measures are over the probe batch's real (unmasked) timesteps:
  dead                  1 when max |h| and max |dL/dh| are both <= `dead`
                        (the unit neither carries nor receives anything);
  saturated_share       the share of (sample, timestep) where |h| >=
                        `saturated_level` x the activation's bound (1 for
                        tanh, sigmoid, softsign; NaN when unbounded, e.g. relu);
  saturated             1 when saturated_share >= `saturated_share`;
  gate_saturated_share  the share of the unit's input/forget (LSTM) or
                        update (GRU) gate values above 1 - `gate_level` or
                        below `gate_level` (NaN without gates);
  gradient_ratio        ||dL/dh_u|| / the median over the layer's units;
  exploding             1 when gradient_ratio >= `exploding`. The health
                        overview calls these units *dominant*: information,
                        not a problem (a cell's memory units carry most of
                        the gradient); its exploding is growth of the
                        gradient (tb_rnn_plugin/health.py).
The thresholds are RNNTensorBoard(health_thresholds=...) and are written
into the series' metadata.
"""

import numpy as np

from tb_rnn_plugin import kinds

FIELDS = (
    "dead", "saturated_share", "saturated", "gate_saturated_share", "gradient_ratio", "exploding",
)
DEFAULT_THRESHOLDS = {
    "dead": 1e-7,
    "saturated_level": 0.99,
    "saturated_share": 0.9,
    "gate_level": 0.01,
    "exploding": 10.0,
}
# The gates whose saturation locks the memory open or shut.
SATURATION_GATES = {cell.name: cell.saturation_gates for cell in (kinds.LSTM, kinds.GRU)}
_BOUNDED = ("tanh", "sigmoid", "hard_sigmoid", "softsign", "hard_tanh")


def thresholds_with(overrides):
    """DEFAULT_THRESHOLDS updated by `overrides` (a dict); unknown names raise ValueError."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(
            "health_thresholds: unknown name(s) %s (known: %s)" % (unknown, sorted(DEFAULT_THRESHOLDS))
        )
    result = dict(DEFAULT_THRESHOLDS)
    result.update({k: float(v) for k, v in overrides.items()})
    return result


def activation_bound(cell):
    """1.0 when the cell's output activation is bounded by 1, else None."""
    activation = getattr(cell, "activation", None)
    name = getattr(activation, "__name__", "")
    return 1.0 if name in _BOUNDED else None


def unit_health(activation, state_gradient, mask=None, bound=1.0, gates=None, thresholds=None):
    """[units, len(FIELDS)] float32 (see the module docstring).

    activation, state_gradient: [B, T, U]; mask: [B, T] bool or None;
    bound: the activation's bound or None; gates: [B, T, U] arrays of the
    gates whose saturation counts (SATURATION_GATES), or None.
    """
    t = thresholds_with(thresholds)
    h = np.asarray(activation, np.float64)
    g = np.asarray(state_gradient, np.float64)
    real = np.ones(h.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    h, g = h[real], g[real]  # [N, U] over real (sample, timestep)
    units = h.shape[-1]
    out = np.full((units, len(FIELDS)), np.nan)
    if not len(h):
        return out.astype(np.float32)
    column = {name: i for i, name in enumerate(FIELDS)}
    out[:, column["dead"]] = (
        (np.abs(h).max(axis=0) <= t["dead"]) & (np.abs(g).max(axis=0) <= t["dead"])
    )
    if bound is not None:
        share = (np.abs(h) >= t["saturated_level"] * bound).mean(axis=0)
        out[:, column["saturated_share"]] = share
        out[:, column["saturated"]] = share >= t["saturated_share"]
    if gates:
        values = np.concatenate([np.asarray(v, np.float64)[real] for v in gates], axis=0)
        level = t["gate_level"]
        out[:, column["gate_saturated_share"]] = ((values > 1 - level) | (values < level)).mean(axis=0)
    norms = np.sqrt(np.sum(np.square(g), axis=0))
    median = np.median(norms)
    ratio = norms / median if median > 0 else np.where(norms > 0, np.inf, np.nan)
    out[:, column["gradient_ratio"]] = ratio
    out[:, column["exploding"]] = np.where(np.isnan(ratio), np.nan, ratio >= t["exploding"])
    return out.astype(np.float32)
