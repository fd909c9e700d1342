"""Where the RNN plugin's series live in TensorBoard's data provider.

A per-timestep series is a blob sequence (metadata version 2) or, in older
logs, a tensor series (version 1). Serving one step of a blob sequence
reads the step references and that one blob, so its cost does not grow
with the number of steps logged, and no read comes near the Rust data
server's 256 MiB message cap. Steps pinned under KEPT_PLUGIN_NAME (never
sampled away) are merged into their series. Kept companions (stats,
profiles, gate statistics, ...) are small tensor series under
KEPT_PLUGIN_NAME, read whole.

Errors are tensorboard.errors exceptions (404 for an unknown run or tag)
or reading.UnreadableDataError (422, a series that cannot be served).
Nothing here imports TensorFlow.
"""

import gzip
import logging
import threading
import time

from tensorboard import errors
from tensorboard.data import provider

from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading

logger = logging.getLogger(__name__)

BLOB = "blob"
TENSOR = "tensor"


def index_lifetime(flags):
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


def run_tag_filter(run, tag):
    return provider.RunTagFilter(runs=[run], tags=[tag])


class SeriesStore:
    """The plugin's series of one data provider: the index (cached, see
    IndexCache), one series' storage and metadata, its steps, and its kept
    companions."""

    def __init__(self, data_provider, downsample, lifetime=0.0):
        """downsample: how many steps of a per-timestep series to read
        (reading.samples_to_read); lifetime: seconds an index stays fresh."""
        self._provider = data_provider
        self._downsample = downsample
        self._index_cache = IndexCache(lifetime)

    def index(self, ctx, experiment):
        """The experiment's Index, listed at most once per lifetime."""
        return self._index_cache.get(experiment, lambda: self.read_index(ctx, experiment))

    def read_index(self, ctx, experiment):
        """A fresh Index of every rnn series (uncached)."""
        # Companions under KEPT_PLUGIN_NAME are not listed: the stats series
        # hold every step, and listing walks every step.
        listings = {
            BLOB: self._provider.list_blob_sequences(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
            ),
            TENSOR: self._provider.list_tensors(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME
            ),
        }
        index = reading.tag_index([listings[BLOB], listings[TENSOR]])
        storage = {}
        for kind in (TENSOR, BLOB):  # a blob sequence wins, as in tag_index
            for run, tags in listings[kind].items():
                storage.update(((run, tag), kind) for tag in tags)
        return Index(index, storage)

    def series(self, ctx, experiment, run, tag):
        """(storage, parsed metadata) of one rnn series.

        storage is BLOB (version 2) or TENSOR (version 1). From the cached
        index when it lists the series (fresh or not: a series' metadata
        does not change); otherwise by listing only that series, which
        costs the same however big the logdir is. A 404 for an unknown
        run/tag; a 422 with the reason for a series the index skips.
        """
        cached = self._index_cache.peek(experiment)
        if cached is not None:
            entry = cached.index["runs"].get(run, {}).get(tag)
            if entry is not None:
                return cached.storage[(run, tag)], entry["metadata"]
        listers = ((BLOB, self._provider.list_blob_sequences), (TENSOR, self._provider.list_tensors))
        for storage, list_series in listers:
            listing = list_series(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
                run_tag_filter=run_tag_filter(run, tag),
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
        listed = {}
        for list_series in (self._provider.list_blob_sequences, self._provider.list_tensors):
            listed.update(list_series(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
                run_tag_filter=provider.RunTagFilter(runs=[run]),
            ))
        reading.raise_not_found(run, tag, listed)

    def steps(self, ctx, experiment, run, tag, storage, wanted=None):
        """`{step: (wall_time, read)}` with `read()` -> the array at that step.

        A blob sequence (version 2) is merged with its pinned copies (only
        looked up when step `wanted` is not in the sampled series, if given)
        and reads one blob per step served; a version-1 tensor series is
        read whole (older logs only).
        """
        if storage == TENSOR:
            series = self._tensors(
                ctx, experiment, metadata.PLUGIN_NAME, run, tag, self._downsample
            )
            return {
                step: (float(d.wall_time), lambda d=d: d.numpy) for step, d in series.items()
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

    def _blob_refs(self, ctx, experiment, plugin_name, run, tag, downsample):
        """`{step: (wall_time, blob_key or None)}` of a blob sequence; {} if absent."""
        data = self._provider.read_blob_sequences(
            ctx, experiment_id=experiment, plugin_name=plugin_name, downsample=downsample,
            run_tag_filter=run_tag_filter(run, tag),
        )
        return {
            int(datum.step): (
                float(datum.wall_time),
                datum.values[0].blob_key if datum.values else None,
            )
            for datum in data.get(run, {}).get(tag, [])
        }

    def _tensors(self, ctx, experiment, plugin_name, run, tag, downsample):
        """`{step: TensorDatum}` of a tensor series; {} if absent."""
        data = self._provider.read_tensors(
            ctx, experiment_id=experiment, plugin_name=plugin_name, downsample=downsample,
            run_tag_filter=run_tag_filter(run, tag),
        )
        return {int(d.step): d for d in data.get(run, {}).get(tag, [])}

    def _read_blob(self, ctx, blob_key, step):
        if blob_key is None:
            raise reading.UnreadableDataError(
                "step %d holds no tensor (an empty blob sequence)" % step
            )
        try:
            blob = self._provider.read_blob(ctx, blob_key=blob_key)
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

    def kept(self, ctx, experiment, run, kept_tag):
        """`{step: TensorDatum}` of the kept series `kept_tag`, every step; {} if absent."""
        return self._tensors(
            ctx, experiment, metadata.KEPT_PLUGIN_NAME, run, kept_tag, reading.ALL_SAMPLES
        )

    def list_kept(self, ctx, experiment, runs, tags):
        """`{run: {tag: TensorTimeSeries}}` of these kept series."""
        return self._provider.list_tensors(
            ctx, experiment_id=experiment, plugin_name=metadata.KEPT_PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )

    def read_kept(self, ctx, experiment, runs, tags):
        """`{run: {tag: [TensorDatum]}}` of these kept series, every step, in one read."""
        return self._provider.read_tensors(
            ctx, experiment_id=experiment, plugin_name=metadata.KEPT_PLUGIN_NAME,
            downsample=reading.ALL_SAMPLES,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )

    def kept_metadata(self, ctx, experiment, run, kept_tag):
        """The listed TimeSeries of the kept series `kept_tag`, or None."""
        return self.list_kept(ctx, experiment, [run], [kept_tag]).get(run, {}).get(kept_tag)

    def logged_step_count(self, ctx, experiment, run, tag):
        """Steps whose tensor was written, from the series' statistics (kept
        for every logging step; `written` says where the tensor itself was,
        see RNNTensorBoard's full_every); None if it has none."""
        stats = self.kept(ctx, experiment, run, metadata.stats_tag(tag))
        return reading.written_step_count(d.numpy for d in stats.values()) or None


class Index:
    """One listing of an experiment's series and its /tags body, gzipped.

    `storage[(run, tag)]` is BLOB or TENSOR for every series listed.
    """

    def __init__(self, index, storage):
        self.index = index
        self.storage = storage
        self.gzipped = gzip.compress(reading.index_json(index), compresslevel=3, mtime=0)


class IndexCache:
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
