// The heatmap's hot paths against slow, obvious versions of the same thing.
import assert from "node:assert/strict";
import test from "node:test";

import { divergingInto, divergingPixels, MASK_RGB } from "../../frontend/draw/colormap.js";
import { aggregateCells, heatmapLayout } from "../../frontend/draw/heatmap.js";
import { binEdges, makeScale, maxAbsSigned } from "../../frontend/draw/scales.js";

function randomTensor(samples, T, C, seed) {
  let x = seed;
  const data = new Float32Array(samples * T * C);
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    data[i] = (x / 2147483648 - 0.5) * 10 ** -(x % 5);
  }
  return data;
}

/** Each bin's value straight from the definition, via maxAbsSigned. */
function slowCells(view, layout) {
  const values = new Float64Array(layout.cols * layout.rows);
  const tBins = binEdges(layout.nT, layout.cols);
  const cBins = binEdges(layout.nC, layout.rows);
  tBins.forEach(([ta, tb], i) => cBins.forEach(([ca, cb], j) => {
    const bin = [];
    for (let t = layout.t0 + ta; t < layout.t0 + tb; t++) {
      if (view.mask && !view.mask[t]) continue;
      for (let c = layout.c0 + ca; c < layout.c0 + cb; c++) bin.push(view.data[view.offset + t * view.C + c]);
    }
    values[j * layout.cols + i] = maxAbsSigned(bin);
  }));
  return values;
}

test("aggregateCells equals the max-|v| definition, with NaN, +-Inf, masks and zoom", () => {
  const [S, T, C] = [2, 300, 70];
  const data = randomTensor(S, T, C, 7);
  const offset = T * C;
  data[offset + 5 * C + 3] = NaN;
  data[offset + 9 * C + 3] = Infinity;
  data[offset + 100 * C + 50] = -Infinity;
  const mask = new Uint8Array(T).fill(1);
  mask.fill(0, 250);
  for (const [view, win, maxW, maxH] of [
    [{ data, offset, T, C, mask: null }, null, 120, 30],
    [{ data, offset, T, C, mask }, null, 97, 13],
    [{ data, offset, T, C, mask }, { t0: 40, t1: 290, c0: 2, c1: 60 }, 64, 20],
    [{ data, offset: 0, T, C, mask: null }, { t0: 3, t1: 8, c0: 1, c1: 4 }, 400, 300],
  ]) {
    const layout = heatmapLayout(T, C, maxW, maxH, win);
    const { values, colMasked } = aggregateCells(view, layout);
    assert.deepEqual(Array.from(values), Array.from(slowCells(view, layout)));
    const tBins = binEdges(layout.nT, layout.cols);
    const expectMasked = tBins.map(([a, b]) => {
      for (let t = layout.t0 + a; t < layout.t0 + b; t++) if (!view.mask || view.mask[t]) return 0;
      return 1;
    });
    assert.deepEqual(Array.from(colMasked), expectMasked);
  }
});

test("divergingPixels colours as divergingInto does (within the table's rounding), masks grey", () => {
  const values = Float64Array.from([-2, -1, -0.4, 0, 1e-3, 0.33, 0.9, 5, NaN, Infinity, -Infinity, 0.5]);
  const cols = 4;
  const colMasked = Uint8Array.from([0, 0, 0, 1]);
  for (const kind of ["linear", "symlog"]) {
    const scale = makeScale(kind, 1, 1e-4);
    const px = new Uint8ClampedArray(values.length * 4);
    divergingPixels(scale.normAll(values), colMasked, cols, px);
    values.forEach((v, k) => {
      const want = [0, 0, 0];
      if (colMasked[k % cols]) want.splice(0, 3, ...MASK_RGB);
      else divergingInto(scale.norm(v), 1, want, 0);
      const got = Array.from(px.subarray(4 * k, 4 * k + 3));
      got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1, `${kind} ${v}: ${got} vs ${want}`));
      assert.equal(px[4 * k + 3], 255);
    });
  }
});
