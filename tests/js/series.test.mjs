// Pure index shaping: what the menus list, the fingerprint that decides
// whether new data came in, and the notices for skipped and sampled series.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  gateLabel, indexFingerprint, indexTags, kindsOf, layersOf, sampledRuns, samplingNote,
  seriesFor, skippedEntries,
} from "../../frontend/data/index_model.js";
import { served } from "./served_facts.mjs";

const AXES = ["sample", "timestep", "channel"];

function entry(kind, layer, extra = {}, maxStep = 20) {
  return { metadata: served({ version: 1, kind, layer, axes: AXES, ...extra }), description: "", max_step: maxStep };
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

test("gate activations: one panel per gate in Keras' order, per direction and cell", () => {
  const gates = (direction, cellIndex, cell, names) => Object.fromEntries(names.map((g) => [
    `bi/${direction}/cell_${cellIndex}/gate_${g}`,
    entry("gate_activation", "bi", { gate: g, cell, direction, cell_index: cellIndex }),
  ]));
  const index = indexTags({ runs: { r: {
    // Tags sort o < f < i alphabetically: the order must come from the
    // cell's gate order in the metadata.
    ...gates("backward", 0, "LSTM", ["o", "i", "f", "candidate"]),
    ...gates("forward", 1, "GRU", ["z", "r", "candidate"]),
    ...gates("forward", 0, "LSTM", ["o", "f", "candidate", "i"]),
  } } });
  assert.deepEqual(kindsOf(index, "bi"), ["gate_activation"]);
  const order = seriesFor(index, "r", "bi", "gate_activation").map((s) => [s.direction, s.cellIndex, s.gate]);
  assert.deepEqual(order, [
    ["forward", 0, "i"], ["forward", 0, "f"], ["forward", 0, "candidate"], ["forward", 0, "o"],
    ["forward", 1, "z"], ["forward", 1, "r"], ["forward", 1, "candidate"],
    ["backward", 0, "i"], ["backward", 0, "f"], ["backward", 0, "candidate"], ["backward", 0, "o"],
  ]);
  const forget = seriesFor(index, "r", "bi", "gate_activation")[1];
  assert.equal(gateLabel(forget.gate, forget.meta), "forget gate f");
  assert.equal(gateLabel("mine", forget.meta), "gate mine");
  assert.equal(gateLabel(null), "");
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

  const skipped = { ...INDEX, skipped: [{ run: "run_c", tag: null, reason: "unreadable" }] };
  assert.notEqual(indexFingerprint(skipped), base);
  assert.equal(indexFingerprint({ ...INDEX, skipped: [] }), base);
});

test("skipped entries: absent or empty is none; malformed ones are dropped", () => {
  assert.deepEqual(skippedEntries(INDEX), []);
  assert.deepEqual(skippedEntries({ runs: {}, skipped: [] }), []);
  assert.deepEqual(skippedEntries({ runs: {}, skipped: "nope" }), []);
  assert.deepEqual(skippedEntries({
    skipped: [
      { run: "run_a", tag: "lstm/x", reason: "bad metadata: <b>kind</b>" },
      { run: "run_b", tag: null, reason: "unreadable" },
      { run: 7, tag: 8 },
      null,
      { tag: "no run" },
    ],
  }), [
    { run: "run_a", tag: "lstm/x", reason: "bad metadata: <b>kind</b>" },
    { run: "run_b", tag: null, reason: "unreadable" },
    { run: "7", tag: "8", reason: "no reason given" },
  ]);
});

test("sampling note names the runs concerned, once per distinct count", () => {
  assert.equal(samplingNote(sampledRuns([])), "");
  assert.equal(samplingNote(sampledRuns([
    { run: "run_a", shown: 10, logged: 10 },
    { run: "run_b", shown: 10, logged: null },
  ])), "");
  const sampled = sampledRuns([
    { run: "run_a", shown: 10, logged: 40 },
    { run: "run_a", shown: 10, logged: 40 }, // backward direction, same counts
    { run: "run_b", shown: 5, logged: 5 },
    { run: "run_c", shown: 10, logged: 25 },
  ]);
  assert.deepEqual(sampled, [
    { run: "run_a", counts: ["10 of 40"] },
    { run: "run_c", counts: ["10 of 25"] },
  ]);
  assert.equal(samplingNote(sampled),
    "run_a: showing 10 of 40 logged steps; run_c: showing 10 of 25 logged steps \u2014 " +
    "TensorBoard keeps a sample of large tensors; start it with --samples_per_plugin rnn=0 " +
    "to keep all (uses more memory)");
});

