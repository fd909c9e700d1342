// The health overview's text and click targets (frontend/shell/health.js),
// on rows shaped as GET /health answers them (tests/test_health_route.py
// checks the server's side). Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  cellText, fetchHealth, healthTarget, layerLabel, problemRows, summaryText, whereText,
} from "../../frontend/shell/health.js";

const share = (value, since, first, problem, units = 10) => ({
  value, units: value === null ? null : Math.round(value * units), of: units, step: 50, since,
  first_step: first, level: 0.1, problem,
});

// A vanishing or exploding cell: the median per-sample ratio and its spread.
const throughTime = (value) => ({
  value, step: 50, since: null, first_step: null, problem: false, order: "||dL/dh_0|| / ||dL/dh_T-1||",
  masked: false, p10: value, p90: value, min: value, max: value, samples: 8,
});

function row(overrides = {}) {
  return {
    run: "run_a", layer: "bi", direction: "forward", cell_index: null, cell: "LSTM", steps: 6, latest_step: 50,
    nonfinite: null, dead: share(0, null, null, false), saturated: share(0, null, null, false),
    gate_saturated: share(0, null, null, false), dominant: share(0, null, null, false),
    exploding: { ...throughTime(0.5), level: 1e3, above: 0, through_time: false, jump: null },
    vanishing: { ...throughTime(0.5), level: 1e-3, below: 0 },
    ...overrides,
  };
}

const weightNan = {
  step: 40, kind: "weight", tag: "bi/forward/recurrent_kernel/weight", direction: "forward", cell_index: null,
  matrix: "recurrent_kernel", gate: "f", gates: [{ name: "f", nan: 2, posinf: 0, neginf: 0 }],
  nan: 2, posinf: 0, neginf: 0,
};
const gradientNan = {
  step: 30, kind: "state_gradient", tag: "bi/backward/state_gradient", direction: "backward", cell_index: null,
  matrix: null, gate: null, timestep: 4, last_timestep: 5, sample: 1, samples: 1, cells: 2, nan: 2, posinf: 0, neginf: 0,
};

test("where a NaN began reads as matrix and gate, or timestep and sample", () => {
  assert.equal(whereText(weightNan), "weight recurrent_kernel, gate f, forward");
  assert.equal(whereText(gradientNan), "state gradient, timestep 4\u20135, sample 1, backward");
  assert.equal(whereText({ ...gradientNan, kind: "gate_activation", gate: "i", last_timestep: 4, samples: 3, direction: null }),
    "gate i, timestep 4, sample 1 (+2)");
  assert.equal(layerLabel({ layer: "s", direction: null, cell_index: 1 }), "s \u00b7 cell 1");
});

test("cells say the value and the step it began; problems are marked", () => {
  const r = row({ nonfinite: weightNan, dead: share(0.3, 20, 20, true), dominant: share(0, null, 30, false),
    vanishing: { ...row().vanishing, value: 1e-5, since: 40, first_step: 40, problem: true, p10: 1e-5, p90: 1e-5 } });
  assert.deepEqual(cellText(r, "nonfinite"), {
    text: "step 40", detail: "weight recurrent_kernel, gate f, forward", problem: true, step: 40,
    title: "First NaN/Inf at step 40: weight recurrent_kernel, gate f, forward; 2 NaN (bi/forward/recurrent_kernel/weight)",
  });
  const dead = cellText(r, "dead");
  assert.equal(dead.text, "30 %");
  assert.equal(dead.detail, "since step 20");
  assert.equal(dead.problem, true);
  assert.match(dead.title, /3 of 10 units at step 50/);
  const dominant = cellText(r, "dominant");
  assert.equal(dominant.text, "0 %");
  assert.equal(dominant.detail, "(earlier, from step 30)");
  assert.equal(dominant.problem, false);
  assert.equal(dominant.step, 30);
  const vanishing = cellText(r, "vanishing");
  assert.equal(vanishing.text, "1e-5");
  assert.equal(vanishing.detail, "since step 40; p10\u2013p90 1e-5\u20131e-5");
  assert.equal(vanishing.problem, true);
  assert.equal(cellText(row({ dead: null }), "dead").text, "\u2013");
  assert.equal(cellText(row({ dead: null }), "dead").step, null);
  assert.equal(cellText(row(), "nonfinite").text, "none");
  const overNan = cellText(row({ dead: { ...share(null, null, null, false), over_nonfinite: true } }), "dead");
  assert.deepEqual([overNan.text, overNan.detail, overNan.problem], ["n/a", "over NaN/Inf", false]);
});

test("a click opens the view and step that show it", () => {
  const noWeightView = () => [];
  const weightView = (kind) => (kind === "weight" ? [{ value: "weights" }, { value: "other" }] : []);
  const r = row({ nonfinite: weightNan, dead: share(0.3, 20, 20, true),
    vanishing: { ...row().vanishing, value: 1e-5, since: 40, first_step: 40, problem: true } });
  assert.deepEqual(healthTarget(r, "nonfinite", weightView),
    { run: "run_a", layer: "bi", step: 40, kind: "weight", view: "weights" });
  // Without a weights view: the activation heatmap at that step (computed from the NaN weights).
  assert.deepEqual(healthTarget(r, "nonfinite", noWeightView),
    { run: "run_a", layer: "bi", step: 40, kind: "activation", view: "heatmap" });
  assert.deepEqual(healthTarget(row({ nonfinite: gradientNan }), "nonfinite"),
    { run: "run_a", layer: "bi", step: 30, kind: "state_gradient", view: "heatmap", sample: 1 });
  assert.deepEqual(healthTarget(r, "vanishing"),
    { run: "run_a", layer: "bi", step: 40, kind: "state_gradient", view: "profile" });
  assert.deepEqual(healthTarget(r, "dead"), { run: "run_a", layer: "bi", step: 20, kind: "activation", view: "heatmap" });
  assert.equal(healthTarget(r, "gate_saturated").kind, "gate_activation");
  assert.equal(healthTarget(r, "gate_saturated").step, 50); // never at the level: the latest step
  assert.equal(healthTarget(row(), "nonfinite"), null);
  assert.equal(healthTarget(row({ dead: null }), "dead"), null);
});

test("the summary line says all healthy, or names the first NaN", () => {
  assert.match(summaryText([row(), row({ run: "run_b" })]), /^Health: all healthy \u2014 2 layers in 2 runs/);
  assert.equal(problemRows([row(), row({ nonfinite: weightNan })]), 1);
  const text = summaryText([row({ nonfinite: weightNan }), row({ direction: "backward", nonfinite: gradientNan })]);
  assert.equal(text, "Health: 2 of 2 layers with a problem. First NaN/Inf: run_a \u00b7 bi \u00b7 backward at step 30 " +
    "(state gradient, timestep 4\u20135, sample 1, backward).");
  assert.match(summaryText([]), /nothing to check/);
});

test("fetchHealth passes the server's reason on", async () => {
  const ok = await fetchHealth(async () => new Response(JSON.stringify({ rows: [] })));
  assert.deepEqual(ok, { rows: [] });
  await assert.rejects(fetchHealth(async () => new Response("no run 'x' with rnn data", { status: 404, statusText: "Not Found" })),
    /404 Not Found: no run 'x' with rnn data/);
});

test("the gradient through time reads as the median with its spread; dominant units are information", () => {
  // The LSTM: 7 of 8 samples below 1e-3, one at 11.2.
  const vanishing = { ...row().vanishing, value: 1.03e-4, p10: 3.8e-5, p90: 3.6, min: 3.3e-5, max: 11.2,
    below: 7, since: 50, first_step: 50, problem: true };
  const shown = cellText(row({ vanishing }), "vanishing");
  assert.equal(shown.text, "1.03e-4");
  assert.equal(shown.detail, "since step 50; p10\u2013p90 3.8e-5\u20133.6");
  assert.match(shown.title, /median over samples = 1.03e-4 at step 50; 7 of 8 samples below, min\u2013max 3.3e-5\u201311.2; a problem below 1e-3/);
  assert.equal(shown.problem, true);
  // Growth over training: the jump is named, and a click opens the profile.
  const exploding = { ...row().exploding, problem: true, since: 60, first_step: 60,
    jump: { step: 60, factor: 27.3, tag: "gru/state_gradient" } };
  const grown = cellText(row({ exploding }), "exploding");
  assert.equal(grown.problem, true);
  assert.equal(grown.text, "norm \u00d727.3");
  // Not growing: the exploding cell says so instead of repeating the vanishing cell's ratio.
  const calm = cellText(row(), "exploding");
  assert.deepEqual([calm.text, calm.detail, calm.problem], ["no", "", false]);
  assert.match(calm.title, /median over samples = 0.5/);
  const through = cellText(row({ exploding: { ...row().exploding, value: 4.1e4, through_time: true, problem: true } }), "exploding");
  assert.equal(through.text, "4.1e4");
  assert.equal(grown.detail, "since step 60; norm \u00d727.3 at step 60; p10\u2013p90 0.5\u20130.5");
  assert.deepEqual(healthTarget(row({ exploding }), "exploding"),
    { run: "run_a", layer: "bi", step: 60, kind: "state_gradient", view: "profile" });
  // Two units of 16 carrying 11x the median unit's gradient: shown, not a problem.
  const dominant = { ...share(0.125, 50, 50, false, 16), ratio_level: 10, problem: false, information: true };
  const info = cellText(row({ dominant }), "dominant");
  assert.deepEqual([info.text, info.problem, info.info], ["13 %", false, true]);
  assert.match(info.title, /2 of 16 units at step 50 carry \u2265 10\u00d7 the median unit's gradient.*not a problem/);
  assert.equal(problemRows([row({ dominant })]), 0);
  assert.equal(healthTarget(row({ dominant }), "dominant").kind, "state_gradient");
});

test("a run whose state gradient is NaN at the latest step: its through-time cells read n/a, nothing throws", () => {
  // What /health sends for a NaN run: no sample has a ratio, the spread is null.
  const none = { ...row().vanishing, value: null, p10: null, p90: null, min: null, max: null, samples: 0, below: 0 };
  for (const key of ["vanishing", "exploding"]) {
    const cell = key === "vanishing" ? none : { ...none, above: 0, through_time: false, jump: null };
    const shown = cellText(row({ [key]: cell }), key);
    assert.equal(shown.text, key === "vanishing" ? "n/a" : "no");
    assert.doesNotMatch(shown.title, /undefined|null/);
  }
});

