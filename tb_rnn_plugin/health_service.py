"""The /health overview over the data provider: which kept series to read
for each run, reading them once for all runs, and the rows per run kept
until one of its kept series has a new step. tb_rnn_plugin/health.py
computes the rows from arrays; this module only fetches and caches.
"""

import threading

import numpy as np

from tensorboard import errors

from tb_rnn_plugin import health
from tb_rnn_plugin import metadata
from tb_rnn_plugin import reading


class HealthService:
    """The health overview of the series in a storage.SeriesStore."""

    def __init__(self, store, cache_size=1024):
        self._store = store
        self.cache = HealthCache(cache_size)

    def overview(self, ctx, experiment, run=None):
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
        runs = self._store.index(ctx, experiment).index["runs"]
        if run is not None and run not in runs:
            raise errors.NotFoundError("no run %r with rnn data" % (reading.shortened(run),))
        wanted = [run] if run is not None else sorted(runs)
        plans = {r: health.plan_rows(runs[r]) for r in wanted}
        tags = sorted(set().union(*(health.kept_tags(p) for p in plans.values()))) if plans else []
        listing = self._store.list_kept(ctx, experiment, wanted, tags) if tags else {}
        rows, stale = [], []
        for r in wanted:
            fingerprint = health_fingerprint(plans[r], listing.get(r, {}))
            cached = self.cache.get(experiment, r, fingerprint)
            if cached is None:
                stale.append((r, fingerprint))
            else:
                rows.extend(cached)
        if stale:
            data = self._store.read_kept(ctx, experiment, [r for r, _ in stale], tags) if tags else {}
            for r, fingerprint in stale:
                computed = self.rows(ctx, experiment, r, plans[r], listing.get(r, {}),
                                     data.get(r, {}))
                self.cache.put(experiment, r, fingerprint, computed)
                rows.extend(computed)
        rows.sort(key=health.row_order)
        return {"rows": rows, "levels": health.levels()}

    def rows(self, ctx, experiment, run, plans, listed, data):
        """The rows of one run from its kept data {tag: [TensorDatum]}."""

        def points(tag, rank):
            return health.stacked({int(d.step): d.numpy for d in data.get(tag, [])}, rank)

        def locate(series, step):
            return self._locate_nonfinite(ctx, experiment, run, series, step)

        return [
            health.health_row(
                run, key, plan["cell"], _with_stats(plan, points),
                _unit_health(plan, points, listed),
                self._state_profile(ctx, experiment, run, plan, points), locate=locate,
            )
            for key, plan in plans.items()
        ]

    def _state_profile(self, ctx, experiment, run, plan, points):
        """health_row's state_profile of one row, or None."""
        if not plan["state_profile"]:
            return None
        stacked = points(plan["state_profile"], 2)
        if stacked is None:
            return None
        tag = plan["state_profile"][: -len(metadata.PROFILE_SUFFIX)]
        meta = next((s["metadata"] for s in plan["series"] if s["tag"] == tag), {})
        return {"steps": stacked[0], "values": stacked[1], "tag": tag,
                "backward": meta.get("backward"),
                "mask": self._latest_mask(ctx, experiment, run, meta.get("mask_tag"))}

    def _latest_mask(self, ctx, experiment, run, mask_tag):
        """The mask series' array at its latest logged step, or None (no
        mask, or one that cannot be read: the ratio then spans every
        timestep)."""
        if not mask_tag:
            return None
        try:
            storage, _ = self._store.series(ctx, experiment, run, mask_tag)
            steps = self._store.steps(ctx, experiment, run, mask_tag, storage)
            return np.asarray(steps[max(steps)][1]()) if steps else None
        except (errors.PublicError, reading.UnreadableDataError, ValueError):
            return None

    def _locate_nonfinite(self, ctx, experiment, run, series, step):
        """Where in `series` its values at `step` are non-finite: per gate
        for weights (gate_stats), per timestep and sample otherwise (profile);
        None when the companion is absent or unreadable."""
        weight = series["kind"] in metadata.WEIGHT_KINDS
        tag = (metadata.gate_stats_tag if weight else metadata.profile_tag)(series["tag"])
        datum = self._store.kept(ctx, experiment, run, tag).get(step)
        if datum is None:
            return None
        try:
            values = np.asarray(datum.numpy)
            if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
                return None
            if not weight:
                return health.locate_in_profile(values)
            listed = self._store.kept_metadata(ctx, experiment, run, tag)
            parsed = _parsed_or_empty(listed)
            return health.locate_in_gates(
                values, parsed.get("fields") or metadata.GATE_STAT_FIELDS,
                parsed.get("gates", series["metadata"].get("gates")),
            )
        except (TypeError, ValueError, IndexError, KeyError):
            return None


def _parsed_or_empty(listed):
    """The parsed metadata of a listed series, or {} (absent or unreadable)."""
    parsed, _ = reading.series_metadata(listed.plugin_content) if listed else (None, None)
    return parsed or {}


def _with_stats(plan, points):
    """{tag: series with its stats' steps and values} of a row's series
    whose `stats` stack."""
    with_stats = {}
    for series in plan["series"]:
        stacked = points(metadata.stats_tag(series["tag"]), 1)
        if stacked is not None:
            with_stats[series["tag"]] = dict(series, steps=stacked[0], stats=stacked[1])
    return with_stats


def _unit_health(plan, points, listed):
    """health_row's unit_health of one row, or None."""
    if not plan["unit_health"]:
        return None
    stacked = points(plan["unit_health"], 2)
    if stacked is None:
        return None
    meta = _parsed_or_empty(listed.get(plan["unit_health"]))
    return {
        "steps": stacked[0], "values": stacked[1], "tag": plan["unit_health"],
        "fields": meta.get("fields") or [], "thresholds": meta.get("thresholds") or {},
    }


def health_fingerprint(plans, listed):
    """What a run's health rows depend on: its planned series and the
    newest step (and wall time) of each kept series they read."""
    parts = []
    for key, plan in sorted(plans.items(), key=lambda kv: repr(kv[0])):
        parts.append((repr(key), plan["cell"], tuple(s["tag"] for s in plan["series"])))
    for tag in sorted(listed):
        series = listed[tag]
        parts.append((tag, series.max_step, series.max_wall_time))
    return tuple(parts)


class HealthCache:
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
