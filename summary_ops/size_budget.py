"""A full logging step's size, known before it is written, kept in a budget.

The callback measures the series of its first logging step before writing
them. Above the budget it writes fewer probe samples and, where that is not
enough, pools ConvLSTM states over blocks of spatial positions (the mean of
each block, per filter; the unit health then describes the blocks), and
says once what it did.
"""

import math

import numpy as np

BYTES_PER_VALUE = {"bfloat16": 2, "float32": 4}


def step_bytes(groups, precision):
    """Bytes the series of `groups` take when written full: the big tensors
    in `precision`, the kept arrays (unit health, timescales) in float32.
    The companions the summary ops derive (stats, profiles, gate
    histograms) are small beside them and not counted."""
    total = 0
    for group in groups:
        for write in group.writes:
            per_value = BYTES_PER_VALUE[precision] if write.data is not None else 4
            total += per_value * sum(int(np.size(a)) for a in write.arrays)
    return total


def pooled(entry, kind, spatial_pool):
    """An entry's [B, T, C] `kind` and channel shape, pooled when asked and
    the channels are spatial (ConvLSTM)."""
    values, channel_shape = entry[kind], entry.get("channel_shape")
    if spatial_pool > 1 and channel_shape and len(channel_shape) > 1:
        return pool_spatial(values, channel_shape, spatial_pool)
    return values, channel_shape


def pool_spatial(array, channel_shape, factor):
    """[B, T, prod(channel_shape)] -> the mean over blocks of `factor`
    positions along each spatial axis (channel_shape is (spatial..., filters));
    returns (array, pooled channel_shape). Edge blocks may be smaller."""
    spatial, filters = list(channel_shape[:-1]), channel_shape[-1]
    full = array.reshape(array.shape[:2] + tuple(channel_shape))
    for axis, size in enumerate(spatial, start=2):
        starts = np.arange(0, size, factor)
        counts = np.diff(np.append(starts, size)).astype(full.dtype)
        shape = [1] * full.ndim
        shape[axis] = len(starts)
        full = np.add.reduceat(full, starts, axis=axis) / counts.reshape(shape)
    pooled = [math.ceil(size / factor) for size in spatial] + [filters]
    return full.reshape(array.shape[:2] + (-1,)), pooled


def smallest_spatial_size(groups_channel_shapes):
    """The smallest spatial extent among ConvLSTM channel shapes, or 0."""
    sizes = [min(shape[:-1]) for shape in groups_channel_shapes if shape and len(shape) > 1]
    return min(sizes) if sizes else 0


def describe(samples, max_samples, pool, size, budget):
    """The one warning that says what the budget changed and how to change it."""
    done = []
    if samples < max_samples:
        done.append("%d of max_samples=%d probe samples" % (samples, max_samples))
    if pool > 1:
        done.append("ConvLSTM states averaged over %dx%d spatial positions" % (pool, pool))
    return (
        "RNNTensorBoard: a full logging step would write %s, over max_step_bytes=%d; "
        "writing %s (%s). Pass a larger max_step_bytes (or None for no limit), or "
        "choose fewer layers= to keep everything."
        % (_readable(size[0]), budget, " and ".join(done) or "everything", _readable(size[1]))
    )


def _readable(size):
    return "%.1f MB" % (size / 1e6) if size >= 1e6 else "%.1f kB" % (size / 1e3)
