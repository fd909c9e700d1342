"""The bodies the RNN plugin's routes send: pure functions from what the
data provider returned to bytes and headers (binary, so NaN and Inf pass
and big arrays cost ~4 bytes a value) or small JSON dicts.

Nothing here touches HTTP, the data provider or TensorFlow; errors are
reading.UnreadableDataError (422) with messages meant for the reader.
"""

import json
import struct

import numpy as np

from tb_rnn_plugin import kinds
from tb_rnn_plugin.reading import UnreadableDataError, json_safe


def steps_response(wall_times_by_step, logged_steps):
    """The /steps response.

    Args:
      wall_times_by_step: `{step: wall_time}` of the steps TensorBoard holds.
      logged_steps: how many steps were logged in all (from the series'
        statistics, kept whole), or None when unknown (older logs).
    """
    ordered = sorted(wall_times_by_step)
    return {
        "steps": [int(s) for s in ordered],
        "wall_times": [float(wall_times_by_step[s]) for s in ordered],
        "logged_steps": logged_steps,
    }


def tensor_payload(array):
    """(body bytes, headers) for one tensor: little-endian float32, C order.

    NaN and Inf pass through unchanged; a tensor of strings (or anything not
    numeric) is an UnreadableDataError.
    """
    array = np.asarray(array)
    real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if not (real or array.dtype == np.bool_):
        raise UnreadableDataError(
            "the logged tensor holds %s values, not real numbers" % array.dtype
        )
    array = np.asarray(array, dtype="<f4", order="C")
    shape = ",".join(str(int(d)) for d in array.shape)
    return array.tobytes(order="C"), [
        ("X-Tensor-Shape", shape),
        ("X-Tensor-Dtype", "float32"),
    ]


# The layout version of /profile and /kept bodies (their JSON header's "format").
PROFILE_FORMAT = 1
# The most float32 values one /profile or /kept body carries (256 MiB of
# data): 10,000 steps x 64 samples x 100 timesteps fit; a bigger series is a
# 422 that says so rather than a response no browser can hold.
MAX_PROFILE_VALUES = 64 * 2**20


def _kept_arrays(data_by_step, what, rank, axes):
    """(steps ascending, their arrays as [rows, columns]) of a kept series.

    Arrays of rank below `rank` (2) are promoted to one row; anything else
    that is not a real-valued array of that rank is an UnreadableDataError
    naming the step.
    """
    steps = sorted(int(s) for s in data_by_step)
    arrays = []
    for step in steps:
        array = np.asarray(data_by_step[step].numpy)
        real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        if not (real or array.dtype == np.bool_):
            raise UnreadableDataError(
                "the %s at step %d holds %s values, not real numbers" % (what, step, array.dtype)
            )
        if array.ndim > 2 or array.ndim < rank:
            raise UnreadableDataError(
                "the %s at step %d has shape %s; a %s must be [%s]"
                % (what, step, list(array.shape), what, ", ".join(axes))
            )
        arrays.append(array.reshape((1,) * (2 - array.ndim) + array.shape))
    return steps, arrays


def kept_payload(data_by_step, what, axes, rank=0, header_extra=None, dim_names=None):
    """(body bytes, headers) of a whole kept series, for /profile and /kept.

    Args:
      data_by_step: `{step: TensorDatum}` of a kept series under
        KEPT_PLUGIN_NAME, each step a real array of rank `rank` to 2 (ranks
        0 and 1 are served as one row).
      what: the series' name in error messages.
      axes: the stored tensor's axis names, for error messages.
      header_extra: more JSON header fields (e.g. the companion's metadata).
      dim_names: (rows' name, columns' name): header fields that repeat R and C.

    The body, all little-endian, sections 8-byte aligned:
      uint32 n: the JSON header's length in bytes;
      n bytes: utf-8 JSON {"format": 1, "steps": N, "rows": R, "columns": C,
        "dtype": "float32", ...header_extra} (plus "shapes": [[r, c], ...]
        per step when the steps' shapes differ), space-padded so 4 + n is
        a multiple of 8;
      int64[N] steps, ascending; float64[N] wall times;
      float32[N, R, C] values, C order. Steps whose shape is smaller than
        [R, C] are padded with NaN ("shapes" says where the data ends).
    Headers: X-Profile-Shape "N,R,C" and X-Profile-Format.

    About 4 bytes per value: 10,000 steps of 16 samples x 100 timesteps is
    64 MB, one request. NaN and Inf pass through.
    """
    steps, arrays = _kept_arrays(data_by_step, what, rank, axes)
    rows = max((a.shape[0] for a in arrays), default=0)
    columns = max((a.shape[1] for a in arrays), default=0)
    count = len(steps) * rows * columns
    if count > MAX_PROFILE_VALUES:
        raise UnreadableDataError(
            "the %s has %d steps x %d x %d values, %d in all; at most %d are served at once"
            % (what, len(steps), rows, columns, count, MAX_PROFILE_VALUES)
        )
    data = np.full((len(steps), rows, columns), np.nan, dtype="<f4")
    ragged = False
    for i, array in enumerate(arrays):
        data[i, : array.shape[0], : array.shape[1]] = array
        ragged = ragged or array.shape != (rows, columns)
    header = dict(header_extra or {})
    header.update({
        "format": PROFILE_FORMAT, "steps": len(steps), "rows": rows, "columns": columns,
        "dtype": "float32",
    })
    if dim_names:
        header.update(zip(dim_names, (rows, columns)))
    if ragged:
        header["shapes"] = [[int(a.shape[0]), int(a.shape[1])] for a in arrays]
    head = json.dumps(json_safe(header), sort_keys=True).encode("utf-8")
    head += b" " * (-(4 + len(head)) % 8)
    wall_times = [float(data_by_step[step].wall_time) for step in steps]
    body = b"".join([
        struct.pack("<I", len(head)),
        head,
        np.asarray(steps, dtype="<i8").tobytes(),
        np.asarray(wall_times, dtype="<f8").tobytes(),
        data.tobytes(order="C"),
    ])
    return body, [
        ("X-Profile-Shape", "%d,%d,%d" % (len(steps), rows, columns)),
        ("X-Profile-Format", str(PROFILE_FORMAT)),
    ]


def profile_payload(data_by_step):
    """kept_payload of a `<tag>/profile` series ([sample, timestep] per step):
    the header also names the rows "samples" and the columns "timesteps"."""
    return kept_payload(
        data_by_step, "profile", kinds.kind_of(kinds.PROFILE).axes, rank=2,
        dim_names=("samples", "timesteps"),
    )


def parse_profile_body(body):
    """The inverse of profile_payload: (header dict, steps, wall_times, data).

    For tests and Python clients; the browser parses it in api.js.
    """
    (length,) = struct.unpack_from("<I", body, 0)
    header = json.loads(body[4 : 4 + length])
    n, s, t = header["steps"], header["rows"], header["columns"]
    at = 4 + length
    steps = np.frombuffer(body, "<i8", n, at)
    wall_times = np.frombuffer(body, "<f8", n, at + 8 * n)
    data = np.frombuffer(body, "<f4", n * s * t, at + 16 * n).reshape(n, s, t)
    return header, steps, wall_times, data
