"""Reading logs back the way the plugin does: through TensorBoard's data provider."""

from tensorboard import context
from tensorboard.backend.event_processing import data_provider as tb_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer

from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading

_EVERYTHING = 2**31 - 1


def data_provider_over(logdir, samples=0):
    """TensorBoard's data provider over `logdir`, keeping `samples` rnn steps (0: all)."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={metadata.PLUGIN_NAME: samples, metadata.KEPT_PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return tb_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))


def _blob_series(provider, ctx, plugin_name, kinds):
    """{run: {tag: (parsed metadata, {step: array})}} of a plugin's blob sequences of `kinds`."""
    listing = provider.list_blob_sequences(ctx, experiment_id="", plugin_name=plugin_name)
    listing = {
        run: {
            tag: series
            for tag, series in tags.items()
            if metadata.parse_plugin_metadata(series.plugin_content)["kind"] in kinds
        }
        for run, tags in listing.items()
    }
    data = provider.read_blob_sequences(
        ctx, experiment_id="", plugin_name=plugin_name, downsample=_EVERYTHING
    )
    return {
        run: {
            tag: (
                metadata.parse_plugin_metadata(series.plugin_content),
                {
                    d.step: reading.decode_blob(
                        provider.read_blob(ctx, blob_key=d.values[0].blob_key)
                    )
                    for d in data[run][tag]
                },
            )
            for tag, series in tags.items()
        }
        for run, tags in listing.items()
    }


def read_back(logdir, kinds=metadata.TIMESTEP_KINDS):
    """{run: {tag: (parsed metadata, [steps], [arrays])}} of the per-timestep series
    (or of the blob series of `kinds`, e.g. metadata.WEIGHT_KINDS).

    Pinned copies (never sampled away) are merged into their series, as the
    plugin merges them.
    """
    provider = data_provider_over(logdir)
    ctx = context.RequestContext()
    main = _blob_series(provider, ctx, metadata.PLUGIN_NAME, kinds)
    for run, tags in _blob_series(provider, ctx, metadata.KEPT_PLUGIN_NAME, kinds).items():
        for _, (info, by_step) in tags.items():
            main.setdefault(run, {}).setdefault(info["of_tag"], (info, {}))[1].update(by_step)
    return {
        run: {
            tag: (info, sorted(by_step), [by_step[s] for s in sorted(by_step)])
            for tag, (info, by_step) in tags.items()
        }
        for run, tags in main.items()
        if tags
    }


def read_stats(logdir, kind=metadata.STATS):
    """{run: {tag of the series: (parsed metadata, [steps], [arrays])}} of its
    `kind` companion (metadata.STATS, PROFILE, GATE_STATS or GATE_HISTOGRAM)."""
    provider = data_provider_over(logdir)
    ctx = context.RequestContext()
    listing = provider.list_tensors(
        ctx, experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME
    )
    data = provider.read_tensors(
        ctx, experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME, downsample=_EVERYTHING
    )
    result = {}
    for run, tags in listing.items():
        for tag, series in tags.items():
            info = metadata.parse_plugin_metadata(series.plugin_content)
            if info["kind"] != kind:
                continue
            points = data[run][tag]
            result.setdefault(run, {})[info["of_tag"]] = (
                info, [d.step for d in points], [d.numpy for d in points]
            )
    return result
