"""How far the state gradient reaches back, per sample, and whether it grows:
the health overview's `vanishing` and `exploding` cells (health.py). Pure
functions over the state gradient's kept `profile` ([samples, timesteps]
L2 norms over channels, per logged step) and `stats`.

Per sample first, then robust across the batch: each sample's ratio
||dL/dh_first|| / ||dL/dh_last|| at its own first and last real timestep
(in the order the layer processes its input), then the median with its
spread. A ratio of batch means lets one outlier sample of eight decide.
"""

import math

import numpy as np

from tb_rnn_plugin import metadata

# The median per-sample ||dL/dh_first|| / ||dL/dh_last|| below this: the
# loss no longer reaches the first timestep (three decades lost along the
# sequence); a gated cell that remembers keeps it within one or two.
VANISHING_LEVEL = 1e-3
# ... above this: the gradient grows going back through time (three decades
# gained, the mirror of VANISHING_LEVEL); memory that is kept carries the
# gradient back at about its size (a ratio near 1), it does not multiply it.
EXPLODING_LEVEL = 1e3
# Growth over training: the state gradient's norm on the (fixed) probe
# batch at a logged step at least this times the median of the previous
# TRAINING_WINDOW logged steps. Training moves it by small factors from one
# logging step to the next; an order of magnitude at once is a blow-up.
TRAINING_JUMP = 10.0
TRAINING_WINDOW = 5

_STAT = {name: i for i, name in enumerate(metadata.STAT_FIELDS)}


def onset(steps, flags):
    """(since, first_step) of a boolean per-step condition: the step its
    current spell (ending at the last step) began, None if it does not hold
    at the last step; and the first step it held at all, None if never."""
    flags = np.asarray(flags, bool)
    held = np.flatnonzero(flags)
    if not len(held):
        return None, None
    first = int(steps[held[0]])
    if not flags[-1]:
        return None, first
    not_held = np.flatnonzero(~flags)
    start = int(not_held[-1]) + 1 if len(not_held) else 0
    return int(steps[start]), first


def known_onset(steps, values, flags):
    """onset() over the steps where `values` is finite: a step without a
    value (NaN) neither ends a spell nor starts one."""
    known = np.isfinite(np.asarray(values, np.float64))
    return onset(np.asarray(steps)[known], np.asarray(flags, bool)[known])


def sample_ratios(profiles, backward, mask=None):
    """[N, samples] each sample's ||dL/dh_first|| / ||dL/dh_last|| from
    state-gradient profiles [N, samples, timesteps], at the sample's own
    first and last real timestep (all timesteps without a `mask` [samples,
    timesteps] of the same shape), first and last in processing order
    (backward: input timestep T-1 over 0). NaN where the last is 0, either
    is not finite, or the sample has no real timestep."""
    profiles = np.asarray(profiles, np.float64)
    if profiles.ndim != 3 or profiles.shape[2] == 0:
        return np.full((len(profiles), 0), np.nan)
    real = np.ones(profiles.shape[1:], bool)
    if mask is not None and np.shape(mask) == profiles.shape[1:]:
        real = np.asarray(mask) > 0
    first_input = np.argmax(real, axis=1)
    last_input = real.shape[1] - 1 - np.argmax(real[:, ::-1], axis=1)
    first_at, last_at = (last_input, first_input) if backward else (first_input, last_input)
    samples = np.arange(profiles.shape[1])
    first = profiles[:, samples, first_at]
    last = profiles[:, samples, last_at]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = first / last
    defined = np.isfinite(ratio) & (last > 0) & real.any(axis=1)[None, :]
    return np.where(defined, ratio, np.nan)


def sample_reach(profile, backward, mask=None, level=VANISHING_LEVEL):
    """How far back each sample's gradient reaches at one step: (reach,
    span), each [samples] in timesteps. `reach`: from the sample's last
    processed real timestep back to the earliest processed one whose
    ||dL/dh_t|| is at least `level` x the last one's (NaN where the last is
    0 or not finite); `span`: back to its first real timestep (the most it
    can reach). profile [samples, timesteps] and mask as for
    sample_ratios."""
    profile = np.asarray(profile, np.float64)
    if profile.ndim != 2 or profile.shape[1] == 0:
        return np.full(len(profile), np.nan), np.full(len(profile), np.nan)
    real = np.ones(profile.shape, bool)
    if mask is not None and np.shape(mask) == profile.shape:
        real = np.asarray(mask) > 0
    # Processing order: the layer's first processed timestep first.
    order = profile[:, ::-1] if backward else profile
    real = real[:, ::-1] if backward else real
    reach, span = np.full(len(profile), np.nan), np.full(len(profile), np.nan)
    for sample in range(len(profile)):
        at = np.flatnonzero(real[sample])
        if not len(at):
            continue
        last = order[sample, at[-1]]
        span[sample] = at[-1] - at[0]
        if not (math.isfinite(last) and last > 0):
            continue
        with np.errstate(invalid="ignore"):
            reached = at[order[sample, at] >= level * last]
        reach[sample] = at[-1] - reached[0]  # the last one itself is always reached
    return reach, span


def reach_summary(profile, backward, mask=None, level=VANISHING_LEVEL):
    """The vanishing cell's `reach` at one step: {"level", "median", "p10",
    "p90", "min", "max" of sample_reach's reach, "samples": how many have
    one, "full": how many reach their first real timestep, "span": the
    median span}; the statistics are None without any sample."""
    reach, span = sample_reach(profile, backward, mask, level)
    known = np.isfinite(reach)
    cell = {"level": level, "samples": int(known.sum()),
            "full": int((known & (reach >= span)).sum())}
    values = reach[known]
    names = ("median", "p10", "p90", "min", "max")
    if not len(values):
        cell.update(dict.fromkeys(names), span=None)
        return cell
    stats = (np.median(values), *np.percentile(values, [10, 90]), values.min(), values.max())
    cell.update({name: float(v) for name, v in zip(names, stats)})
    cell["span"] = float(np.median(span[known]))
    return cell


def median_over_samples(ratios):
    """[N] median of each step's per-sample ratios (NaN where none)."""
    ratios = np.asarray(ratios, np.float64)
    medians = np.full(len(ratios), np.nan)
    for i, row in enumerate(ratios):
        known = row[np.isfinite(row)]
        if len(known):
            medians[i] = np.median(known)
    return medians


def vanishing_ratios(profiles, backward, mask=None):
    """[N] the median over samples of sample_ratios (NaN where no sample
    has one)."""
    return median_over_samples(sample_ratios(profiles, backward, mask))


def spread(ratios, level, below):
    """The spread of one step's per-sample ratios: {"p10", "p90", "min",
    "max", "samples": how many have one, "past": how many are below
    (`below`) or above `level`}; None for each without any."""
    known = np.asarray(ratios, np.float64)
    known = known[np.isfinite(known)]
    if not len(known):
        return {"p10": None, "p90": None, "min": None, "max": None, "samples": 0, "past": 0}
    p10, p90 = np.percentile(known, [10, 90])
    past = (known < level) if below else (known > level)
    return {"p10": float(p10), "p90": float(p90), "min": float(known.min()),
            "max": float(known.max()), "samples": int(len(known)), "past": int(past.sum())}


def through_time_cell(steps, ratios, level, below, backward, masked, timesteps):
    """The row's vanishing (`below`: median under `level`) or exploding
    through time (median over `level`) cell from sample_ratios [N,
    samples]: {"value": the median at the last step (None if no sample has
    a ratio), the spread there, "below" or "above" (spread's "past"),
    "step", "since", "first_step", "level", "problem", "timesteps",
    "order", "masked"}."""
    medians = median_over_samples(ratios)
    flags = (np.nan_to_num(medians, nan=np.inf) < level) if below \
        else (np.nan_to_num(medians, nan=-np.inf) > level)
    since, first = known_onset(steps, medians, flags)
    last = medians[-1] if len(medians) else np.nan
    known = math.isfinite(last)
    cell = {
        "value": float(last) if known else None,
        "step": int(steps[-1]),
        "since": since,
        "first_step": first,
        "level": level,
        "problem": bool(known and flags[-1]),
        "timesteps": timesteps,
        # Which timesteps the ratio compares, in input time.
        "order": "||dL/dh_T-1|| / ||dL/dh_0|| (backward: processed from T-1 to 0)"
        if backward else "||dL/dh_0|| / ||dL/dh_T-1||",
        # Whether each sample's own first and last real timestep were used.
        "masked": masked,
    }
    cell.update(spread(ratios[-1] if len(ratios) else [], level, below))
    cell["below" if below else "above"] = cell.pop("past")
    return cell


def vanishing_summary(steps, profiles, backward, level=VANISHING_LEVEL, mask=None):
    """The row's vanishing cell (through_time_cell below `level`), plus
    "reach" (reach_summary at the last step); mask as for sample_ratios."""
    profiles = np.asarray(profiles)
    cell = through_time_cell(
        steps, sample_ratios(profiles, backward, mask), level, True, backward,
        masked=mask is not None and np.shape(mask) == profiles.shape[1:],
        timesteps=int(profiles.shape[2]) if profiles.ndim == 3 else None)
    # How far back the gradient reaches at the last step (verdicts.py's
    # reach sentence), per sample, at the same level.
    cell["reach"] = (reach_summary(profiles[-1], backward, mask, level)
                     if profiles.ndim == 3 and len(profiles) else None)
    return cell


def training_jumps(steps, norms, factor=TRAINING_JUMP, window=TRAINING_WINDOW):
    """[(step, jump)] of the logged steps whose norm is at least `factor`
    times the median of the previous `window` steps' finite norms (a step
    with fewer than 2 before it is not judged: no history to jump from)."""
    norms = np.asarray(norms, np.float64)
    found = []
    for i in range(2, len(norms)):
        history = norms[max(0, i - window):i]
        history = history[np.isfinite(history)]
        if len(history) < 2 or not math.isfinite(norms[i]):
            continue
        reference = np.median(history)
        if reference > 0 and norms[i] >= factor * reference:
            found.append((int(steps[i]), float(norms[i] / reference)))
    return found


def exploding_summary(steps, profiles, backward, mask=None, stats_series=None,
                      level=EXPLODING_LEVEL):
    """The row's exploding cell: through_time_cell above `level`, plus
    "jump": {"step", "factor", "tag"} of the latest step at which the state
    gradient's L2 norm (its `stats_series`: {"tag", "steps", "stats"})
    jumped by TRAINING_JUMP against its recent history, or None; such a
    jump makes it a problem too (growth over training), with "since" and
    "first_step" at the jump when the ratio never was above `level`."""
    profiles = np.asarray(profiles)
    cell = through_time_cell(
        steps, sample_ratios(profiles, backward, mask), level, False, backward,
        masked=mask is not None and np.shape(mask) == profiles.shape[1:],
        timesteps=int(profiles.shape[2]) if profiles.ndim == 3 else None)
    cell["through_time"] = cell["problem"]
    cell["jump"] = None
    if stats_series is not None and len(stats_series["steps"]):
        stats = np.asarray(stats_series["stats"], np.float64).reshape(len(stats_series["steps"]), -1)
        jumps = training_jumps(stats_series["steps"], stats[:, _STAT["l2_norm"]])
        if jumps:
            cell["jump"] = {"step": jumps[-1][0], "factor": jumps[-1][1], "tag": stats_series["tag"]}
            cell["problem"] = True
            if cell["first_step"] is None:
                cell["since"], cell["first_step"] = jumps[0][0], jumps[0][0]
    return cell
