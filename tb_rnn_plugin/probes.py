"""Which probe batch each run logged: GET /probes.

RNNTensorBoard writes, at every logging step, a fingerprint of its probe
batch (kinds.PROBE_FINGERPRINT: kinds.PROBE_FINGERPRINT_PARTS 16-bit pieces
of a SHA-256 of the batch's inputs and targets) as a kept series of the
whole run under kinds.PROBE_FINGERPRINT_TAG. Runs side by side whose latest
fingerprints differ probe different inputs: their "sample 0" is not the
same sequence. Nothing here imports TensorFlow.
"""

import numpy as np

from tb_rnn_plugin import kinds
from tb_rnn_plugin import reading


def probe_fingerprints(store, ctx, experiment):
    """`{"runs": {run: {"fingerprint": hex, "step": int, "changed_at": [int]}}}`.

    For each run that logged a fingerprint: the latest one as 16 hex
    digits, the step it was logged at, and the steps whose fingerprint
    differs from the one logged before (the probe batch changed there; the
    first logged step is not listed). Points that are not
    PROBE_FINGERPRINT_PARTS integers in [0, 65536) are left out; a run
    without a readable point is not listed. Runs are read from `store`
    (storage.SeriesStore) in one listing and one read.
    """
    tag = kinds.PROBE_FINGERPRINT_TAG
    listing = store.list_kept(ctx, experiment, None, [tag])
    runs = sorted(
        run for run, tags in listing.items()
        if tag in tags and _is_fingerprint(tags[tag].plugin_content)
    )
    data = store.read_kept(ctx, experiment, runs, [tag]) if runs else {}
    result = {}
    for run in runs:
        points = sorted(
            (int(d.step), hex_of(d.numpy)) for d in data.get(run, {}).get(tag, [])
        )
        points = [(step, value) for step, value in points if value is not None]
        if not points:
            continue
        changed_at = [
            step for (step, value), (_, before) in zip(points[1:], points) if value != before
        ]
        step, latest = points[-1]
        result[run] = {"fingerprint": latest, "step": step, "changed_at": changed_at}
    return {"runs": result}


def hex_of(values):
    """The 16 hex digits of one logged fingerprint, or None if it is not one."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape != (kinds.PROBE_FINGERPRINT_PARTS,) or not np.all(np.isfinite(array)):
        return None
    if not (np.all(array == np.round(array)) and np.all((array >= 0) & (array < 2**16))):
        return None
    return "".join("%04x" % int(v) for v in array)


def _is_fingerprint(plugin_content):
    parsed, reason = reading.series_metadata(plugin_content)
    return reason is None and parsed.get("kind") == kinds.PROBE_FINGERPRINT
