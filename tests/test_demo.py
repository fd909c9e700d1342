"""The demo trains, logs every cell type, and its task is what it says."""

import numpy as np

from tb_reading import read_back

from tb_rnn_plugin import demo


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
