"""The text demo: windows of a standard-library module's source, the next
character as the label at every timestep, one probe batch and the
characters as the vocabulary for every run, read back through TensorBoard's
data provider."""

import inspect
import textwrap

import numpy as np
import pytest

from tb_reading import read_back

from tb_rnn_plugin import metadata, text_demo


def test_windows_label_the_next_character_and_decode_to_the_text():
    text = "the quick brown fox jumps over the lazy dog\n" * 3
    x, y, chars = text_demo.make_text_data(text, timesteps=10, stride=7)
    assert chars == sorted(set(text))
    assert x.shape == y.shape == (len(range(0, len(text) - 11, 7)), 10)
    for k, row in enumerate(x):
        assert "".join(chars[i] for i in row) == text[7 * k:7 * k + 10]
        assert "".join(chars[i] for i in y[k]) == text[7 * k + 1:7 * k + 11]
    with pytest.raises(ValueError, match="shorter than"):
        text_demo.make_text_data("abc", timesteps=10, stride=1)


def test_text_demo_probes_one_batch_with_the_characters_as_vocabulary(tmp_path, capsys):
    assert text_demo.main([
        "--logdir", str(tmp_path), "--epochs", "1", "--timesteps", "12", "--stride", "64",
        "--units", "4", "--update-freq", "5", "--no-tensorboard",
    ]) == 0
    x, y, chars = text_demo.make_text_data(inspect.getsource(textwrap), 12, 64)
    logged = read_back(tmp_path, (metadata.LABELS, metadata.INPUT_DEPENDENCY, metadata.TOKENS))
    assert set(logged) == {"lstm", "simplernn"}
    for run, tags in logged.items():
        info, steps, values = tags["rnn/labels"]
        assert info["vocabulary"] == chars
        assert steps[0] == 1 and len(steps) >= 2
        # The true next characters of the probe: the text's first 8 windows, in every run.
        np.testing.assert_array_equal(values[-1][..., 0], y[:8])
        # The input characters of the probe, named by the same vocabulary.
        info, _, values = tags["rnn/tokens"]
        assert info["vocabulary"] == chars
        np.testing.assert_array_equal(values[-1], x[:8])
        # Which characters each next-character loss depends on: a loss at every timestep.
        info, steps, values = tags["rnn/input_dependency"]
        assert values[-1].shape == (8, 12, 12) and info["targets"] is None
    printed = capsys.readouterr().out
    assert "lstm: final validation accuracy" in printed and "] rnn: " in printed


def test_a_module_without_python_source_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        text_demo.main(["--logdir", str(tmp_path), "--module", "sys", "--no-tensorboard"])
    assert "no Python source" in capsys.readouterr().err
