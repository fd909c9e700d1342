"""The /health route over constructed logs read back through TensorBoard's
data provider: the first non-finite step of each layer and exactly where
(series, matrix, gate, direction, timestep, sample), dead / saturated /
gate-saturated / dominant shares with the step each began, and the median
per-sample gradient ratio through time (vanishing, exploding) from a
constructed state-gradient profile; 4xx for bad queries.
tests/test_health_verdicts.py checks the verdicts on models whose truth is
known. The pure parts (tb_rnn_plugin/health.py) are tested on arrays."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from tensorboard.backend import application
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_reading import data_provider_over

from tb_rnn_plugin import health
from tb_rnn_plugin import metadata
from tb_rnn_plugin import plugin as rnn_plugin

PREFIX = "/data/plugin/rnn"
STEPS = (0, 10, 20, 30, 40, 50)
S, T, U = 2, 6, 3
GATES = [dict(name=n, start=3 * k, stop=3 * k + 3) for k, n in enumerate(["i", "f", "candidate", "o"])]
HEALTH_UNITS = 10
W = np.array([1.0, 2.0, 2.0])  # ||W|| = 3


def forward_state_gradient(step):
    """||dL/dh_0|| / ||dL/dh_5|| = 10^(-step / 10) in every sample."""
    a = 10.0 ** (-(step / 10) * (T - 1 - np.arange(T)) / (T - 1))
    return np.broadcast_to(a[None, :, None] * W, (S, T, U)).astype(np.float32)


def backward_state_gradient(step):
    """Input-time order; the backward direction's gradient enters at t = 0:
    ||dL/dh_5|| / ||dL/dh_0|| = 1e-2. NaN at step 30, sample 1, t = 4, 5."""
    a = 10.0 ** (-2 * np.arange(T) / (T - 1))
    g = np.broadcast_to(a[None, :, None] * W, (S, T, U)).astype(np.float32).copy()
    if step == 30:
        g[1, 4:, 2] = np.nan
    return g


# Sample 0 padded at the end (real t 0-3), sample 1 at the start (real 2-5).
PADDED_MASK = np.array([[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1]], np.float32)


def padded_state_gradient():
    """||dL/dh_t|| = 2^-(distance back from the sample's last real step) x
    ||W|| x (1, 10 for sample 1), 0 at padded steps (the state is kept there)."""
    g = np.zeros((S, T, U), np.float32)
    for s, row in enumerate(PADDED_MASK):
        real = np.flatnonzero(row)
        g[s, real] = (2.0 ** -(real[-1] - real))[:, None] * W * (1 + 9 * s)
    return g


def activation(step, direction):
    h = np.full((S, T, U), 0.5, np.float32)
    if direction == "forward" and step == 40:
        h[0, 2, 1] = np.nan  # computed from the NaN weight: named second
    return h


def weight(step, direction, matrix):
    w = np.ones((U, 12), np.float32)
    if direction == "forward" and matrix == "recurrent_kernel" and step >= 40:
        w[0, 4] = np.nan  # gate f
        w[2, 5] = np.nan
    return w


def weight_gradient(step, direction, matrix):
    g = np.full((U, 12), 1e-3, np.float32)
    if direction == "backward" and matrix == "kernel" and step == 30:
        g[1, 10] = np.inf  # gate o, same step as the state gradient's NaN
    return g


def unit_health(step):
    """[10 units, fields]: units 0-2 dead from step 20; unit 3 saturated at
    every step (10 %); units 0-5 gate-saturated (share 0.95) from step 10;
    unit 9 exploding at step 30 only."""
    fields = list(health_fields())
    out = np.zeros((HEALTH_UNITS, len(fields)), np.float32)
    col = fields.index
    if step >= 20:
        out[:3, col("dead")] = 1
    out[3, col("saturated")] = 1
    out[3, col("saturated_share")] = 1.0
    if step >= 10:
        out[:6, col("gate_saturated_share")] = 0.95
    out[6:, col("gate_saturated_share")] = 0.5
    out[:, col("gradient_ratio")] = 1.0
    if step == 30:
        out[9, col("exploding")] = 1
        out[9, col("gradient_ratio")] = 50.0
    return out


def health_fields():
    return ("dead", "saturated_share", "saturated", "gate_saturated_share", "gradient_ratio", "exploding")


def write_logs(root):
    import tensorflow as tf

    import tb_rnn_plugin

    with tf.summary.create_file_writer(str(root / "nan_run")).as_default():
        for step in STEPS:
            for direction in ("forward", "backward"):
                common = dict(layer="bi", cell="LSTM", direction=direction)
                prefix = "bi/%s/" % direction
                assert tb_rnn_plugin.activation(prefix + "activation", activation(step, direction),
                                                step=step, **common)
                sg = forward_state_gradient(step) if direction == "forward" else backward_state_gradient(step)
                assert tb_rnn_plugin.state_gradient(prefix + "state_gradient", sg, step=step, **common)
                for matrix in ("kernel", "recurrent_kernel"):
                    assert tb_rnn_plugin.weight(prefix + matrix + "/weight", weight(step, direction, matrix),
                                                step=step, matrix=matrix, gates=GATES, **common)
                    assert tb_rnn_plugin.weight_gradient(
                        prefix + matrix + "/weight_gradient", weight_gradient(step, direction, matrix),
                        step=step, matrix=matrix, gates=GATES, **common)
                if direction == "forward":
                    assert tb_rnn_plugin.unit_health(
                        prefix + "activation", unit_health(step), step=step, fields=list(health_fields()),
                        thresholds={"saturated_share": 0.9}, **common)
    with tf.summary.create_file_writer(str(root / "padded_run")).as_default():
        for step in STEPS:
            assert tb_rnn_plugin.timestep_mask("pad/mask", PADDED_MASK, step=step, layer="pad")
            assert tb_rnn_plugin.state_gradient("pad/state_gradient", padded_state_gradient(), step=step,
                                                layer="pad", cell="SimpleRNN", mask_tag="pad/mask")
    with tf.summary.create_file_writer(str(root / "ok_run")).as_default():
        for step in STEPS:
            assert tb_rnn_plugin.activation("rnn/activation", np.full((S, T, U), 0.1), step=step,
                                            layer="rnn", cell="SimpleRNN")
    with tf.summary.create_file_writer(str(root / "back_run")).as_default():
        for step in STEPS:  # a go_backwards layer: no direction, its metadata says backward
            assert tb_rnn_plugin.state_gradient("back/state_gradient", backward_state_gradient(0),
                                                step=step, layer="back", cell="GRU", backward=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("health_logs")
    write_logs(root)
    logdir = str(root)
    # TensorBoard keeps 2 steps of the big series: the route reads kept ones only.
    dp = data_provider_over(logdir, samples=2)
    ctx = base_plugin.TBContext(data_provider=dp, sampling_hints={"rnn": 2}, logdir=logdir)
    plugin = rnn_plugin.RnnLoader().load(ctx)
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


def _rows(client, **query):
    response = client.get(PREFIX + "/health", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.get_json()
    assert body["levels"] == health.levels()
    return {(r["run"], r["layer"], r["direction"]): r for r in body["rows"]}


def test_rows_per_run_layer_and_direction(client):
    rows = _rows(client)
    assert list(rows) == [("back_run", "back", None), ("nan_run", "bi", "forward"),
                          ("nan_run", "bi", "backward"), ("ok_run", "rnn", None),
                          ("padded_run", "pad", None)]
    assert rows[("nan_run", "bi", "forward")]["cell"] == "LSTM"
    assert rows[("nan_run", "bi", "forward")]["latest_step"] == 50
    assert rows[("nan_run", "bi", "forward")]["steps"] == len(STEPS)
    assert list(_rows(client, run="ok_run")) == [("ok_run", "rnn", None)]


def test_a_nan_weight_is_named_before_what_was_computed_from_it(client):
    cell = _rows(client)[("nan_run", "bi", "forward")]["nonfinite"]
    assert cell["step"] == 40
    assert (cell["kind"], cell["matrix"], cell["direction"]) == ("weight", "recurrent_kernel", "forward")
    assert cell["tag"] == "bi/forward/recurrent_kernel/weight"
    assert cell["gate"] == "f"
    assert cell["gates"] == [{"name": "f", "nan": 2, "posinf": 0, "neginf": 0}]
    assert (cell["nan"], cell["posinf"], cell["neginf"]) == (2, 0, 0)


def test_a_nan_state_gradient_is_located_by_timestep_and_sample(client):
    cell = _rows(client)[("nan_run", "bi", "backward")]["nonfinite"]
    # The weight gradient's +Inf at the same step comes later in the backward pass.
    assert (cell["step"], cell["kind"], cell["tag"]) == (30, "state_gradient", "bi/backward/state_gradient")
    assert (cell["timestep"], cell["last_timestep"], cell["sample"]) == (4, 5, 1)
    assert (cell["samples"], cell["cells"], cell["nan"]) == (1, 2, 2)
    assert cell["direction"] == "backward" and cell["matrix"] is None


def test_unit_shares_with_the_step_each_began(client):
    row = _rows(client)[("nan_run", "bi", "forward")]
    dead = row["dead"]
    assert (dead["value"], dead["units"], dead["of"]) == (pytest.approx(0.3), 3, 10)
    assert (dead["since"], dead["first_step"], dead["problem"]) == (20, 20, True)
    assert dead["tag"] == "bi/forward/activation/unit_health"
    # Step 40's activation holds a NaN: no share there, and the spell from 20 goes on.
    assert dead["over_nonfinite"] is False
    saturated = row["saturated"]
    assert saturated["value"] == pytest.approx(0.1) and not saturated["problem"]
    assert saturated["since"] is None and saturated["first_step"] is None
    gates = row["gate_saturated"]
    assert (gates["value"], gates["since"], gates["problem"]) == (pytest.approx(0.6), 10, True)
    # Unit 9 carried 50x the median unit's gradient at step 30: a dominant
    # unit, information and never a problem.
    dominant = row["dominant"]
    assert (dominant["value"], dominant["since"], dominant["first_step"]) == (0.0, None, 30)
    assert dominant["problem"] is False and dominant["information"] is True
    assert dominant["ratio_level"] == health.DEFAULT_DOMINANT_RATIO
    # No unit_health for the backward direction: no numbers made up.
    assert _rows(client)[("nan_run", "bi", "backward")]["dead"] is None


def test_vanishing_ratio_from_the_state_gradient_profile(client):
    rows = _rows(client)
    forward = rows[("nan_run", "bi", "forward")]["vanishing"]
    assert forward["value"] == pytest.approx(1e-5, rel=1e-4)  # 10^(-50/10)
    assert (forward["since"], forward["first_step"], forward["problem"]) == (40, 40, True)
    assert forward["tag"] == "bi/forward/state_gradient"
    # Both samples alike: the spread is the median.
    assert (forward["p10"], forward["p90"]) == (pytest.approx(1e-5, rel=1e-4),) * 2
    assert (forward["samples"], forward["below"]) == (S, S)
    # A shrinking gradient is not a growing one.
    exploding = rows[("nan_run", "bi", "forward")]["exploding"]
    assert exploding["value"] == forward["value"] and exploding["above"] == 0
    assert not exploding["problem"] and exploding["first_step"] is None and exploding["jump"] is None
    backward = rows[("nan_run", "bi", "backward")]["vanishing"]
    assert backward["value"] == pytest.approx(1e-2, rel=1e-4)
    assert not backward["problem"] and backward["first_step"] is None
    assert "backward" in backward["order"]
    ok = rows[("ok_run", "rnn", None)]
    assert ok["vanishing"] is None and ok["nonfinite"] is None


def test_vanishing_ratio_of_a_go_backwards_layer_runs_from_its_last_timestep(client):
    cell = _rows(client)[("back_run", "back", None)]["vanishing"]
    # As the Bidirectional backward direction's: ||dL/dh_5|| / ||dL/dh_0||.
    assert cell["value"] == pytest.approx(1e-2, rel=1e-4)
    assert "backward" in cell["order"] and not cell["problem"]


def test_vanishing_ratio_takes_each_sample_at_its_own_real_ends(client):
    # Both samples reach 3 steps back from their last real step, the norm
    # halving each step: (2^-3 + 10 x 2^-3) / (1 + 10) = 2^-3, whichever end
    # is padded.
    cell = _rows(client)[("padded_run", "pad", None)]["vanishing"]
    assert cell["masked"] is True
    assert cell["value"] == pytest.approx(2.0 ** -3, rel=1e-5)
    assert not cell["problem"]
    # Over timesteps 0 and T-1 instead, padding would count as 0: sample 0
    # over its padded 0 has no ratio, sample 1's padded 0 reads as vanished.
    unmasked = health.sample_ratios(np.linalg.norm(padded_state_gradient(), axis=-1)[None], False)
    assert np.isnan(unmasked[0, 0]) and unmasked[0, 1] == 0


@pytest.mark.parametrize("query, status, words", [
    (dict(run="nope"), 404, "no run 'nope'"),
    (dict(run="x" * 5000), 404, "characters"),
])
def test_bad_queries_answer_4xx(client, query, status, words):
    response = client.get(PREFIX + "/health", query_string=query)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


# ---- pure parts --------------------------------------------------------------


def test_onset_is_the_current_spell_and_the_first_ever():
    steps = np.array([0, 1, 2, 3, 4])
    assert health.onset(steps, [0, 1, 0, 1, 1]) == (3, 1)
    assert health.onset(steps, [0, 1, 1, 0, 0]) == (None, 1)
    assert health.onset(steps, [1, 1, 1, 1, 1]) == (0, 0)
    assert health.onset(steps, [0, 0, 0, 0, 0]) == (None, None)


def test_steps_without_a_value_neither_end_nor_start_a_spell():
    steps = np.array([0, 1, 2, 3])
    assert health.known_onset(steps, [1, np.nan, 1, 1], [True, False, True, True]) == (0, 0)
    assert health.known_onset(steps, [0, 1, 1, np.nan], [False, True, True, False]) == (1, 1)


def test_ties_at_one_step_follow_the_logging_order():
    stats = np.zeros((2, 5))
    stats[1, 2] = 1  # NaN at the second step
    series = [
        {"kind": kind, "tag": tag, "metadata": {"matrix": matrix}, "steps": [0, 5], "stats": stats}
        for kind, tag, matrix in [
            ("weight_gradient", "a", "kernel"), ("state_gradient", "b", None),
            ("weight", "c", "bias"), ("weight", "d", "kernel"), ("activation", "e", None),
        ]
    ]
    found, step, counts = health.first_bad_series(series)
    assert (found["tag"], step, counts) == ("d", 5, {"nan": 1, "posinf": 0, "neginf": 0})
    earlier = dict(series[0], stats=np.array([[0, 0, 0, 1, 0], [0, 0, 1, 0, 0]]))
    found, step, counts = health.first_bad_series(series + [earlier])
    assert (found["kind"], step, counts["posinf"]) == ("weight_gradient", 0, 1)


def test_nan_units_are_left_out_of_shares():
    values = np.zeros((1, 4, 6))
    values[0, 0, 0] = 1
    values[0, 1, 0] = np.nan
    values[0, 2:, 0] = 0
    shares = health.unit_shares([0], values, health_fields())
    assert shares["dead"][0] == pytest.approx(1 / 3)
    all_nan = health.unit_shares([0], np.full((1, 4, 6), np.nan), health_fields())
    assert np.isnan(all_nan["dead"][0])
    cell = health.share_summary(np.array([0]), all_nan["dead"], 0.1, 4)
    assert cell["value"] is None and not cell["problem"]


def test_vanishing_ratio_is_undefined_where_the_last_norm_is_zero():
    profiles = np.ones((2, 3, 4))
    profiles[1, :, -1] = 0
    ratios = health.vanishing_ratios(profiles, backward=False)
    assert ratios[0] == 1 and np.isnan(ratios[1])


def test_vanishing_ratio_with_a_mask_by_hand():
    # [1 step, 3 samples, 4 timesteps]; sample 2 has no real step (left out).
    profiles = np.array([[[8, 4, 2, 0], [0, 6, 3, 1], [5, 5, 5, 5]]], np.float64)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 0, 0]])
    forward = health.sample_ratios(profiles, backward=False, mask=mask)
    assert forward[0, :2] == pytest.approx([8 / 2, 6 / 1]) and np.isnan(forward[0, 2])
    assert health.vanishing_ratios(profiles, False, mask=mask)[0] == pytest.approx(5)  # median
    backward = health.vanishing_ratios(profiles, backward=True, mask=mask)
    assert backward[0] == pytest.approx((2 / 8 + 1 / 6) / 2)
    # A mask of another shape is ignored (all timesteps): 8/0 has no ratio,
    # 0/1 and 5/5 do.
    assert health.vanishing_ratios(profiles, False, mask=mask[:2])[0] == pytest.approx(0.5)


def test_unreadable_kept_series_are_left_out():
    assert health.stacked({0: np.array(["a"]), 1: np.array(["b"])}, 1) is None
    assert health.stacked({0: np.zeros(3), 1: np.zeros(4)}, 1) is None
    assert health.stacked({0: np.zeros((2, 2))}, 1) is None
    steps, values = health.stacked({5: np.zeros(3), 1: np.ones(3)}, 1)
    assert list(steps) == [1, 5] and values[0, 0] == 1
    assert metadata.STAT_FIELDS[2] == "nan_count"  # first_nonfinite reads by name


def test_rows_are_kept_until_a_new_step_is_logged(tmp_path):
    import tensorflow as tf

    import tb_rnn_plugin

    def write(steps, nan_at=None):
        with tf.summary.create_file_writer(str(tmp_path / "run")).as_default():
            for step in steps:
                h = np.full((S, T, U), 0.5, np.float32)
                if step == nan_at:
                    h[1, 3, 0] = np.inf
                assert tb_rnn_plugin.activation("rnn/activation", h, step=step, layer="rnn", cell="GRU")

    write([0, 1])
    dp = data_provider_over(str(tmp_path))
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, sampling_hints={}))
    computed = []
    original = plugin.health_service.rows
    plugin.health_service.rows = lambda *args: computed.append(args[2]) or original(*args)
    client = werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))
    assert client.get(PREFIX + "/health").get_json()["rows"][0]["nonfinite"] is None
    assert client.get(PREFIX + "/health").get_json()["rows"][0]["nonfinite"] is None
    assert computed == ["run"]  # the second answer came from the cache
    write([2], nan_at=2)
    dp._multiplexer.Reload()
    cell = client.get(PREFIX + "/health").get_json()["rows"][0]["nonfinite"]
    assert computed == ["run", "run"]
    assert (cell["step"], cell["kind"], cell["posinf"], cell["timestep"], cell["sample"]) == (2, "activation", 1, 3, 1)
