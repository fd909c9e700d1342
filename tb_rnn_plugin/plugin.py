"""The RNN plugin's TensorBoard side: loader, routes and static files.

Routes (under /data/plugin/rnn/; docs/http_api.md specifies each):
  GET /tags, /steps, /tensor, /profile, /kept, /health, /summary, /probes, /loss,
  /static/<name>.

Routes only parse the query and respond; the *_impl methods shape what
storage.SeriesStore reads (v1/v2 series, pinned steps, kept companions) with
payloads.py, and the health overview is health_service.HealthService's.
They raise tensorboard.errors exceptions, which TensorBoard turns into
400/404 responses with the message as plain text. This module must not
import TensorFlow: TensorBoard imports it to load the plugin.
"""

import importlib.resources
import re

from werkzeug import wrappers

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin

from tb_rnn_plugin import health_service
from tb_rnn_plugin import kinds
from tb_rnn_plugin import loss_series
from tb_rnn_plugin import metadata
from tb_rnn_plugin import payloads
from tb_rnn_plugin import probes
from tb_rnn_plugin import reading
from tb_rnn_plugin import storage
from tb_rnn_plugin import verdicts

DEFAULT_SAMPLES = reading.DEFAULT_SAMPLES

_STATIC_PACKAGE = "tb_rnn_plugin.frontend"
_STATIC_PREFIX = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
# Frontend files: index.js, the tab's folders, and vendored libraries in frontend/vendor/.
_STATIC_NAME = re.compile(r"^(?:(?:vendor|shell|data|views|draw)/)?[A-Za-z0-9_-]+\.(js|css)$")
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
        samples.setdefault(metadata.KEPT_PLUGIN_NAME, 0)  # 0: keep every step
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
        self.store = storage.SeriesStore(
            context.data_provider,
            reading.samples_to_read(context.sampling_hints),
            storage.index_lifetime(context.flags),
        )
        self.health_service = health_service.HealthService(self.store)

    def get_plugin_apps(self):
        return {
            "/tags": self.tags_route,
            "/steps": self.steps_route,
            "/tensor": self.tensor_route,
            "/profile": self.profile_route,
            "/kept": self.kept_route,
            "/health": self.health_route,
            "/summary": self.summary_route,
            "/probes": self.probes_route,
            "/loss": self.loss_route,
            "/static/*": self.static_route,
        }

    def is_active(self):
        return False  # with a data provider, TensorBoard's core decides

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME, metadata.KEPT_PLUGIN_NAME)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(
            es_module_path="/static/index.js", tab_name="RNN"
        )

    # Pure implementations.

    def tags_impl(self, ctx, experiment):
        """`{"runs": {run: {tag: {...}}}, "skipped": [...]}` (reading.tag_index)."""
        return self.store.index(ctx, experiment).index

    def steps_impl(self, ctx, experiment, run, tag):
        """`{"steps": [int, ascending], "wall_times": [float], "logged_steps": int|None}`."""
        stored, _ = self.store.series(ctx, experiment, run, tag)
        steps = self.store.steps(ctx, experiment, run, tag, stored)
        return payloads.steps_response(
            {step: wall_time for step, (wall_time, _) in steps.items()},
            self.store.logged_step_count(ctx, experiment, run, tag),
        )

    def tensor_impl(self, ctx, experiment, run, tag, step):
        """(body bytes, extra headers) of the tensor logged at `step`."""
        stored, parsed = self.store.series(ctx, experiment, run, tag)
        steps = self.store.steps(ctx, experiment, run, tag, stored, wanted=step)
        if step not in steps:
            reading.raise_step_not_found(step, steps, run, tag)
        wall_time, read = steps[step]
        array = read()
        body, headers = payloads.tensor_payload(array)
        reading.check_shape(array, parsed)
        headers.append(("X-Tensor-Step", str(step)))
        headers.append(("X-Tensor-Wall-Time", repr(wall_time)))
        return body, headers

    def profile_impl(self, ctx, experiment, run, tag):
        """(body bytes, extra headers) of the whole `<tag>/profile` series:
        the kept companion PROFILE as /kept reads it, in the body
        payloads.profile_payload gives it.

        A 404 for an unknown run/tag, for a kind that has no profile
        (kinds.Kind.profile: masks, weights, ...) and for series logged
        without one (version-1 logs); a 422 for profile data that cannot be
        served.
        """
        _, parsed = self.store.series(ctx, experiment, run, tag)
        kind = parsed.get("kind")
        if kind not in kinds.PROFILED_KINDS:
            raise errors.NotFoundError(
                "run %r tag %r is a %s series, which has no profile (only %s have one)"
                % (reading.shortened(run), reading.shortened(tag), kind,
                   ", ".join(kinds.PROFILED_KINDS))
            )
        series = self.store.kept(ctx, experiment, run, metadata.profile_tag(tag))
        if not series:
            raise errors.NotFoundError(
                "no profile logged for run %r tag %r (logs written before tb-rnn-plugin "
                "logged profiles, or by a writer that does not)"
                % (reading.shortened(run), reading.shortened(tag))
            )
        return payloads.profile_payload(series)

    def kept_impl(self, ctx, experiment, run, tag, kind):
        """(body bytes, extra headers) of the whole kept companion `kind` of
        the series run/tag (metadata.companion_tag), every logged step.

        The body is payloads.kept_payload's; its JSON header adds "kind",
        "axes" (the stored tensor's, kinds.Kind.axes) and "metadata": the
        companion's own plugin metadata (e.g. `fields`, `gates`,
        `bin_edges`, `thresholds`, `targets`). A 400 for a kind that is not
        a companion kind, a 404 for an unknown series or one logged without
        that companion, a 422 for data that cannot be served.
        """
        if kind not in kinds.COMPANION_TENSOR_KINDS:
            raise errors.InvalidArgumentError(
                "kind must be one of %s, got %r"
                % (", ".join(kinds.COMPANION_TENSOR_KINDS), reading.shortened(kind))
            )
        self.store.series(ctx, experiment, run, tag)  # 404 / 422 for the series itself
        kept_tag = metadata.companion_tag(tag, kind)
        listed = self.store.kept_metadata(ctx, experiment, run, kept_tag)
        series = self.store.kept(ctx, experiment, run, kept_tag) if listed is not None else {}
        if not series:
            raise errors.NotFoundError(
                "no %s logged for run %r tag %r" % (kind, reading.shortened(run), reading.shortened(tag))
            )
        parsed, reason = reading.series_metadata(listed.plugin_content)
        if reason is not None:
            raise reading.UnreadableDataError(
                "the %s of run %r tag %r cannot be shown: %s"
                % (kind, reading.shortened(run), reading.shortened(tag), reason)
            )
        axes = kinds.kind_of(kind).axes
        extra = {"kind": kind, "axes": list(axes), "metadata": parsed}
        return payloads.kept_payload(series, kind, axes, header_extra=extra)

    def health_impl(self, ctx, experiment, run=None):
        """The health overview (health_service.HealthService.overview)."""
        return self.health_service.overview(ctx, experiment, run)

    def summary_impl(self, ctx, experiment, run=None):
        """`{"sentences": [...], "rules": {...}}`: the tab's summary
        (verdicts.py) over the health overview's rows, which it reads (and
        caches) once for both routes, and the probe loss's sentence per run
        (loss_series.py)."""
        rows = self.health_service.overview(ctx, experiment, run)["rows"]
        losses = loss_series.read_runs(self.store, ctx, experiment, run)["runs"]
        return {"sentences": verdicts.summary(rows, extra=verdicts.loss_sentences(losses)),
                "rules": verdicts.rules()}

    def probes_impl(self, ctx, experiment):
        """Each run's probe batch fingerprint (probes.probe_fingerprints)."""
        return probes.probe_fingerprints(self.store, ctx, experiment)

    def loss_impl(self, ctx, experiment, run=None):
        """The probe loss of every run that logged one (loss_series.read_runs)."""
        return loss_series.read_runs(self.store, ctx, experiment, run)

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
        # Encoded and gzipped once per listing; Respond unzips for a client
        # that does not accept gzip.
        return http_util.Respond(
            request,
            self.store.index(ctx, experiment).gzipped,
            "application/json",
            content_encoding="gzip",
        )

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
    def profile_route(self, request):
        body, headers = self.profile_impl(*_series_query(request))
        return http_util.Respond(
            request, body, "application/octet-stream", headers=headers
        )

    @wrappers.Request.application
    def kept_route(self, request):
        kind = reading.required_arg(request.args, "kind")
        body, headers = self.kept_impl(*_series_query(request), kind)
        return http_util.Respond(
            request, body, "application/octet-stream", headers=headers
        )

    @wrappers.Request.application
    def health_route(self, request):
        return _run_json(request, self.health_impl)

    @wrappers.Request.application
    def summary_route(self, request):
        return _run_json(request, self.summary_impl)

    @wrappers.Request.application
    def probes_route(self, request):
        return _run_json(request, lambda ctx, experiment, _run: self.probes_impl(ctx, experiment))

    @wrappers.Request.application
    def loss_route(self, request):
        return _run_json(request, self.loss_impl)

    @wrappers.Request.application
    def static_route(self, request):
        path = request.path
        name = path[len(_STATIC_PREFIX):] if path.startswith(_STATIC_PREFIX) else ""
        body, content_type = self.static_impl(name)
        return http_util.Respond(request, body, content_type)


def _run_json(request, impl):
    """The JSON response of a whole-experiment route, `impl(ctx, experiment,
    run)` with the optional `run` query argument (None: every run)."""
    body = impl(plugin_util.context(request.environ), plugin_util.experiment_id(request.environ),
                request.args.get("run"))
    return http_util.Respond(request, body, "application/json")


def _series_query(request):
    """(ctx, experiment, run, tag) of a request about one series; 400 if incomplete."""
    return (
        plugin_util.context(request.environ),
        plugin_util.experiment_id(request.environ),
        reading.required_arg(request.args, "run"),
        reading.required_arg(request.args, "tag"),
    )
