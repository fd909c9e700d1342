// The Sample control's reductions over the probe batch: mean and mean |v|
// with NaN left out and masked timesteps, one sample, every sample.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  allSamplesView, meanOverSamples, panelView, parseSampleNumber, sampleLabel, sampleRangeError,
  splitSample,
} from "../../frontend/data/samples.js";

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);
const at = (view, t, c) => view.data[view.offset + t * view.C + c];

/** A [S, T, C] tensor with value f(s, t, c). */
function tensorOf(S, T, C, f) {
  const data = new Float32Array(S * T * C);
  for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) {
    data[(s * T + t) * C + c] = f(s, t, c);
  }
  return { shape: [S, T, C], data };
}

test("mean and mean |v| over samples, per timestep and channel", () => {
  const tensor = tensorOf(3, 2, 2, (s, t, c) => (s - 1) * (t + 1) + c * 0.5);
  const mean = meanOverSamples(tensor, null);
  const meanAbs = meanOverSamples(tensor, null, true);
  // s - 1 in {-1, 0, 1}: the mean is c * 0.5; |v| averages differently.
  close(at(mean, 1, 0), 0);
  close(at(mean, 1, 1), 0.5);
  close(at(meanAbs, 1, 0), (2 + 0 + 2) / 3);
  close(at(meanAbs, 0, 1), (0.5 + 0.5 + 1.5) / 3);
  assert.equal(mean.mask, null);
  assert.equal(mean.samples, 3);
});

test("NaN is left out of the mean; all-NaN stays NaN; Inf propagates", () => {
  const tensor = tensorOf(3, 1, 4, (s, t, c) => {
    if (c === 0) return s === 1 ? NaN : s + 1; // (1 + 3) / 2
    if (c === 1) return NaN;
    if (c === 2) return s === 0 ? Infinity : -1;
    return s === 0 ? Infinity : s === 1 ? -Infinity : 0;
  });
  const mean = meanOverSamples(tensor, null);
  close(at(mean, 0, 0), 2);
  assert.ok(Number.isNaN(at(mean, 0, 1)));
  assert.equal(at(mean, 0, 2), Infinity);
  assert.ok(Number.isNaN(at(mean, 0, 3)));
  assert.equal(mean.nanCells, 1);
  const meanAbs = meanOverSamples(tensor, null, true);
  assert.equal(at(meanAbs, 0, 3), Infinity);
});

test("masks: a timestep masked in every sample is masked; else unmasked samples only", () => {
  const tensor = tensorOf(2, 3, 1, (s, t) => (s === 0 ? 10 : -4) + t);
  // t=0 both unmasked, t=1 only sample 1, t=2 neither.
  const mask = { shape: [2, 3], data: Float32Array.from([1, 0, 0, 1, 1, 0]) };
  const mean = meanOverSamples(tensor, mask);
  assert.deepEqual(Array.from(mean.mask), [1, 1, 0]);
  close(at(mean, 0, 0), 3);
  close(at(mean, 1, 0), -3);
  const meanAbs = meanOverSamples(tensor, mask, true);
  close(at(meanAbs, 0, 0), 7);
  close(at(meanAbs, 1, 0), 3);
});

test("panelView: one sample, out of range, all samples split back", () => {
  const tensor = tensorOf(2, 3, 2, (s, t, c) => 100 * s + 10 * t + c);
  const mask = { shape: [2, 3], data: Float32Array.from([1, 1, 0, 1, 0, 0]) };
  const one = panelView(tensor, mask, "sample", 1).view;
  assert.equal(at(one, 2, 1), 121);
  assert.deepEqual(Array.from(one.mask), [1, 0, 0]);
  assert.match(panelView(tensor, null, "sample", 2).error, /2 sample\(s\); sample 2 is not logged/);
  const all = allSamplesView(tensor, mask);
  assert.equal(all.T, 6);
  const second = splitSample(all, 1);
  assert.equal(at(second, 1, 0), 110);
  assert.deepEqual(Array.from(second.mask), [1, 0, 0]);
  assert.equal(at(panelView(tensor, null, "mean", 5).view, 0, 0), 50);
});

test("sample number input: reasons for what is not a sample number", () => {
  assert.deepEqual(parseSampleNumber("3"), { value: 3 });
  assert.match(parseSampleNumber("1.5").error, /not a whole number/);
  assert.match(parseSampleNumber("-1").error, /numbered from 0/);
  assert.match(parseSampleNumber("").error, /enter a sample number/);
  assert.match(parseSampleNumber("x").error, /not a number/);
  assert.equal(sampleRangeError(3, 4), "");
  assert.match(sampleRangeError(4, 4), /samples 0\u20133/);
  assert.match(sampleRangeError(1, 1), /only sample 0/);
  assert.equal(sampleLabel("meanAbs", 0, 8), "mean |v| over 8 samples");
  assert.equal(sampleLabel("sample", 2, 8), "sample 2");
});

test("all-samples grid: fits the width, about square, fills its rows", async () => {
  const { gridLayout, smallLayout } = await import("../../frontend/views/samples.js");
  for (const [samples, width] of [[1, 500], [4, 470], [8, 470], [16, 1100], [64, 470], [7, 300]]) {
    const g = gridLayout(samples, width);
    assert.ok(g.cols * g.cellW + 10 * (g.cols - 1) <= width, JSON.stringify([samples, width, g]));
    assert.ok(g.cols * g.rows >= samples && g.cols <= samples);
  }
  assert.equal(gridLayout(4, 470).cols, 2);
  assert.equal(gridLayout(8, 470).cols, 4);
  assert.equal(gridLayout(16, 1100).cols, 4);
  const small = smallLayout(100, 128, 110, 66);
  assert.equal(small.plotW, 108);
  assert.ok(small.aggC && !small.aggT);
  close(small.cellW * 100, 108, 1e-9);
});
