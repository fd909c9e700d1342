"""The RNN plugin's TensorBoard side: loader, routes and static files.

Routes (under /data/plugin/rnn/):
  GET /tags                       -> JSON index of every rnn series
  GET /steps?run=R&tag=T          -> JSON steps and wall times of one series
  GET /tensor?run=R&tag=T&step=S  -> one tensor, little-endian float32 bytes
  GET /static/<name>.(js|css)     -> the frontend, from tb_rnn_plugin.frontend

Routes only parse the query and respond; the *_impl methods do the work and
raise tensorboard.errors exceptions, which TensorBoard turns into 400/404
responses with the message as plain text. This module must not import
TensorFlow: TensorBoard imports it to load the plugin.
"""

import importlib.resources
import re

from werkzeug import wrappers

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin

from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading

DEFAULT_SAMPLES = reading.DEFAULT_SAMPLES

_STATIC_PACKAGE = "tb_rnn_plugin.frontend"
_STATIC_PREFIX = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(js|css)$")
_STATIC_TYPES = {"js": "text/javascript", "css": "text/css"}


class RnnLoader(base_plugin.TBLoader):
    """Raises TensorBoard's per-series sample count for this plugin."""

    def fix_flags(self, flags):
        """Sets `samples_per_plugin["rnn"]` unless the user set it.

        `--samples_per_plugin` is parsed into a dict by TensorBoard's core
        plugin; it may also be missing or None when flags are built by hand.
        """
        samples = getattr(flags, "samples_per_plugin", None)
        if samples is None:
            samples = {}
        elif isinstance(samples, str):
            samples = _parse_samples_per_plugin(samples)
        samples.setdefault(metadata.PLUGIN_NAME, DEFAULT_SAMPLES)
        flags.samples_per_plugin = samples

    def load(self, context):
        return RnnPlugin(context)


def _parse_samples_per_plugin(value):
    """Parses "foo=12,bar=34" like TensorBoard's core plugin does."""
    result = {}
    for token in value.split(","):
        token = token.strip()
        if token:
            key, _, number = token.partition("=")
            result[key.strip()] = int(number)
    return result


class RnnPlugin(base_plugin.TBPlugin):
    """Serves per-timestep activations and gradients of recurrent layers."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        self._data_provider = context.data_provider
        self._downsample = reading.samples_to_read(context.sampling_hints)

    def get_plugin_apps(self):
        return {
            "/tags": self.tags_route,
            "/steps": self.steps_route,
            "/tensor": self.tensor_route,
            "/static/*": self.static_route,
        }

    def is_active(self):
        return False  # with a data provider, TensorBoard's core decides

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(
            es_module_path="/static/index.js", tab_name="RNN"
        )

    # Pure implementations.

    def tags_impl(self, ctx, experiment):
        """`{"runs": {run: {tag: {"metadata", "description", "max_step"}}}}`."""
        mapping = self._data_provider.list_tensors(
            ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
        )
        return reading.tag_index(mapping)

    def _read_series(self, ctx, experiment, run, tag):
        data = self._data_provider.read_tensors(
            ctx,
            experiment_id=experiment,
            plugin_name=metadata.PLUGIN_NAME,
            downsample=self._downsample,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=[tag]),
        )
        series = data.get(run, {}).get(tag)
        if series is not None:
            return series
        # Only on a miss: find out whether the run or the tag is unknown.
        listing = self._data_provider.list_tensors(
            ctx,
            experiment_id=experiment,
            plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=[run]),
        )
        reading.raise_not_found(run, tag, listing)

    def steps_impl(self, ctx, experiment, run, tag):
        """`{"steps": [int, ascending], "wall_times": [float]}`."""
        series = self._read_series(ctx, experiment, run, tag)
        return reading.steps_response(series)

    def tensor_impl(self, ctx, experiment, run, tag, step):
        """(body bytes, extra headers) of the tensor logged at `step`."""
        series = self._read_series(ctx, experiment, run, tag)
        datum = reading.datum_at_step(series, step, run, tag)
        body, headers = reading.tensor_payload(datum.numpy)
        headers.append(("X-Tensor-Step", str(int(datum.step))))
        headers.append(("X-Tensor-Wall-Time", repr(float(datum.wall_time))))
        return body, headers

    def static_impl(self, name):
        """(body bytes, content type) of a frontend file, or a 404."""
        match = _STATIC_NAME.match(name)
        if not match:
            raise errors.NotFoundError("no static file %r" % (name,))
        try:
            resource = importlib.resources.files(_STATIC_PACKAGE).joinpath(name)
            if not resource.is_file():
                raise FileNotFoundError(name)
            body = resource.read_bytes()
        except (OSError, ModuleNotFoundError):
            raise errors.NotFoundError("no static file %r" % (name,))
        return body, _STATIC_TYPES[match.group(1)]

    # Routes.

    @wrappers.Request.application
    def tags_route(self, request):
        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        body = self.tags_impl(ctx, experiment)
        return http_util.Respond(request, body, "application/json")

    @wrappers.Request.application
    def steps_route(self, request):
        body = self.steps_impl(*_series_query(request))
        return http_util.Respond(request, body, "application/json")

    @wrappers.Request.application
    def tensor_route(self, request):
        series = _series_query(request)
        step = reading.parse_step(reading.required_arg(request.args, "step"))
        body, headers = self.tensor_impl(*series, step)
        return http_util.Respond(
            request, body, "application/octet-stream", headers=headers
        )

    @wrappers.Request.application
    def static_route(self, request):
        path = request.path
        name = path[len(_STATIC_PREFIX):] if path.startswith(_STATIC_PREFIX) else ""
        body, content_type = self.static_impl(name)
        return http_util.Respond(request, body, content_type)


def _series_query(request):
    """(ctx, experiment, run, tag) of a request about one series; 400 if incomplete."""
    return (
        plugin_util.context(request.environ),
        plugin_util.experiment_id(request.environ),
        reading.required_arg(request.args, "run"),
        reading.required_arg(request.args, "tag"),
    )
