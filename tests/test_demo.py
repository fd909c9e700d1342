"""The demo trains, logs every cell type, and its task is what it says; it
is deterministic, probes one batch in every run, and with its defaults the
tab's verdicts (read back through TensorBoard's data provider, as /health
computes them) say why each run did or did not learn."""

import numpy as np

from tb_reading import read_back, read_stats

from tb_rnn_plugin import demo, demo_summary, gradient_reach, metadata


def test_recall_data_labels_are_the_first_token_and_padding_is_trailing():
    x, y = demo.make_recall_data(200, timesteps=12, seed=1)
    np.testing.assert_array_equal(y, x[:, 0])
    assert x.min() == 0 and x[:, :9].min() > 0  # at least 3/4 of each sequence is real
    padded = x == 0
    # Once padding starts it continues to the end.
    assert np.all(padded[:, 1:] >= padded[:, :-1])


def test_demo_writes_one_run_per_cell_on_one_probe_batch(tmp_path, capsys):
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
    # Every run probes the same sequences: the data's first 8 (probe_data=),
    # whose real timesteps are the logged mask.
    x, _ = demo.make_recall_data(128, timesteps=6, seed=0)
    for run, tags in logged.items():
        _, _, masks = tags["rnn/mask"]
        np.testing.assert_array_equal(masks[-1], (x[:8] != 0).astype(np.float32))
    # The summary at the end: a line per run, then the tab's sentences for it.
    printed = capsys.readouterr().out
    summary = printed[printed.index("Summary (the RNN tab's summary"):]
    for run in ("lstm", "gru", "simplernn"):
        assert "%s: final validation accuracy 0." % run in summary
    assert summary.count("] rnn: ") >= 3


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


def _logged_values(logdir):
    """Every value the rnn plugin's series hold under `logdir`, by (run,
    tag, step), read through TensorBoard's data provider: the big tensors,
    the weights, and every kept companion."""
    values = {}
    for kinds in (metadata.TIMESTEP_KINDS, metadata.WEIGHT_KINDS):
        for run, tags in read_back(logdir, kinds).items():
            for tag, (_, steps, arrays) in tags.items():
                values.update({(run, tag, step): a for step, a in zip(steps, arrays)})
    for kind in (metadata.STATS, metadata.PROFILE, metadata.GATE_STATS):
        for run, tags in read_stats(logdir, kind).items():
            for tag, (_, steps, arrays) in tags.items():
                values.update({(run, tag + "/" + kind, step): a for step, a in zip(steps, arrays)})
    return values


def test_two_trainings_log_identical_values(tmp_path):
    small = dict(cells=["LSTM"], epochs=2, timesteps=8, units=4, update_freq=2, samples=256,
                 verbose=0)
    first = demo.train(str(tmp_path / "a"), **small)
    second = demo.train(str(tmp_path / "b"), **small)
    assert first == second
    logged_a, logged_b = _logged_values(tmp_path / "a"), _logged_values(tmp_path / "b")
    assert len(logged_a) > 50 and logged_a.keys() == logged_b.keys()
    for key, value in logged_a.items():
        np.testing.assert_array_equal(value, logged_b[key], err_msg=repr(key))
    # The logged values change over training: equal because seeded, not
    # because nothing was written.
    stats = sorted(k for k in logged_a if k[1] == "rnn/state_gradient/" + metadata.STATS)
    assert not np.array_equal(logged_a[stats[0]], logged_a[stats[-1]])


def test_default_demo_tells_its_story(tmp_path, capsys):
    """The quick start's demo with its defaults (README, the module
    docstring): the run that solved the task is not flagged; the runs that
    did not are flagged vanishing, and the printed summary says so."""
    accuracies = demo.train(str(tmp_path), verbose=0)
    rows = {row["run"]: row for row in demo_summary.health_rows(tmp_path)}
    assert set(rows) == {"lstm", "gru", "simplernn"}
    solved = {run for run, accuracy in accuracies.items() if accuracy >= 0.9}
    failed = {run for run, accuracy in accuracies.items() if accuracy < 0.3}  # chance: 1/9
    assert solved == {"gru"} and failed == {"lstm", "simplernn"}, accuracies
    for run in solved:
        assert not rows[run]["vanishing"]["problem"] and not rows[run]["exploding"]["problem"]
        assert rows[run]["vanishing"]["value"] > 0.1  # the gradient reaches t=0 at its size
        assert rows[run]["nonfinite"] is None
    for run in failed:
        vanishing = rows[run]["vanishing"]
        assert vanishing["problem"] and vanishing["value"] < gradient_reach.VANISHING_LEVEL
        assert vanishing["below"] >= 6 and vanishing["samples"] == 8
    text = demo_summary.print_summary(str(tmp_path), accuracies)
    assert text in capsys.readouterr().out
    lines = text.splitlines()

    def said(run):
        """The run's sentence lines: those under its accuracy line."""
        start = lines.index("%s: final validation accuracy %.2f" % (run, accuracies[run])) + 1
        end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
        return lines[start:end]

    for run in solved:
        assert said(run) and not any(line.startswith("  [problem]") for line in said(run)), said(run)
    for run in failed:
        first = said(run)[0]
        assert first.startswith("  [problem] rnn: the state gradient vanishes"), first
        assert "(try: " in first


def test_summary_lines_are_the_tabs_sentences_per_run():
    """The summary prints each run's accuracy, then the /summary sentences
    (tb_rnn_plugin/verdicts.py) of that run, as the tab's strip words them."""
    said = [
        {"run": "a", "layer": "rnn", "direction": "backward", "cell_index": 1, "severity": "problem",
         "text": "the state gradient vanishes", "remedy": "a gated cell (LSTM/GRU)"},
        {"run": "a", "layer": None, "direction": None, "cell_index": None, "severity": "info",
         "text": "the loss on the probe batch fell", "remedy": None},
        {"run": "b", "layer": "rnn", "direction": None, "cell_index": None, "severity": "ok",
         "text": "no problem found", "remedy": None},
    ]
    assert demo_summary.summary_lines(said, {"a": 0.125, "c": 1.0}) == [
        "a: final validation accuracy 0.12",
        "  [problem] rnn \u00b7 backward \u00b7 cell 1: the state gradient vanishes (try: a gated cell (LSTM/GRU))",
        "  [info] probe loss: the loss on the probe batch fell",
        "b: final validation accuracy n/a",
        "  [ok] rnn: no problem found",
        "c: final validation accuracy 1.00",
    ]
