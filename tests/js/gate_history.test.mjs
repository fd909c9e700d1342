// The per-gate distributions and norms views' pure logic: ridge thinning,
// the signed log-magnitude bin axis, the bins in use, log-axis marks and
// the non-finite line. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  binRangeText, binTicks, compareMatrices, decadeEdges, gateColor, gateNames, logAxisTicks, logMark, MAX_RIDGES, nonFiniteSummary,
  nonFiniteText, normLegendGates, thinIndices, usedBins, weightGateLabel, zeroBinIndex,
} from "../../frontend/views/gate_history.js";
import { decadeTicks, logScale } from "../../frontend/data/profiles.js";
import { fmt } from "../../frontend/draw/format.js";
import { served } from "./served_facts.mjs";

// metadata.HISTOGRAM_EDGES: +-10^(k/2), k = -18..6: 50 inner edges, 51 bins.
const MAGNITUDES = [];
for (let k = -18; k <= 6; k++) MAGNITUDES.push(10 ** (k / 2));
const EDGES = [...MAGNITUDES.slice().reverse().map((m) => -m), ...MAGNITUDES];

test("ridges: all steps up to the limit, else evenly thinned with first and last", () => {
  assert.deepEqual(thinIndices(0), []);
  assert.deepEqual(thinIndices(1), [0]);
  assert.deepEqual(thinIndices(5), [0, 1, 2, 3, 4]);
  assert.equal(thinIndices(MAX_RIDGES).length, MAX_RIDGES);
  const kept = thinIndices(150);
  assert.equal(kept.length, 60);
  assert.equal(kept[0], 0);
  assert.equal(kept[kept.length - 1], 149);
  for (let k = 1; k < kept.length; k++) {
    const gap = kept[k] - kept[k - 1];
    assert.ok(gap === 2 || gap === 3, `gap ${gap}`); // 149 / 59 = 2.53: even spacing
  }
  const many = thinIndices(10000, 60);
  assert.equal(many.length, 60);
  assert.equal(new Set(many).size, 60);
  assert.deepEqual(thinIndices(7, 3), [0, 3, 6]);
});

test("the bin axis: 51 bins, zero in the middle one, decades at every other edge", () => {
  assert.equal(EDGES.length, 50);
  assert.equal(zeroBinIndex(EDGES), 25);
  const decades = decadeEdges(EDGES);
  assert.equal(decades.length, 26); // 1e-9 .. 1e3 on each side
  assert.deepEqual(decades[0], { edge: 0, exponent: 3, sign: -1 });
  assert.deepEqual(decades[decades.length - 1], { edge: 49, exponent: 3, sign: 1 });
  assert.equal(binRangeText(EDGES, 0, fmt), "< -1000");
  assert.equal(binRangeText(EDGES, 50, fmt), "\u2265 1000");
  assert.equal(binRangeText(EDGES, 25, fmt), "[-1e-9, 1e-9)");
  assert.equal(binRangeText(EDGES, 42, fmt), "[0.1, 0.316)");
});

test("bin ticks: the whole axis at 8 px per bin labels every 3rd decade and 0", () => {
  const ticks = binTicks(EDGES, 0, 50, 8, 34);
  // 2 bins per decade x 8 px = 16 px per decade: stride 3 (48 px) is the first >= 34.
  assert.deepEqual(ticks.map((t) => t.label), ["-1e3", "-1", "-1e-3", "-1e-6", "0", "1e-6", "1e-3", "1", "1e3"]);
  // Positions: edge i is i + 1 bins from the left; "0" in the middle of bin 25.
  const at = Object.fromEntries(ticks.map((t) => [t.label, t.pos]));
  assert.equal(at["0"], 25.5);
  assert.equal(at["1"], EDGES.indexOf(1) + 1);
  assert.equal(at["-1e3"], 1);
  assert.equal(at["1e3"], 50);
  for (let k = 1; k < ticks.length; k++) assert.ok((ticks[k].pos - ticks[k - 1].pos) * 8 >= 34);
  // Narrower: stride 6, and the decades within 34 px of 0 give way to it.
  assert.deepEqual(binTicks(EDGES, 0, 50, 4, 34).map((t) => t.label), ["-1", "0", "1"]);
});

test("bin ticks: a trimmed range at 20 px per bin labels every decade, drops those crowding 0", () => {
  // Bins 30..46: values from 10^-7 to about 10 (positive side only): no "0".
  const ticks = binTicks(EDGES, 30, 46, 20, 34);
  assert.deepEqual(ticks.map((t) => t.label), ["1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1", "1e1"]);
  assert.equal(ticks[0].pos, 0);
  // Around zero: 0 is labelled, the +-1e-9 edges half a bin away are not.
  const mid = binTicks(EDGES, 20, 31, 20, 34).map((t) => t.label);
  assert.deepEqual(mid, ["-1e-7", "-1e-8", "0", "1e-8", "1e-7", "1e-6"]);
});

test("used bins: over every run, step and gate, one empty bin each side, clipped to the axis", () => {
  const hist = (rows) => ({ steps: rows.length, rows: 1, bins: 51, count: (i, r, b) => rows[i][b] || 0 });
  const a = [[], []];
  a[0][30] = 4;
  a[1][33] = 1;
  const b = [[]];
  b[0][40] = 2;
  assert.deepEqual(usedBins([hist(a), hist(b)]), { lo: 29, hi: 41 });
  const edge = [[]];
  edge[0][0] = 1;
  edge[0][50] = 1;
  assert.deepEqual(usedBins([hist(edge)]), { lo: 0, hi: 50 });
  assert.equal(usedBins([hist([[]])]), null);
});

test("log marks: zero and below to the bottom edge, NaN and Inf to the top", () => {
  assert.equal(logMark(0.5), "ok");
  assert.equal(logMark(1e-30), "ok");
  assert.equal(logMark(0), "zero");
  assert.equal(logMark(-0), "zero");
  assert.equal(logMark(-2), "zero");
  assert.equal(logMark(NaN), "nan");
  assert.equal(logMark(Infinity), "inf");
  assert.equal(logMark(-Infinity), "inf");
  // The log axis the norms view uses: 0 is off it (-Infinity), so it must be marked.
  const scale = logScale(3.7e-5, 3.5);
  assert.deepEqual(scale.decades, [-5, 1]);
  assert.equal(scale.norm(0), -Infinity);
  assert.deepEqual(decadeTicks(scale, 240, 22).map((t) => t.label), ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"]);
});

test("non-finite line: steps with NaN, Inf and zeros, first step and most values", () => {
  const steps = [0, 10, 20, 30];
  const counts = [
    { nan: 0, posinf: 0, neginf: 0, zero: 64 },
    { nan: 3, posinf: 0, neginf: 0, zero: 0 },
    { nan: 1, posinf: 2, neginf: 0, zero: 0 },
    { nan: 0, posinf: 0, neginf: 0, zero: 0 },
  ];
  const summary = nonFiniteSummary(steps, (i) => counts[i]);
  assert.deepEqual(summary.nan, { steps: 2, first: 10, most: 3 });
  assert.deepEqual(summary.posinf, { steps: 1, first: 20, most: 2 });
  assert.deepEqual(summary.neginf, { steps: 0, first: null, most: 0 });
  assert.equal(nonFiniteText(summary, 4),
    "NaN at 2 of 4 steps (from step 10, up to 3 values); +Inf at 1 of 4 steps (from step 20, up to 2 values); " +
    "exact zeros at 1 of 4 steps (from step 0, up to 64 values)");
  const clean = nonFiniteSummary([5], () => ({ nan: 0, posinf: 0, neginf: 0, zero: 0 }));
  assert.equal(nonFiniteText(clean, 1), "no NaN, Inf or exact zeros in 1 step");
});

test("matrices in Keras' order, gates from the metadata or one row for the whole matrix", () => {
  const meta = served({ kind: "weight", cell: "LSTM" });
  const names = ["bias", "my_weight", "recurrent_kernel", "kernel"].sort((a, b) => compareMatrices(a, b, meta));
  assert.deepEqual(names, ["kernel", "recurrent_kernel", "bias", "my_weight"]);
  assert.deepEqual(gateNames([{ name: "z" }, { name: "r" }, { name: "candidate" }], 3), ["z", "r", "candidate"]);
  assert.deepEqual(gateNames(null, 1), [null]);
});

test("weight gate names: LSTM i f c o, GRU z r h, SimpleRNN h; the candidate one colour in both cells", () => {
  const weights = (cell) => served({ kind: "weight", cell });
  assert.deepEqual(["i", "f", "c", "o"].map((g) => weightGateLabel(g, weights("LSTM"))),
    ["input gate i", "forget gate f", "candidate c", "output gate o"]);
  assert.deepEqual(["z", "r", "h"].map((g) => weightGateLabel(g, weights("GRU"))),
    ["update gate z", "reset gate r", "candidate h"]);
  assert.equal(weightGateLabel("h", weights("SimpleRNN")), "h (the whole cell)");
  assert.equal(weightGateLabel(null), "whole matrix (gates unknown)");
  assert.equal(weightGateLabel("q"), "gate q");
  assert.equal(gateColor("c"), gateColor("h"));
  assert.notEqual(gateColor("h", 0, "SimpleRNN"), gateColor("h", 0, "GRU"));  // whole cell, not a candidate
  const lstm = ["i", "f", "c", "o"].map((g) => gateColor(g));
  assert.equal(new Set(lstm).size, 4);
  assert.equal(new Set([...lstm, gateColor("z"), gateColor("r")]).size, 6);
});

test("log axis ticks: 2 and 5 (or 3) times each decade when a decade is tall enough", () => {
  const labels = (lo, hi, px) => logAxisTicks(logScale(lo, hi), px, 22).map((t) => t.label);
  assert.deepEqual(labels(1.2, 8, 240), ["1e0", "2e0", "5e0", "1e1"]);
  assert.deepEqual(labels(1e-5, 0.1, 240), ["1e-5", "3e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2", "3e-2", "1e-1"]);
  assert.deepEqual(labels(3.7e-5, 3.5, 240), ["1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0", "1e1"]);
  const ticks = logAxisTicks(logScale(1.2, 8), 240, 22);
  assert.ok(Math.abs(ticks[1].pos - Math.log10(2)) < 1e-12);
  for (let k = 1; k < ticks.length; k++) assert.ok((ticks[k].pos - ticks[k - 1].pos) * 240 >= 22);
});

test("the norms legend has one entry per gate label, across cell types", () => {
  const line = (gate, cell) => ({ gate, cell, meta: served({ kind: "weight", cell }), color: gateColor(gate, 0, cell) });
  const gates = normLegendGates([line("c", "LSTM"), line("h", "GRU"), line("h", "SimpleRNN"), line("h", "GRU")]);
  assert.deepEqual(gates.map((g) => g.label), ["candidate c", "candidate h", "h (the whole cell)"]);
  assert.equal(gates[2].color, gateColor("h", 0, "SimpleRNN"));
});
