"""The demo's closing summary: per run its final validation accuracy, per
layer the RNN tab's verdict, read back from the logdir the way the tab reads
it (TensorBoard's data provider, then the plugin's health overview,
health_service.HealthService over storage.SeriesStore), so what is printed
is what the tab's health overview shows.
"""

from tensorboard import context
from tensorboard.backend.event_processing import data_provider as tb_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer

from tb_rnn_plugin import health_service
from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading
from tb_rnn_plugin import storage


def health_rows(logdir):
    """The /health rows of every run under `logdir` (the route's "rows"),
    read with the sampling the tab uses (plugin.py: every step of the kept
    series; the per-timestep series sampled)."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={
        metadata.PLUGIN_NAME: reading.DEFAULT_SAMPLES, metadata.KEPT_PLUGIN_NAME: 0,
    })
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = tb_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    store = storage.SeriesStore(provider, reading.DEFAULT_SAMPLES)
    return health_service.HealthService(store).overview(context.RequestContext(), "")["rows"]


def _ratio(value):
    return "n/a" if value is None else "%.1e" % value


# The health overview's unit cells that are problems when flagged (its
# "dominant" cell is information, never a problem).
UNIT_PROBLEMS = ("dead", "saturated", "gate_saturated")


def verdict(row):
    """One line for one /health row: vanishing / exploding through time (or
    over training) or neither, with the median per-sample ratio, the first
    non-finite step if any, and the flagged unit problems (dead, saturated,
    gate-saturated units)."""
    vanishing, exploding, nonfinite = row.get("vanishing"), row.get("exploding"), row.get("nonfinite")
    parts = []
    if nonfinite:
        parts.append("NaN/Inf from step %d (%s)" % (nonfinite["step"], nonfinite["tag"]))
    if vanishing is None:
        parts.append("no state gradient logged")
    else:
        median = "median ||dL/dh_first|| / ||dL/dh_last|| %s" % _ratio(vanishing["value"])
        spread = "%d of %d samples below %g" % (
            vanishing["below"], vanishing["samples"], vanishing["level"])
        if vanishing["problem"]:
            parts.append("VANISHING gradient (%s; %s)" % (median, spread))
        if exploding is not None and exploding["problem"]:
            jump = exploding.get("jump")
            how = ("grew x%.0f over training at step %d" % (jump["factor"], jump["step"])
                   if jump and not exploding.get("through_time") else median)
            parts.append("EXPLODING gradient (%s)" % how)
        if not vanishing["problem"] and not (exploding and exploding["problem"]):
            parts.append("gradient reaches the first timestep: not vanishing, not exploding "
                         "(%s; %s)" % (median, spread))
    for name in UNIT_PROBLEMS:
        share = row.get(name)
        if share and share.get("problem"):
            parts.append("%s of %s units %s%s" % (
                share.get("units"), share.get("of"), name.replace("_", "-"),
                "" if share.get("since") is None else " since step %d" % share["since"]))
    return "; ".join(parts)


def _layer_name(row):
    return "/".join(str(p) for p in (row["layer"], row.get("direction"),
                                     None if row.get("cell_index") is None
                                     else "cell_%d" % row["cell_index"]) if p is not None)


def summary_lines(rows, accuracies):
    """The summary's lines: per run (sorted) its accuracy from
    `accuracies` {run: final validation accuracy} where known, then one
    line per /health row of that run."""
    lines = []
    for run in sorted(set(accuracies) | {row["run"] for row in rows}):
        accuracy = accuracies.get(run)
        lines.append("%s: final validation accuracy %s" % (
            run, "n/a" if accuracy is None else "%.2f" % accuracy))
        for row in rows:
            if row["run"] == run:
                lines.append("  %s (%s): %s" % (_layer_name(row), row.get("cell"), verdict(row)))
    return lines


def print_summary(logdir, accuracies):
    """Prints the summary of the runs under `logdir`; returns its text."""
    text = "\n".join(["", "Summary (the RNN tab's health overview, read back from %s):" % logdir]
                     + summary_lines(health_rows(logdir), accuracies))
    print(text)
    return text
