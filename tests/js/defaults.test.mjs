// The tab's defaults that show the finding: own scales for runs whose
// magnitudes differ by 100x or more, the sequential 0..1 scale of gate
// activations, runs told apart by colour in the norms view.
// Run: python -m pytest tests/test_js.py

import assert from "node:assert/strict";
import { test } from "node:test";

import { defaultSharing, makeUnitScale, OWN_SCALE_RATIO } from "../../frontend/draw/scales.js";
import { sequentialPixels, viridisInto } from "../../frontend/draw/colormap.js";
import { isUnitInterval, valueRange } from "../../frontend/data/kind_facts.js";
import { served } from "./served_facts.mjs";

test("runs 300x apart each get their own scale, and the note says by how much", () => {
  const d = defaultSharing([{ run: "lstm", max: 3e-3 }, { run: "gru", max: 1e-5 }, { run: "simple_rnn", max: 1e-4 }]);
  assert.equal(d.shared, false);
  assert.ok(Math.abs(d.ratio - 300) < 1e-9);
  assert.match(d.note, /^gru's values are 1\/300 of lstm's \(largest \|v\|\): each run on its own scale/);
  // 99x apart: one shared scale, nothing to say.
  const near = defaultSharing([{ run: "a", max: 0.99 }, { run: "b", max: 0.01 }]);
  assert.deepEqual([near.shared, near.note], [true, ""]);
  assert.equal(defaultSharing([{ run: "a", max: 1 }, { run: "b", max: 1 / OWN_SCALE_RATIO }]).shared, false);
  // A run of all zeros (or one run) gives no ratio.
  assert.equal(defaultSharing([{ run: "a", max: 5 }, { run: "b", max: 0 }]).shared, true);
  assert.equal(defaultSharing([{ run: "a", max: 5 }]).shared, true);
});

test("the unit scale maps [0, 1] onto viridis, clipping outside and keeping NaN/Inf", () => {
  const s = makeUnitScale();
  assert.deepEqual([...s.normAll([-0.5, 0, 0.25, 1, 2])], [0, 0, 0.25, 1, 1]);
  assert.ok(Number.isNaN(s.norm(NaN)));
  assert.equal(s.norm(Infinity), Infinity);
  const px = new Uint8ClampedArray(4 * 3);
  sequentialPixels(Float64Array.from([0, 1, NaN]), Uint8Array.from([0, 0, 0]), 3, px);
  const dark = [0, 0, 0];
  const light = [0, 0, 0];
  viridisInto(0, dark, 0);
  viridisInto(1, light, 0);
  assert.deepEqual([...px.slice(0, 3)], dark);
  assert.deepEqual([...px.slice(4, 7)], light);
  assert.deepEqual([...px.slice(8, 11)], [255, 0, 255]); // NaN magenta
  assert.deepEqual(dark, [68, 1, 84]); // viridis' first colour
  assert.deepEqual(light, [253, 231, 37]); // and its last
});

test("the served facts put sigmoid gates' activations in [0, 1], candidates and other kinds not", () => {
  const facts = (key) => {
    const [kind, cell, gate] = key.split("|");
    return served({ kind, cell: cell || null, gate: gate || null });
  };
  for (const gate of ["i", "f", "o"]) assert.ok(isUnitInterval(facts(`gate_activation|LSTM|${gate}`)), gate);
  for (const gate of ["z", "r"]) assert.ok(isUnitInterval(facts(`gate_activation|GRU|${gate}`)), gate);
  assert.equal(valueRange(facts("gate_activation|LSTM|candidate")), null);
  assert.equal(valueRange(facts("activation|LSTM|")), null);
  assert.equal(valueRange(facts("state_gradient|GRU|")), null);
  assert.equal(isUnitInterval({ value_range: [0, 2] }), false);
  assert.equal(isUnitInterval(null), false);
});
