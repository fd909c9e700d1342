"""GET /probes: which probe batch each run logs, from its kept series
`probe/fingerprint` (kinds.PROBE_FINGERPRINT: PROBE_FINGERPRINT_PARTS
16-bit pieces of a SHA-256 of the probe's inputs and targets, each exact
in float32).

The tab compares the runs side by side: runs whose latest fingerprints
differ probe different inputs, so their "sample 0" is not the same
sequence. This module must not import TensorFlow (plugin.py imports it).
"""

import numpy as np

from tb_rnn_plugin import kinds


def fingerprint_hex(values):
    """The fingerprint's pieces as one hex string (4 digits per piece);
    None for a tensor that is not PROBE_FINGERPRINT_PARTS finite 16-bit values."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size != kinds.PROBE_FINGERPRINT_PARTS or not np.all(np.isfinite(array)):
        return None
    if np.any(array < 0) or np.any(array > 0xFFFF) or np.any(array != np.round(array)):
        return None
    return "".join("%04x" % int(v) for v in array)


def run_probe(data):
    """{"fingerprint", "step", "changed_at"} of one run's [TensorDatum]
    (any order): the latest readable fingerprint and its step, and the
    steps where it differed from the one logged before; None if none is
    readable."""
    readable = [(int(d.step), fingerprint_hex(d.numpy)) for d in data]
    readable = sorted((step, hex_) for step, hex_ in readable if hex_ is not None)
    if not readable:
        return None
    changed_at = [step for (step, hex_), (_, before) in zip(readable[1:], readable) if hex_ != before]
    step, latest = readable[-1]
    return {"fingerprint": latest, "step": step, "changed_at": changed_at}


def probes(store, ctx, experiment):
    """`{"runs": {run: {...run_probe}}}` over every run that logs a fingerprint."""
    data = store.read_kept(ctx, experiment, None, [kinds.PROBE_FINGERPRINT_TAG])
    runs = {}
    for run in sorted(data):
        described = run_probe(data[run].get(kinds.PROBE_FINGERPRINT_TAG, []))
        if described is not None:
            runs[run] = described
    return {"runs": runs}
