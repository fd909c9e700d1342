"""Every logged recurrent layer probed where it stands, in one pass.

One forward and one backward pass of the user's whole model, as compiled
(`model(x)`, then `model.compute_loss`: its loss, `add_loss` terms, extra
inputs, returned and initial states, a subclassed `call`, a model nested in
another), in inference mode, gives for every logged layer at once:
  activation       y_t = h_t at every timestep,
  output gradient  dL/dy_t through what comes after the layer (with
                   return_state, the returned h joins the last step's),
  state gradient   dL/dh_t in total, through the recurrence and through
                   any returned state (an encoder's into its decoder),
and dL/dW of the weight variables asked for.

For that pass each logged layer is instrumented in place: its `call` is
replaced, on the instance and only inside the pass, by a rerun of its own
cell in a keras.layers.RNN that adds a zero tensor eps_t to h_t (probe.py's
perturbed run). dL/deps_t is exactly the total dL/dh_t. Keras has no
forward hooks, and splitting the model into clones at each layer fails on
many real models (Sequential built with add(), return_state, subclassed
models, inputs that bypass the layer) and costs a pass per layer.

The first call checks, on the probe batch, that each rerun reproduces the
layer's own output; a layer that fails is dropped (said once) and the pass
is traced again without it, so it cannot change the others' numbers.
"""

import contextlib
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf

from tb_rnn_plugin.summary_ops import input_sources
from tb_rnn_plugin.summary_ops import probe as probe_lib
from tb_rnn_plugin.summary_ops.probe import UnsupportedLayerError


def recurrent_layers(model):
    """The recurrent layers (RNN subclasses and Bidirectional) of `model` and
    of the models nested in it, depth first, in order."""
    found = []
    for layer in model.layers:
        if probe_lib.is_recurrent(layer):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(recurrent_layers(layer))
    return found


def _check_layer(layer):
    """The layer's keras.layers.RNN parts [(sub, direction)]; raises for
    what no rerun can reproduce."""
    if isinstance(layer, keras.layers.Bidirectional):
        subs = [(layer.forward_layer, "forward"), (layer.backward_layer, "backward")]
    elif isinstance(layer, keras.layers.RNN):
        subs = [(layer, None)]
    else:
        raise UnsupportedLayerError("it is not a keras.layers.RNN or Bidirectional")
    for sub, _ in subs:
        if sub.stateful:
            raise UnsupportedLayerError(
                "stateful=True is not supported (a probe pass would have to "
                "save and restore its states around every logging step)"
            )
    return subs


class _Instrumented:
    """One logged layer: its replacement call, and what a pass recorded."""

    def __init__(self, layer):
        self.layer = layer
        self.subs = _check_layer(layer)
        self.bidirectional = isinstance(layer, keras.layers.Bidirectional)
        self._directions = {}  # (sub id, step input shape) -> probe_lib.Direction
        self.records = []  # one dict per sub call in a pass
        self.failure = None  # why it cannot be probed, found while tracing
        # The Embedding whose input ids are this layer's tokens: the one
        # found in the model's graph, or (a model without one: subclassed,
        # Sequential without an Input) whose output the pass feeds the layer.
        try:
            self.graph_embedding = input_sources.feeding_embedding(layer)
        except Exception:  # an unusual graph: the layer's input is logged as features
            self.graph_embedding = None
        self.embedding_call = None  # in a pass: (Embedding, index of its call)

    def direction(self, sub, name, step_input_shape):
        """The rebuilt perturbed run of `sub`, made once per input shape."""
        step_input_shape = tuple(step_input_shape)
        if None in step_input_shape:
            raise UnsupportedLayerError(
                "its input's per-timestep shape %s is not fully known" % (step_input_shape,)
            )
        key = (id(sub), step_input_shape)
        if key not in self._directions:
            self._directions[key] = probe_lib.Direction(sub, step_input_shape, name)
        return self._directions[key]


class ModelProbe:
    """Probes `layers` of `model` in place; built once, called per logging step.

    `variables`: weight variables whose dL/dW the same pass returns (may be
    set until the first call, which traces the pass).

    Calling it returns {"loss": float, "predictions": model(x) as numpy
    (its structure), "layers": {layer: result}, "weight_gradients": [numpy
    or None per variable]}, where each result is
    {"mask": [B, T] bool or None, "inputs": the layer's input sequence,
    "token_ids": the input of the Embedding that feeds the layer
    (input_sources.feeding_embedding) or None, "embedding": that Embedding,
    "initial_state": per direction, its initial state (a list of numpy) or
    None, "directions": [dict]} with the dicts of probe.LayerProbe.

    `unsupported` maps each layer that cannot be probed to the reason, found
    when built or on the first call.
    """

    def __init__(self, model, layers, variables=()):
        self.model = model
        self.variables = list(variables)
        self.unsupported = {}
        self._instruments = []
        for layer in layers:
            try:
                self._instruments.append(_Instrumented(layer))
            except UnsupportedLayerError as e:
                self.unsupported[layer] = str(e)
        self._tape = None
        # The Embeddings and lookup layers of the model, and in a pass their
        # calls' [(inputs, outputs)] by layer id.
        self._sources = [
            l for l in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(l, (keras.layers.Embedding,) + input_sources.LOOKUPS)
        ]
        self._source_calls = {}
        self._checked = False
        self._trace()

    @property
    def layers(self):
        return [i.layer for i in self._instruments]

    def _trace(self):
        # No autograph: no Python control flow on tensors here (Keras' RNN
        # builds its own while_loop), and converting costs ~0.1 s.
        self._compute = tf.function(self._compute_eager, reduce_retracing=True, autograph=False)

    def __call__(self, x, y=None, sample_weight=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            while True:
                try:
                    with probe_lib.quiet_first_trace() if not self._checked else contextlib.nullcontext():
                        outputs = self._compute(x, y, sample_weight)
                    break
                except UnsupportedLayerError:  # found while tracing: drop it, trace again
                    failed = [i for i in self._instruments if i.failure is not None]
                    if not failed:
                        raise
                    for instrument in failed:
                        self._instruments.remove(instrument)
                        self.unsupported[instrument.layer] = instrument.failure
                    self._trace()
            if not self._checked:
                self._checked = True
                if self._drop_failing(outputs["records"]):
                    self._trace()
                    with probe_lib.quiet_first_trace():
                        outputs = self._compute(x, y, sample_weight)
        return self._results(outputs)

    # -- the pass ---------------------------------------------------------

    def _compute_eager(self, x, y, sample_weight):
        for instrument in self._instruments:
            instrument.records = []
        self._source_calls = {}
        for instrument in self._instruments:
            instrument.embedding_call = None
        with tf.GradientTape() as tape:
            with self._instrumented(tape):
                y_pred = self.model(x, training=False)
            loss = self.model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
            )
        records = [r for i in self._instruments for r in i.records[: len(i.subs)]]
        wanted = (
            [r["output"] for r in records],
            [r["returned_h"] for r in records],
            [r["eps"] for r in records],
            self.variables,
        )
        output_grads, state_out_grads, eps_grads, weight_grads = tape.gradient(
            loss, wanted, unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        per_record = []
        for r, out_grad, h_grad, eps_grad in zip(records, output_grads, state_out_grads, eps_grads):
            per_record.append({
                "activation": r["direction"].to_input_time(r["sequence"]),
                "output_gradient": r["direction"].to_input_time(
                    _output_gradient_sequence(r, out_grad, h_grad)
                ),
                "state_gradient": eps_grad,  # eps is fed in input-time order
                "output": r["output"],
                "inputs": r["inputs"],
                "mask": r["mask"],
                "initial_state": r["initial_state"],
            })
        token_ids = {}
        for index, instrument in enumerate(self._instruments):
            ids = self._embedding_input(instrument)
            if isinstance(ids, tf.Tensor):  # not ragged or sparse ids
                token_ids[str(index)] = ids
        return {"loss": loss, "predictions": y_pred, "records": per_record,
                "weight_gradients": list(weight_grads), "token_ids": token_ids}

    @contextlib.contextmanager
    def _instrumented(self, tape):
        """Inside: each logged layer's `call` is its perturbed rerun."""
        self._tape = tape
        patched = []
        try:
            for instrument in self._instruments:
                call = self._bidirectional_call if instrument.bidirectional else self._rnn_call
                object.__setattr__(instrument.layer, "call", _bound(call, instrument))
                patched.append(instrument.layer)
            for source in self._sources:
                object.__setattr__(source, "call", self._recording_call(source))
                patched.append(source)
            yield
        finally:
            for layer in patched:
                object.__delattr__(layer, "call")
            self._tape = None

    def _recording_call(self, source):
        """An Embedding's (lookup layer's) own call, keeping its first call's
        input and output: token ids, and how they were made."""
        own_call = source.call

        def call(inputs, *args, **kwargs):
            outputs = own_call(inputs, *args, **kwargs)
            self._source_calls.setdefault(id(source), []).append((inputs, outputs))
            return outputs

        return call

    def _call_of(self, output, kind):
        """(layer, call index) of the recorded call of a `kind` layer whose
        output is `output`, or None."""
        for layer in self._sources:
            for index, (_, outputs) in enumerate(self._source_calls.get(id(layer), ())):
                if isinstance(layer, kind) and outputs is output:
                    return layer, index
        return None

    def _find_embedding_call(self, instrument, sequences):
        """Sets instrument.embedding_call: the Embedding call whose output is
        the layer's input, else the graph's Embedding if it was called once
        (a shared one called twice is ambiguous: features)."""
        found = self._call_of(sequences, keras.layers.Embedding)
        graph = instrument.graph_embedding
        if found is None and graph is not None and len(self._source_calls.get(id(graph), ())) == 1:
            found = (graph, 0)
        instrument.embedding_call = found

    def _embedding_input(self, instrument):
        if instrument.embedding_call is None:
            return None
        embedding, index = instrument.embedding_call
        return self._source_calls[id(embedding)][index][0]

    def _rnn_call(self, instrument, sequences, initial_state=None, mask=None, training=None, **_):
        sub, name = instrument.subs[0]
        return self._run_direction(instrument, sub, name, sequences, initial_state, mask)

    def _bidirectional_call(self, instrument, sequences, initial_state=None, mask=None,
                            training=None, **_):
        """As keras.layers.Bidirectional.call (its two-layer path)."""
        layer = instrument.layer
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        (forward, _), (backward, _) = instrument.subs
        y = self._run_direction(instrument, forward, "forward", sequences, forward_state, mask)
        y_rev = self._run_direction(instrument, backward, "backward", sequences, backward_state, mask)
        states = ()
        if layer.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y = keras.ops.cast(y, layer.compute_dtype)
        y_rev = keras.ops.cast(y_rev, layer.compute_dtype)
        if layer.return_sequences:
            y_rev = keras.ops.flip(y_rev, axis=1)
        output = probe_lib.MERGES[layer.merge_mode](y, y_rev)
        if layer.merge_mode is None:
            output = tuple(output)
        if layer.return_state:
            return output + states if layer.merge_mode is None else (output,) + states
        return output

    def _run_direction(self, instrument, sub, name, sequences, initial_state, mask):
        """One RNN's perturbed run, recorded; returns what sub.call would."""
        if not instrument.records:
            self._find_embedding_call(instrument, sequences)
        sequences = tf.convert_to_tensor(sequences)
        try:
            d = instrument.direction(sub, name, sequences.shape[2:])
        except UnsupportedLayerError as e:
            # Keras rewraps errors raised inside a call: the reason travels here.
            instrument.failure = str(e)
            raise
        leading = tf.shape(sequences)[:2]
        flat_u = tf.reshape(sequences, tf.concat([leading, [d.input_size]], axis=0))
        eps = tf.zeros(tf.concat([leading, [d.size]], axis=0), dtype=flat_u.dtype)
        self._tape.watch(eps)
        run = d.perturbed_with_states(
            tf.concat([flat_u, eps], axis=-1), initial_state=initial_state, mask=mask,
            training=False,
        )
        sequence, states = run[0], list(run[1:])
        output = d.layer_output(sequence, sub.return_sequences)
        # The returned h (state 0) is h at the last processed step, plus eps.
        returned_h = states[0] if sub.return_state else tf.zeros_like(output[:, :0])
        instrument.records.append({
            "direction": d, "sub": sub, "eps": eps, "sequence": sequence, "output": output,
            "returned_h": returned_h, "inputs": sequences, "mask": mask,
            "initial_state": None if initial_state is None else list(keras.tree.flatten(initial_state)),
        })
        if sub.return_state:
            return (output, *states)
        return output

    # -- the first call's check -------------------------------------------

    def _drop_failing(self, records):
        """Checks every instrumented layer on the recorded pass; drops (and
        notes in `unsupported`) those whose rerun is not the layer."""
        failing = []
        offset = 0
        for instrument in self._instruments:
            count = len(instrument.subs)
            mine = records[offset : offset + count]
            offset += count
            if len(instrument.records) < count:
                reason = (
                    "it is not called when the model runs on the probe batch "
                    "(model(x)); only layers on that path can be probed"
                )
            else:
                reason = self._check(instrument, mine)
            if len(instrument.records) > count and reason is None:
                warnings.warn(
                    "RNNTensorBoard: layer %r is called %d times in the model; "
                    "its first call is logged" % (instrument.layer.name, len(instrument.records) // count),
                    stacklevel=4,
                )
            if reason is not None:
                failing.append((instrument, reason))
        for instrument, reason in failing:
            self._instruments.remove(instrument)
            self.unsupported[instrument.layer] = reason
        return bool(failing)

    def _check(self, instrument, records):
        """None if each direction's own layer gives the rerun's output on
        this batch and each cell's output is its first state; else why not."""
        for (sub, _), record, traced in zip(instrument.subs, records, instrument.records):
            reason = probe_lib.check_direction(
                traced["direction"], sub, record["inputs"], record["mask"],
                record["initial_state"], record["output"],
            )
            if reason is not None:
                return reason
        return None

    # -- numpy results -----------------------------------------------------

    def _results(self, outputs):
        records = iter(outputs["records"])
        layers = {}
        for index, instrument in enumerate(self._instruments):
            per_direction = [next(records) for _ in instrument.subs]
            directions = [r["direction"] for r in instrument.records[: len(instrument.subs)]]
            first = per_direction[0]
            layers[instrument.layer] = {
                "mask": None if first["mask"] is None else np.asarray(first["mask"]),
                "inputs": np.asarray(first["inputs"]),
                "token_ids": _to_numpy(outputs["token_ids"].get(str(index))),
                "embedding": (instrument.embedding_call or (None,))[0],
                "lookup": self._lookup_of(instrument),
                "initial_state": [
                    None if r["initial_state"] is None else [np.asarray(s) for s in r["initial_state"]]
                    for r in per_direction
                ],
                "directions": probe_lib.direction_entries(directions, per_direction),
            }
        return {
            "loss": float(np.asarray(outputs["loss"], dtype=np.float64)),
            "predictions": keras.tree.map_structure(np.asarray, outputs["predictions"]),
            "layers": layers,
            "weight_gradients": [_to_numpy(g) for g in outputs["weight_gradients"]],
        }


    def _lookup_of(self, instrument):
        """The lookup layer whose output fed the layer's Embedding call, or None."""
        ids = self._embedding_input(instrument)
        if ids is None:
            return None
        found = self._call_of(ids, input_sources.LOOKUPS)
        if found is not None:
            return found[0]
        return input_sources.lookup_feeding(instrument.embedding_call[0])


def _bound(function, instrument):
    def call(*args, **kwargs):
        return function(instrument, *args, **kwargs)

    return call


def _output_gradient_sequence(record, output_grad, returned_h_grad):
    """dL/dy_t over all timesteps in processing order, [B, T, C].

    With return_sequences=False only the last output reaches the loss, and a
    returned state h is that same h: under a mask, h at the last real
    timestep (Keras carries it over the padding), where its gradient belongs.
    """
    d, sub, sequence, mask = record["direction"], record["sub"], record["sequence"], record["mask"]
    batch = tf.shape(sequence)[:1]
    if sub.return_sequences:
        per_step = tf.reshape(output_grad, tf.concat([tf.shape(sequence)[:2], [-1]], axis=0))
    else:
        last = tf.reshape(output_grad, tf.concat([batch, [-1]], axis=0))
        per_step = probe_lib.at_last_real_step(d, sequence, mask, last)
    if sub.return_state:
        h = tf.reshape(returned_h_grad, tf.concat([batch, [-1]], axis=0))
        per_step = per_step + probe_lib.at_last_real_step(d, sequence, mask, h, carried=True)
    return per_step


def _to_numpy(gradient):
    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):
        gradient = tf.convert_to_tensor(gradient)
    return np.asarray(gradient)


# model -> {tuple of layer ids: ModelProbe}: probes built by
# compute_timestep_tensors, kept while the model lives (each traces once).
_PROBES = weakref.WeakKeyDictionary()


def compute_timestep_tensors(model, layer, x, y=None, sample_weight=None):
    """One layer's activations, output and state gradients on (x, y), as
    ModelProbe computes them: {"mask", "inputs", "initial_state",
    "directions"} (see ModelProbe). `layer` is a layer object, name or index
    into model.layers. The probe is built and traced on the first call for
    that model and layer, and reused after (until model.compile() changes
    the loss, which needs a new one: pass a fresh model or call
    ModelProbe yourself). The model's state is left as it was.

    Raises:
      UnsupportedLayerError: the layer cannot be probed (says why).
    """
    if isinstance(layer, (str, int)):
        layer = model.get_layer(name=layer) if isinstance(layer, str) else model.layers[layer]
    probes = _PROBES.setdefault(model, {})
    key = (id(layer), id(model.loss))
    if key not in probes:
        probes[key] = ModelProbe(model, [layer])
    probe = probes[key]
    if layer not in probe.unsupported:
        with model_state_kept(model):
            result = probe(x, y, sample_weight)
    if layer in probe.unsupported:
        raise UnsupportedLayerError(probe.unsupported[layer])
    return result["layers"][layer]


@contextlib.contextmanager
def model_state_kept(model):
    """Restores the model's non-trainable and metric variables after probing.

    Probing must leave training exactly as it was. model.compute_loss
    updates per-output loss trackers of multi-output models (metrics); and
    Keras 3's RNN.call draws dropout masks even with training=False, which
    advances the cells' SeedGenerator states (non-trainable variables), so
    a later training step would draw other masks.
    """
    # Each replica's own copy: reading a sync-on-read variable (a metric)
    # as a whole would all-reduce across workers, a collective only the
    # chief (which logs) would join, and the other workers' next step hangs.
    strategy = model.distribute_strategy
    variables = [
        local for v in list(model.metrics_variables) + list(model.non_trainable_variables)
        for local in strategy.experimental_local_results(_tf_variable(v))
    ]
    values = [v.numpy() for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, values):
            variable.assign(value)


def _tf_variable(variable):
    """The TensorFlow variable behind a Keras one (itself for others)."""
    return getattr(variable, "value", variable) if isinstance(variable, keras.Variable) else variable
