"""Reading logs back the way the plugin does: through TensorBoard's data provider."""

from tensorboard import context
from tensorboard.backend.event_processing import data_provider as tb_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer

from tb_rnn_plugin import metadata


def data_provider_over(logdir):
    """TensorBoard's data provider over `logdir`, keeping every rnn step."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={metadata.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return tb_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))


def read_back(logdir):
    """{run: {tag: (parsed metadata, [steps], [arrays])}} via the data provider."""
    provider = data_provider_over(logdir)
    ctx = context.RequestContext()
    listing = provider.list_tensors(ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME)
    data = provider.read_tensors(
        ctx, experiment_id="", plugin_name=metadata.PLUGIN_NAME, downsample=1000
    )
    return {
        run: {
            tag: (
                metadata.parse_plugin_metadata(series.plugin_content),
                [d.step for d in data[run][tag]],
                [d.numpy for d in data[run][tag]],
            )
            for tag, series in tags.items()
        }
        for run, tags in listing.items()
    }
