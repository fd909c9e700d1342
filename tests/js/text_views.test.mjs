// The text views' maths: unit ranking by variance and by a span's contrast
// (LSTMVis), token text, the last step of each sample, the dependency
// view's scale and the grouping of runs by probe fingerprint.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { rankUnits, spanContrast, tokenWidth, unitVariances, validSpan } from "../../frontend/views/text.js";
import { sequentialRgb, targetRow } from "../../frontend/views/input_dependency.js";
import { atLastSteps, lastSteps, onlyLastStepGradient } from "../../frontend/views/last_step.js";
import { sampleOfView, tokenText, visibleToken } from "../../frontend/data/tokens.js";
import { probeGroups } from "../../frontend/shell/probe_notice.js";

const close = (a, b, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** [T, C] values, row-major, from columns (one array per unit). */
function fromUnits(units) {
  const T = units[0].length;
  const C = units.length;
  const data = new Float32Array(T * C);
  units.forEach((column, c) => column.forEach((v, t) => { data[t * C + c] = v; }));
  return { data, T, C };
}

test("variance over the sequence, population, per unit", () => {
  const { data, T, C } = fromUnits([[1, 2, 3, 4], [5, 5, 5, 5], [0, 0, 0, 8]]);
  const v = unitVariances(data, 0, T, C);
  close(v[0], 1.25);
  close(v[1], 0);
  close(v[2], 12); // mean 2, squares 4+4+4+36 over 4
  assert.deepEqual(rankUnits(v), [2, 0, 1]);
});

test("variance leaves out masked timesteps, NaN and Inf; a unit with no value is NaN and ranks last", () => {
  const { data, T, C } = fromUnits([[1, 3, 100, NaN], [NaN, NaN, 7, NaN]]);
  const v = unitVariances(data, 0, T, C, Uint8Array.from([1, 1, 0, 1]));
  close(v[0], 1); // values 1 and 3
  assert.ok(Number.isNaN(v[1]));
  assert.deepEqual(rankUnits(v), [0, 1]);
});

test("variance of a later sample reads from its offset", () => {
  const a = fromUnits([[9, 9], [1, -1]]);
  const b = fromUnits([[0, 2], [3, 3]]);
  const data = new Float32Array([...a.data, ...b.data]);
  const v = unitVariances(data, 4, 2, 2);
  close(v[0], 1);
  close(v[1], 0);
});

test("span contrast: mean on the span minus mean elsewhere", () => {
  // unit 0 high on t = 2..3 only; unit 1 a ramp; unit 2 low on the span.
  const { data, T, C } = fromUnits([[0, 0, 1, 1, 0, 0], [0, 1, 2, 3, 4, 5], [1, 1, -1, -1, 1, 1]]);
  const s = spanContrast(data, 0, T, C, [2, 3]);
  close(s[0], 1);
  close(s[1], 2.5 - 2.5);
  close(s[2], -2);
  assert.deepEqual(rankUnits(s), [0, 1, 2]);
  // A span covering every unmasked timestep has nothing to compare with.
  const all = spanContrast(data, 0, T, C, [0, 5]);
  assert.ok([...all].every(Number.isNaN));
  // Masked timesteps count on neither side.
  const masked = spanContrast(data, 0, T, C, [2, 3], Uint8Array.from([1, 1, 1, 1, 0, 0]));
  close(masked[1], 2.5 - 0.5);
});

test("ranking ties keep unit order; spans are validated", () => {
  assert.deepEqual(rankUnits(Float64Array.from([1, 2, 2, NaN, 0])), [1, 2, 0, 4, 3]);
  assert.deepEqual(validSpan([3, 5]), [3, 5]);
  assert.equal(validSpan([5, 3]), null);
  assert.equal(validSpan([1.5, 3]), null);
  assert.equal(validSpan("1-3"), null);
});

test("tokens: vocabulary or ids, blanks made visible, spaces inside a word kept", () => {
  assert.equal(tokenText(2, ["a", "b", "c"]), "c");
  assert.equal(tokenText(7, ["a"]), "#7");
  assert.equal(tokenText(3, null), "#3");
  assert.equal(tokenText(NaN, null), "?");
  assert.equal(visibleToken(" "), "\u00b7");
  assert.equal(visibleToken("\n"), "\u21b5");
  assert.equal(visibleToken("  "), "\u00b7\u00b7");
  assert.equal(visibleToken("a b\n"), "a b\u21b5");
  assert.equal(visibleToken("\u0007"), "\u2407");
  assert.equal(visibleToken("<b>"), "<b>");
  assert.equal(tokenWidth(["a", "abc", "\u00b7"]), 3);
  assert.equal(tokenWidth(["x".repeat(40)]), 14);
});

test("the sample a readout view shows: sample k's slice, none for a mean", () => {
  assert.equal(sampleOfView({ offset: 2 * 5 * 3, T: 5, C: 3 }), 2);
  assert.equal(sampleOfView({ offset: 0, T: 5, C: 3, samples: 4 }), null);
});

test("last steps: the last unmasked timestep (first for a backward direction)", () => {
  const mask = { data: Float32Array.from([1, 1, 1, 1, 1, 0, 0, 0, 0]) };
  assert.deepEqual(lastSteps(3, 3, mask), [2, 1, -1]);
  assert.deepEqual(lastSteps(3, 3, mask, true), [0, 0, -1]);
  assert.deepEqual(lastSteps(2, 4, null), [3, 3]);
  const tensor = { shape: [2, 2, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
  assert.deepEqual(atLastSteps(tensor, [1, 0]).map((r) => [...r]), [[3, 4], [5, 6]]);
  const gradient = { shape: [2, 2, 1], data: Float32Array.from([0, 1, 2, 0]) };
  assert.equal(onlyLastStepGradient(gradient, [1, 0]), true);
  assert.equal(onlyLastStepGradient(gradient, [1, 1]), false);
  assert.equal(onlyLastStepGradient({ shape: [1, 2, 1], data: Float32Array.from([0, 0]) }, [1]), false);
});

test("dependency scale and loss rows", () => {
  assert.deepEqual(sequentialRgb(0), [247, 251, 255]);
  assert.deepEqual(sequentialRgb(1), [8, 48, 107]);
  assert.deepEqual(sequentialRgb(0.5), [107, 174, 214]);
  assert.deepEqual(sequentialRgb(2), [8, 48, 107]);
  assert.deepEqual(sequentialRgb(0.25), [177, 213, 235]);
  assert.equal(targetRow([3, 7], 7), 1);
  assert.equal(targetRow([3, 7], 5), -1);
});

test("runs grouped by probe fingerprint, in shown order; runs without one apart", () => {
  const probes = { runs: { a: { fingerprint: "01" }, b: { fingerprint: "02" }, c: { fingerprint: "01" }, d: {} } };
  assert.deepEqual(probeGroups(probes, ["a", "b", "c", "d", "e"]), {
    groups: [{ fingerprint: "01", runs: ["a", "c"] }, { fingerprint: "02", runs: ["b"] }],
    unknown: ["d", "e"],
  });
  assert.deepEqual(probeGroups(probes, ["a", "c"]).groups.length, 1);
  assert.deepEqual(probeGroups({ runs: { __proto__: null } }, ["toString"]), { groups: [], unknown: ["toString"] });
  assert.deepEqual(probeGroups(null, ["a"]), { groups: [], unknown: ["a"] });
});

test("tokens: the latest logged at or before the step, else the first; the series of the same direction", async () => {
  const { loadTokens, tokenSeriesOf, tokenRows } = await import("../../frontend/data/tokens.js");
  const series = (tag, direction, kind = "tokens") => ({
    run: "r", tag, kind, layer: "bi", direction, meta: { kind, vocabulary: ["a", "b", " "] },
  });
  const index = { series: [series("bi/forward/tokens", "forward"), series("bi/backward/tokens", "backward"),
    series("bi/forward/activation", "forward", "activation")] };
  assert.equal(tokenSeriesOf(index, { run: "r", layer: "bi", direction: "backward" }).tag, "bi/backward/tokens");
  assert.equal(tokenSeriesOf(index, { run: "other", layer: "bi", direction: null }), null);
  const fetched = [];
  const api = {
    steps: async () => ({ steps: [5, 15] }),
    tensor: async (run, tag, step) => {
      fetched.push(step);
      return { shape: [1, 3], data: Float32Array.from(step === 5 ? [0, 1, 2] : [1, 1, 1]) };
    },
  };
  const activation = index.series[2];
  for (const [step, expected] of [[10, 5], [2, 5], [15, 15], [99, 15]]) {
    const result = await loadTokens(api, index, activation, step);
    assert.equal(result.value.step, expected);
  }
  assert.deepEqual(fetched, [5, 5, 15, 15]);
  // The readout shows the tokens loaded last, blanks made visible; none for a mean.
  await loadTokens(api, index, activation, 5);
  assert.deepEqual(tokenRows(activation, 0, 2), [["token", "\u00b7"]]);
  assert.deepEqual(tokenRows(activation, null, 2), []);
  assert.deepEqual(tokenRows(activation, 0, 3), []);
  const none = await loadTokens(api, { series: [] }, activation, 5);
  assert.equal(none.value, null);
});
