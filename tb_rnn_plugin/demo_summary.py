"""The demo's closing summary: per run its final validation accuracy, then
the RNN tab's summary sentences for it (tb_rnn_plugin/verdicts.py, as GET
/summary serves them), read back from the logdir the way the tab reads it:
TensorBoard's data provider, the plugin's health overview
(health_service.HealthService over storage.SeriesStore) and the probe loss
(loss_series.py). What is printed is what the tab's summary strip says.
"""

from tensorboard import context
from tensorboard.backend.event_processing import data_provider as tb_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer

from tb_rnn_plugin import health_service
from tb_rnn_plugin import loss_series
from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading
from tb_rnn_plugin import storage
from tb_rnn_plugin import verdicts


def _store(logdir):
    """A SeriesStore over `logdir` with the sampling the tab uses (plugin.py:
    every step of the kept series; the per-timestep series sampled)."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={
        metadata.PLUGIN_NAME: reading.DEFAULT_SAMPLES, metadata.KEPT_PLUGIN_NAME: 0,
    })
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = tb_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    return storage.SeriesStore(provider, reading.DEFAULT_SAMPLES)


def health_rows(logdir):
    """The /health rows of every run under `logdir` (the route's "rows")."""
    return health_service.HealthService(_store(logdir)).overview(context.RequestContext(), "")["rows"]


def sentences(logdir):
    """The /summary sentences of every run under `logdir`."""
    store, ctx = _store(logdir), context.RequestContext()
    rows = health_service.HealthService(store).overview(ctx, "")["rows"]
    losses = loss_series.read_runs(store, ctx, "", None)["runs"]
    return verdicts.summary(rows, extra=verdicts.loss_sentences(losses))


def _where(sentence):
    if sentence.get("layer") is None:
        return "probe loss"
    parts = [sentence["layer"], sentence.get("direction"),
             None if sentence.get("cell_index") is None else "cell %d" % sentence["cell_index"]]
    return " \u00b7 ".join(str(p) for p in parts if p is not None)


def sentence_line(sentence):
    """"  [problem] rnn: <text> (try: <remedy>)", as the tab's strip words it."""
    remedy = " (try: %s)" % sentence["remedy"] if sentence.get("remedy") else ""
    return "  [%s] %s: %s%s" % (sentence["severity"], _where(sentence), sentence["text"], remedy)


def summary_lines(said, accuracies):
    """The summary's lines: per run (sorted) its accuracy from `accuracies`
    {run: final validation accuracy} where known, then that run's
    sentences in the tab's order (problems first)."""
    lines = []
    for run in sorted(set(accuracies) | {s["run"] for s in said}):
        accuracy = accuracies.get(run)
        lines.append("%s: final validation accuracy %s" % (
            run, "n/a" if accuracy is None else "%.2f" % accuracy))
        lines.extend(sentence_line(s) for s in said if s["run"] == run)
    return lines


def print_summary(logdir, accuracies):
    """Prints the summary of the runs under `logdir`; returns its text."""
    text = "\n".join(["", "Summary (the RNN tab's summary, read back from %s):" % logdir]
                     + summary_lines(sentences(logdir), accuracies))
    print(text)
    return text
