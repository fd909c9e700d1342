// Pure index shaping: what the menus list, and the fingerprint that decides
// whether new data came in.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { indexFingerprint, indexTags, kindsOf, layersOf } from "../../frontend/series.js";

const AXES = ["sample", "timestep", "channel"];

function entry(kind, layer, extra = {}, maxStep = 20) {
  return { metadata: { version: 1, kind, layer, axes: AXES, ...extra }, description: "", max_step: maxStep };
}

const INDEX = {
  runs: {
    run_a: {
      "lstm/activation": entry("activation", "lstm"),
      "lstm/output_gradient": entry("output_gradient", "lstm"),
      "lstm/mask": entry("mask", "lstm", { axes: ["sample", "timestep"] }),
      "lstm/profile": entry("profile", "lstm", { axes: ["timestep", "statistic"] }),
      // Even with the axes of a drawn quantity, a kind the views do not know is left out.
      "lstm/profile_3d": entry("profile", "lstm"),
      "extra/profile": entry("profile", "only_profiles", { axes: ["timestep"] }),
    },
    run_profiles_only: {
      "gru/profile": entry("profile", "gru", { axes: ["timestep"] }),
    },
  },
};

test("kinds the views do not draw are not listed as layers, quantities or runs", () => {
  const index = indexTags(INDEX);
  assert.deepEqual(index.runs, ["run_a"]);
  assert.deepEqual(layersOf(index), ["lstm"]);
  assert.deepEqual(kindsOf(index, "lstm"), ["activation", "output_gradient"]);
  assert.deepEqual(kindsOf(index, "only_profiles"), []);
  // They stay in the index (nothing is lost for lookups such as masks).
  assert.ok(index.series.some((s) => s.kind === "profile"));
});

test("malformed index entries do not throw", () => {
  for (const json of [null, {}, { runs: null }, { runs: "x" }, { runs: { r: null } },
    { runs: { r: { t: null } } }, { runs: { r: { t: { metadata: "x" } } } },
    { runs: { r: { t: { metadata: { kind: 3 } } } } }]) {
    const index = indexTags(json);
    assert.deepEqual(index.runs, []);
    assert.equal(typeof indexFingerprint(json), "string");
  }
});

test("the fingerprint changes with a new step and not with key order", () => {
  const base = indexFingerprint(INDEX);
  const reordered = {
    runs: Object.fromEntries(Object.entries(INDEX.runs).reverse().map(([run, tags]) => [
      run, Object.fromEntries(Object.entries(tags).reverse().map(([tag, e]) => [
        tag, { max_step: e.max_step, description: e.description,
          metadata: Object.fromEntries(Object.entries(e.metadata).reverse()) }])),
    ])),
  };
  assert.equal(indexFingerprint(reordered), base);

  const grown = structuredClone(INDEX);
  grown.runs.run_a["lstm/activation"].max_step = 30;
  assert.notEqual(indexFingerprint(grown), base);

  const newRun = structuredClone(INDEX);
  newRun.runs.run_b = { "lstm/activation": entry("activation", "lstm", {}, 0) };
  assert.notEqual(indexFingerprint(newRun), base);

});
