"""Reading for the RNN plugin's routes: query parameters, the /tags index,
series metadata and stored tensors (payloads.py turns them into bodies).

Nothing here touches HTTP, TensorBoard's data provider or TensorFlow: these
helpers take what the data provider returned (or a request's query string)
and raise `tensorboard.errors` exceptions with messages meant for the
person reading them.
"""

import functools
import json
import logging
import math
import re

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
        return json_safe(parsed), None
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


def json_safe(parsed):
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
