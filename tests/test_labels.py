"""The labels row's data: RNNTensorBoard logs, with the gradient horizon, the
true and the predicted class of its probe samples per timestep
(metadata.LABELS), read back through TensorBoard's data provider."""

import json
import warnings

import keras
import numpy as np
import pytest

import tb_reading
import tb_rnn_plugin
from tb_rnn_plugin import demo, metadata
from tb_rnn_plugin.summary_ops import labels as labels_lib
from tb_rnn_plugin.summary_ops import summary
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

B, T, CLASSES, KEEP = 6, 5, 4, 4
TOKENS = ["pad", "a", "b", "c"]


def token_batch():
    """Tokens 1..3 with trailing padding 0 (masked by the embedding)."""
    x = np.array([
        [1, 2, 3, 1, 2],
        [3, 3, 1, 0, 0],
        [2, 1, 0, 0, 0],
        [1, 1, 1, 1, 1],
        [2, 3, 2, 3, 0],
        [3, 2, 1, 2, 3],
    ], dtype="int32")
    y = (x + 1) % CLASSES  # an arbitrary rule the untrained model mostly gets wrong
    y[x == 0] = 0
    return x, y


def tagger(loss, units=CLASSES, activation="softmax", bidirectional=False, every_step=True):
    """Embedding (masks padding) -> GRU "rnn" -> Dense, trained at learning rate 0."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((T,), dtype="int32")
    embedded = keras.layers.Embedding(CLASSES, 3, mask_zero=True)(inputs)
    if bidirectional:
        rnn = keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=every_step), name="rnn")
    else:
        rnn = keras.layers.GRU(5, return_sequences=every_step, name="rnn")
    outputs = keras.layers.Dense(units, activation=activation)(rnn(embedded))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.0), loss)  # weights fixed: the probe equals predict
    return model


def fit_logged(logdir, model, x, y, sample_weight=None, batch_size=B, **options):
    """Training at learning rate 0 (one step of B samples), each step logged
    with the horizon; the labels read back."""
    # One target: the cheapest horizon (the labels do not depend on it).
    options.setdefault("gradient_horizon", {"method": "tile", "targets": [T - 1]})
    probe = (x, y) if sample_weight is None else (x, y, sample_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RNNTensorBoard warning fails the test
        model.fit(x, y, sample_weight=sample_weight, batch_size=batch_size, epochs=1, verbose=0,
                  callbacks=[RNNTensorBoard(
                      str(logdir), update_freq=1, probe_data=probe, max_samples=KEEP,
                      log_weights=False, log_gate_activations=False, **options)])
    return tb_reading.read_back(logdir, (metadata.LABELS,)).get(".", {})


def test_sparse_labels_with_mask_and_zero_sample_weight(tmp_path):
    x, y = token_batch()
    model = tagger("sparse_categorical_crossentropy")
    weights = np.ones((B, T), "float32")
    weights[0, 1] = 0.0  # a real timestep the loss ignores
    # Two steps: the second is written without its metadata (once per event file).
    logged = fit_logged(tmp_path, model, x, y, weights, batch_size=B // 2, vocabulary=TOKENS)
    info, steps, values = logged["rnn/labels"]
    assert steps == [1, 2]
    np.testing.assert_array_equal(values[1], values[0])  # weights fixed, same probe
    assert info["kind"] == "labels" and info["axes"] == ["sample", "timestep", "field"]
    assert info["fields"] == ["true", "predicted"] and info["vocabulary"] == TOKENS
    assert info["layer"] == "rnn" and info["direction"] is None and info["task"] is None
    assert info["loss"] == "sparse_categorical" and info["mask_tag"] == "rnn/mask"
    labels = values[0]
    assert labels.dtype == np.float32 and labels.shape == (KEEP, T, 2)
    predicted = np.argmax(model.predict(x[:KEEP], verbose=0), axis=-1)
    no_label = (x[:KEEP] == 0) | (weights[:KEEP] == 0)
    assert no_label.sum() == 6  # 5 padded timesteps and one weighted 0
    np.testing.assert_array_equal(labels[..., 0], np.where(no_label, -1, y[:KEEP]))
    np.testing.assert_array_equal(labels[..., 1], np.where(no_label, -1, predicted))
    assert (labels[..., 0] != labels[..., 1])[~no_label].any()  # some wrong: not trivially equal
    # Kept for every step (counts logged steps); the first step of a fit is pinned.
    stats = tb_reading.read_stats(tmp_path)["."]["rnn/labels"]
    assert stats[1] == [1, 2]
    pinned = tb_reading.data_provider_over(tmp_path)
    listing = pinned.list_blob_sequences(
        tb_reading.context.RequestContext(), experiment_id="",
        plugin_name=metadata.KEPT_PLUGIN_NAME,
    )["."]
    assert metadata.pinned_tag("rnn/labels") in listing


def test_one_hot_labels_per_sample_weight_bidirectional(tmp_path):
    x, y = token_batch()
    one_hot = np.eye(CLASSES, dtype="float32")[y]
    model = tagger("categorical_crossentropy", bidirectional=True)
    weights = np.array([[1], [1], [0], [1], [1], [1]], "float32")  # sample 2 ignored altogether
    logged = fit_logged(tmp_path, model, x, one_hot, weights)
    info, _, values = logged["rnn/labels"]  # one series for both directions
    assert set(logged) == {"rnn/labels"}
    assert info["direction"] is None and info["vocabulary"] is None
    assert info["loss"] == "categorical"
    labels = values[0]
    predicted = np.argmax(model.predict(x[:KEEP], verbose=0), axis=-1)
    no_label = (x[:KEEP] == 0) | (weights[:KEEP] == 0)
    assert no_label[2].all()
    np.testing.assert_array_equal(labels[..., 0], np.where(no_label, -1, y[:KEEP]))
    np.testing.assert_array_equal(labels[..., 1], np.where(no_label, -1, predicted))


@pytest.mark.parametrize("label_shape", ["[B, 1]", "[B]"])
def test_sequence_to_one_binary_classifier_logs_one_label_per_sequence(tmp_path, label_shape):
    x, _ = token_batch()
    y = (x[:, :1] == 1).astype("float32")  # the first token is "a"
    if label_shape == "[B]":  # against the [B, 1] output, as fit() accepts it
        y = y[:, 0]
    model = tagger("binary_crossentropy", units=1, activation="sigmoid", every_step=False)
    info, _, values = fit_logged(tmp_path, model, x, y, vocabulary=["no", "yes"])["rnn/labels"]
    assert info["loss"] == "binary" and info["task"].startswith("one label per sequence")
    labels = values[0]
    assert labels.shape == (KEEP, 1, 2)
    probability = model.predict(x[:KEEP], verbose=0)[:, 0]
    np.testing.assert_array_equal(labels[:, 0, 0], y.reshape(B, 1)[:KEEP, 0])
    np.testing.assert_array_equal(labels[:, 0, 1], (probability > 0.5).astype(int))


def test_regression_model_logs_no_labels_and_the_rest(tmp_path):
    x, y = token_batch()
    model = tagger("mse", units=2, activation=None)
    target = np.random.default_rng(0).normal(size=(B, T, 2)).astype("float32")
    assert fit_logged(tmp_path, model, x, target) == {}
    logged = tb_reading.read_back(tmp_path, (metadata.GRADIENT_HORIZON, metadata.ACTIVATION))["."]
    assert {"rnn/gradient_horizon", "rnn/activation"} <= set(logged)


def test_a_vocabulary_for_a_regression_model_is_warned_about(tmp_path):
    x, _ = token_batch()
    model = tagger("mse", units=2, activation=None)
    target = np.zeros((B, T, 2), "float32")
    with pytest.warns(UserWarning, match="not one the labels row reads"):
        model.fit(x, target, batch_size=B, epochs=1, verbose=0, callbacks=[RNNTensorBoard(
            str(tmp_path), update_freq=1, probe_data=(x, target), log_weights=False,
            log_gate_activations=False, vocabulary=["a", "b"],
            gradient_horizon={"method": "tile", "targets": [T - 1]})])


def test_labels_are_read_as_the_loss_reads_them():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, T, 2)).astype("float32")

    def model_with(units, loss):
        inputs = keras.Input((T, 2))
        model = keras.Model(inputs, keras.layers.Dense(units)(inputs))
        model.compile("sgd", loss)
        return model

    # ignore_class: those timesteps have no label; logits: argmax as for probabilities.
    model = model_with(3, keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                     ignore_class=2))
    y = rng.integers(0, 3, size=(3, T))
    got = labels_lib.probe_labels(model, x, y)
    ignored = y == 2
    assert ignored.any() and got["loss"] == "sparse_categorical" and got["classes"] == 3
    np.testing.assert_array_equal(got["true"], np.where(ignored, -1, y))
    np.testing.assert_array_equal(
        got["predicted"], np.where(ignored, -1, np.argmax(model.predict(x, verbose=0), -1)))
    # One logit: class 1 where it is > 0, whatever the label's dtype.
    model = model_with(1, keras.losses.BinaryCrossentropy(from_logits=True))
    y = rng.random(size=(3, T, 1)).astype("float32")
    got = labels_lib.probe_labels(model, x, y)
    np.testing.assert_array_equal(got["true"], (y[..., 0] > 0.5).astype(int))
    np.testing.assert_array_equal(got["predicted"],
                                  (model.predict(x, verbose=0)[..., 0] > 0).astype(int))
    with pytest.raises(labels_lib.NoLabelsError, match="multi-label"):
        labels_lib.probe_labels(model_with(3, "binary_crossentropy"), x, y)
    with pytest.raises(labels_lib.NoLabelsError, match="2 outputs"):
        labels_lib.label_loss(["mse", "sparse_categorical_crossentropy"])
    assert labels_lib.label_loss("mse") is None
    assert labels_lib.label_loss(lambda y_true, y_pred: y_pred) is None
    assert labels_lib.label_loss({"out": "categorical_crossentropy"})[0] == "categorical"
    assert labels_lib.probe_labels(model_with(2, "mae"), x, np.zeros((3, T, 2))) is None


def test_no_labels_without_the_horizon(tmp_path):
    x, y = token_batch()
    assert fit_logged(tmp_path, tagger("sparse_categorical_crossentropy"), x, y,
                      gradient_horizon=None) == {}
    assert tb_reading.read_back(tmp_path)["."]["rnn/activation"][1] == [1]


def test_a_vocabulary_given_without_the_horizon_is_warned_about():
    with pytest.warns(UserWarning, match="gradient_horizon=True"):
        RNNTensorBoard("logs", vocabulary=["a"])


def test_vocabulary_from_a_list_and_lookup_layers_round_trips_in_the_metadata(tmp_path):
    import tensorflow as tf

    lookup = keras.layers.StringLookup(vocabulary=["cat", "dog", "émeu"])
    vectorize = keras.layers.TextVectorization()
    vectorize.adapt(["the cat sat", "the dog"])
    expected = {
        "list": ["x", "y"],
        "lookup": ["[UNK]", "cat", "dog", "émeu"],  # id 0: out of vocabulary
        "text": vectorize.get_vocabulary(),  # "", "[UNK]", then by frequency
    }
    assert expected["text"][:3] == ["", "[UNK]", "the"]
    assert sorted(expected["text"][3:]) == ["cat", "dog", "sat"]
    for run, given in (("list", ("x", "y")), ("lookup", lookup), ("text", vectorize)):
        callback = RNNTensorBoard("logs", vocabulary=given, gradient_horizon=True)
        assert callback.vocabulary == expected[run]
        # As the callback writes it, read back through TensorBoard's data provider.
        writer = tf.summary.create_file_writer(str(tmp_path / run))
        with writer.as_default(step=3):
            tb_rnn_plugin.labels("tagger/labels", [[0, 2, -1]], [[0, 1, -1]],
                                 vocabulary=callback.vocabulary, loss="sparse_categorical")
        writer.close()
    logged = tb_reading.read_back(tmp_path, (metadata.LABELS,))
    for run, vocabulary in expected.items():
        info, steps, values = logged[run]["tagger/labels"]
        assert info["vocabulary"] == vocabulary and steps == [3]
        np.testing.assert_array_equal(values[0], [[[0, 0], [2, 1], [-1, -1]]])


@pytest.mark.parametrize("vocabulary, error, message", [
    ("abc", TypeError, "list or tuple of strings"),
    ({"a": 0}, TypeError, "list or tuple of strings"),
    (keras.layers.IntegerLookup, TypeError, "StringLookup or TextVectorization"),
    (["a", 3], TypeError, r"vocabulary\[1\] is a int"),
    ([], ValueError, "empty"),
    ("unadapted", ValueError, "adapt"),
])
def test_bad_vocabulary_arguments_are_refused_at_construction(vocabulary, error, message):
    if vocabulary is keras.layers.IntegerLookup:
        vocabulary = keras.layers.IntegerLookup(vocabulary=[1, 2])
    if vocabulary == "unadapted":
        vocabulary = keras.layers.TextVectorization()
    with pytest.raises(error, match=message):
        RNNTensorBoard("logs", vocabulary=vocabulary, gradient_horizon=True)


def test_a_huge_vocabulary_is_capped_with_a_warning():
    tokens = ["t%d" % i for i in range(metadata.MAX_VOCABULARY + 5)]
    with pytest.warns(UserWarning, match="first 50000 are stored"):
        callback = RNNTensorBoard("logs", vocabulary=tokens, gradient_horizon=True)
    assert callback.vocabulary == tokens[:metadata.MAX_VOCABULARY]


def test_the_op_refuses_what_is_not_a_class_id(tmp_path):
    with pytest.raises(ValueError, match="integer class ids"):
        summary.labels("l", [[0.5]], [[0]])
    with pytest.raises(ValueError, match="same shape"):
        summary.labels("l", [[0, 1]], [[0]])
    with pytest.raises(ValueError, match="at most 50000"):
        metadata.create_summary_metadata(metadata.LABELS, vocabulary=["x"] * 50001)


def test_the_demo_delayed_task_writes_labels_with_its_vocabulary(tmp_path):
    assert demo.main([
        "--task", "delayed", "--delay", "2", "--cells", "GRU", "--logdir", str(tmp_path),
        "--epochs", "1", "--samples", "64", "--timesteps", "6", "--units", "4",
        "--update-freq", "1", "--no-tensorboard",
    ]) == 0
    info, steps, values = tb_reading.read_back(tmp_path, (metadata.LABELS,))["gru"]["rnn/labels"]
    assert info["vocabulary"] == list(demo.TOKENS) and len(demo.TOKENS) == demo.VOCAB
    assert steps == [1]
    _, y = demo.make_delayed_recall_data(64, timesteps=6, delay=2, seed=0)
    labels = values[0]
    assert labels.shape == (8, 6, 2)
    # The probe is the first (shuffled) training batch: each row is a sample's labels.
    for row in labels[..., 0]:
        assert (y == row).all(axis=1).any(), row
    assert np.all(labels[:, :2, 0] == 0)  # "_": nothing to recall yet
    assert set(np.unique(labels[..., 1])) <= set(range(demo.VOCAB))  # nothing masked


def test_real_tensorboard_serves_labels_whose_big_vocabulary_is_written_once_per_file(tmp_path):
    import tensorflow as tf

    from browser_util import TensorBoardServer, http_get

    tokens = ["token_%05d" % i for i in range(metadata.MAX_VOCABULARY)]
    for part, steps in enumerate(((1, 2, 3), (4, 5))):  # a resumed run: a second event file
        writer = tf.summary.create_file_writer(str(tmp_path / "run"), filename_suffix=".%d" % part)
        with writer.as_default():
            for step in steps:
                summary.labels("rnn/labels", [[step, 49999, -1]], [[0, step, -1]], step=step,
                               vocabulary=tokens, with_metadata=step == steps[0])
        writer.close()
    sizes = sorted(p.stat().st_size for p in (tmp_path / "run").iterdir())
    assert sizes[-1] < 1.5 * len(json.dumps(tokens))  # not once per step
    # The Rust data server (tb_reading covers TensorBoard's Python loader).
    server = TensorBoardServer(tmp_path, ["--load_fast=true"])
    try:
        server.wait_until_serving()
        entry = server.wait_for_runs(["run"])["runs"]["run"]["rnn/labels"]
        assert entry["metadata"]["vocabulary"] == tokens and entry["max_step"] == 5
        for step in (1, 4, 5):
            status, body = http_get(
                server.url + "/data/plugin/rnn/tensor?run=run&tag=rnn/labels&step=%d" % step)
            assert status == 200
            np.testing.assert_array_equal(
                np.frombuffer(body, "<f4").reshape(1, 3, 2), [[[step, 0], [49999, step], [-1, -1]]])
        status, body = http_get(server.url + "/data/plugin/rnn/steps?run=run&tag=rnn/labels")
        assert json.loads(body)["steps"] == [1, 2, 3, 4, 5]
        assert json.loads(body)["logged_steps"] == 5
    finally:
        server.stop()
