"""The loss on the probe batch over training (kinds.PROBE_LOSS, `probe/loss`):
the GET /loss payload of one run, where it spiked, and the sentence the
plain-language summary says about it. Pure functions over the kept series'
steps and values, and read_runs, which reads them through the plugin's
storage.SeriesStore for the route. Nothing here imports TensorFlow.
"""

import logging
import math

import numpy as np
from tensorboard import errors

from tb_rnn_plugin import gradient_reach
from tb_rnn_plugin import kinds
from tb_rnn_plugin import reading

logger = logging.getLogger(__name__)

# A logged step whose loss is at least LOSS_SPIKE times the median of the
# previous LOSS_WINDOW logged finite losses is a spike. The probe batch is
# fixed, so the loss moves only as the weights do: from one logging step to
# the next it drifts by tens of percent, and a loss that triples at once
# means a step threw the weights off (an exploding gradient, a learning rate
# too high). The gradient norms' jump level (gradient_reach.TRAINING_JUMP,
# 10x) is higher because a norm varies more than the loss it comes from.
LOSS_SPIKE = 3.0
LOSS_WINDOW = gradient_reach.TRAINING_WINDOW

LOSS_REMEDY = "gradient clipping (clipnorm) or a lower learning rate"
NAN_REMEDY = "gradient clipping (clipnorm), a lower learning rate, or finding the NaN's source " \
    "(the health overview names the first NaN/Inf)"


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def spikes(steps, losses, factor=LOSS_SPIKE, window=LOSS_WINDOW):
    """[{"step", "factor", "metric": "loss"}] in step order: the steps whose
    loss jumped by `factor` against the median of the previous `window`
    finite losses (gradient_reach.training_jumps; a step needs 2 finite
    losses before it to be judged), and every step whose loss is NaN or
    +-Inf ("factor" None)."""
    losses = np.asarray(losses, np.float64)
    found = {
        step: {"step": step, "factor": jump, "metric": "loss"}
        for step, jump in gradient_reach.training_jumps(steps, losses, factor, window)
    }
    for step, loss in zip(steps, losses):
        if not math.isfinite(loss):
            found[int(step)] = {"step": int(step), "factor": None, "metric": "loss"}
    return [found[step] for step in sorted(found)]


def run_loss(names, steps, values):
    """One run's GET /loss entry: {"names", "steps", "values" [[per name]
    per step], NaN and +-Inf as null, "nonfinite": per step the loss's
    NaN/Inf as "nan", "inf", "-inf" or null, "spikes"}."""
    values = np.asarray(values, np.float64).reshape(len(steps), len(names))
    losses = values[:, 0] if len(names) else np.zeros(len(steps))
    return {
        "names": list(names),
        "steps": [int(s) for s in steps],
        "values": [[_finite_or_none(v) for v in row] for row in values],
        "nonfinite": [None if math.isfinite(v) else ("nan" if math.isnan(v) else
                      ("inf" if v > 0 else "-inf")) for v in losses],
        "spikes": spikes(steps, losses),
    }


def loss_sentence(run, steps, values, names):
    """What the summary says about a run's probe loss, or None (nothing
    logged): {"run", "layer": None, "direction": None, "topic": "loss",
    "severity", "text", "remedy", "view"}.

    Rules, in order: the loss became NaN/Inf at some step ("problem",
    the first such step); it spiked (spikes(), "problem", the latest
    spike); else "ok" with how it went from the first to the last logged
    step, or "info" when it rose overall without a spike.
    """
    if not len(steps):
        return None
    values = np.asarray(values, np.float64).reshape(len(steps), -1)
    losses = values[:, 0]
    found = spikes(steps, losses)
    nonfinite = [s for s in found if s["factor"] is None]
    jumps = [s for s in found if s["factor"] is not None]
    if nonfinite:
        step = nonfinite[0]["step"]
        text = "the loss on the probe batch became %s at step %d" % (
            "NaN" if math.isnan(losses[list(steps).index(step)]) else "infinite", step)
        return _sentence(run, "problem", text, NAN_REMEDY, step)
    if jumps:
        latest = jumps[-1]
        text = "the loss on the probe batch rose x%.1f at step %d" % (latest["factor"], latest["step"])
        if len(jumps) > 1:
            text += " (%d spikes since step %d)" % (len(jumps), jumps[0]["step"])
        return _sentence(run, "problem", text, LOSS_REMEDY, latest["step"])
    first, last = float(losses[0]), float(losses[-1])
    step = int(steps[-1])
    if len(steps) == 1:
        return _sentence(run, "info", "the loss on the probe batch is %s at step %d"
                         % (_number(last), step), None, step)
    text = "the loss on the probe batch went from %s at step %d to %s at step %d" % (
        _number(first), int(steps[0]), _number(last), step)
    return _sentence(run, "info" if last > first else "ok", text, None, step)


def _number(value):
    return "%.3g" % value


def _sentence(run, severity, text, remedy, step):
    return {
        "run": run, "layer": None, "direction": None, "topic": "loss", "severity": severity,
        "text": text, "remedy": remedy,
        "view": {"view": "loss", "kind": kinds.PROBE_LOSS, "tag": kinds.PROBE_LOSS_TAG,
                 "step": int(step)},
    }


def read_runs(store, ctx, experiment, run=None):
    """GET /loss's {"runs": {run: run_loss(...)}} of the runs (or the one
    `run`) that logged a probe loss, read through `store`
    (storage.SeriesStore); runs without one are left out. A 404 for a
    `run` the plugin does not know (no rnn series and no probe loss)."""
    runs = None if run is None else [run]
    listed = store.list_kept(ctx, experiment, runs, [kinds.PROBE_LOSS_TAG])
    if run is not None and run not in listed and run not in store.index(ctx, experiment).index["runs"]:
        raise errors.NotFoundError("no run %r" % reading.shortened(run))
    read = store.read_kept(ctx, experiment, sorted(listed), [kinds.PROBE_LOSS_TAG]) if listed else {}
    result = {}
    for name in sorted(listed):
        parsed, reason = reading.series_metadata(listed[name][kinds.PROBE_LOSS_TAG].plugin_content)
        names = (parsed or {}).get("names")
        if reason is not None or parsed.get("kind") != kinds.PROBE_LOSS or not names:
            logger.warning("rnn plugin: run %r: probe loss not shown: %s", name,
                           reason or "its metadata names no values")
            continue
        points = [d for d in read.get(name, {}).get(kinds.PROBE_LOSS_TAG, [])
                  if np.size(d.numpy) == len(names)]
        if points:
            result[name] = run_loss(names, [d.step for d in points], [d.numpy for d in points])
    return {"runs": result}
