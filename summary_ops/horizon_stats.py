"""Statistics of a gradient horizon G [B, K, T] (horizon.py), pure numpy:
the lag profile and the effective horizon the callback keeps for every
logged step."""

import numpy as np


def lag_profile(horizon, targets=None, backward=False, mask=None, max_lag=None):
    """m(lag) = mean over samples b and targets t of G[b, t, t -/+ lag] / G[b, t, t].

    horizon [B, K, T]; targets the K target steps (None: K == T, all);
    backward: lag = j - t instead of t - j; mask [B, T]: padded source steps
    j (and targets t) are left out. Pairs whose G[b, t, t] is 0 (no loss at
    t, or padding) are left out, as are lags that fall outside the sequence.
    Returns m for lag = 0..L (L = max_lag or T - 1); NaN where no pair counts.
    """
    horizon = np.asarray(horizon, dtype=np.float64)
    batch, k, timesteps = horizon.shape
    targets = np.arange(timesteps) if targets is None else np.asarray(targets)
    if len(targets) != k:
        raise ValueError("len(targets) %d != horizon.shape[1] %d" % (len(targets), k))
    last = timesteps - 1 if max_lag is None else min(max_lag, timesteps - 1)
    rows = np.arange(k)
    diagonal = horizon[:, rows, targets]  # [B, K]
    valid_target = diagonal > 0
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        valid_target &= mask[:, targets]
    safe = np.where(valid_target, diagonal, 1.0)
    profile = np.full(last + 1, np.nan)
    for lag in range(last + 1):
        source = targets + lag if backward else targets - lag
        inside = (source >= 0) & (source < timesteps)
        if not inside.any():
            continue
        ratio = horizon[:, rows[inside], source[inside]] / safe[:, inside]
        valid = valid_target[:, inside]
        if mask is not None:
            valid = valid & mask[:, source[inside]]
        if valid.any():
            profile[lag] = ratio[valid].mean()
    return profile


def horizon_statistics(horizon, targets=None, backward=False, mask=None, max_lag=None):
    """Per-logged-step summary of a horizon [B, K, T].

    "max": the largest ||dL_t/dh_j|| (RNNbow's overview of the step's max
    gradient); "max_per_target": [K], the largest over samples and j, per t;
    "profile": lag_profile(...); "effective_horizon": the mean lag under the
    normalised profile, sum_l l m(l) / sum_l m(l) (lags where m is NaN are
    skipped).

    Why this statistic: normalising each target's row by its own G[t, t]
    removes the size of the loss at t and the loss scale, so it compares
    over training and between models; it is a continuous number (no
    threshold to pick, not quantised to whole steps); and for a geometric
    decay G[t, t - l] = a^l G[t, t] it is exactly sum l a^l / sum a^l
    (a / (1 - a) for long sequences): 0 when nothing flows back, growing
    without bound as the gradient stops vanishing.
    """
    horizon = np.asarray(horizon, dtype=np.float64)
    profile = lag_profile(horizon, targets, backward, mask, max_lag)
    lags = np.arange(len(profile))
    ok = ~np.isnan(profile)
    weight = profile[ok].sum()
    effective = float((lags[ok] * profile[ok]).sum() / weight) if weight > 0 else float("nan")
    return {
        "max": float(horizon.max(initial=0.0)),
        "max_per_target": horizon.max(axis=(0, 2)) if horizon.size else np.zeros(0),
        "profile": profile,
        "effective_horizon": effective,
    }
