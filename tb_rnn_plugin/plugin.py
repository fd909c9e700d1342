"""The RNN plugin's TensorBoard side: loader, routes and static files.

Routes (under /data/plugin/rnn/):
  GET /tags                       -> JSON index of every rnn series
  GET /steps?run=R&tag=T          -> JSON steps and wall times of one series
  GET /tensor?run=R&tag=T&step=S  -> one tensor, little-endian float32 bytes
  GET /profile?run=R&tag=T        -> every logged step of the series' profile
                                     (L2 norm over channels), one binary body
                                     (reading.profile_payload)
  GET /kept?run=R&tag=T&kind=K    -> every logged step of its kept companion
                                     K (gate_stats, unit_health, ...), one
                                     binary body (reading.kept_payload)
  GET /static/<name>.(js|css)     -> the frontend, from tb_rnn_plugin.frontend

Storage (see metadata): a per-timestep series is a blob sequence (version 2)
or, in older logs, a tensor series (version 1). Serving one step of a blob
sequence reads the step references and that one blob, so its cost does not
grow with the number of steps logged, and no read comes near the Rust data
server's 256 MiB message cap. Steps pinned under KEPT_PLUGIN_NAME (never
sampled away) are merged into their series.

Routes only parse the query and respond; the *_impl methods do the work and
raise tensorboard.errors exceptions, which TensorBoard turns into 400/404
responses with the message as plain text. This module must not import
TensorFlow: TensorBoard imports it to load the plugin.
"""

import gzip
import importlib.resources
import logging
import re
import threading
import time

from werkzeug import wrappers

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin

from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading

DEFAULT_SAMPLES = reading.DEFAULT_SAMPLES

logger = logging.getLogger(__name__)

_STATIC_PACKAGE = "tb_rnn_plugin.frontend"
_STATIC_PREFIX = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
# Frontend files, and vendored libraries in frontend/vendor/.
_STATIC_NAME = re.compile(r"^(?:vendor/)?[A-Za-z0-9_-]+\.(js|css)$")
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
        self._data_provider = context.data_provider
        self._downsample = reading.samples_to_read(context.sampling_hints)
        self._index_cache = _IndexCache(_index_lifetime(context.flags))

    def get_plugin_apps(self):
        return {
            "/tags": self.tags_route,
            "/steps": self.steps_route,
            "/tensor": self.tensor_route,
            "/profile": self.profile_route,
            "/kept": self.kept_route,
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
        return self._index(ctx, experiment).index

    def _index(self, ctx, experiment):
        return self._index_cache.get(experiment, lambda: self._read_index(ctx, experiment))

    def _read_index(self, ctx, experiment):
        # Companions under KEPT_PLUGIN_NAME are not listed: the stats series
        # hold every step, and listing walks every step.
        listings = {
            "blob": self._data_provider.list_blob_sequences(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
            ),
            "tensor": self._data_provider.list_tensors(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
            ),
        }
        index = reading.tag_index([listings["blob"], listings["tensor"]])
        storage = {}
        for kind in ("tensor", "blob"):  # a blob sequence wins, as in tag_index
            for run, tags in listings[kind].items():
                storage.update(((run, tag), kind) for tag in tags)
        return _Index(index, storage)

    def _filter(self, run, tag):
        return provider.RunTagFilter(runs=[run], tags=[tag])

    def _series(self, ctx, experiment, run, tag):
        """(storage, parsed metadata) of one rnn series.

        storage is "blob" (version 2, a blob sequence) or "tensor" (version
        1). From the cached index when it lists the series (fresh or not:
        a series' metadata does not change); otherwise by listing only that
        series, which costs the same however big the logdir is. A 404 for
        an unknown run/tag; a 422 with the reason for a series the index
        skips.
        """
        cached = self._index_cache.peek(experiment)
        if cached is not None:
            entry = cached.index["runs"].get(run, {}).get(tag)
            if entry is not None:
                return cached.storage[(run, tag)], entry["metadata"]
        listers = (
            ("blob", self._data_provider.list_blob_sequences),
            ("tensor", self._data_provider.list_tensors),
        )
        for storage, list_series in listers:
            listing = list_series(
                ctx,
                experiment_id=experiment,
                plugin_name=metadata.PLUGIN_NAME,
                run_tag_filter=self._filter(run, tag),
            )
            series = listing.get(run, {}).get(tag)
            if series is not None:
                parsed, reason = reading.series_metadata(series.plugin_content)
                if reason is not None:
                    raise reading.UnreadableDataError(
                        "run %r tag %r cannot be shown: %s"
                        % (reading.shortened(run), reading.shortened(tag), reason)
                    )
                return storage, parsed
        self._raise_not_found(ctx, experiment, run, tag)

    def _raise_not_found(self, ctx, experiment, run, tag):
        only_run = provider.RunTagFilter(runs=[run])
        listed = {}
        for list_series in (
            self._data_provider.list_blob_sequences,
            self._data_provider.list_tensors,
        ):
            listed.update(list_series(
                ctx,
                experiment_id=experiment,
                plugin_name=metadata.PLUGIN_NAME,
                run_tag_filter=only_run,
            ))
        reading.raise_not_found(run, tag, listed)

    def _blob_refs(self, ctx, experiment, plugin_name, run, tag, downsample):
        """`{step: (wall_time, blob_key or None)}` of a blob sequence; {} if absent."""
        data = self._data_provider.read_blob_sequences(
            ctx,
            experiment_id=experiment,
            plugin_name=plugin_name,
            downsample=downsample,
            run_tag_filter=self._filter(run, tag),
        )
        return {
            int(datum.step): (
                float(datum.wall_time),
                datum.values[0].blob_key if datum.values else None,
            )
            for datum in data.get(run, {}).get(tag, [])
        }

    def _tensor_series(self, ctx, experiment, plugin_name, run, tag, downsample):
        """`{step: TensorDatum}` of a tensor series; {} if absent."""
        data = self._data_provider.read_tensors(
            ctx,
            experiment_id=experiment,
            plugin_name=plugin_name,
            downsample=downsample,
            run_tag_filter=self._filter(run, tag),
        )
        return {int(d.step): d for d in data.get(run, {}).get(tag, [])}

    def _steps_of(self, ctx, experiment, run, tag, storage, wanted=None):
        """`{step: (wall_time, read)}` with `read()` -> the array at that step.

        A blob sequence (version 2) is merged with its pinned copies (only
        looked up when step `wanted` is not in the sampled series, if given)
        and reads one blob per step served; a version-1 tensor series is
        read whole (older logs only).
        """
        if storage == "tensor":
            series = self._tensor_series(
                ctx, experiment, metadata.PLUGIN_NAME, run, tag, self._downsample
            )
            return {
                step: (float(d.wall_time), lambda d=d: d.numpy)
                for step, d in series.items()
            }
        refs = self._blob_refs(ctx, experiment, metadata.PLUGIN_NAME, run, tag, self._downsample)
        if wanted is None or wanted not in refs:
            refs.update(self._blob_refs(
                ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, metadata.pinned_tag(tag),
                reading.ALL_SAMPLES,
            ))
        return {
            step: (wall_time, lambda step=step, key=key: self._read_blob(ctx, key, step))
            for step, (wall_time, key) in refs.items()
        }

    def _read_blob(self, ctx, blob_key, step):
        if blob_key is None:
            raise reading.UnreadableDataError(
                "step %d holds no tensor (an empty blob sequence)" % step
            )
        try:
            blob = self._data_provider.read_blob(ctx, blob_key=blob_key)
        except errors.PublicError:
            raise  # e.g. a 404 for a step sampled away since it was listed
        except Exception as e:  # a log the data provider itself cannot read
            logger.warning(
                "rnn plugin: cannot read the blob of step %d: %s: %s", step, type(e).__name__, e
            )
            raise reading.UnreadableDataError(
                "the logged tensor at step %d cannot be read (%s: %s)"
                % (step, type(e).__name__, e)
            ) from None
        return reading.decode_blob(blob)

    def _logged_step_count(self, ctx, experiment, run, tag):
        """Steps logged in all, from the series' statistics; None if it has none."""
        stats = self._tensor_series(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, metadata.stats_tag(tag),
            reading.ALL_SAMPLES,
        )
        return len(stats) or None

    def steps_impl(self, ctx, experiment, run, tag):
        """`{"steps": [int, ascending], "wall_times": [float], "logged_steps": int|None}`."""
        storage, _ = self._series(ctx, experiment, run, tag)
        steps = self._steps_of(ctx, experiment, run, tag, storage)
        return reading.steps_response(
            {step: wall_time for step, (wall_time, _) in steps.items()},
            self._logged_step_count(ctx, experiment, run, tag),
        )

    def tensor_impl(self, ctx, experiment, run, tag, step):
        """(body bytes, extra headers) of the tensor logged at `step`."""
        storage, parsed = self._series(ctx, experiment, run, tag)
        steps = self._steps_of(ctx, experiment, run, tag, storage, wanted=step)
        if step not in steps:
            reading.raise_step_not_found(step, steps, run, tag)
        wall_time, read = steps[step]
        array = read()
        body, headers = reading.tensor_payload(array)
        reading.check_shape(array, parsed)
        headers.append(("X-Tensor-Step", str(step)))
        headers.append(("X-Tensor-Wall-Time", repr(wall_time)))
        return body, headers

    def profile_impl(self, ctx, experiment, run, tag):
        """(body bytes, extra headers) of the whole `<tag>/profile` series.

        The profile is kept for every logged step (KEPT_PLUGIN_NAME, never
        sampled), so one read returns all of it; see reading.profile_payload
        for the body. A 404 for an unknown run/tag, for a kind that has no
        profile (masks, weights) and for series logged without one (version-1
        logs); a 422 for profile data that cannot be served.
        """
        _, parsed = self._series(ctx, experiment, run, tag)
        if parsed.get("kind") not in reading.PROFILED_KINDS:
            raise errors.NotFoundError(
                "run %r tag %r is a %s series, which has no profile (only %s have one)"
                % (reading.shortened(run), reading.shortened(tag), parsed.get("kind"),
                   ", ".join(reading.PROFILED_KINDS))
            )
        series = self._tensor_series(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, metadata.profile_tag(tag),
            reading.ALL_SAMPLES,
        )
        if not series:
            raise errors.NotFoundError(
                "no profile logged for run %r tag %r (logs written before tb-rnn-plugin "
                "logged profiles, or by a writer that does not)"
                % (reading.shortened(run), reading.shortened(tag))
            )
        return reading.profile_payload(series)

    def kept_impl(self, ctx, experiment, run, tag, kind):
        """(body bytes, extra headers) of the whole kept companion `kind` of
        the series run/tag (metadata.companion_tag), every logged step.

        The body is reading.kept_payload's; its JSON header adds "kind",
        "axes" (the stored tensor's, metadata.AXES) and "metadata": the
        companion's own plugin metadata (e.g. `fields`, `gates`,
        `bin_edges`, `thresholds`, `targets`). A 400 for a kind that is not
        a companion kind, a 404 for an unknown series or one logged without
        that companion, a 422 for data that cannot be served.
        """
        if kind not in metadata.COMPANION_TENSOR_KINDS:
            raise errors.InvalidArgumentError(
                "kind must be one of %s, got %r"
                % (", ".join(metadata.COMPANION_TENSOR_KINDS), reading.shortened(kind))
            )
        self._series(ctx, experiment, run, tag)  # 404 / 422 for the series itself
        kept_tag = metadata.companion_tag(tag, kind)
        listing = self._data_provider.list_tensors(
            ctx,
            experiment_id=experiment,
            plugin_name=metadata.KEPT_PLUGIN_NAME,
            run_tag_filter=self._filter(run, kept_tag),
        )
        listed = listing.get(run, {}).get(kept_tag)
        series = self._tensor_series(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, kept_tag, reading.ALL_SAMPLES,
        ) if listed is not None else {}
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
        axes = metadata.AXES[kind]
        extra = {"kind": kind, "axes": list(axes), "metadata": parsed}
        return reading.kept_payload(series, kind, axes, header_extra=extra)

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
            self._index(ctx, experiment).gzipped,
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
    def static_route(self, request):
        path = request.path
        name = path[len(_STATIC_PREFIX):] if path.startswith(_STATIC_PREFIX) else ""
        body, content_type = self.static_impl(name)
        return http_util.Respond(request, body, content_type)


def _index_lifetime(flags):
    """Seconds an index stays fresh: TensorBoard's own reload interval.

    The data provider cannot change faster than it reloads, and listing
    every series of a big logdir costs TensorBoard itself a tenth of a
    second or more, so the index is listed at most once per reload.
    Without flags (tests) nothing is kept.
    """
    interval = getattr(flags, "reload_interval", None)
    if interval is None:
        return 0.0
    interval = float(interval)
    return float("inf") if interval <= 0 else interval  # 0: TensorBoard loads once


class _Index:
    """One listing of an experiment's series and its /tags body, gzipped.

    `storage[(run, tag)]` is "blob" or "tensor" for every series listed.
    """

    def __init__(self, index, storage):
        self.index = index
        self.storage = storage
        self.gzipped = gzip.compress(reading.index_json(index), compresslevel=3, mtime=0)


class _IndexCache:
    """The last index per experiment: fresh for `lifetime` seconds, then
    served stale while one background thread lists it again.

    Listing costs TensorBoard ~0.2 s per 5000 series; a request never waits
    for it except the very first. The index then lags the data by at most
    one reload interval plus one listing, as TensorBoard's own data lags
    the files by its reload interval. With `lifetime` 0 every call lists.
    """

    def __init__(self, lifetime):
        self._lifetime = lifetime
        self._entries = {}  # experiment -> (time listed, value)
        self._refreshing = set()
        self._lock = threading.Lock()

    def get(self, experiment, compute):
        if self._lifetime <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(experiment)
            stale = entry is not None and time.monotonic() - entry[0] >= self._lifetime
            refresh = stale and experiment not in self._refreshing
            if refresh:
                self._refreshing.add(experiment)
        if entry is None:
            return self._store(experiment, compute)
        if refresh:
            threading.Thread(
                target=self._refresh, args=(experiment, compute), daemon=True,
                name="rnn-plugin-index",
            ).start()
        return entry[1]

    def peek(self, experiment):
        """The last index of `experiment`, fresh or not, or None; never lists."""
        with self._lock:
            entry = self._entries.get(experiment)
        return entry[1] if entry is not None else None

    def _store(self, experiment, compute):
        listed_at = time.monotonic()
        value = compute()
        with self._lock:
            current = self._entries.get(experiment)
            if current is None or current[0] <= listed_at:
                self._entries[experiment] = (listed_at, value)
        return value

    def _refresh(self, experiment, compute):
        try:
            self._store(experiment, compute)
        except Exception:  # keep serving the last index; say why once per try
            logger.warning("rnn plugin: listing the index failed", exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(experiment)


def _series_query(request):
    """(ctx, experiment, run, tag) of a request about one series; 400 if incomplete."""
    return (
        plugin_util.context(request.environ),
        plugin_util.experiment_id(request.environ),
        reading.required_arg(request.args, "run"),
        reading.required_arg(request.args, "tag"),
    )
