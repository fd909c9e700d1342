// The gradient horizon's pure parts: rows and lags, lag stacking, lag
// bands, binning to pixels, labels and timescales. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bandOf, binnedBars, binnedRow, decayTimescale, defaultRow, horizonMatrix, labelRow, lagBands,
  quartiles, sampleNotLogged, segmentAt, SINGLE_LAGS, stackColumns, targetsOf, tokenText, valueTicks, yTops,
} from "../../frontend/views/horizon_model.js";
import { fitDecay } from "../../frontend/data/profiles.js";

/** G[t, j] = a^(t - j) for j <= t (a forward layer), every t a loss. */
function geometric(T, a) {
  const m = new Float64Array(T * T);
  for (let t = 0; t < T; t++) for (let j = 0; j <= t; j++) m[t * T + j] = a ** (t - j);
  return m;
}

test("targets: null is every timestep; a list must match the rows", () => {
  assert.deepEqual(targetsOf({ targets: null }, 3), [0, 1, 2]);
  assert.deepEqual(targetsOf({ targets: [9] }, 1), [9]);
  assert.equal(targetsOf({ targets: [1, 2] }, 3), null);
});

test("matrix: one sample, or the mean over samples of finite values", () => {
  const tensor = { shape: [2, 1, 3], data: Float32Array.from([1, 2, 3, 3, NaN, 5]) };
  assert.deepEqual(Array.from(horizonMatrix(tensor, 1)), [3, NaN, 5]);
  assert.deepEqual(Array.from(horizonMatrix(tensor, 7)), [3, NaN, 5]); // clamped
  assert.deepEqual(Array.from(horizonMatrix(tensor, "mean")), [2, 2, 4]);
});

test("stacking: one segment per loss t >= j, sorted by lag, sums equal the column", () => {
  const T = 5;
  const a = 0.5;
  const stack = stackColumns(geometric(T, a), [0, 1, 2, 3, 4], T, false);
  assert.equal(stack.columns.length, T);
  assert.equal(stack.maxLag, 4);
  for (const { j, total, segments } of stack.columns) {
    assert.deepEqual(segments.map((s) => s.t), Array.from({ length: T - j }, (_, i) => j + i));
    assert.deepEqual(segments.map((s) => s.lag), Array.from({ length: T - j }, (_, i) => i));
    let expected = 0;
    for (let t = j; t < T; t++) expected += a ** (t - j);
    assert.ok(Math.abs(total - expected) < 1e-12);
    // Segments stack without gaps.
    for (let i = 1; i < segments.length; i++) {
      assert.ok(Math.abs(segments[i].start - segments[i - 1].start - segments[i - 1].value) < 1e-12);
    }
  }
  // Height 0.6 in column 0 (segments 1, 0.5, ...) is in the lag-0 segment; 1.2 in lag 1.
  assert.equal(segmentAt(stack.columns[0], 0.6).lag, 0);
  assert.equal(segmentAt(stack.columns[0], 1.2).lag, 1);
  assert.equal(segmentAt(stack.columns[0], 99), null);
});

test("stacking backward: lags count j - t, zeros on the other side dropped", () => {
  const T = 3;
  const m = new Float64Array(T * T);
  for (let t = 0; t < T; t++) for (let j = t; j < T; j++) m[t * T + j] = 1 + j - t;
  const stack = stackColumns(m, [0, 1, 2], T, true);
  assert.deepEqual(stack.columns[0].segments.map((s) => [s.t, s.lag]), [[0, 0]]);
  assert.deepEqual(stack.columns[2].segments.map((s) => [s.t, s.lag, s.value]), [[2, 0, 1], [1, 1, 2], [0, 2, 3]]);
  assert.equal(defaultRow([0, 1, 2], true), 0);
  assert.equal(defaultRow([0, 1, 2], false), 2);
});

test("lag bands: a colour per lag up to 20, then 1-2-5 bands", () => {
  const few = lagBands(4);
  assert.deepEqual(few.map((b) => b.label), ["0", "1", "2", "3", "4"]);
  assert.equal(new Set(few.map((b) => b.color)).size, 5);
  const many = lagBands(999);
  assert.deepEqual(many.slice(SINGLE_LAGS).map((b) => b.label),
    ["20\u201329", "30\u201349", "50\u201399", "100\u2013199", "200\u2013499", "500\u2013999"]);
  assert.equal(bandOf(many, 7), 7);
  assert.equal(bandOf(many, 20), 20);
  assert.equal(bandOf(many, 49), 21);
  assert.equal(bandOf(many, 120), 23);
  assert.equal(bandOf(many, 999), many.length - 1);
  assert.deepEqual(lagBands(25).slice(SINGLE_LAGS).map((b) => b.label), ["20\u201325"]);
  assert.match(many[0].color, /^#[0-9a-f]{6}$/);
});

test("binning: 1000 timesteps to 400 bars keep the mean of each band", () => {
  const T = 1000;
  const targets = [T - 1];
  const m = new Float64Array(T).fill(2); // one loss, G = 2 everywhere
  const stack = stackColumns(m, targets, T, false);
  const bands = lagBands(stack.maxLag);
  const bars = binnedBars(stack, bands, 400);
  assert.equal(bars.length, 400);
  assert.equal(bars[0].j0, 0);
  assert.equal(bars[399].j1, T);
  for (const bar of bars) {
    assert.ok(Math.abs(bar.total - 2) < 1e-12);
    const parts = Array.from(bar.parts).filter((v) => v > 0);
    assert.ok(parts.length >= 1);
  }
  // The first bar (j 0..1) holds lags 998-999: the last band.
  assert.ok(bars[0].parts[bands.length - 1] > 0);
  const row = binnedRow(m, 0, T, bars.map((b) => [b.j0, b.j1]));
  assert.ok(row.every((v) => v === 2));
});

test("labels: one sample's classes, or the share right over samples", () => {
  // 2 samples, 3 timesteps: [true, predicted]
  const data = Float32Array.from([1, 1, 2, 3, -1, -1, 1, 0, 2, 2, 4, 4]);
  const tensor = { shape: [2, 3, 2], data };
  assert.deepEqual(labelRow(tensor, 0).map((c) => c.right), [true, false, null]);
  const mean = labelRow(tensor, "mean");
  assert.deepEqual(mean.map((c) => c.share), [0.5, 0.5, 1]);
  assert.deepEqual(mean.map((c) => c.n), [2, 2, 1]);
  assert.equal(tokenText(2, ["<pad>", "a", "b"]), "b");
  assert.equal(tokenText(5, null), "5");
  assert.equal(tokenText(-1, null), "");
});

test("timescales: -1/ln r of a fitted decay; quartiles count +inf apart", () => {
  // ||dL/dh_t|| = 0.9^(T-1-t): going back one step multiplies by r = 0.9.
  const T = 30;
  const values = Float64Array.from({ length: T }, (_, t) => 0.9 ** (T - 1 - t));
  const tau = decayTimescale(fitDecay(values), false);
  assert.ok(Math.abs(tau - -1 / Math.log(0.9)) < 1e-9);
  // The same profile read by a backward layer grows back in time: no decay.
  assert.equal(decayTimescale(fitDecay(values), true), Infinity);
  assert.equal(decayTimescale(null, false), null);
  const q = quartiles([1, 2, 3, 4, 5, Infinity, NaN]);
  assert.deepEqual([q.q1, q.median, q.q3, q.finite, q.infinite], [2, 3, 4, 5, 1]);
  assert.ok(Number.isNaN(quartiles([Infinity]).median));
});

test("value ticks share one exponent per axis, never a mix like 0.01 and 5e-3", () => {
  // The review's LSTM axis: 0, 5e-3, 0.01 written each its own way.
  const gru = valueTicks(0.0085, 5);
  assert.equal(gru.multiplier, "\u00d71e-3");
  assert.deepEqual(gru.ticks.map((t) => t.label), ["0", "2", "4", "6", "8"]);
  // Judged by the largest tick (0.01, plain): every label plain, 5e-3 too.
  const lstm = valueTicks(0.0104, 5);
  assert.equal(lstm.multiplier, "");
  assert.deepEqual(lstm.ticks.map((t) => t.label), ["0", "0.005", "0.01"]);
  for (const { ticks } of [gru, lstm, valueTicks(3e-7, 4), valueTicks(4.2e5, 4)]) {
    assert.ok(ticks.every((t) => !t.label.includes("e")), ticks.map((t) => t.label).join(" "));
  }
  // Moderate magnitudes stay plain, with no multiplier.
  const plain = valueTicks(13.97, 5);
  assert.equal(plain.multiplier, "");
  assert.deepEqual(plain.ticks.map((t) => t.label), ["0", "5", "10"]);
  assert.ok(plain.ticks.every((t) => t.pos >= 0 && t.pos <= 1));
  // Too coarse a step for hi leaves only 0: finer ticks are asked for.
  assert.ok(valueTicks(1.05, 1).ticks.length >= 2);
});

test("y tops: shared is the largest over the charts, else each chart its own", () => {
  assert.deepEqual(yTops([13.9, 6.1, 0], true), [13.9, 13.9, 13.9]);
  assert.deepEqual(yTops([13.9, 6.1, 0], false), [13.9, 6.1, 1]);
  assert.deepEqual(yTops([0, NaN], true), [1, 1]);
});

test("a sample the horizon did not log is refused, not replaced", () => {
  assert.equal(sampleNotLogged(99, 8), "This run has 8 sample(s); sample 99 is not logged.");
  assert.equal(sampleNotLogged(8, 8), "This run has 8 sample(s); sample 8 is not logged.");
  assert.equal(sampleNotLogged(7, 8), "");
  assert.equal(sampleNotLogged("mean", 8), "");
});
