"""RNNTensorBoard's arguments checked and normalised before training
starts (a bad argument is an error at construction, never a failed
logging step), and who writes under tf.distribute."""

import warnings

import keras
import numpy as np

from tb_rnn_plugin import metadata

# The keyword arguments RNNTensorBoard's gradient_horizon and
# input_dependency dicts may hold (GradientHorizon's and InputDependency's).
HORIZON_OPTIONS = ("max_lag", "targets", "method")
DEPENDENCY_OPTIONS = ("targets", "method", "max_copies")


def options(name, option, known):
    """An argument such as gradient_horizon as keyword arguments of its
    computation (GradientHorizon, InputDependency), or None (off)."""
    if option is None or option is False:
        return None
    if option is True:
        return {}
    if not isinstance(option, dict):
        raise ValueError("%s must be None, True or a dict, got %r" % (name, option))
    unknown = sorted(set(option) - set(known))
    if unknown:
        raise ValueError(
            "%s: unknown option(s) %s (known: %s)" % (name, unknown, list(known))
        )
    return dict(option)


def vocabulary_list(vocabulary):
    """The vocabulary argument as a list of strings (index = class id), or None."""
    if vocabulary is None:
        return None
    if isinstance(vocabulary, (keras.layers.StringLookup, keras.layers.TextVectorization)):
        tokens = [
            t.decode("utf-8", "replace") if isinstance(t, bytes) else t
            for t in vocabulary.get_vocabulary()
        ]
        # Before adapt() a lookup holds only its mask and out-of-vocabulary tokens.
        special = {"", "[UNK]", getattr(vocabulary, "oov_token", None),
                   getattr(vocabulary, "mask_token", None)}
        if all(t in special for t in tokens):
            raise ValueError(
                "vocabulary: the %s has no vocabulary yet (adapt() it or pass vocabulary= "
                "to it first)" % type(vocabulary).__name__
            )
    elif isinstance(vocabulary, (list, tuple)) or (
        isinstance(vocabulary, np.ndarray) and vocabulary.ndim == 1
    ):
        tokens = list(vocabulary)
    else:
        raise TypeError(
            "vocabulary must be None, a list or tuple of strings (index = class id), or a "
            "keras.layers.StringLookup or TextVectorization; got %s" % type(vocabulary).__name__
        )
    if not tokens:
        raise ValueError("vocabulary is empty; pass None to show class ids")
    for index, token in enumerate(tokens):
        if not isinstance(token, str):
            raise TypeError(
                "vocabulary[%d] is a %s (%r); every entry must be a string"
                % (index, type(token).__name__, token)
            )
    if len(tokens) > metadata.MAX_VOCABULARY:
        warnings.warn(
            "RNNTensorBoard: the vocabulary has %d entries; the first %d are stored, "
            "higher class ids show as numbers" % (len(tokens), metadata.MAX_VOCABULARY),
            stacklevel=3,
        )
        tokens = tokens[:metadata.MAX_VOCABULARY]
    return tokens


def require_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError("%s must be a positive integer, got %r" % (name, value))


def is_chief(model):
    """Under multi-worker tf.distribute only the chief writes."""
    resolver = getattr(model.distribute_strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None:
        return True
    return task_type == "chief" or (task_type == "worker" and resolver.task_id == 0)
