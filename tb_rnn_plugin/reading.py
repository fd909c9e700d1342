"""Pure data shaping for the RNN plugin's routes.

Nothing here touches HTTP, TensorBoard's data provider or TensorFlow: these
helpers take what the data provider returned (or a request's query string)
and turn it into what the routes send, raising `tensorboard.errors`
exceptions with messages meant for the person reading them.
"""

import logging
import re

import numpy as np

from tensorboard import errors

from tb_rnn_plugin import metadata

logger = logging.getLogger(__name__)

# How many points per series this plugin keeps and serves unless the user
# passes `--samples_per_plugin rnn=N`. TensorBoard's Python loading path
# would otherwise keep only 10 tensor points per series.
DEFAULT_SAMPLES = 100

# `--samples_per_plugin rnn=0` means "keep everything" when loading; the data
# provider's `downsample=0` would mean "return nothing", so 0 reads as this.
_ALL_SAMPLES = 2**31 - 1

_INT_PATTERN = re.compile(r"^[+-]?[0-9]+$")

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
        return _ALL_SAMPLES
    return value


def required_arg(args, name):
    """The query parameter `name` from `args` (a mapping), or a 400."""
    value = args.get(name)
    if value is None:
        raise errors.InvalidArgumentError(
            "missing required query parameter: %s" % name
        )
    return value


def parse_step(value):
    """The `step` query parameter as an int, or a 400 saying it is not one."""
    if not _INT_PATTERN.match(value.strip()):
        raise errors.InvalidArgumentError(
            "query parameter step must be an integer, got %r" % value
        )
    return int(value)


def tag_index(mapping):
    """Shapes `list_tensors` output into the /tags response.

    Args:
      mapping: `{run: {tag: provider.TensorTimeSeries}}`.

    Returns:
      `{"runs": {run: {tag: {"metadata": dict, "description": str,
      "max_step": int}}}}`; series whose plugin content does not parse are
      left out (with a warning), and runs left with no series are absent.
    """
    runs = {}
    for run, tag_to_series in mapping.items():
        tags = {}
        for tag, series in tag_to_series.items():
            try:
                parsed = metadata.parse_plugin_metadata(series.plugin_content)
            except ValueError as e:
                logger.warning(
                    "rnn plugin: skipping run %r tag %r: unreadable plugin "
                    "metadata: %s",
                    run,
                    tag,
                    e,
                )
                continue
            tags[tag] = {
                "metadata": parsed,
                "description": series.description or "",
                "max_step": int(series.max_step)
                if series.max_step is not None
                else None,
            }
        if tags:
            runs[run] = tags
    return {"runs": runs}


def raise_not_found(run, tag, listing_for_run):
    """A 404 saying whether the run or only the tag is unknown.

    Args:
      listing_for_run: `list_tensors` output filtered to this run.
    """
    if listing_for_run.get(run):
        raise errors.NotFoundError("no rnn tag %r in run %r" % (tag, run))
    raise errors.NotFoundError("no run %r with rnn data" % (run,))


def steps_response(series):
    """The /steps response for a list of TensorDatum."""
    ordered = sorted(series, key=lambda d: d.step)
    return {
        "steps": [int(d.step) for d in ordered],
        "wall_times": [float(d.wall_time) for d in ordered],
    }


def datum_at_step(series, step, run, tag):
    """The TensorDatum logged at `step`, or a 404 naming the steps there are."""
    for datum in series:
        if datum.step == step:
            return datum
    steps = sorted(int(d.step) for d in series)
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
        % (step, run, tag, len(steps), shown)
    )


def tensor_payload(array):
    """(body bytes, headers) for one tensor: little-endian float32, C order.

    NaN and Inf pass through unchanged.
    """
    array = np.ascontiguousarray(np.asarray(array), dtype="<f4")
    shape = ",".join(str(int(d)) for d in array.shape)
    return array.tobytes(order="C"), [
        ("X-Tensor-Shape", shape),
        ("X-Tensor-Dtype", "float32"),
    ]
