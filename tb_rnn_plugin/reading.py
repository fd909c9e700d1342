"""Pure data shaping for the RNN plugin's routes.

Nothing here touches HTTP, TensorBoard's data provider or TensorFlow: these
helpers take what the data provider returned (or a request's query string)
and turn it into what the routes send, raising `tensorboard.errors`
exceptions with messages meant for the person reading them.
"""

import functools
import json
import logging
import math
import re
import struct

import numpy as np

from tensorboard import errors
from tensorboard.compat.proto import tensor_pb2
from tensorboard.compat.proto import types_pb2
from tensorboard.util import tensor_util

from tb_rnn_plugin import kinds
from tb_rnn_plugin import metadata

logger = logging.getLogger(__name__)

# How many points per series this plugin keeps and serves unless the user
# passes `--samples_per_plugin rnn=N`. TensorBoard's Python loading path
# would otherwise keep only 10 tensor points per series.
DEFAULT_SAMPLES = 100

# `--samples_per_plugin rnn=0` means "keep everything" when loading; the data
# provider's `downsample=0` would mean "return nothing", so 0 reads as this.
ALL_SAMPLES = 2**31 - 1

_INT_PATTERN = re.compile(r"[+-]?[0-9]+")
# Steps are int64 in event files; longer digit strings are never a step (and
# Python refuses to parse more than 4300 digits).
_MAX_STEP_DIGITS = 19
_MIN_STEP, _MAX_STEP = -(2**63), 2**63 - 1

# How many logged steps a "step not logged" message lists at each end.
_STEPS_SHOWN = 3


def samples_to_read(sampling_hints):
    """The `downsample` to pass to `read_tensors` for this plugin.

    Args:
      sampling_hints: `TBContext.sampling_hints` (the parsed
        `--samples_per_plugin` dict) or None.
    """
    value = (sampling_hints or {}).get(metadata.PLUGIN_NAME, DEFAULT_SAMPLES)
    try:
        value = int(value)
    except (TypeError, ValueError):
        return DEFAULT_SAMPLES
    if value <= 0:
        return ALL_SAMPLES
    return value


def required_arg(args, name):
    """The query parameter `name` from `args` (a mapping), or a 400."""
    value = args.get(name)
    if value is None:
        raise errors.InvalidArgumentError(
            "missing required query parameter: %s" % name
        )
    return value


class UnreadableDataError(errors.PublicError):
    """A series exists but its data cannot be served (422, message says why).

    TensorBoard's error handler answers any PublicError with its http_code
    and message as plain text, so bad data in a log is never a 500.
    """

    http_code = 422


def parse_step(value):
    """The `step` query parameter as an int, or a 400 saying it is not one.

    Leading zeros and a sign are fine; more significant digits than an
    int64 has are refused before Python's int() sees them (it refuses
    strings of more than 4300 digits, leading zeros included, with a
    ValueError that would otherwise be a 500).
    """
    text = value.strip()
    if not _INT_PATTERN.fullmatch(text):
        raise errors.InvalidArgumentError(
            "query parameter step must be an integer, got %r" % shortened(value)
        )
    negative = text.startswith("-")
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > _MAX_STEP_DIGITS:
        raise errors.InvalidArgumentError(
            "query parameter step is out of range (%d digits)" % len(digits)
        )
    step = -int(digits) if negative else int(digits)
    if not _MIN_STEP <= step <= _MAX_STEP:
        raise errors.InvalidArgumentError(
            "query parameter step is out of range (%s); steps are 64-bit integers" % text[:40]
        )
    return step


def shortened(text, limit=80):
    """`text`, cut to `limit` characters (a query value quoted in a message)."""
    return text if len(text) <= limit else text[:limit] + "... (%d characters)" % len(text)


def tag_index(listings):
    """Shapes `list_blob_sequences` / `list_tensors` output into the /tags response.

    Args:
      listings: `{run: {tag: TimeSeries}}` mappings of PLUGIN_NAME series
        (blob sequences of version 2, tensors of version 1); a tag in more
        than one keeps the first.

    Returns:
      `{"runs": {run: {tag: {"metadata": dict, "description": str,
      "max_step": int}}}, "skipped": [{"run", "tag", "reason"}]}`; series
      whose plugin content does not parse are skipped (with the reason), and
      runs left with no series are absent.
    """
    runs = {}
    skipped = []
    for mapping in listings:
        for run, tag_to_series in mapping.items():
            tags = runs.setdefault(run, {})
            for tag, series in tag_to_series.items():
                if tag in tags:
                    continue
                parsed, reason = series_metadata(series.plugin_content)
                if reason is not None:
                    skipped.append({"run": run, "tag": tag, "reason": reason})
                    continue
                tags[tag] = {
                    "metadata": parsed,
                    "description": series.description or "",
                    "max_step": int(series.max_step)
                    if series.max_step is not None
                    else None,
                }
    for item in skipped:
        logger.warning(
            "rnn plugin: skipping run %r tag %r: %s", item["run"], item["tag"], item["reason"]
        )
    return {"runs": {run: tags for run, tags in runs.items() if tags}, "skipped": skipped}


def series_metadata(content):
    """(parsed metadata, None), or (None, why it is skipped), of a series' plugin content.

    The parsed metadata holds what the writer stored and the facts about
    its kind and cell that the browser needs (kinds.describe), so that the
    tab never keeps its own tables of them. Cached by content (an index of thousands of series repeats a few
    contents), so the parsed dicts are shared: treat them as read-only.
    """
    return _series_metadata(bytes(content or b""))


@functools.lru_cache(maxsize=4096)
def _series_metadata(content):
    try:
        parsed = metadata.parse_plugin_metadata(content)
        parsed.update(kinds.describe(parsed))
        return _json_safe(parsed), None
    except ValueError as e:
        return None, str(e)
    except RecursionError:
        # JSON a little under the parser's depth limit parses, then fails
        # deeper in copying (parse_plugin_metadata copies its result).
        return None, _TOO_DEEP


# Nothing this plugin writes nests past 2 levels; deeper metadata would cost
# every walk over the index (TensorBoard's JSON cleansing recurses in
# Python) and cannot be meant for this plugin.
_MAX_METADATA_DEPTH = 32
_TOO_DEEP = "plugin metadata is JSON nested too deeply to read"
_NON_FINITE = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def _json_safe(parsed):
    """`parsed` (a fresh copy) with NaN/Inf floats as strings, as TensorBoard
    writes them in JSON; a ValueError if nested deeper than _MAX_METADATA_DEPTH."""
    stack = [(parsed, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_METADATA_DEPTH:
            raise ValueError("%s (more than %d levels)" % (_TOO_DEEP, _MAX_METADATA_DEPTH))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, float) and not math.isfinite(value):
                node[key] = _NON_FINITE.get(value, "NaN")
            elif isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
    return parsed


def index_json(index):
    """The /tags response body (utf-8 JSON bytes, ASCII-escaped) of `index`.

    What TensorBoard's Respond would send for the dict, without its
    per-request cleansing walk over every value (metadata is made
    JSON-safe once, when parsed).
    """
    return json.dumps(index, ensure_ascii=True, allow_nan=False).encode("ascii")


def raise_not_found(run, tag, listing_for_run):
    """A 404 saying whether the run or only the tag is unknown.

    Args:
      listing_for_run: `{run: {tag: ...}}` of this plugin's series, filtered to this run.
    """
    if listing_for_run.get(run):
        raise errors.NotFoundError(
            "no rnn tag %r in run %r" % (shortened(tag), shortened(run))
        )
    raise errors.NotFoundError("no run %r with rnn data" % (shortened(run),))


_WRITTEN = metadata.STAT_FIELDS.index("written")


def written_step_count(stats_values):
    """How many of these STATS vectors (one per logged step) were logged
    with their tensor: `written` != 0, or every step in older logs without
    that field."""
    count = 0
    for values in stats_values:
        values = np.asarray(values).reshape(-1)
        count += values.size <= _WRITTEN or values[_WRITTEN] != 0
    return int(count)


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


def raise_step_not_found(step, steps, run, tag):
    """A 404 for `step`, naming the steps there are (`steps`: iterable of int)."""
    steps = sorted(int(s) for s in steps)
    if not steps:
        shown = "none"
    elif len(steps) <= 2 * _STEPS_SHOWN:
        shown = ", ".join(str(s) for s in steps)
    else:
        shown = "%s, ..., %s" % (
            ", ".join(str(s) for s in steps[:_STEPS_SHOWN]),
            ", ".join(str(s) for s in steps[-_STEPS_SHOWN:]),
        )
    raise errors.NotFoundError(
        "step %d not logged for run %r tag %r; %d steps available: %s"
        % (step, shortened(run), shortened(tag), len(steps), shown)
    )


def decode_blob(blob):
    """The array in one blob of a version-2 series (a serialized TensorProto).

    bfloat16 tensors (the callback's default for its big tensors) come back
    widened to float32, exactly: TensorBoard's tensor_util cannot read them.
    """
    try:
        proto = tensor_pb2.TensorProto.FromString(bytes(blob))
        if proto.dtype == types_pb2.DT_BFLOAT16:
            return _bfloat16_ndarray(proto)
        return tensor_util.make_ndarray(proto)
    except Exception as e:  # protobuf and numpy raise many types for bad bytes
        raise UnreadableDataError(
            "the logged tensor cannot be decoded (%s: %s)" % (type(e).__name__, e)
        ) from None


def _bfloat16_ndarray(proto):
    """A DT_BFLOAT16 TensorProto as float32: each value's 16 bits are the
    upper half of a float32 (so NaN, +-Inf and tiny values are kept)."""
    shape = [d.size for d in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    if proto.tensor_content:
        bits = np.frombuffer(proto.tensor_content, dtype="<u2")
    else:  # the proto's repeated field: one int32 per value, low 16 bits
        bits = np.asarray(proto.half_val, dtype=np.int64).astype("<u2")
        if bits.size == 1 and count > 1:  # one value stored for a filled tensor
            bits = np.repeat(bits, count)
    if bits.size != count:
        raise ValueError("%d bfloat16 values for shape %s" % (bits.size, shape))
    return (bits.astype("<u4") << 16).view("<f4").reshape(shape)


def check_shape(array, parsed_metadata):
    """An UnreadableDataError unless `array` has the rank its metadata's axes say."""
    axes = parsed_metadata.get("axes") or []
    if np.ndim(array) != len(axes):
        raise UnreadableDataError(
            "the logged tensor has shape %s; a %s tensor must be [%s]"
            % (list(np.shape(array)), parsed_metadata.get("kind"), ", ".join(axes))
        )


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


# The kinds whose `<tag>/profile` companion /profile serves.
PROFILED_KINDS = kinds.PROFILED_KINDS

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
    head = json.dumps(_json_safe(header), sort_keys=True).encode("utf-8")
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
        data_by_step, "profile", metadata.AXES[metadata.PROFILE], rank=2,
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
