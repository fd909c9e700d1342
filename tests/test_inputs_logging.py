"""The probe batch's inputs as RNNTensorBoard logs them (kinds TOKENS,
INPUT_FEATURES, PROBE_FINGERPRINT), read back through TensorBoard's data
provider: token ids equal what the model's Embedding takes, features equal
the layer's input, both written once per run and again when the probe
batch changes; the fingerprint tells equal probes from different ones."""

import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import tb_reading
from tb_rnn_plugin import kinds, metadata
from tb_rnn_plugin.summary_ops import input_summary
from tb_rnn_plugin.summary_ops.callback import RNNTensorBoard

B, T = 5, 6
INPUT_KINDS = (metadata.TOKENS, metadata.INPUT_FEATURES)


def token_ids(seed=0):
    ids = np.random.default_rng(seed).integers(1, 9, size=(B, T)).astype("int32")
    ids[1, 4:] = 0  # padding, masked by the Embedding
    return ids


def embedding_lstm(bidirectional=False):
    """Embedding (masks 0) -> Dropout -> LSTM "rnn" (or Bidirectional) -> LSTM "second" -> Dense."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((T,), dtype="int32")
    h = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    h = keras.layers.Dropout(0.2)(h)
    rnn = keras.layers.LSTM(4, return_sequences=True, name="rnn")
    if bidirectional:
        rnn = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="rnn")
    h = keras.layers.LSTM(2, return_sequences=True, name="second")(rnn(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("adam", "mse")
    return model


def fit(logdir, model, x, y, epochs=1, callback=None, **options):
    options = dict(dict(update_freq=1, log_weights=False, log_gate_activations=False), **options)
    callback = callback or RNNTensorBoard(logdir, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # any RNNTensorBoard warning fails
        model.fit(x, y, batch_size=B, epochs=epochs, shuffle=False, verbose=0, callbacks=[callback])
    return callback


def logged_inputs(logdir):
    return tb_reading.read_back(logdir, INPUT_KINDS).get(".", {})


def fingerprints(logdir):
    """{step: hex} of the run's probe/fingerprint series."""
    provider = tb_reading.data_provider_over(logdir)
    from tensorboard import context

    data = provider.read_tensors(
        context.RequestContext(), experiment_id="", plugin_name=metadata.KEPT_PLUGIN_NAME,
        downsample=2**31 - 1,
    )
    points = data["."][kinds.PROBE_FINGERPRINT_TAG]
    return {d.step: input_summary.fingerprint_hex(d.numpy) for d in points}


def test_token_ids_are_the_models_integer_inputs_for_every_layer_fed_by_the_embedding(tmp_path):
    x = token_ids()
    y = np.zeros((B, T, 1), "float32")
    fit(tmp_path, embedding_lstm(), x, y, epochs=2, max_samples=3)
    logged = logged_inputs(tmp_path)
    assert set(logged) == {"rnn/tokens", "second/tokens"}  # through LSTM "rnn" too
    info, steps, arrays = logged["rnn/tokens"]
    assert steps == [1]  # once per run: the probe batch does not change
    np.testing.assert_array_equal(arrays[0], x[:3])
    assert arrays[0].dtype == np.float32
    assert info["kind"] == metadata.TOKENS and info["vocabulary"] is None
    assert info["mask_tag"] == "rnn/mask" and info["layer"] == "rnn"
    np.testing.assert_array_equal(logged["second/tokens"][2][0], x[:3])


def test_a_bidirectional_layer_writes_its_tokens_once_without_direction(tmp_path):
    x = token_ids()
    fit(tmp_path, embedding_lstm(bidirectional=True), x, np.zeros((B, T, 1)), max_samples=B)
    logged = logged_inputs(tmp_path)
    assert "rnn/tokens" in logged and not any("forward" in t or "backward" in t for t in logged)
    info, _, arrays = logged["rnn/tokens"]
    assert info["direction"] is None
    np.testing.assert_array_equal(arrays[0], x)


def test_string_inputs_through_a_lookup_give_its_ids_and_its_vocabulary(tmp_path):
    words = ["the", "cat", "sat", "on", "mat"]
    lookup = keras.layers.StringLookup(vocabulary=words, mask_token="")
    keras.utils.set_random_seed(2)
    inputs = keras.Input((T,), dtype="string")
    h = keras.layers.Embedding(lookup.vocabulary_size(), 3, mask_zero=True)(lookup(inputs))
    h = keras.layers.GRU(3, return_sequences=True, name="rnn")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("adam", "mse")
    rng = np.random.default_rng(4)
    x = rng.choice(words + ["unknown"], size=(B, T)).astype(object)
    x[0, 4:] = ""
    x = tf.constant(x.astype(str))
    fit(tmp_path, model, x, np.zeros((B, T, 1), "float32"), max_samples=B)
    info, _, arrays = logged_inputs(tmp_path)["rnn/tokens"]
    np.testing.assert_array_equal(arrays[0], np.asarray(lookup(x)))
    assert info["vocabulary"] == lookup.get_vocabulary()
    assert info["vocabulary"][int(arrays[0][0, 1])] in (x.numpy()[0, 1].decode(), "[UNK]")


def test_a_sequential_text_front_end_without_input_gives_the_vectorized_ids(tmp_path):
    """No keras.Input, so no graph to walk: the pass itself sees the
    Embedding's output fed to the LSTM and the TextVectorization's fed to
    the Embedding."""
    keras.utils.set_random_seed(3)
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=T)
    vectorize.adapt(["the cat sat", "a dog ran far away", "the dog sat on the cat"])
    model = keras.Sequential([
        vectorize, keras.layers.Embedding(20, 4, mask_zero=True),
        keras.layers.LSTM(3, name="rnn"), keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy")
    texts = np.array(["the cat sat", "a dog ran", "the dog sat on the cat", "far away", "cat"],
                     dtype=object)
    fit(tmp_path, model, texts, np.array([1, 0, 1, 0, 1.0]), max_samples=B)
    info, _, arrays = logged_inputs(tmp_path)["rnn/tokens"]
    np.testing.assert_array_equal(arrays[0], np.asarray(vectorize(texts)))
    assert info["vocabulary"] == vectorize.get_vocabulary()
    assert [info["vocabulary"][int(i)] for i in arrays[0][0, :3]] == ["the", "cat", "sat"]


def test_the_callers_vocabulary_list_or_callable_names_the_tokens(tmp_path):
    x = token_ids()
    names = ["<pad>"] + ["w%d" % i for i in range(1, 10)]
    fit(tmp_path / "list", embedding_lstm(), x, np.zeros((B, T, 1)), input_vocabulary=names)
    assert logged_inputs(tmp_path / "list")["rnn/tokens"][0]["vocabulary"] == names
    fit(tmp_path / "callable", embedding_lstm(), x, np.zeros((B, T, 1)),
        input_vocabulary=lambda i: "<%d>" % i)
    info = logged_inputs(tmp_path / "callable")["rnn/tokens"][0]
    assert info["vocabulary"] == ["<%d>" % i for i in range(10)]  # the Embedding's input_dim


def features_model():
    """Features -> Dense -> GRU "rnn": the GRU's input is the Dense's output."""
    keras.utils.set_random_seed(5)
    inputs = keras.Input((T, 2, 3))
    h = keras.layers.Reshape((T, 6))(inputs)
    dense = keras.layers.Dense(4, name="dense")
    h = keras.layers.GRU(3, return_sequences=True, name="rnn")(dense(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("adam", "mse")
    return model, dense


def test_features_are_the_layers_input_after_a_dense(tmp_path):
    model, dense = features_model()
    x = np.random.default_rng(6).normal(size=(B, T, 2, 3)).astype("float32")
    before = np.asarray(dense(x.reshape(B, T, 6)))  # the weights of the first logged step
    fit(tmp_path, model, x, np.zeros((B, T, 1), "float32"), max_samples=B,
        update_freq=10**6)  # one step: logged once, after it
    logged = logged_inputs(tmp_path)
    info, steps, arrays = logged["rnn/input_features"]
    assert info["kind"] == metadata.INPUT_FEATURES and info["axes"] == ["sample", "timestep", "feature"]
    assert steps == [1]
    # Logged after the only training step: the Dense as it is now.
    after = np.asarray(dense(x.reshape(B, T, 6)))
    np.testing.assert_allclose(arrays[0], after, rtol=1e-6, atol=1e-6)
    assert not np.allclose(before, after)  # the check above sees the right weights


def test_features_of_rank_above_three_are_flattened(tmp_path):
    keras.utils.set_random_seed(7)
    inputs = keras.Input((T, 2, 3))
    h = keras.layers.TimeDistributed(keras.layers.Flatten())(inputs)
    model = keras.Model(inputs, keras.layers.SimpleRNN(2, name="rnn")(h))
    model.compile("adam", "mse")
    x = np.random.default_rng(8).normal(size=(B, T, 2, 3)).astype("float32")
    fit(tmp_path, model, x, np.zeros((B, 2), "float32"), max_samples=2)
    np.testing.assert_allclose(logged_inputs(tmp_path)["rnn/input_features"][2][0],
                               x[:2].reshape(2, T, 6), rtol=1e-6)


def test_inputs_are_written_again_when_the_probe_batch_changes(tmp_path):
    model = embedding_lstm()
    x1, x2 = token_ids(0), token_ids(1)
    y = np.zeros((B, T, 1), "float32")
    fit(tmp_path, model, x1, y, epochs=2, probe_data=(x1, y))
    fit(tmp_path, model, x1, y, epochs=2, probe_data=(x1, y))  # same probe: new callback, same tokens
    fit(tmp_path, model, x1, y, epochs=1, probe_data=(x2, y))
    info, steps, arrays = logged_inputs(tmp_path)["rnn/tokens"]
    assert steps == [1, 3, 5]
    np.testing.assert_array_equal(arrays[0], x1[:4])
    np.testing.assert_array_equal(arrays[1], x1[:4])
    np.testing.assert_array_equal(arrays[2], x2[:4])
    by_step = fingerprints(tmp_path)
    assert sorted(by_step) == [1, 2, 3, 4, 5]  # at every logging step
    assert by_step[1] == by_step[2] == by_step[3] == by_step[4] != by_step[5]


def test_one_callback_writes_the_inputs_once_over_two_fits(tmp_path):
    model = embedding_lstm()
    x, y = token_ids(), np.zeros((B, T, 1), "float32")
    callback = fit(tmp_path, model, x, y)
    fit(tmp_path, model, x, y, callback=callback)
    _, steps, _ = logged_inputs(tmp_path)["rnn/tokens"]
    assert steps == [1]
    assert sorted(fingerprints(tmp_path)) == [1, 2]


def test_equal_probes_have_equal_fingerprints_across_runs_and_different_ones_differ(tmp_path):
    x, y = token_ids(), np.zeros((B, T, 1), "float32")
    fit(tmp_path / "a", embedding_lstm(), x, y)  # default probe: the first batch, unshuffled
    fit(tmp_path / "b", embedding_lstm(), x, y)
    other = x.copy()
    other[0, 0] += 1
    fit(tmp_path / "c", embedding_lstm(), other, y)
    a, b, c = (fingerprints(tmp_path / run)[1] for run in "abc")
    assert a == b != c
    assert a == input_summary.fingerprint_hex(input_summary.fingerprint_of(x, y))


def test_the_default_probe_of_shuffled_arrays_is_the_same_after_the_same_seed(tmp_path):
    """docs/callback.md, Probe batch: with Keras' default shuffle=True the
    first training batch is the same in two runs seeded alike."""
    x = np.random.default_rng(10).integers(1, 9, size=(4 * B, T)).astype("int32")
    y = np.zeros((4 * B, T, 1), "float32")

    def first_probe(run, seed):
        model = embedding_lstm()
        keras.utils.set_random_seed(seed)
        callback = RNNTensorBoard(tmp_path / run, update_freq=10**6, log_weights=False,
                                  log_gate_activations=False)
        model.fit(x, y, batch_size=B, epochs=1, verbose=0, callbacks=[callback])  # shuffled
        return fingerprints(tmp_path / run)[1], callback._probe_batch[0]

    (a, batch_a), (b, _), (c, _) = first_probe("a", 0), first_probe("b", 0), first_probe("c", 1)
    assert a == b != c
    assert not np.array_equal(batch_a, x[:B])  # shuffled indeed


def test_a_big_vocabulary_is_written_once_per_event_file(tmp_path):
    words = ["w%d" % i for i in range(metadata.MAX_VOCABULARY)]
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        for step in range(3):
            input_summary.tokens("rnn/tokens", token_ids(step), step=step, vocabulary=words,
                                 with_metadata=step == 0)
    size = sum(f.stat().st_size for f in tmp_path.iterdir())
    one_copy = len(json.dumps(words))
    assert one_copy < size < 2 * one_copy  # one copy, not three
    info, steps, arrays = logged_inputs(tmp_path)["rnn/tokens"]
    assert info["vocabulary"] == words and steps == [0, 1, 2]
    np.testing.assert_array_equal(arrays[2], token_ids(2))


def test_the_callback_writes_a_big_vocabulary_once_per_event_file(tmp_path):
    words = ["w%d" % i for i in range(metadata.MAX_VOCABULARY)]
    x, y = token_ids(), np.zeros((B, T, 1), "float32")
    model = embedding_lstm()
    fit(tmp_path / "one", model, x, y, epochs=3)
    size_without = sum(f.stat().st_size for f in (tmp_path / "one").iterdir())
    fit(tmp_path / "two", model, x, y, epochs=3, input_vocabulary=words)
    size_with = sum(f.stat().st_size for f in (tmp_path / "two").iterdir())
    one_copy = len(json.dumps(words))
    # Two tags (rnn and second) carry it, each once: not at all 3 logged steps.
    assert 2 * one_copy < size_with - size_without < 3 * one_copy
    assert logged_inputs(tmp_path / "two")["rnn/tokens"][0]["vocabulary"] == words


def final_weights(callback_dir):
    model = embedding_lstm()
    x, y = token_ids(), np.random.default_rng(9).normal(size=(B, T, 1)).astype("float32")
    callbacks = [] if callback_dir is None else [RNNTensorBoard(callback_dir, update_freq=1)]
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
    return [np.array(v.numpy()) for v in model.weights]


def test_training_is_bitwise_unchanged_with_the_inputs_logged(tmp_path):
    for a, b in zip(final_weights(None), final_weights(tmp_path)):
        np.testing.assert_array_equal(a, b)
    assert "rnn/tokens" in logged_inputs(tmp_path)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2,)), "rank 2"),
    (np.full((2, 3), 0.5), "integer token ids"),
    (np.full((2, 3), -1), "integer token ids"),
    (np.zeros((0, 3)), "empty"),
    (np.array([["a", "b"]]), "numeric"),
])
def test_tokens_refuse_what_is_not_token_ids(bad, message, tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        with pytest.raises(ValueError, match=message):
            input_summary.tokens("t", bad, step=0)


def test_features_and_fingerprints_refuse_bad_shapes(tmp_path):
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        with pytest.raises(ValueError, match="rank 3"):
            input_summary.input_features("f", np.zeros((2, 3)), step=0)
        with pytest.raises(ValueError, match="4 integers"):
            input_summary.probe_fingerprint([1.0, 2.0], step=0)


def test_fingerprints_hash_dtype_shape_bytes_and_structure():
    x = np.arange(12, dtype="int32").reshape(3, 4)
    y = np.ones((3,), "float32")
    base = input_summary.fingerprint_hex(input_summary.fingerprint_of(x, y))
    assert len(base) == 16
    assert base == input_summary.fingerprint_hex(input_summary.fingerprint_of(x.copy(), tf.constant(y)))
    variants = [
        (x.astype("int64"), y), (x.reshape(4, 3), y), (x + 1, y), (x, y * 2), (x, None),
        ({"a": x}, y), ([x, x], y), (y, x),
    ]
    hexes = {input_summary.fingerprint_hex(input_summary.fingerprint_of(*v)) for v in variants}
    assert base not in hexes and len(hexes) == len(variants)
    strings = np.array([["ab", "c"]], dtype=object)
    same = np.array([[b"ab", b"c"]])
    assert (input_summary.fingerprint_hex(input_summary.fingerprint_of(strings))
            == input_summary.fingerprint_hex(input_summary.fingerprint_of(same)))
    assert (input_summary.fingerprint_hex(input_summary.fingerprint_of(strings))
            != input_summary.fingerprint_hex(input_summary.fingerprint_of(np.array([["a", "bc"]]))))
