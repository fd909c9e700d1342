"""A classifier's true and predicted class per sample and timestep.

The labels row of the tab (metadata.LABELS): the callback reads, on its
probe batch, which class the model predicts at each timestep of its output
and which class the label says, in the way the compiled loss reads them:

  - sparse categorical crossentropy (and Keras' `ignore_class`): the label
    is the class id; the prediction the argmax over the last axis;
  - categorical crossentropy and categorical focal crossentropy: labels
    one-hot or probabilities, both sides argmax over the last axis;
  - binary crossentropy and binary focal crossentropy on ONE unit: class 1
    where the output is > 0.5 (> 0 with from_logits) and where the label
    is > 0.5. Several sigmoid units (multi-label) have no single class.

Other losses (regression, users' own functions) have no labels: None.
Where the loss ignores a timestep (the output's Keras mask, sample_weight 0,
ignore_class) both ids are -1.
"""

import keras
import numpy as np

NO_LABEL = -1


class NoLabelsError(ValueError):
    """The model is a classifier, but its labels cannot be read (says why)."""


def _loss_functions():
    losses = keras.losses
    return {
        losses.sparse_categorical_crossentropy: "sparse_categorical",
        losses.categorical_crossentropy: "categorical",
        losses.categorical_focal_crossentropy: "categorical",
        losses.binary_crossentropy: "binary",
        losses.binary_focal_crossentropy: "binary",
    }


def label_loss(loss):
    """How a compiled loss reads labels: (one of metadata.LABEL_LOSSES,
    {"from_logits", "ignore_class"}), or None for a loss that is not a
    classification loss this module reads (regression, a user's own).

    `loss` is what model.compile got: a name, a function, a keras Loss, or a
    list / dict of them (one per output).
    """
    if isinstance(loss, dict):
        loss = list(loss.values())
    if isinstance(loss, (list, tuple)):
        if len(loss) != 1:
            kinds = [label_loss(one) for one in loss]
            if any(kinds):
                raise NoLabelsError("the model has %d outputs; labels are read from a model "
                                    "with one output" % len(loss))
            return None
        loss = loss[0]
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except (ValueError, TypeError):
            return None
    options = {"from_logits": False, "ignore_class": None}
    if isinstance(loss, keras.losses.Loss):
        kwargs = dict(getattr(loss, "_fn_kwargs", None) or {})
        options["from_logits"] = bool(kwargs.get("from_logits", getattr(loss, "from_logits", False)))
        options["ignore_class"] = kwargs.get("ignore_class", getattr(loss, "ignore_class", None))
        loss = getattr(loss, "fn", loss)  # Keras' built-in losses wrap their function
    kind = next((k for fn, k in _loss_functions().items() if loss is fn), None)
    if kind is None:
        return None
    return kind, options


def probe_labels(model, x, y, sample_weight=None):
    """The model's labels on a batch, or None when its loss has none (see
    label_loss).

    Returns:
      {"true": int32 [B, T], "predicted": int32 [B, T], "loss": the
      LABEL_LOSSES entry, "classes": how many (2 for binary),
      "sequence_to_one": the output has no timestep axis (then T = 1)},
      NO_LABEL where the loss ignores a timestep.

    Raises:
      NoLabelsError: a classification loss, but the output or the labels
        have a shape this module does not read (says which).
    """
    how = label_loss(model.loss)
    if how is None:
        return None
    kind, options = how
    if y is None or not _is_array(y):
        raise NoLabelsError("the probe batch's labels are not one array (%s)" % type(y).__name__)
    output = model(x, training=False)
    if not _is_array(output):
        raise NoLabelsError("the model has several outputs; labels are read from a model "
                            "with one output")
    output_mask = _keras_mask(output)
    scores = np.asarray(output, dtype=np.float64)
    if scores.ndim not in (2, 3):
        raise NoLabelsError(
            "the model's output has shape %s; labels are read from [batch, timesteps, "
            "classes] or [batch, classes]" % (list(scores.shape),)
        )
    sequence_to_one = scores.ndim == 2
    if sequence_to_one:
        scores = scores[:, None, :]
        output_mask = None if output_mask is None else np.asarray(output_mask).reshape(-1, 1)
    batch, steps, classes = scores.shape
    true = np.asarray(y, dtype=np.float64)
    if kind == "categorical":
        if true.shape[-1:] != (classes,):
            raise NoLabelsError("categorical labels of shape %s for %d classes"
                                % (list(true.shape), classes))
        true = np.argmax(true.reshape(batch, steps, classes), axis=-1)
        predicted = np.argmax(scores, axis=-1)
    else:
        true = _one_per_timestep(true, batch, steps, "labels")
        if kind == "binary":
            if classes != 1:
                raise NoLabelsError(
                    "binary crossentropy on %d units is multi-label: no single class per "
                    "timestep" % classes
                )
            threshold = 0.0 if options["from_logits"] else 0.5
            predicted = (scores[..., 0] > threshold).astype(np.int64)
            true = (true > 0.5).astype(np.int64)
        else:
            predicted = np.argmax(scores, axis=-1)
            ignored = true < 0
            if options["ignore_class"] is not None:
                ignored |= true == options["ignore_class"]
            true = np.where(ignored, NO_LABEL, true)
    labelled = np.ones((batch, steps), dtype=bool)
    if output_mask is not None:
        labelled &= np.asarray(output_mask, dtype=bool).reshape(batch, steps)
    if sample_weight is not None:
        if not _is_array(sample_weight):
            raise NoLabelsError("sample_weight is not one array")
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim == 1 or weights.size == batch:
            weights = np.broadcast_to(weights.reshape(batch, 1), (batch, steps))
        labelled &= _one_per_timestep(weights, batch, steps, "sample_weight") != 0
    labelled &= true >= 0
    return {
        "true": np.where(labelled, true, NO_LABEL).astype(np.int32),
        "predicted": np.where(labelled, predicted, NO_LABEL).astype(np.int32),
        "loss": kind,
        "classes": 2 if kind == "binary" else classes,
        "sequence_to_one": sequence_to_one,
    }


def _one_per_timestep(values, batch, steps, what):
    """[B, T] from [B, T], [B, T, 1] (or [B], [B, 1] when T = 1)."""
    if values.size != batch * steps:
        raise NoLabelsError(
            "%s of shape %s for an output of %d samples x %d timesteps"
            % (what, list(values.shape), batch, steps)
        )
    return values.reshape(batch, steps)


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _keras_mask(tensor):
    """The Keras mask a layer attached to `tensor` (the one the loss uses), or None."""
    try:
        from keras.src.backend.common.masking import get_keras_mask
    except ImportError:  # another Keras layout: the attribute Keras 3 sets
        return getattr(tensor, "_keras_mask", None)
    return get_keras_mask(tensor)

