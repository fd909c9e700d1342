// Panel export encoders: CSV of one sample, NumPy .npy of a whole tensor,
// file names. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { csvOf, csvValue, exportName, npyOf } from "../../frontend/draw/export.js";

const tensor = {
  shape: [2, 3, 2],
  data: Float32Array.from([0.1, -2, NaN, Infinity, -Infinity, 1e-8, 5, 6, 7, 8, 9, 10]),
};

test("CSV: header of channel indices, a timestep column, nan/inf/-inf, float32 precision", () => {
  assert.equal(csvOf(tensor, 0), "timestep,0,1\n0,0.100000001,-2\n1,nan,inf\n2,-inf,9.99999994e-9\n");
  assert.equal(csvOf(tensor, 1), "timestep,0,1\n0,5,6\n1,7,8\n2,9,10\n");
  // 9 significant digits give back the exact float32.
  for (const v of [0.1, 1 / 3, 123456.789, -7.654321e-20, 3.4e38]) {
    const f = Math.fround(v);
    assert.equal(Math.fround(Number(csvValue(f))), f, String(v));
  }
});

test(".npy: NumPy 1.0 header padded to 64 bytes, little endian float32 data", () => {
  const bytes = npyOf(tensor);
  assert.deepEqual([...bytes.slice(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes[8] | (bytes[9] << 8);
  assert.equal((10 + headerLength) % 64, 0);
  const header = new TextDecoder("latin1").decode(bytes.slice(10, 10 + headerLength));
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 2\), \} *\n$/);
  assert.equal(bytes.length, 10 + headerLength + 4 * 12);
  const view = new DataView(bytes.buffer, 10 + headerLength);
  assert.equal(view.getFloat32(0, true), Math.fround(0.1));
  assert.ok(Number.isNaN(view.getFloat32(8, true)));
  assert.equal(view.getFloat32(12, true), Infinity);
  assert.equal(view.getFloat32(44, true), 10);
  const one = new TextDecoder("latin1").decode(npyOf({ shape: [3], data: new Float32Array(3) }).slice(10, 128));
  assert.match(one, /'shape': \(3,\), \}/);
});

test("file names: parts joined, unsafe characters replaced, empty parts left out", () => {
  assert.equal(exportName(["run a/1", "lstm", null, "state_gradient", "step20", "sample0"], "csv"),
    "run-a-1_lstm_state_gradient_step20_sample0.csv");
  assert.equal(exportName(["../x", "", "kind"], "npy"), "x_kind.npy");
});
