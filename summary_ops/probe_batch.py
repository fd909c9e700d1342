"""The probe batch: what the user gave, or the first batch fit() trains on.

Taking the first training batch must not change how Keras runs any step.
Keras gives callbacks no access to batch data; fit() calls
model.train_function(iterator) once per execution. For that one call the
execution's batches are read off the iterator, the first kept as numpy,
and all handed back in an iterator of the same element_spec, so the step
runs through Keras' own traced function on the same data: bitwise the training without the callback. (Passing a plain iterable
instead makes Keras run a differently traced step, where conv kernels round
differently.) A tf.distribute iterator cannot be rebuilt that way; there the
first execution's batches go in as a plain iterable.

The first training batch is the same in every run only where Keras'
order is: shuffle=False, an unshuffled or seeded tf.data.Dataset, or
arrays shuffled after the same keras.utils.set_random_seed. Keras shows
callbacks no validation batch. Runs to compare side by side should get
one probe_data; the callback logs a fingerprint of the probe
(docs/callback.md, "Probe batch").
"""

import keras
import numpy as np
import tensorflow as tf


def unpack_probe_data(probe_data):
    """(x, y, sample_weight) from what the user gave, or None."""
    if probe_data is None:
        return None
    if isinstance(probe_data, tf.data.Dataset):
        return to_numpy_batch(next(iter(probe_data.take(1))), None)
    if not isinstance(probe_data, (tuple, list)) or len(probe_data) not in (2, 3):
        raise ValueError(
            "probe_data must be (x, y), (x, y, sample_weight) or a "
            "tf.data.Dataset, got %s" % type(probe_data).__name__
        )
    x, y, sample_weight = (list(probe_data) + [None])[:3]
    return x, y, sample_weight


def to_numpy_batch(data, strategy):
    """A batch from a (possibly distributed) iterator as numpy (x, y, sw)."""

    def local(t):
        if strategy is not None and not isinstance(t, (tf.Tensor, np.ndarray)):
            # Per-replica parts of a distributed batch, put back together.
            return np.concatenate([np.asarray(p) for p in strategy.experimental_local_results(t)])
        return np.asarray(t)

    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    return tuple(
        None if part is None else tf.nest.map_structure(local, part)
        for part in (x, y, sample_weight)
    )


def keep_first_training_batch(model, on_batch, on_error):
    """Wraps model.train_function for its next call: on_batch(numpy batch)
    gets that call's first batch. Returns a function that puts the original
    back (also done by the call itself)."""
    train_function = model.train_function

    def restore():
        model.train_function = train_function

    def train_function_keeping_first_batch(iterator):
        restore()
        batches = list(_batches_of_one_execution(iterator, model.steps_per_execution or 1))
        try:
            on_batch(to_numpy_batch(batches[0], model.distribute_strategy))
        except Exception as e:  # e.g. ragged or sparse inputs
            on_error(e)
        if isinstance(iterator, tf.data.Iterator):
            return train_function(_iterator_over(batches, iterator.element_spec))
        return train_function(iter(batches))

    model.train_function = train_function_keeping_first_batch
    return restore


def _iterator_over(batches, element_spec):
    """A tf.data iterator of `element_spec` over the batches already taken.

    No prefetching or autotuning: nothing runs ahead of what the step asks.
    """
    dataset = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=element_spec)
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.inject_prefetch = False
    return iter(dataset.with_options(options))


def _batches_of_one_execution(iterator, steps_per_execution):
    """Yields the batches one train_function call would take from `iterator`."""
    if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
        # A plain iterable (train_on_batch, or another callback's wrapper).
        yield from iter(iterator)
        return
    yield iterator.get_next()  # OutOfRangeError ends the epoch, as in Keras
    for _ in range(steps_per_execution - 1):
        optional = iterator.get_next_as_optional()
        if not optional.has_value():
            return
        yield optional.get_value()
