// The weights view's pure layout: cells and matrix order, rank > 2 kernels
// flattened into rows, gate segments, columns fitted to pixels gate by gate
// (no pixel mixes two gates), max-|v| binning with NaN/Inf winning, scale
// ranges shared by runs.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  aggregationText, asMatrix, binMatrix, cellSlots, colorBarTicks, columnBinAt, fitColumns, fitRows, gateSegments,
  nonFiniteNote, pixelRanges, rangeTicks, rowText, scaleRanges, valueStats,
} from "../../frontend/views/weights_layout.js";

const LSTM_GATES = (u) => ["i", "f", "c", "o"].map((name, k) => ({ name, start: k * u, stop: (k + 1) * u }));

function weightSeries(matrix, { direction = null, cellIndex = null, rank = 2, gates = LSTM_GATES(4) } = {}) {
  const axes = rank === 1 ? ["column"] : [...Array(rank - 2).keys()].map((k) => `kernel_${k}`).concat(["row", "column"]);
  return {
    run: "r", tag: `gru/${direction || ""}/${matrix}/weight`, kind: "weight", direction, cellIndex,
    meta: { matrix, gates, axes },
  };
}

test("cellSlots: one slot per direction and cell, kernels then biases as strips", () => {
  const series = [
    weightSeries("recurrent_bias", { direction: "forward", rank: 1 }),
    weightSeries("recurrent_kernel", { direction: "forward" }),
    weightSeries("input_bias", { direction: "forward", rank: 1 }),
    weightSeries("kernel", { direction: "forward" }),
    weightSeries("kernel", { direction: "backward" }),
  ];
  const slots = cellSlots(series);
  assert.deepEqual(slots.map((s) => s.direction), ["forward", "backward"]);
  assert.deepEqual(slots[0].plots.map((p) => p.matrix), ["kernel", "recurrent_kernel"]);
  assert.deepEqual(slots[0].strips.map((p) => p.matrix), ["input_bias", "recurrent_bias"]);
  assert.deepEqual(slots[1].plots.map((p) => p.matrix), ["kernel"]);
  const stacked = cellSlots([weightSeries("kernel", { cellIndex: 1 }), weightSeries("kernel", { cellIndex: 0 })]);
  assert.equal(stacked.length, 2);
});

test("asMatrix flattens a ConvLSTM kernel's spatial axes into rows, row-major", () => {
  // [3, 2, 5, 8]: 3 x 2 kernel positions, 5 input channels, 8 columns.
  const m = asMatrix([3, 2, 5, 8], new Float32Array(3 * 2 * 5 * 8));
  assert.equal(m.rows, 30);
  assert.equal(m.cols, 8);
  assert.deepEqual(m.spatial, [3, 2]);
  // Row of position [2, 1], channel 4: (2 * 2 + 1) * 5 + 4 = 29.
  assert.equal(rowText(m, 29), "29 (kernel position [2, 1], input channel 4)");
  assert.equal(rowText(m, 7), "7 (kernel position [0, 1], input channel 2)");
  const bias = asMatrix([12], new Float32Array(12));
  assert.deepEqual([bias.rows, bias.cols], [1, 12]);
  assert.equal(rowText(asMatrix([4, 6], new Float32Array(24)), 3), "3");
});

test("gateSegments covers every column: gaps unnamed, bad gates dropped, null whole", () => {
  assert.deepEqual(gateSegments(null, 10), [{ name: null, start: 0, stop: 10 }]);
  assert.deepEqual(gateSegments([{ name: "a", start: 2, stop: 5 }, { name: "b", start: 4, stop: 9 }, { name: "c", start: 8, stop: 12 }], 10), [
    { name: null, start: 0, stop: 2 }, { name: "a", start: 2, stop: 5 }, { name: null, start: 5, stop: 10 },
  ]);
  assert.deepEqual(gateSegments(LSTM_GATES(3), 12).map((s) => s.name), ["i", "f", "c", "o"]);
});

test("pixelRanges: every item in one pixel, none empty, also when upsampling", () => {
  const r = pixelRanges(10, 3);
  assert.deepEqual(r, [[0, 3], [3, 6], [6, 10]]);
  const up = pixelRanges(2, 4);
  assert.deepEqual(up, [[0, 1], [0, 1], [1, 2], [1, 2]]);
});

test("fitColumns without aggregation: whole pixels per column, gaps between gates", () => {
  const fit = fitColumns(16, gateSegments(LSTM_GATES(4), 16), 400, 24, 4);
  assert.equal(fit.aggregated, false);
  assert.equal(fit.cellW, 24);
  assert.deepEqual(fit.spans.map((s) => [s.x0, s.x1]), [[0, 96], [100, 196], [200, 296], [300, 396]]);
  assert.deepEqual(fit.separators, [98, 198, 298]);
  assert.equal(fit.plotW, 396);
  assert.equal(fit.cols, 16);
});

test("fitColumns of a 1024-column recurrent kernel in 300 px: each pixel inside one gate", () => {
  const segments = gateSegments(LSTM_GATES(256), 1024);
  const fit = fitColumns(1024, segments, 300, 24, 4);
  assert.equal(fit.aggregated, true);
  assert.equal(fit.plotW, 300 + 3 * 4);
  assert.equal(fit.cols, 300);
  assert.deepEqual(fit.spans.map((s) => s.x1 - s.x0), [75, 75, 75, 75]);
  for (const s of fit.spans) {
    const mine = fit.bins.slice(s.firstBin, s.firstBin + s.bins);
    assert.equal(mine[0][0], s.start);
    assert.equal(mine[mine.length - 1][1], s.stop);
    for (const [a, b] of mine) assert.ok(a >= s.start && b <= s.stop && b > a);
    // Contiguous: every column in exactly one pixel.
    for (let k = 1; k < mine.length; k++) assert.equal(mine[k][0], mine[k - 1][1]);
  }
});

test("fitColumns fills the width with narrow columns, exactly", () => {
  const fit = fitColumns(128, gateSegments(LSTM_GATES(32), 128), 368, 24, 4);
  assert.equal(fit.aggregated, false);
  assert.equal(fit.cellW, 368 / 128);
  assert.equal(fit.plotW, 368 + 12);
  assert.equal(fit.cols, 128);
  assert.equal(fit.spans[1].x0, 32 * fit.cellW + 4);
});

test("columnBinAt: the column under x, none in the gaps between gates", () => {
  const fit = fitColumns(16, gateSegments(LSTM_GATES(4), 16), 400, 24, 4);
  assert.deepEqual(fit.bins[columnBinAt(fit, 0)], [0, 1]);
  assert.deepEqual(fit.bins[columnBinAt(fit, 95.9)], [3, 4]);
  assert.equal(columnBinAt(fit, 97), null); // the gap, where the separator is
  assert.deepEqual(fit.bins[columnBinAt(fit, 100)], [4, 5]);
  assert.equal(columnBinAt(fit, 396), null);
  const big = fitColumns(1024, gateSegments(LSTM_GATES(256), 1024), 300, 24, 4);
  // Just right of the first separator: the f gate's first columns.
  const first = big.bins[columnBinAt(big, big.separators[0] + 2.5)];
  assert.equal(first[0], 256);
});

test("fitColumns with unequal segments shares the width by columns", () => {
  const fit = fitColumns(1000, [{ name: "a", start: 0, stop: 100 }, { name: "b", start: 100, stop: 1000 }], 200);
  assert.deepEqual(fit.spans.map((s) => s.x1 - s.x0), [20, 180]);
});

test("fitRows: whole pixels when they fit, else binned to the height", () => {
  assert.deepEqual([fitRows(20, 260).cellH, fitRows(20, 260).plotH], [12, 240]);
  const big = fitRows(1000, 260);
  assert.equal(big.aggregated, true);
  assert.equal(big.rows, 260);
  assert.equal(big.bins[259][1], 1000);
  const strip = fitRows(2, 36, 18, 18);
  assert.deepEqual([strip.cellH, strip.plotH, strip.aggregated], [18, 36, false]);
});

test("binMatrix keeps the largest |v| with its sign; NaN then Inf win", () => {
  const m = asMatrix([2, 4], Float32Array.from([1, -3, 2, 0.5, NaN, 1, -Infinity, 100]));
  const out = binMatrix(m, [[0, 1], [1, 2]], [[0, 2], [2, 4]]);
  assert.deepEqual(Array.from(out), [-3, 2, NaN, -Infinity]);
  const all = binMatrix(m, [[0, 2]], [[0, 4]]);
  assert.ok(Number.isNaN(all[0]));
  const inf = binMatrix(asMatrix([1, 3], Float32Array.from([5, Infinity, -7])), [[0, 1]], [[0, 3]]);
  assert.equal(inf[0], Infinity);
});

test("valueStats counts non-finite cells apart from the finite range", () => {
  const s = valueStats(Float32Array.from([1, -4, NaN, Infinity, -Infinity, Infinity]));
  assert.deepEqual(s, { maxAbs: 4, nan: 1, posInf: 2, negInf: 1, zero: false });
  assert.equal(valueStats(new Float32Array(3)).zero, true);
  assert.equal(nonFiniteNote(s), "1 NaN cell (magenta), 2 +Inf cells (black), 1 \u2212Inf cell (green)");
  assert.equal(nonFiniteNote(valueStats(new Float32Array(2))), "");
});

test("scaleRanges: per matrix shared by runs, or one for all; zero becomes 1", () => {
  const items = [
    { key: "a|k", group: "k", maxAbs: 0.5 }, { key: "b|k", group: "k", maxAbs: 2 },
    { key: "a|bias", group: "bias", maxAbs: 1 }, { key: "a|z", group: "z", maxAbs: 0 },
  ];
  const per = scaleRanges(items, "signed");
  assert.equal(per.get("a|k"), 2);
  assert.equal(per.get("b|k"), 2);
  assert.equal(per.get("a|bias"), 1);
  assert.equal(per.get("a|z"), 1);
  const all = scaleRanges(items, "signed-all");
  assert.deepEqual([...all.values()], [2, 2, 2, 2]);
});

test("colour bar ticks span the range, 0 in the middle of a signed bar", () => {
  const signed = colorBarTicks("signed", 0.8);
  assert.equal(signed[0].value, -0.8);
  assert.equal(signed[signed.length - 1].value, 0.8);
  const zero = signed.find((t) => t.value === 0);
  assert.equal(zero.pos, 0.5);
  assert.equal(zero.label, "0");
  const abs = colorBarTicks("abs", 3e-5);
  assert.equal(abs[0].value, 0);
  assert.equal(abs[abs.length - 1].pos, 1);
  assert.ok(abs.every((t, k) => k === 0 || t.value > abs[k - 1].value));
  assert.deepEqual(rangeTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
});

test("aggregationText says what was grouped, or nothing", () => {
  const m = asMatrix([256, 1024], new Float32Array(256 * 1024));
  const cols = fitColumns(1024, gateSegments(LSTM_GATES(256), 1024), 300, 24, 4);
  const rows = fitRows(256, 260);
  assert.match(aggregationText(m, cols, rows), /^Aggregated: 1024 columns in 300 px \(gate by gate\)/);
  const small = asMatrix([4, 16], new Float32Array(64));
  assert.equal(aggregationText(small, fitColumns(16, gateSegments(null, 16), 400), fitRows(4, 260)), "");
});
