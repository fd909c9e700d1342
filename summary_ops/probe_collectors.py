"""What the probe batch itself is and scores, per logging step: its inputs
at each logged layer (tokens or features) with its fingerprint, and the
compiled loss and metrics on it. Collectors in the sense of collectors.py,
kept apart because they belong to the run and its probe batch rather than to
one quantity of a layer."""

import numpy as np
import tensorflow as tf

from tb_rnn_plugin.summary_ops import input_sources
from tb_rnn_plugin.summary_ops import input_summary
from tb_rnn_plugin.summary_ops import run_summary
from tb_rnn_plugin.summary_ops.collectors import LayerStep, Write, runs_backwards


class Inputs:
    """`<layer>/tokens` (the ids fed to the Embedding that feeds the layer)
    or `<layer>/input_features` (the layer's input, extra axes flattened):
    the probe batch's input at the layer's timesteps, in input-time order,
    for the samples written. Once per layer and probe batch: `collect`
    returns nothing for a layer already written with this fingerprint. A Bidirectional's two directions see the same
    input: it goes once, under the layer's tag, without a direction."""

    def __init__(self, vocabulary, max_bytes, warn_once):
        self.vocabulary = vocabulary  # RNNTensorBoard's input_vocabulary
        self.max_bytes = max_bytes  # features above it are not written (said once)
        self.warn_once = warn_once
        self._written = {}  # layer -> fingerprint of the probe batch last written
        self._vocabularies = {}  # Embedding -> its token strings or None
        self._fingerprint = (None, None)  # (probe batch, its fingerprint_of)

    def write(self, probed, step, probe_batch, samples, writer, described):
        """Writes the probe batch's fingerprint (every logging step) and each
        layer's input where it is new to the layer, into `writer` (its
        file's described tags in `described`: a vocabulary goes once per
        file). One layer's failure is warned about and skips only it."""
        if self._fingerprint[0] is not probe_batch:
            x, y, _ = probe_batch
            self._fingerprint = (probe_batch, input_summary.fingerprint_of(x, y))
        fingerprint = self._fingerprint[1]
        key = input_summary.fingerprint_hex(fingerprint)
        with writer.as_default(step=step), tf.summary.record_if(True):
            input_summary.probe_fingerprint(fingerprint, step=step)
            for layer, result in probed["layers"].items():
                try:
                    ctx = LayerStep(layer, result, step, probe_batch, samples)
                    for tag, write in self.collect(ctx, key):
                        write(tag not in described)
                        described.add(tag)
                    self._written[layer] = key
                except Exception as e:  # One layer's failure must not stop the others.
                    self.warn_once("inputs " + layer.name, (
                        "RNNTensorBoard: could not log the input of layer %r at step %d: %s: %s"
                        % (layer.name, step, type(e).__name__, e)))

    def collect(self, ctx, fingerprint):
        """[(tag, write(with_metadata))] for the layer, or [] when it has
        this probe batch's inputs already (or they are over the budget)."""
        layer, result = ctx.layer, ctx.result
        if self._written.get(layer) == fingerprint:
            return []
        fields = dict(layer=layer.name, mask_tag=ctx.mask_tag, backward=runs_backwards(layer))
        steps = result["inputs"].shape[1]
        ids = result.get("token_ids")
        if ids is not None and (ids.ndim != 2 or ids.shape[1] != steps):
            self.warn_once("tokens " + layer.name, (
                "RNNTensorBoard: the ids fed to %r's Embedding have shape %s, not [samples, %d "
                "timesteps]: its input is logged as features" % (layer.name, list(ids.shape), steps)
            ))
            ids = None
        if ids is not None:
            tag = "%s/tokens" % layer.name
            ids = np.round(np.asarray(ids, np.float64))[ctx.keep]
            vocabulary = self._vocabulary(result["embedding"], result.get("lookup"))

            def write_tokens(with_metadata):
                return input_summary.tokens(
                    tag, ids, vocabulary=vocabulary, with_metadata=with_metadata, **fields)

            return [(tag, write_tokens)]
        features = result["inputs"].reshape(result["inputs"].shape[:2] + (-1,))[ctx.keep]
        size = 4 * features.size
        if self.max_bytes is not None and size > self.max_bytes:
            self.warn_once("input_features " + layer.name, (
                "RNNTensorBoard: not logging the input of %r: %d bytes, over max_step_bytes=%d"
                % (layer.name, size, self.max_bytes)
            ))
            return []
        tag = "%s/input_features" % layer.name
        return [(tag, lambda with_metadata: input_summary.input_features(tag, features, **fields))]

    def _vocabulary(self, embedding, lookup):
        if embedding not in self._vocabularies:
            try:
                self._vocabularies[embedding] = input_sources.token_vocabulary(
                    self.vocabulary, embedding, lookup)
            except Exception as e:  # a user's callable may raise anything
                self.warn_once("input_vocabulary", (
                    "RNNTensorBoard: no token vocabulary (%s: %s): the tab shows ids"
                    % (type(e).__name__, e)
                ))
                self._vocabularies[embedding] = None
        return self._vocabularies[embedding]


class ProbeLoss:
    """`probe/loss`: the compiled loss and metrics on the probe batch, from
    the probe pass (its loss is model.compute_loss in inference mode: the
    compiled loss plus the model's regularization and add_loss terms, the
    number fit() and evaluate() report for that batch; its predictions feed
    the metrics). The model is not run again, and the training metrics'
    state is not touched: the compiled metrics are computed statelessly,
    from fresh variables, on the probe batch alone."""

    def __init__(self, model):
        self.model = model
        self.names = None  # fixed by the first write (the tag's metadata)

    def collect(self, probed, probe_batch):
        """[Write] of the step's values (a Group's writes)."""
        _, y, sample_weight = probe_batch
        metrics = probe_metrics(self.model, y, probed["predictions"], sample_weight)
        names = ["loss"] + list(metrics)
        if self.names is None:
            self.names = names
        elif names != self.names:
            raise ValueError("the compiled metrics changed from %s to %s" % (self.names, names))
        values = np.array([probed["loss"]] + list(metrics.values()), np.float32)

        def write(values, **_):
            return run_summary.probe_loss(values, names)

        return [Write(None, None, (values,), write, True)]


def probe_metrics(model, y, y_pred, sample_weight=None):
    """{name: float} of the model's compiled metrics (compile(metrics=...))
    on one batch, as evaluate() would report them for that batch alone,
    computed statelessly: the metrics' own variables are left as they are.
    Metrics whose result is not a scalar are left out."""
    metric = next((m for m in model.metrics if m.name == "compile_metrics"), None)
    if metric is None:
        return {}
    if not metric.built:  # built by the first training step; update_state would do this
        metric.build(y, y_pred)
    variables = metric.stateless_update_state(metric.stateless_reset_state(), y, y_pred, sample_weight)
    results = {}
    for name, value in metric.stateless_result(variables).items():
        value = np.asarray(value, np.float64)
        if value.size == 1:
            results[name] = float(value.reshape(()))
    return results
