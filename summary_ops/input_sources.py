"""Where a recurrent layer's input comes from: an Embedding (token ids) or not.

A layer "is fed through an Embedding" when, walking back from its input
along Keras' graph of the model (each layer's inbound nodes), one meets a
keras.layers.Embedding after passing only layers of one input that keep
the timestep count (Dropout, Dense, Masking, another recurrent layer with
return_sequences, ...). Then timestep t of the layer saw token t, and the
Embedding's input (integer model inputs, or what a StringLookup /
TextVectorization / IntegerLookup front end made of strings) is the
layer's tokens. A go_backwards recurrent layer on the way returns its
sequence reversed: the walk stops there, as it does at a model input, at a
layer of several inputs. A model that keeps no graph (subclassed,
Sequential without an Input) is matched in the probe pass instead
(model_probe.ModelProbe: the layer called on an Embedding's very output).

The vocabulary of the ids is the user's (a list, a lookup layer, or a
callable id -> string), else that of a lookup layer that feeds the
Embedding directly, else none (the tab shows ids).
"""

import keras
import numpy as np

from tb_rnn_plugin import metadata

LOOKUPS = (keras.layers.StringLookup, keras.layers.TextVectorization, keras.layers.IntegerLookup)


def feeding_embedding(layer):
    """The keras.layers.Embedding whose output reaches `layer`'s input with
    its timesteps unchanged (see the module docstring), or None."""
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if not nodes or not nodes[0].input_tensors:
        return None
    tensor = nodes[0].input_tensors[0]
    steps = _steps(tensor)
    for _ in range(1000):  # a graph is finite; this only bounds a strange one
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            return None
        operation = history.operation
        if isinstance(operation, keras.layers.Embedding):
            return operation
        if isinstance(operation, keras.layers.InputLayer) or getattr(operation, "go_backwards", False):
            return None
        inbound = getattr(operation, "_inbound_nodes", None) or []
        if history.node_index >= len(inbound):
            return None
        tensor = _only_positional_input(inbound[history.node_index])
        if tensor is None or _steps(tensor) != steps:
            return None
    return None


def _only_positional_input(node):
    """The one tensor a layer was called on (a mask passed along is a
    keyword argument), or None when there are several."""
    arguments = getattr(node, "arguments", None)
    positional = keras.tree.flatten(arguments.args) if arguments is not None else node.input_tensors
    tensors = [t for t in positional if hasattr(t, "_keras_history")]
    return tensors[0] if len(tensors) == 1 else None


def _next_operation(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history.operation


def _steps(tensor):
    """The static timestep count of a symbolic tensor (None: unknown or no such axis)."""
    shape = getattr(tensor, "shape", None)
    return shape[1] if shape is not None and len(shape) >= 2 else None


def lookup_feeding(embedding):
    """The lookup layer (StringLookup, TextVectorization, IntegerLookup)
    whose output is the Embedding's input, or None."""
    nodes = getattr(embedding, "_inbound_nodes", None) or []
    if not nodes or not nodes[0].input_tensors:
        return None
    operation = _next_operation(nodes[0].input_tensors[0])
    return operation if isinstance(operation, LOOKUPS) else None


def token_vocabulary(vocabulary, embedding, lookup=None):
    """The strings of token ids 0.. (at most metadata.MAX_VOCABULARY), or None.

    `vocabulary`: what the user gave (a list or tuple of strings, a lookup
    layer, a callable id -> string, or None); None falls back to `lookup`,
    else to the lookup layer feeding `embedding` in the model's graph. A callable is asked for the ids the
    Embedding takes (its input_dim).
    """
    if vocabulary is None:
        vocabulary = lookup
        if vocabulary is None and embedding is not None:
            vocabulary = lookup_feeding(embedding)
        if vocabulary is None:
            return None
    if isinstance(vocabulary, LOOKUPS):
        words = list(vocabulary.get_vocabulary())
    elif callable(vocabulary):
        size = getattr(embedding, "input_dim", None)
        if size is None:
            raise ValueError("input_vocabulary: a callable needs an Embedding to know the ids")
        words = [vocabulary(i) for i in range(min(int(size), metadata.MAX_VOCABULARY))]
    elif isinstance(vocabulary, (list, tuple, np.ndarray)):
        words = list(vocabulary)
    else:
        raise TypeError(
            "input_vocabulary must be None, a list of strings, a Keras lookup layer or a "
            "callable id -> str; got %s" % type(vocabulary).__name__
        )
    words = [w.decode("utf-8", "replace") if isinstance(w, bytes) else str(w) for w in words]
    return words[: metadata.MAX_VOCABULARY] or None


def checked_input_vocabulary(vocabulary):
    """RNNTensorBoard's input_vocabulary argument, checked early; returned as given."""
    if vocabulary is None or callable(vocabulary) or isinstance(vocabulary, LOOKUPS):
        return vocabulary
    if isinstance(vocabulary, (list, tuple)) or (
        isinstance(vocabulary, np.ndarray) and vocabulary.ndim == 1
    ):
        for index, word in enumerate(vocabulary):
            if not isinstance(word, (str, bytes, np.str_, np.bytes_)):
                raise TypeError(
                    "input_vocabulary[%d] is a %s (%r); every entry must be a string"
                    % (index, type(word).__name__, word)
                )
        return vocabulary
    raise TypeError(
        "input_vocabulary must be None, a list of strings, a Keras lookup layer or a "
        "callable id -> str; got %s" % type(vocabulary).__name__
    )
