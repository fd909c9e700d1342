// The loss strip's axes (frontend/shell/loss_strip.js): when the y axis
// turns logarithmic, its ticks, and which logged step a pointer is nearest.
// tests/test_browser_loss.py checks what the strip draws. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { LOG_SPAN, nearestStep, yPos, yRange, yTicks } from "../../frontend/shell/loss_strip.js";

test("a loss spanning two decades gets a log axis, NaN left out", () => {
  const range = yRange([2.3, 0.5, NaN, 0.02]);
  assert.equal(range.log, true);
  assert.equal(2.3 / 0.02 >= LOG_SPAN, true);
  // A fifth of a decade of room on either side.
  assert.ok(Math.abs(yPos(range, 0.02) - 0.2 / (Math.log10(115) + 0.4)) < 1e-9);
  assert.ok(yPos(range, 2.3) < 1 && yPos(range, 2.3) > 0.8);
  assert.deepEqual(yTicks(range, 110).map((t) => t.label), ["0.1", "1"]);
});

test("a loss within a decade stays linear, padded, not below 0 when none is", () => {
  const range = yRange([1.0, 2.0]);
  assert.equal(range.log, false);
  assert.ok(range.lo < 1 && range.lo >= 0 && range.hi > 2);
  const labels = yTicks(range, 110).map((t) => t.label);
  assert.ok(labels.includes("1") && labels.includes("2"), labels.join());
  assert.equal(yRange([0, 1]).lo, 0);
  assert.equal(yRange([NaN]), null);
  const flat = yRange([0.7, 0.7]);
  assert.ok(flat.lo < 0.7 && flat.hi > 0.7);
});

test("the pointer selects the nearest logged step", () => {
  assert.equal(nearestStep([0, 10, 20, 30], 14), 10);
  assert.equal(nearestStep([0, 10, 20, 30], 16), 20);
  assert.equal(nearestStep([0, 10], -5), 0);
  assert.equal(nearestStep([], 3), null);
});
