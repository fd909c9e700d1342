"""The tab's summary: plain-language sentences per run and layer (direction,
stacked cell) from the /health overview's rows (health.py). Pure functions
(no TensorFlow, no data provider): GET /summary feeds them the rows that
health_service.HealthService already computed and keeps.

Each sentence comes from one rule over one cell of a row; the rule's level
is the health overview's own (one definition, in health.py and
gradient_reach.py), so the summary and the table can never disagree. A
sentence is a dict:

    {"run", "layer", "direction", "cell_index",
     "topic": one of TOPICS, "severity": "problem" | "info" | "ok",
     "text": what was found, with the row's numbers,
     "remedy": the standard remedy, or None,
     "view": {"view": a view id of frontend/views/registry.js,
              "kind", "tag", "step"}: what shows it}

The rules (RULES says the same for the response and the guide):

- nonfinite (problem): the layer's first logged step with NaN or Inf, and
  in which series and where.
- vanishing (problem): the median per-sample ||dL/dh_first|| /
  ||dL/dh_last|| is below VANISHING_LEVEL.
- reach (info): how far back the state gradient stays within
  VANISHING_LEVEL of the last step's, per sample (median), and in how many
  samples it reaches the first timestep.
- exploding (problem): growth back through time (median ratio above
  EXPLODING_LEVEL), and growth over training (the norm TRAINING_JUMP x its
  recent history): one sentence each.
- dominant (info): units carrying >= the dominant ratio x the median
  unit's gradient: memory channels, never a problem.
- dead, saturated, gates (problem): the share of units at or above
  health.PROBLEM_LEVELS.
- ok: a layer with none of the problems above says what was checked.
- loss: written elsewhere (summary()'s `extra`); the topic is reserved.
"""

import math

import numpy as np

from tb_rnn_plugin import health
from tb_rnn_plugin import kinds
from tb_rnn_plugin import loss_series
from tb_rnn_plugin import metadata

TOPICS = ("reach", "vanishing", "exploding", "dominant", "dead", "saturated", "gates",
          "nonfinite", "loss")
SEVERITIES = ("problem", "info", "ok")

# The levels each rule applies: the health overview's (why each is where it
# is: gradient_reach.py and health.py say, next to the definitions).
VANISHING_LEVEL = health.VANISHING_LEVEL
EXPLODING_LEVEL = health.EXPLODING_LEVEL
TRAINING_JUMP = health.TRAINING_JUMP
TRAINING_WINDOW = health.TRAINING_WINDOW
DEAD_LEVEL = health.PROBLEM_LEVELS["dead"]
SATURATED_LEVEL = health.PROBLEM_LEVELS["saturated"]
GATES_LEVEL = health.PROBLEM_LEVELS["gate_saturated"]
# Dominant units are named from the first one: one unit of sixteen that
# carries the gradient back is already a memory channel worth knowing.
DOMINANT_UNITS = 1

# The standard remedies (issue 16): a gradient that fades is what gating
# and shorter backpropagation address; one that grows is clipped; a forget
# gate that starts shut forgets before it learns to keep.
REMEDY_VANISHING = "a gated cell (LSTM/GRU), a shorter sequence or truncated BPTT"
REMEDY_VANISHING_GATED = "a shorter sequence or truncated BPTT"
REMEDY_EXPLODING = "gradient clipping (clipnorm)"
REMEDY_NONFINITE = "gradient clipping (clipnorm) or a smaller learning rate, if the gradient grew before it"
REMEDY_GATES = "a forget-gate bias of 1 (unit_forget_bias)"
REMEDY_SATURATED = "inputs scaled to about unit size, or a smaller learning rate"

RULES = {
    "nonfinite": {"severity": "problem", "level": None,
                  "rule": "the first logged step at which any series of the layer holds NaN or Inf, "
                          "and in which series and where (one logging step computes weights, "
                          "forward pass, backward pass in that order: the first named is the source)"},
    "vanishing": {"severity": "problem", "level": VANISHING_LEVEL,
                  "rule": "median over samples of ||dL/dh_first|| / ||dL/dh_last|| below the level: "
                          "three decades lost along the sequence, the loss no longer reaches the start"},
    "reach": {"severity": "info", "level": VANISHING_LEVEL,
              "rule": "per sample, how many timesteps back ||dL/dh_t|| stays at or above the level x "
                      "the last step's (median over samples), and how many samples reach the first"},
    "exploding": {"severity": "problem", "level": EXPLODING_LEVEL, "training_jump": TRAINING_JUMP,
                  "training_window": TRAINING_WINDOW,
                  "rule": "median per-sample ratio above the level (growth back through time: kept "
                          "memory carries the gradient at about its size, it does not multiply it), "
                          "or the state gradient's norm at least training_jump x the median of the "
                          "previous training_window logged steps (growth over training)"},
    "dominant": {"severity": "info", "level": DOMINANT_UNITS,
                 "rule": "units whose state gradient is at least the unit health's ratio (default "
                         "10) x the median unit's: memory channels look like that; never a problem"},
    "dead": {"severity": "problem", "level": DEAD_LEVEL,
             "rule": "share of units whose activation and state gradient are both ~0: a tenth "
                     "of the layer no longer learns"},
    "saturated": {"severity": "problem", "level": SATURATED_LEVEL,
                  "rule": "share of units whose |h| is at its bound almost everywhere: a quarter "
                          "of the layer passes (almost) no gradient through its activation"},
    "gates": {"severity": "problem", "level": GATES_LEVEL,
              "rule": "share of units whose input/forget (GRU: update) gates are near 0 or 1 "
                      "almost everywhere: half (a forget gate near 1 is long memory, so some "
                      "are expected)"},
    "ok": {"severity": "ok", "level": None,
           "rule": "a layer for which none of the problem rules fires"},
    "loss": {"severity": None, "level": None,
             "rule": "sentences about the loss on the probe batch, from the loss series"},
}

KIND_WORDS = {
    metadata.WEIGHT: "weights", metadata.WEIGHT_GRADIENT: "weight gradient",
    metadata.ACTIVATION: "activation", metadata.OUTPUT_GRADIENT: "output gradient dL/dy",
    metadata.STATE_GRADIENT: "state gradient dL/dh", metadata.GATE_ACTIVATION: "gate activation",
    metadata.CELL_STATE: "cell state",
}
_SEVERITY_ORDER = {name: i for i, name in enumerate(SEVERITIES)}


# The tab's one number format (frontend/draw/format.js fmt): plain
# decimals for |v| in [PLAIN_MIN, PLAIN_MAX), scientific outside, 3
# significant digits; the sentences then read as the health table does.
PLAIN_MIN, PLAIN_MAX, DIGITS = 1e-2, 1e4, 3


def num(value, digits=DIGITS):
    """A number as the tab writes it: 1.03e-4, 0.354, 6020, 1.23e4."""
    if value is None:
        return "n/a"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    rounded = abs(float("%.*g" % (digits, value)))
    if (abs(value) >= PLAIN_MIN or rounded >= PLAIN_MIN) and abs(value) < PLAIN_MAX:
        whole = math.floor(math.log10(abs(value))) + 1
        text = "%.*g" % (min(21, max(digits, whole)), value)
        return _trimmed(float(text))
    mantissa, exponent = ("%.*e" % (max(0, digits - 1), value)).split("e")
    return "%se%d" % (_trimmed(float(mantissa)), int(exponent))


def _trimmed(value):
    """A float without a trailing ".0" (as JavaScript's String(Number))."""
    return str(int(value)) if value == int(value) else repr(value)


def percent(share):
    """A share as "40 %" (one decimal under 1 %)."""
    p = 100.0 * share
    # Halves round up, as the health table's Math.round does (12.5 -> 13).
    return "%s %%" % (("%.1f" % p) if 0 < p < 1 else "%d" % math.floor(p + 0.5))


def view(view_id, kind=None, tag=None, step=None):
    """The sentence's link: a view of frontend/views/registry.js."""
    return {"view": view_id, "kind": kind, "tag": tag, "step": None if step is None else int(step)}


def sentence(row, topic, severity, text, remedy=None, link=None):
    """One sentence dict about `row`'s layer."""
    return {
        "run": row["run"], "layer": row.get("layer"), "direction": row.get("direction"),
        "cell_index": row.get("cell_index"), "topic": topic, "severity": severity,
        "text": text, "remedy": remedy, "view": link or view("heatmap"),
    }


def _since(cell):
    """" since step 300" of a cell whose spell began at a step, else ""."""
    return " since step %d" % cell["since"] if cell.get("since") is not None else ""


def _onset_step(cell):
    """The step a link opens for a cell: its spell's start, else the latest."""
    return cell["since"] if cell.get("since") is not None else cell.get("step")


def _ratio_name(cell):
    """||dL/dh_0||/||dL/dh_T|| or, for a layer that runs backwards, the
    ratio in its processing order."""
    if str(cell.get("order", "")).startswith("||dL/dh_T-1||"):
        return "||dL/dh_T-1||/||dL/dh_0||"
    return "||dL/dh_0||/||dL/dh_T||"


def nonfinite_sentences(row):
    """Rule nonfinite: the first NaN/Inf step and where."""
    cell = row.get("nonfinite")
    if not cell:
        return []
    counts = ", ".join("%d %s" % (cell[key], word) for key, word in
                       (("nan", "NaN"), ("posinf", "+Inf"), ("neginf", "-Inf")) if cell.get(key))
    where = KIND_WORDS.get(cell["kind"], cell["kind"])
    if cell["kind"] in metadata.WEIGHT_KINDS:
        where += " %s" % (cell.get("matrix") or "(matrix)")
        gates = [g["name"] for g in cell.get("gates") or () if g.get("name") is not None]
        if gates:
            where += ", gate%s %s" % ("s" if len(gates) > 1 else "", ", ".join(gates))
        link = view("weights", cell["kind"], cell["tag"], cell["step"])
    else:
        if cell.get("gate"):
            where += " %s" % cell["gate"]
        if isinstance(cell.get("timestep"), int):
            span = "-%d" % cell["last_timestep"] if cell.get("last_timestep", -1) > cell["timestep"] else ""
            where += ", timestep%s %d%s, sample %d" % ("s" if span else "", cell["timestep"], span, cell["sample"])
            if cell.get("samples", 1) > 1:
                where += " (and %d more)" % (cell["samples"] - 1)
        link = view("heatmap", cell["kind"], cell["tag"], cell["step"])
    text = "first NaN/Inf at step %d, in the %s%s" % (cell["step"], where, " (%s)" % counts if counts else "")
    return [sentence(row, "nonfinite", "problem", text, REMEDY_NONFINITE, link)]


def _gated(row):
    """Whether the row's cell has a gate that keeps memory (LSTM, GRU,
    ConvLSTM): the remedy then is not "a gated cell"."""
    cell = kinds.cell_of(row.get("cell"))
    return cell is not None and cell.memory_gate is not None


def vanishing_sentences(row):
    """Rule vanishing: the median per-sample ratio below VANISHING_LEVEL."""
    cell = row.get("vanishing")
    if not cell or not cell.get("problem") or cell.get("value") is None:
        return []
    text = ("the state gradient vanishes before the first timestep in %d of %d samples "
            "(median %s %s, below %s)%s" % (
                cell["below"], cell["samples"], _ratio_name(cell), num(cell["value"]),
                num(cell["level"]), _since(cell)))
    remedy = REMEDY_VANISHING_GATED if _gated(row) else REMEDY_VANISHING
    link = view("profile", metadata.STATE_GRADIENT, cell.get("tag"), _onset_step(cell))
    return [sentence(row, "vanishing", "problem", text, remedy, link)]


def reach_sentences(row):
    """Rule reach: how far back the gradient stays within VANISHING_LEVEL
    of the last step's (information; the vanishing rule is the verdict)."""
    cell = row.get("vanishing")
    reach = (cell or {}).get("reach")
    if not reach or reach.get("median") is None or not reach.get("samples"):
        return []
    samples, full = reach["samples"], reach["full"]
    if full == samples:
        where = "all %d samples" % samples if samples > 2 else "every sample"
    else:
        where = "%s of %d samples" % (full or "none", samples)
    there = (", median ratio %s there" % num(cell["value"])) if cell.get("value") is not None else ""
    # With a mask each sample has its own length: the span is a median too.
    span = ("~" if cell.get("masked") else "") + num(reach.get("span"))
    text = ("the gradient stays above %s of its size at the last step for ~%s of %s timesteps back "
            "(median over samples); it reaches the first timestep in %s%s" % (
                num(reach["level"]), num(reach["median"]), span, where, there))
    link = view("profile", metadata.STATE_GRADIENT, cell.get("tag"), cell.get("step"))
    return [sentence(row, "reach", "info", text, None, link)]


def exploding_sentences(row):
    """Rule exploding: growth back through time; growth over training."""
    cell = row.get("exploding")
    if not cell:
        return []
    found = []
    if cell.get("through_time") and cell.get("value") is not None:
        text = ("the state gradient grows back through time in %d of %d samples "
                "(median %s %s, above %s)%s" % (
                    cell["above"], cell["samples"], _ratio_name(cell), num(cell["value"]),
                    num(cell["level"]), _since(cell)))
        link = view("profile", metadata.STATE_GRADIENT, cell.get("tag"), _onset_step(cell))
        found.append(sentence(row, "exploding", "problem", text, REMEDY_EXPLODING, link))
    jump = cell.get("jump")
    if jump:
        text = ("the state gradient's norm jumped x%s at step %d (against the median of the "
                "previous %d logged steps; a problem from x%s)" % (
                    num(jump["factor"]), jump["step"], TRAINING_WINDOW, num(TRAINING_JUMP)))
        link = view("profile", metadata.STATE_GRADIENT, jump.get("tag") or cell.get("tag"), jump["step"])
        found.append(sentence(row, "exploding", "problem", text, REMEDY_EXPLODING, link))
    return found


def dominant_sentences(row):
    """Rule dominant (information): units that carry most of the gradient."""
    cell = row.get("dominant")
    if not cell or cell.get("units") is None or cell["units"] < DOMINANT_UNITS:
        return []
    text = ("%d of %d units carry most of the gradient (at least %sx the median unit's): "
            "memory channels, not a problem" % (cell["units"], cell["of"], num(cell.get("ratio_level", 10.0))))
    link = view("heatmap", metadata.STATE_GRADIENT, None, cell.get("step"))
    return [sentence(row, "dominant", "info", text, None, link)]


def _unit_sentence(row, measure, topic, what, remedy, kind):
    cell = row.get(measure)
    if not cell or not cell.get("problem") or cell.get("value") is None:
        return []
    text = "%s of units (%d of %d) %s%s" % (percent(cell["value"]), cell["units"], cell["of"], what, _since(cell))
    link = view("heatmap", kind, None, _onset_step(cell))
    return [sentence(row, topic, "problem", text, remedy, link)]


def unit_sentences(row):
    """Rules dead, saturated, gates: a share of units at or above its level."""
    gates = "input/forget gates" if row.get("cell") == "LSTM" else (
        "update gates" if row.get("cell") == "GRU" else "gates")
    return (
        _unit_sentence(row, "dead", "dead", "dead (activation and state gradient ~0)", None,
                       metadata.ACTIVATION)
        + _unit_sentence(row, "saturated", "saturated", "saturated (|h| at its bound almost everywhere)",
                         REMEDY_SATURATED, metadata.ACTIVATION)
        + _unit_sentence(row, "gate_saturated", "gates",
                         "have their %s stuck near 0 or 1" % gates,
                         REMEDY_GATES if row.get("cell") == "LSTM" else None, metadata.GATE_ACTIVATION)
    )


def ok_sentence(row):
    """Rule ok: what was checked on a layer with no problem sentence."""
    checked = ["no NaN/Inf"]
    if row.get("vanishing"):
        checked.append("no vanishing or exploding gradient")
    if row.get("dead"):
        checked.append("no dead or saturated units")
    steps = row.get("steps") or 0
    text = "no problem found: %s (%d logged step%s, the latest %s)" % (
        ", ".join(checked), steps, "" if steps == 1 else "s", row.get("latest_step"))
    link = view("profile" if row.get("vanishing") else "heatmap",
                metadata.STATE_GRADIENT if row.get("vanishing") else metadata.ACTIVATION,
                (row.get("vanishing") or {}).get("tag"), row.get("latest_step"))
    return sentence(row, "ok", "ok", text, None, link)


RULE_ORDER = (nonfinite_sentences, vanishing_sentences, exploding_sentences, unit_sentences,
              reach_sentences, dominant_sentences)


def row_sentences(row):
    """Every sentence about one /health row, problems first."""
    found = [s for rule in RULE_ORDER for s in rule(row)]
    if not any(s["severity"] == "problem" for s in found):
        found.append(ok_sentence(row))
    return sorted(found, key=lambda s: _SEVERITY_ORDER.get(s["severity"], len(SEVERITIES)))


def _group_key(s):
    return (s["run"], s.get("layer") or "", s.get("direction") or "", s.get("cell_index") or -1)


def summary(rows, extra=()):
    """The sentences for the /health `rows`, plus `extra` (already built
    sentence dicts, e.g. the loss's): per run and layer in the rows' order,
    the layers (and a run's loss) with a problem first, and within one
    layer problems, then information, then ok."""
    sentences = [s for row in rows for s in row_sentences(row)] + list(extra)
    first_seen = {}
    for i, s in enumerate(sentences):
        first_seen.setdefault(_group_key(s), i)
    bad = {_group_key(s) for s in sentences if s["severity"] == "problem"}
    return sorted(sentences, key=lambda s: (
        _group_key(s) not in bad, first_seen[_group_key(s)],
        _SEVERITY_ORDER.get(s["severity"], len(SEVERITIES))))


def loss_sentences(loss_runs):
    """The loss sentences (loss_series.loss_sentence, its rules) of GET
    /loss's {run: entry} for summary()'s `extra`: the entry's values with
    its NaN/Inf put back (the payload writes them as null)."""
    found = []
    for run, entry in sorted(loss_runs.items()):
        values = np.array([[np.nan if v is None else v for v in row] for row in entry["values"]],
                          np.float64).reshape(len(entry["steps"]), len(entry["names"]))
        for i, bad in enumerate(entry.get("nonfinite") or ()):
            if bad in ("inf", "-inf") and values.shape[1]:
                values[i, 0] = np.inf if bad == "inf" else -np.inf
        said = loss_series.loss_sentence(run, entry["steps"], values, entry["names"])
        if said is not None:
            found.append(dict(said, cell_index=None))
    return found


def rules():
    """The rules with their levels, for the response (and the guide)."""
    return {topic: dict(rule) for topic, rule in RULES.items()}
