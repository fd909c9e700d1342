// The run palette: the first runs, the usual comparison, must not look alike.

import assert from "node:assert/strict";
import { test } from "node:test";

import { RUN_COLORS, runColor } from "../../frontend/draw/run_colors.js";

function hue(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

test("the first five run colours differ in hue by at least 25 degrees", () => {
  const first = RUN_COLORS.slice(0, 5);
  for (let i = 0; i < first.length; i++) {
    for (let j = i + 1; j < first.length; j++) {
      const a = hue(first[i]);
      const b = hue(first[j]);
      const distance = Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
      assert.ok(distance >= 25, `${first[i]} and ${first[j]}: ${distance.toFixed(0)} degrees apart`);
    }
  }
});

test("a run keeps its colour by its place among all runs; past the palette it cycles", () => {
  const runs = Array.from({ length: 12 }, (_, i) => `run${i}`);
  assert.equal(runColor("run2", runs), RUN_COLORS[2]);
  assert.equal(runColor("run11", runs), RUN_COLORS[1]);
  assert.equal(runColor("unknown", runs), RUN_COLORS[0]);
});
