"""The demo trains, logs every cell type, and its task is what it says."""

import numpy as np

from tb_reading import read_back

from tb_rnn_plugin import demo, metadata


def test_recall_data_labels_are_the_first_token_and_padding_is_trailing():
    x, y = demo.make_recall_data(200, timesteps=12, seed=1)
    np.testing.assert_array_equal(y, x[:, 0])
    assert x.min() == 0 and x[:, :9].min() > 0  # at least 3/4 of each sequence is real
    padded = x == 0
    # Once padding starts it continues to the end.
    assert np.all(padded[:, 1:] >= padded[:, :-1])


def test_demo_writes_one_run_per_cell(tmp_path):
    assert demo.main([
        "--logdir", str(tmp_path), "--epochs", "1", "--samples", "128",
        "--timesteps", "6", "--units", "4", "--update-freq", "1", "--no-tensorboard",
    ]) == 0
    logged = read_back(tmp_path)
    assert set(logged) == {"lstm", "gru", "simplernn"}
    for run, tags in logged.items():
        info, steps, values = tags["rnn/state_gradient"]
        assert info["cell"] == {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN"}[run]
        assert info["mask_tag"] == "rnn/mask"
        assert steps == [1, 2]
        assert values[0].shape == (8, 6, 4)


def test_delayed_task_labels_every_step_and_logs_the_horizon(tmp_path):
    x, y = demo.make_delayed_recall_data(50, timesteps=9, delay=3, seed=2)
    np.testing.assert_array_equal(y[:, 3:], x[:, :-3])
    assert not y[:, :3].any() and x.min() > 0
    assert demo.main([
        "--task", "delayed", "--delay", "3", "--cells", "GRU", "--logdir", str(tmp_path),
        "--epochs", "1", "--samples", "128", "--timesteps", "9", "--units", "4",
        "--update-freq", "1", "--no-tensorboard",
    ]) == 0
    info, steps, values = read_back(tmp_path, (metadata.GRADIENT_HORIZON,))["gru"]["rnn/gradient_horizon"]
    assert info["targets"] is None and steps == [1, 2]
    assert values[0].shape == (8, 9, 9)  # 8 samples, a loss at each of 9 steps, 9 sources
