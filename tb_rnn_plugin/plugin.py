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
  GET /health[?run=R]             -> JSON health overview: per run and layer
                                     the first NaN/Inf and where, dead,
                                     saturated, exploding units, vanishing
                                     gradient (tb_rnn_plugin/health.py)
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

import numpy as np
from werkzeug import wrappers

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin

from tb_rnn_plugin import health
from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading

DEFAULT_SAMPLES = reading.DEFAULT_SAMPLES

logger = logging.getLogger(__name__)

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
        self._data_provider = context.data_provider
        self._downsample = reading.samples_to_read(context.sampling_hints)
        self._index_cache = _IndexCache(_index_lifetime(context.flags))
        self._health_cache = _HealthCache()

    def get_plugin_apps(self):
        return {
            "/tags": self.tags_route,
            "/steps": self.steps_route,
            "/tensor": self.tensor_route,
            "/profile": self.profile_route,
            "/kept": self.kept_route,
            "/health": self.health_route,
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
        """Steps whose tensor was written, from the series' statistics (kept
        for every logging step; `written` says where the tensor itself was,
        see RNNTensorBoard's full_every); None if it has none."""
        stats = self._tensor_series(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, metadata.stats_tag(tag),
            reading.ALL_SAMPLES,
        )
        return reading.written_step_count(d.numpy for d in stats.values()) or None

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

    def health_impl(self, ctx, experiment, run=None):
        """`{"rows": [...], "levels": {...}}`: the health overview of every
        run (or of `run`), one row per layer, direction and stacked cell
        (tb_rnn_plugin/health.py says what each holds).

        Reads only kept series (every logged step): each series' `stats`,
        the layers' `unit_health` and state-gradient `profile`, in one
        read for all runs; a row's first non-finite step is then located in
        one more series (its `gate_stats` or `profile`). Rows are kept per
        run until one of its kept series has a new step. A 404 for a run
        without rnn data.
        """
        runs = self._index(ctx, experiment).index["runs"]
        if run is not None and run not in runs:
            raise errors.NotFoundError("no run %r with rnn data" % (reading.shortened(run),))
        wanted = [run] if run is not None else sorted(runs)
        plans = {r: health.plan_rows(runs[r]) for r in wanted}
        tags = set().union(*(health.kept_tags(p) for p in plans.values())) if plans else set()
        listing = self._data_provider.list_tensors(
            ctx, experiment_id=experiment, plugin_name=metadata.KEPT_PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=wanted, tags=sorted(tags)),
        ) if tags else {}
        rows, stale = [], []
        for r in wanted:
            fingerprint = _health_fingerprint(plans[r], listing.get(r, {}))
            cached = self._health_cache.get(experiment, r, fingerprint)
            if cached is None:
                stale.append((r, fingerprint))
            else:
                rows.extend(cached)
        if stale:
            data = {} if not tags else self._data_provider.read_tensors(
                ctx, experiment_id=experiment, plugin_name=metadata.KEPT_PLUGIN_NAME,
                downsample=reading.ALL_SAMPLES,
                run_tag_filter=provider.RunTagFilter(runs=[r for r, _ in stale], tags=sorted(tags)),
            )
            for r, fingerprint in stale:
                computed = self._health_rows(ctx, experiment, r, plans[r], listing.get(r, {}),
                                             data.get(r, {}))
                self._health_cache.put(experiment, r, fingerprint, computed)
                rows.extend(computed)
        rows.sort(key=health.row_order)
        return {"rows": rows, "levels": health.levels()}

    def _health_rows(self, ctx, experiment, run, plans, listed, data):
        """The rows of one run from its kept data {tag: [TensorDatum]}."""

        def points(tag, rank):
            return health.stacked({int(d.step): d.numpy for d in data.get(tag, [])}, rank)

        def metadata_of(tag):
            series = listed.get(tag)
            parsed, _ = reading.series_metadata(series.plugin_content) if series else (None, None)
            return parsed or {}

        rows = []
        for key, plan in plans.items():
            with_stats = {}
            for series in plan["series"]:
                stacked = points(metadata.stats_tag(series["tag"]), 1)
                if stacked is not None:
                    with_stats[series["tag"]] = dict(series, steps=stacked[0], stats=stacked[1])
            unit_health = None
            if plan["unit_health"]:
                stacked = points(plan["unit_health"], 2)
                if stacked is not None:
                    meta = metadata_of(plan["unit_health"])
                    unit_health = {
                        "steps": stacked[0], "values": stacked[1], "tag": plan["unit_health"],
                        "fields": meta.get("fields") or [], "thresholds": meta.get("thresholds") or {},
                    }
            state_profile = None
            if plan["state_profile"]:
                stacked = points(plan["state_profile"], 2)
                if stacked is not None:
                    tag = plan["state_profile"][: -len(metadata.PROFILE_SUFFIX)]
                    mask_tag = next((s["metadata"].get("mask_tag") for s in plan["series"]
                                     if s["tag"] == tag), None)
                    state_profile = {"steps": stacked[0], "values": stacked[1], "tag": tag,
                                     "mask": self._latest_mask(ctx, experiment, run, mask_tag)}
            rows.append(health.health_row(
                run, key, plan["cell"], with_stats, unit_health, state_profile,
                locate=lambda series, step: self._locate_nonfinite(ctx, experiment, run, series, step),
            ))
        return rows

    def _latest_mask(self, ctx, experiment, run, mask_tag):
        """The mask series' array at its latest logged step, or None (no
        mask, or one that cannot be read: the ratio then spans every
        timestep)."""
        if not mask_tag:
            return None
        try:
            storage, _ = self._series(ctx, experiment, run, mask_tag)
            steps = self._steps_of(ctx, experiment, run, mask_tag, storage)
            return np.asarray(steps[max(steps)][1]()) if steps else None
        except (errors.PublicError, reading.UnreadableDataError, ValueError):
            return None

    def _locate_nonfinite(self, ctx, experiment, run, series, step):
        """Where in `series` its values at `step` are non-finite: per gate
        for weights (gate_stats), per timestep and sample otherwise (profile);
        None when the companion is absent or unreadable."""
        weight = series["kind"] in metadata.WEIGHT_KINDS
        tag = (metadata.gate_stats_tag if weight else metadata.profile_tag)(series["tag"])
        datum = self._tensor_series(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, tag, reading.ALL_SAMPLES
        ).get(step)
        if datum is None:
            return None
        try:
            values = np.asarray(datum.numpy)
            if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
                return None
            if not weight:
                return health.locate_in_profile(values)
            listed = self._data_provider.list_tensors(
                ctx, experiment_id=experiment, plugin_name=metadata.KEPT_PLUGIN_NAME,
                run_tag_filter=self._filter(run, tag),
            ).get(run, {}).get(tag)
            parsed, _ = reading.series_metadata(listed.plugin_content) if listed else (None, None)
            parsed = parsed or {}
            return health.locate_in_gates(
                values, parsed.get("fields") or metadata.GATE_STAT_FIELDS,
                parsed.get("gates", series["metadata"].get("gates")),
            )
        except (TypeError, ValueError, IndexError, KeyError):
            return None

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
    def health_route(self, request):
        body = self.health_impl(
            plugin_util.context(request.environ),
            plugin_util.experiment_id(request.environ),
            request.args.get("run"),
        )
        return http_util.Respond(request, body, "application/json")

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


def _health_fingerprint(plans, listed):
    """What a run's health rows depend on: its planned series and the
    newest step (and wall time) of each kept series they read."""
    parts = []
    for key, plan in sorted(plans.items(), key=lambda kv: repr(kv[0])):
        parts.append((repr(key), plan["cell"], tuple(s["tag"] for s in plan["series"])))
    for tag in sorted(listed):
        series = listed[tag]
        parts.append((tag, series.max_step, series.max_wall_time))
    return tuple(parts)


class _HealthCache:
    """Health rows per (experiment, run), valid while their fingerprint is
    the same; at most `size` runs (the oldest forgotten first)."""

    def __init__(self, size=1024):
        self._size = size
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, experiment, run, fingerprint):
        with self._lock:
            entry = self._entries.get((experiment, run))
        return entry[1] if entry is not None and entry[0] == fingerprint else None

    def put(self, experiment, run, fingerprint, rows):
        with self._lock:
            self._entries.pop((experiment, run), None)
            self._entries[(experiment, run)] = (fingerprint, rows)
            while len(self._entries) > self._size:
                self._entries.pop(next(iter(self._entries)))


def _series_query(request):
    """(ctx, experiment, run, tag) of a request about one series; 400 if incomplete."""
    return (
        plugin_util.context(request.environ),
        plugin_util.experiment_id(request.environ),
        reading.required_arg(request.args, "run"),
        reading.required_arg(request.args, "tag"),
    )
