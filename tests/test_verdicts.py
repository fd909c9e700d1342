"""The tab's summary sentences (tb_rnn_plugin/verdicts.py), rule by rule:
on hand-made /health rows (each rule fires when it should, is silent when
it should not, and writes the row's numbers), and through GET /summary on
the constructed logs of tests/verdict_cases.py, whose truth is known."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from tb_rnn_plugin import gradient_reach
from tb_rnn_plugin import health
from tb_rnn_plugin import verdicts
from tb_rnn_plugin.verdicts import num

try:
    import verdict_cases as vc
except ImportError:  # tests/ imported as a package
    from tests import verdict_cases as vc

PREFIX = "/data/plugin/rnn"


# ---- hand-made rows ----------------------------------------------------------


def through_time(value, level, below, since=300, step=400, **extra):
    """A vanishing (`below`) or exploding cell as health.through_time_cell writes it."""
    cell = {"value": value, "step": step, "since": since if value is not None else None,
            "first_step": since, "level": level, "problem": value is not None and (
                value < level if below else value > level),
            "timesteps": 40, "order": "||dL/dh_0|| / ||dL/dh_T-1||", "masked": False,
            "p10": value, "p90": value, "min": value, "max": value, "samples": 8,
            "tag": "rnn/state_gradient"}
    cell["below" if below else "above"] = extra.pop("past", 8 if cell["problem"] else 0)
    if not below:
        cell["through_time"] = cell["problem"]
        cell["jump"] = None
    cell.update(extra)
    if not below and cell["jump"]:
        cell["problem"] = True
    return cell


def share(units, of, level, since=300, step=400, **extra):
    value = units / of
    cell = {"value": value, "units": units, "of": of, "step": step,
            "since": since if value >= level else None, "first_step": since, "level": level,
            "problem": value >= level, "tag": "rnn/activation/unit_health", "over_nonfinite": False}
    cell.update(extra)
    return cell


def row(cell="LSTM", **cells):
    base = {"run": "run", "layer": "rnn", "direction": None, "cell_index": None, "cell": cell,
            "nonfinite": None, "dead": None, "saturated": None, "gate_saturated": None,
            "dominant": None, "exploding": None, "vanishing": None, "steps": 5, "latest_step": 400}
    base.update(cells)
    return base


def healthy(**cells):
    """A row with every cell present and nothing wrong."""
    base = dict(
        vanishing=through_time(0.2, health.VANISHING_LEVEL, True),
        exploding=through_time(0.2, health.EXPLODING_LEVEL, False),
        dead=share(0, 16, health.PROBLEM_LEVELS["dead"]),
        saturated=share(0, 16, health.PROBLEM_LEVELS["saturated"]),
        gate_saturated=share(0, 16, health.PROBLEM_LEVELS["gate_saturated"]),
        dominant=dict(share(0, 16, health.DOMINANT_SHARE), problem=False, information=True, ratio_level=10.0),
    )
    base.update(cells)
    return row(**base)


def topics(sentences, severity=None):
    return [s["topic"] for s in sentences if severity is None or s["severity"] == severity]


def test_a_healthy_layer_gets_one_ok_sentence_naming_what_was_checked():
    found = verdicts.row_sentences(healthy())
    assert topics(found, "problem") == [] and topics(found, "ok") == ["ok"]
    ok = found[-1]
    assert "no NaN/Inf" in ok["text"] and "no vanishing or exploding gradient" in ok["text"]
    assert "no dead or saturated units" in ok["text"] and "5 logged steps, the latest 400" in ok["text"]
    assert set(ok) == {"run", "layer", "direction", "cell_index", "topic", "severity", "text", "remedy", "view"}
    assert set(ok["view"]) == {"view", "kind", "tag", "step"}


def test_vanishing_fires_below_its_level_with_the_rows_numbers():
    cell = through_time(1.4e-4, 1e-3, True, past=7)
    found = verdicts.vanishing_sentences(row(cell="SimpleRNN", vanishing=cell))
    assert len(found) == 1
    s = found[0]
    assert s["severity"] == "problem" and s["topic"] == "vanishing"
    assert s["text"] == ("the state gradient vanishes before the first timestep in 7 of 8 samples "
                         "(median ||dL/dh_0||/||dL/dh_T|| 1.4e-4, below 1e-3) since step 300")
    assert s["remedy"] == "a gated cell (LSTM/GRU), a shorter sequence or truncated BPTT"
    assert s["view"] == {"view": "profile", "kind": "state_gradient", "tag": "rnn/state_gradient", "step": 300}
    # An LSTM already is a gated cell: not advised again.
    assert verdicts.vanishing_sentences(row(vanishing=cell))[0]["remedy"] == verdicts.REMEDY_VANISHING_GATED


def test_vanishing_is_silent_at_and_above_its_level_and_without_a_ratio():
    assert verdicts.vanishing_sentences(row(vanishing=through_time(1e-3, 1e-3, True))) == []
    assert verdicts.vanishing_sentences(row(vanishing=through_time(None, 1e-3, True))) == []
    assert verdicts.vanishing_sentences(row()) == []


def test_a_backward_layer_names_its_ratio_in_processing_order():
    cell = through_time(1e-5, 1e-3, True, order="||dL/dh_T-1|| / ||dL/dh_0|| (backward: processed from T-1 to 0)")
    assert "||dL/dh_T-1||/||dL/dh_0|| 1e-5" in verdicts.vanishing_sentences(row(vanishing=cell))[0]["text"]


def test_exploding_through_time_and_over_training_are_two_sentences():
    cell = through_time(6019.6, 1e3, False, since=20)
    found = verdicts.exploding_sentences(row(exploding=cell))
    assert [s["severity"] for s in found] == ["problem"]
    assert found[0]["text"] == ("the state gradient grows back through time in 8 of 8 samples "
                                "(median ||dL/dh_0||/||dL/dh_T|| 6020, above 1000) since step 20")
    assert found[0]["remedy"] == "gradient clipping (clipnorm)"
    jump = {"step": 60, "factor": 27.27, "tag": "rnn/state_gradient"}
    found = verdicts.exploding_sentences(row(exploding=through_time(0.5, 1e3, False, jump=jump)))
    assert len(found) == 1
    assert found[0]["text"] == ("the state gradient's norm jumped x27.3 at step 60 (against the median "
                                "of the previous 5 logged steps; a problem from x10)")
    assert found[0]["view"]["step"] == 60 and found[0]["remedy"] == "gradient clipping (clipnorm)"
    # Neither: silent.
    assert verdicts.exploding_sentences(row(exploding=through_time(999.0, 1e3, False))) == []


def test_dominant_units_are_information_and_never_make_a_layer_a_problem():
    dominant = dict(share(2, 16, health.DOMINANT_SHARE, since=0), problem=False, information=True, ratio_level=10.0)
    found = verdicts.row_sentences(healthy(dominant=dominant))
    assert topics(found, "problem") == []
    info = [s for s in found if s["topic"] == "dominant"]
    assert len(info) == 1 and info[0]["severity"] == "info" and info[0]["remedy"] is None
    assert info[0]["text"].startswith("2 of 16 units carry most of the gradient (at least 10x the median unit's)")
    assert "memory channels" in info[0]["text"]
    assert topics(found, "ok") == ["ok"]


@pytest.mark.parametrize("measure,topic,units,fires", [
    ("dead", "dead", 2, True), ("dead", "dead", 1, False),  # 12.5 % vs 6.25 %, level 10 %
    ("saturated", "saturated", 4, True), ("saturated", "saturated", 3, False),  # level 25 %
    ("gate_saturated", "gates", 8, True), ("gate_saturated", "gates", 7, False),  # level 50 %
])
def test_unit_shares_fire_from_their_level(measure, topic, units, fires):
    level = health.PROBLEM_LEVELS[measure]
    found = verdicts.row_sentences(healthy(**{measure: share(units, 16, level)}))
    assert (topic in topics(found, "problem")) is fires
    if fires:
        s = next(s for s in found if s["topic"] == topic)
        assert s["text"].startswith("%s of units (%d of 16)" % (verdicts.percent(units / 16), units))
        assert s["text"].endswith("since step 300") and s["view"]["step"] == 300


def test_gate_saturation_names_the_cells_gates_and_the_forget_bias_for_an_lstm():
    gates = share(12, 16, 0.5, since=300)
    lstm = verdicts.unit_sentences(row(gate_saturated=gates))[0]
    assert lstm["text"] == "75 % of units (12 of 16) have their input/forget gates stuck near 0 or 1 since step 300"
    assert lstm["remedy"] == "a forget-gate bias of 1 (unit_forget_bias)"
    assert lstm["view"]["kind"] == "gate_activation"
    gru = verdicts.unit_sentences(row(cell="GRU", gate_saturated=gates))[0]
    assert "update gates" in gru["text"] and gru["remedy"] is None


def test_the_first_nan_names_its_step_and_where():
    nonfinite = {"step": 30, "kind": "state_gradient", "tag": "rnn/state_gradient", "direction": None,
                 "cell_index": None, "matrix": None, "gate": None, "nan": 2, "posinf": 0, "neginf": 1,
                 "timestep": 4, "last_timestep": 5, "sample": 1, "samples": 1, "cells": 3}
    s = verdicts.nonfinite_sentences(row(nonfinite=nonfinite))[0]
    assert s["severity"] == "problem"
    assert s["text"] == ("first NaN/Inf at step 30, in the state gradient dL/dh, timesteps 4-5, sample 1 "
                         "(2 NaN, 1 -Inf)")
    assert s["view"] == {"view": "heatmap", "kind": "state_gradient", "tag": "rnn/state_gradient", "step": 30}
    weight = dict(nonfinite, kind="weight_gradient", tag="rnn/grad/recurrent_kernel", matrix="recurrent_kernel",
                  gates=[{"name": "f", "nan": 3, "posinf": 0, "neginf": 0}], nan=3, neginf=0)
    for key in ("timestep", "last_timestep", "sample", "samples", "cells"):
        weight.pop(key)
    s = verdicts.nonfinite_sentences(row(nonfinite=weight))[0]
    assert s["text"] == "first NaN/Inf at step 30, in the weight gradient recurrent_kernel, gate f (3 NaN)"
    assert s["view"]["view"] == "weights"
    assert verdicts.nonfinite_sentences(row()) == []


def test_reach_counts_timesteps_back_per_sample():
    # Sample 0 stays above 1e-3 of its last value for 2 steps back, sample 1
    # all the way (3), sample 2 has no gradient at the end (no reach).
    profile = np.array([[1e-5, 1e-2, 0.5, 1.0], [1, 1, 1, 1.0], [2, 0, 0, 0]])
    reach, span = gradient_reach.sample_reach(profile, backward=False)
    np.testing.assert_array_equal(reach[:2], [2, 3])
    assert np.isnan(reach[2]) and list(span) == [3, 3, 3]
    # Backwards, input timestep 0 is processed last.
    assert list(gradient_reach.sample_reach(profile, backward=True)[0]) == [3, 3, 0]
    cell = gradient_reach.vanishing_summary([0], profile[None], backward=False)
    assert cell["reach"]["median"] == 2.5 and cell["reach"]["full"] == 1 and cell["reach"]["samples"] == 2
    s = verdicts.reach_sentences(row(vanishing=cell))[0]
    assert s["severity"] == "info"
    assert s["text"].startswith("the gradient stays above 1e-3 of its size at the last step for ~2.5 of 3 "
                                "timesteps back (median over samples); it reaches the first timestep in 1 of 2")
    # A mask: each sample's own real timesteps.
    mask = np.array([[0, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]])
    reach, span = gradient_reach.sample_reach(profile, False, mask)
    assert list(reach[:2]) == [2, 1] and list(span) == [2, 1, 3]
    masked = gradient_reach.vanishing_summary([0], profile[None], backward=False, mask=mask)
    # Samples of their own lengths: the span is a median, said with "~".
    assert "for ~1.5 of ~1.5 timesteps back" in verdicts.reach_sentences(row(vanishing=masked))[0]["text"]


def test_summary_puts_layers_with_a_problem_first_and_appends_extra_sentences():
    rows = [dict(healthy(), run="a"), dict(row(vanishing=through_time(1e-6, 1e-3, True)), run="b")]
    loss = {"run": "a", "layer": None, "direction": None, "topic": "loss", "severity": "problem",
            "text": "the loss on the probe batch rose x3 at step 420", "remedy": None,
            "view": {"view": "norms", "kind": None, "tag": None, "step": 420}}
    found = verdicts.summary(rows, extra=[loss])
    assert found[0]["run"] == "b" and found[0]["topic"] == "vanishing"
    # The loss (a problem) comes before run a's healthy layer.
    assert found.index(loss) < min(i for i, s in enumerate(found) if s["run"] == "a" and s["layer"] == "rnn")
    # Within a layer: problems, then information, then ok.
    for group in ({"b"}, {"a"}):
        levels = [verdicts.SEVERITIES.index(s["severity"]) for s in found
                  if s["run"] in group and s["layer"] == "rnn"]
        assert levels == sorted(levels)


# ---- GET /summary over constructed logs ----------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from tensorboard.backend import application
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test

    from tb_reading import data_provider_over
    from tb_rnn_plugin import plugin as rnn_plugin

    root = tmp_path_factory.mktemp("summary_logs")
    vc.write_all(root)
    dp = data_provider_over(str(root))
    plugin = rnn_plugin.RnnLoader().load(base_plugin.TBContext(data_provider=dp, sampling_hints={}))
    return werkzeug_test.Client(application.TensorBoardWSGI([plugin], data_provider=dp))


@pytest.fixture(scope="module")
def said(client):
    response = client.get(PREFIX + "/summary")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["rules"]["vanishing"]["level"] == health.VANISHING_LEVEL
    by_run = {}
    for s in body["sentences"]:
        by_run.setdefault(s["run"], []).append(s)
    return by_run


@pytest.fixture(scope="module")
def health_rows(client):
    return {r["run"]: r for r in client.get(PREFIX + "/health").get_json()["rows"]}


def test_the_fading_simple_rnn_vanishes_and_reaches_only_a_few_steps(said, health_rows):
    vanishing = [s for s in said["fading"] if s["topic"] == "vanishing"]
    assert len(vanishing) == 1 and vanishing[0]["severity"] == "problem"
    cell = health_rows["fading"]["vanishing"]
    assert "in 8 of 8 samples" in vanishing[0]["text"] and num(cell["value"]) in vanishing[0]["text"]
    assert vanishing[0]["remedy"] == verdicts.REMEDY_VANISHING
    assert vanishing[0]["view"]["view"] == "profile" and vanishing[0]["view"]["kind"] == "state_gradient"
    # 0.5 a step: 1e-3 is passed within 10 steps back (2^-10 < 1e-3), of 39.
    reach = cell["reach"]
    assert reach["full"] == 0 and reach["max"] < 10 and reach["span"] == 39
    assert "exploding" not in topics(said["fading"])


def test_the_linear_1_25_rnn_explodes_through_time_and_does_not_vanish(said):
    assert "vanishing" not in topics(said["growing"])
    exploding = [s for s in said["growing"] if s["topic"] == "exploding"]
    assert len(exploding) == 1 and "grows back through time in 8 of 8 samples" in exploding[0]["text"]
    assert num(1.25 ** 39) in exploding[0]["text"] and exploding[0]["remedy"] == verdicts.REMEDY_EXPLODING
    reach = next(s for s in said["growing"] if s["topic"] == "reach")
    assert "reaches the first timestep in all 8 samples" in reach["text"]


def test_the_gru_with_two_memory_units_neither_vanishes_nor_explodes(said):
    assert not {"vanishing", "exploding"} & set(topics(said["memory"]))
    dominant = [s for s in said["memory"] if s["topic"] == "dominant"]
    assert len(dominant) == 1 and dominant[0]["severity"] == "info"
    assert dominant[0]["text"].startswith("%d of %d units carry most of the gradient" % (vc.MEMORY_UNITS, vc.GRU_UNITS))
    reach = next(s for s in said["memory"] if s["topic"] == "reach")
    assert "~127 of 127 timesteps back" in reach["text"]
    # Its update gates are set to 0 or 1 by construction (bias +-20): said so,
    # as the health overview does; not a gradient problem.
    gates = [s for s in said["memory"] if s["topic"] == "gates"]
    assert len(gates) == 1 and "16 of 16" in gates[0]["text"] and "update gates" in gates[0]["text"]


def test_seven_vanishing_samples_of_eight_make_a_vanishing_sentence(said):
    vanishing = [s for s in said["mixed"] if s["topic"] == "vanishing"]
    assert len(vanishing) == 1
    assert "in 7 of 8 samples" in vanishing[0]["text"] and num(np.median(vc.MIXED_RATIOS)) in vanishing[0]["text"]
    reach = next(s for s in said["mixed"] if s["topic"] == "reach")
    assert "reaches the first timestep in 1 of 8 samples" in reach["text"]
    assert said["mixed"][0]["topic"] == "vanishing"  # problems first


def test_the_nan_run_names_its_first_nan_step(said):
    nonfinite = [s for s in said["nan_run"] if s["topic"] == "nonfinite"]
    assert len(nonfinite) == 1
    assert nonfinite[0]["text"].startswith("first NaN/Inf at step %d, in the state gradient dL/dh, "
                                           "timesteps 3-4, sample 1" % vc.NAN_FROM)
    assert nonfinite[0]["view"] == {"view": "heatmap", "kind": "state_gradient",
                                    "tag": "rnn/state_gradient", "step": vc.NAN_FROM}


def test_gates_shut_since_their_first_step_and_a_dead_unit_below_its_level_is_silent(said):
    gates = [s for s in said["shut_gates"] if s["topic"] == "gates"]
    assert len(gates) == 1
    assert gates[0]["text"] == ("%s of units (%d of %d) have their input/forget gates stuck near 0 or 1 since step %d"
                                % (verdicts.percent(vc.SHUT_UNITS / vc.GATE_UNITS), vc.SHUT_UNITS,
                                   vc.GATE_UNITS, vc.GATE_FROM))
    assert "dead" not in topics(said["shut_gates"])  # 1 of 16 < 10 %


def test_summary_of_one_run_and_an_unknown_run(client):
    body = client.get(PREFIX + "/summary?run=mixed").get_json()
    assert {s["run"] for s in body["sentences"]} == {"mixed"}
    response = client.get(PREFIX + "/summary?run=nope")
    assert response.status_code == 404 and "nope" in response.get_data(as_text=True)


def test_the_loss_sentences_come_from_the_loss_payload_with_its_nan_and_inf():
    from tb_rnn_plugin import loss_series

    steps = [0, 10, 20, 30, 40, 50]
    spiking = loss_series.run_loss(["loss"], steps, [[1.0], [0.9], [0.8], [0.8], [0.7], [2.8]])
    infinite = loss_series.run_loss(["loss"], steps[:3], [[1.0], [np.inf], [np.nan]])
    found = {s["run"]: s for s in verdicts.loss_sentences({"b": spiking, "a": infinite})}
    assert found["b"]["topic"] == "loss" and found["b"]["severity"] == "problem"
    assert found["b"]["text"] == "the loss on the probe batch rose x%.1f at step 50" % (2.8 / 0.8)
    # The payload writes Inf as null; the sentence still says infinite, not NaN.
    assert found["a"]["text"] == "the loss on the probe batch became infinite at step 10"
    assert found["a"]["layer"] is None and found["a"]["cell_index"] is None
    # Through summary(): each run's loss joins its run, problems first.
    said = verdicts.summary([healthy()], extra=verdicts.loss_sentences({"run": spiking}))
    assert said[0]["topic"] == "loss" and said[-1]["topic"] == "ok"
