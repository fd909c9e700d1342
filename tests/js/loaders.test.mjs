// The data layer views share: the two loaders (a tensor at a step, kept
// series over all steps), what a kind's metadata says, and the state store.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { itemsOf, loadAtStep, loadKept, loadOverSteps, missingRuns } from "../../frontend/data/loaders.js";
import { compareMatrices, gateLabel, gateRank, hasProfile, memoryGates } from "../../frontend/data/kind_facts.js";
import { Store } from "../../frontend/shell/store.js";

/** An Api stand-in: steps per tag, tensors named by tag and step, every request recorded. */
function fakeApi(stepsOf, { loggedSteps = null, failing = [] } = {}) {
  const requests = [];
  return {
    requests,
    steps(run, tag) {
      requests.push(["steps", tag]);
      if (failing.includes(tag)) return Promise.reject(new Error(`no ${tag}`));
      return Promise.resolve({ steps: stepsOf[tag], wall_times: stepsOf[tag].map((s) => 1000 + s), logged_steps: loggedSteps });
    },
    tensor(run, tag, step) {
      requests.push(["tensor", tag, step]);
      return Promise.resolve({ shape: [1], data: new Float32Array([step]), tag });
    },
    kept(run, tag, kind) {
      requests.push(["kept", tag, kind]);
      return kind === "missing" ? Promise.reject(Object.assign(new Error("404"), { status: 404 })) : Promise.resolve({ kind, tag });
    },
    profile(run, tag) {
      requests.push(["profile", tag]);
      return Promise.resolve({ tag });
    },
  };
}

const series = (run, tag, extra = {}) => ({ run, tag, version: 2, ...extra });
const groups = [
  { run: "a", panels: [{ series: series("a", "a/fw") }, { series: series("a", "a/bw") }] },
  { run: "b", panels: [{ series: series("b", "b/x") }] },
  { run: "c", panels: [] },
];

function context(api, { chosen = 10, stale = () => false } = {}) {
  const calls = [];
  return {
    calls, api, groups, isStale: stale,
    chooseStep: (steps, stepSeries) => {
      calls.push({ steps, runs: stepSeries.map((s) => s.run) });
      return chosen;
    },
  };
}

test("items and missing runs follow the groups' order", () => {
  assert.deepEqual(itemsOf(groups).map((i) => [i.run, i.series.tag]), [["a", "a/fw"], ["a", "a/bw"], ["b", "b/x"]]);
  assert.deepEqual(missingRuns(groups), ["c"]);
});

test("at a step: the slider gets the union of steps, each series its nearest logged step not above it", async () => {
  const api = fakeApi({ "a/fw": [0, 5, 20], "a/bw": [0, 5, 20], "b/x": [12, 30] });
  const ctx = context(api, { chosen: 10 });
  const items = itemsOf(groups);
  const seen = [];
  const loaded = await loadAtStep(ctx, items, async (item) => seen.push([item.series.tag, item.step]));
  assert.deepEqual(ctx.calls[0].steps, [0, 5, 12, 20, 30]);
  assert.deepEqual(ctx.calls[0].runs, ["a", "a", "b"]);
  assert.equal(loaded.step, 10);
  // 10 -> 5 where logged; b logged nothing <= 10: its first step.
  assert.deepEqual(items.map((i) => i.step), [5, 5, 12]);
  assert.deepEqual(items.map((i) => i.tensor.value.data[0]), [5, 5, 12]);
  assert.deepEqual(seen.sort(), [["a/bw", 5], ["a/fw", 5], ["b/x", 12]]);
  assert.deepEqual(loaded.sampled, []);
});

test("at a step: a series whose steps fail keeps its error; sampling is noted per run", async () => {
  const api = fakeApi({ "a/fw": [0, 5], "a/bw": [0, 5], "b/x": [7] }, { loggedSteps: 40, failing: ["a/bw"] });
  const items = itemsOf(groups);
  const loaded = await loadAtStep(context(api, { chosen: 7 }), items);
  assert.equal(items[1].steps.error.message, "no a/bw");
  assert.equal(items[1].tensor, undefined);
  assert.deepEqual(loaded.sampled, [{ run: "a", counts: ["2 of 40"] }, { run: "b", counts: ["1 of 40"] }]);
});

test("at a step: a newer update makes it stop before fetching tensors", async () => {
  const api = fakeApi({ "a/fw": [1], "a/bw": [1], "b/x": [1] });
  const loaded = await loadAtStep(context(api, { stale: () => true }), itemsOf(groups));
  assert.equal(loaded, null);
  assert.equal(api.requests.filter((r) => r[0] === "tensor").length, 0);
});

test("over all steps: kept companions per item; a version-1 profile is not requested", async () => {
  const api = fakeApi({});
  const items = await loadOverSteps(context(api), itemsOf(groups), ["gate_stats", "missing"]);
  assert.deepEqual(items[0].kept.gate_stats.value, { kind: "gate_stats", tag: "a/fw" });
  assert.equal(items[2].kept.missing.error.status, 404);
  const old = await loadKept(api, series("a", "old", { version: 1 }), "profile");
  assert.equal(old.error.status, 404);
  assert.equal(api.requests.some((r) => r[1] === "old"), false);
  assert.deepEqual((await loadKept(api, series("a", "new"), "profile")).value, { tag: "new" });
});

test("kind facts come from the metadata alone; an absent field means no such fact", () => {
  assert.equal(hasProfile({ kind: "activation", has_profile: true }), true);
  assert.equal(hasProfile({ kind: "activation" }), false);
  assert.equal(hasProfile({ kind: "new_kind", has_profile: true }), true);
  assert.equal(gateLabel("f", { gate_labels: { f: "forget gate f" } }), "forget gate f");
  assert.equal(gateLabel("f"), "gate f");
  assert.equal(gateLabel(null), "");
  const order = { gate_order: ["o", "i"] };
  assert.ok(gateRank("o", order) < gateRank("i", order));
  assert.equal(gateRank("x", order), 2);
  assert.deepEqual(memoryGates({ memory_gate: "z" }), ["z"]);
  assert.deepEqual(memoryGates({ memory_gate: null }), []);
  assert.deepEqual(memoryGates({}), []);
  const names = ["bias", "mine", "kernel"];
  assert.deepEqual([...names].sort((a, b) => compareMatrices(a, b, { matrix_order: ["kernel", "bias"] })),
    ["kernel", "bias", "mine"]);
  assert.deepEqual([...names].sort((a, b) => compareMatrices(a, b)), ["bias", "kernel", "mine"]);
});

test("the store merges patches, tells its listeners, and counts updates for staleness", () => {
  const store = new Store({ layer: "a", step: 1 });
  const heard = [];
  const stop = store.subscribe((patch, state) => heard.push([patch, state.layer]));
  store.set({ layer: "b" });
  assert.deepEqual(store.state, { layer: "b", step: 1 });
  const first = store.nextGeneration();
  assert.equal(store.isStale(first), false);
  store.nextGeneration();
  assert.equal(store.isStale(first), true);
  stop();
  store.set({ step: 2 });
  assert.deepEqual(heard, [[{ layer: "b" }, "b"]]);
});
