// Scales: linear and symlog positions, the linear threshold chosen from
// the data, ticks, the one number format, and the binning heatmaps use
// when there are more timesteps or channels than pixels.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { fmt, fmtTick, formatShared, multiplierText } from "../../frontend/draw/format.js";
import { binEdges, chooseLinthresh, makeScale, MAX_DECADES, maxAbsSigned, niceStep, parseRangeMax, scaleName, scaleTicks } from "../../frontend/draw/scales.js";

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("linear maps [-vmax, vmax] to [-1, 1], clips beyond, passes NaN/Inf", () => {
  const s = makeScale("linear", 2);
  close(s.norm(1), 0.5);
  close(s.norm(-2), -1);
  close(s.norm(5), 1);
  assert.ok(Number.isNaN(s.norm(NaN)));
  assert.equal(s.norm(Infinity), Infinity);
  assert.equal(s.linthresh, null);
});

test("all values 0: the scale maps everything to 0 and ticks only 0", () => {
  for (const kind of ["linear", "symlog"]) {
    const s = makeScale(kind, 0);
    assert.equal(s.norm(0), 0);
    assert.deepEqual(scaleTicks(s, 300).map((t) => t.label), ["0"]);
  }
});

test("linthresh is the smallest nonzero |v|, floored MAX_DECADES below vmax", () => {
  close(chooseLinthresh(1, 1e-9), 1e-9, 1e-24);
  close(chooseLinthresh(1, 1e-30), 10 ** -MAX_DECADES, 1e-27);
  close(chooseLinthresh(1, NaN), 10 ** -MAX_DECADES, 1e-27);
  assert.equal(chooseLinthresh(1, 5), 1); // never above vmax
});

test("symlog: sign kept, one equal step per decade, small values visible", () => {
  const s = makeScale("symlog", 1, 1e-10);
  close(s.norm(1), 1);
  close(s.norm(-1), -1);
  assert.equal(s.norm(0), 0);
  // A decaying gradient 10^(-t/100): t=900 is 1e-9, still well off zero.
  assert.ok(s.norm(1e-9) > 0.09, String(s.norm(1e-9)));
  assert.ok(makeScale("linear", 1).norm(1e-9) < 1e-8);
  // Equal steps per decade (well above linthresh).
  close(s.norm(1e-2) - s.norm(1e-3), s.norm(1e-3) - s.norm(1e-4), 1e-3);
  close(s.norm(-1e-3), -s.norm(1e-3));
  assert.ok(s.norm(1e-3) < s.norm(2e-3));
});

test("symlog ticks are 0, +-vmax and powers of ten, spaced and ordered", () => {
  const s = makeScale("symlog", 1, 1e-10);
  const ticks = scaleTicks(s, 480, 44);
  const values = ticks.map((t) => t.value);
  assert.deepEqual([...values].sort((a, b) => a - b), values);
  assert.ok(values.includes(0) && values.includes(1) && values.includes(-1));
  for (const v of values) {
    if (v === 0 || Math.abs(v) === 1) continue;
    const e = Math.log10(Math.abs(v));
    close(e, Math.round(e), 1e-9);
  }
  const px = ticks.map((t) => ((t.pos + 1) / 2) * 480);
  for (let i = 1; i < px.length; i++) assert.ok(px[i] - px[i - 1] >= 44 * 0.6 - 1e-9, `${px}`);
  assert.ok(ticks.some((t) => t.label === "1e-6" || t.label === "1e-5" || t.label === "1e-4"), String(ticks.map((t) => t.label)));
});

test("linear ticks: 1-2-5 steps, ends labelled with the panel's format", () => {
  const s = makeScale("linear", 2.6);
  const ticks = scaleTicks(s, 240, 22);
  assert.equal(ticks[0].label, "-2.6");
  assert.equal(ticks[ticks.length - 1].label, "2.6");
  assert.ok(ticks.some((t) => t.value === 1));
  // Only the ends and 0 when there is room for little else.
  assert.deepEqual(scaleTicks(s, 200, 200).map((t) => t.label), ["-2.6", "0", "2.6"]);
});

test("number format: short, exponent for tiny and huge, powers of ten as 1eN", () => {
  assert.equal(fmt(0), "0");
  assert.equal(fmt(1.23456), "1.23");
  assert.equal(fmt(-0.000012345), "-1.23e-5");
  assert.equal(fmt(NaN), "NaN");
  assert.equal(fmt(-Infinity), "-Inf");
  assert.equal(fmtTick(1e-7), "1e-7");
  assert.equal(fmtTick(-1e-7), "-1e-7");
  assert.equal(fmtTick(0.01), "0.01");
  assert.equal(niceStep(0.3), 0.5);
  assert.equal(niceStep(7), 10);
  assert.match(scaleName(makeScale("symlog", 1, 1e-9)), /symlog.*below 1e-9\)/);
  assert.equal(scaleName(makeScale("linear", 1)), "linear");
});

test("binEdges covers every item once, in at most `slots` bins", () => {
  assert.deepEqual(binEdges(3, 10), [[0, 1], [1, 2], [2, 3]]);
  const bins = binEdges(1000, 222);
  assert.equal(bins.length, 222);
  assert.equal(bins[0][0], 0);
  assert.equal(bins[221][1], 1000);
  for (let i = 1; i < bins.length; i++) assert.equal(bins[i][0], bins[i - 1][1]);
});

test("maxAbsSigned keeps the sign of the largest |v|; NaN wins", () => {
  assert.equal(maxAbsSigned([0.1, -3, 2]), -3);
  assert.ok(Number.isNaN(maxAbsSigned([1, NaN])));
  assert.equal(maxAbsSigned([1, -Infinity]), -Infinity);
});

test("one format: plain for moderate magnitudes, scientific otherwise, no trailing zeros", () => {
  assert.equal(fmt(0.5), "0.5");
  assert.equal(fmt(0.0123), "0.0123");
  assert.equal(fmt(1234.5), "1235"); // integer digits are kept
  assert.equal(fmt(0.005), "5e-3");
  assert.equal(fmt(0.0025), "2.5e-3");
  assert.equal(fmt(12345), "1.23e4");
  assert.equal(fmt(1e-9), "1e-9");
  assert.equal(fmt(0.009996), "0.01"); // decided on the rounded value
  assert.equal(fmt(Infinity), "+Inf");
  assert.equal(fmt(1.23456789, 4), "1.235");
});

test("numbers shown together share one exponent, written once", () => {
  // Not "0.0025, 5e-3": one exponent, mantissas 0, 2.5, 5.
  assert.deepEqual(formatShared([0, 0.0025, 0.005]), { exponent: -3, labels: ["0", "2.5", "5"] });
  assert.equal(multiplierText(-3), "\u00d71e-3");
  assert.equal(multiplierText(0), "");
  assert.deepEqual(formatShared([0, 5e-5, 1e-4, 1.234e-4]), { exponent: -4, labels: ["0", "0.5", "1", "1.23"] });
  assert.deepEqual(formatShared([-2e4, 0, 2e4]), { exponent: 4, labels: ["-2", "0", "2"] });
  // Moderate: plain, no exponent.
  assert.deepEqual(formatShared([0, 0.5, 1, 2.6]), { exponent: 0, labels: ["0", "0.5", "1", "2.6"] });
  // A max that rounds up to the next decade takes that decade's exponent.
  assert.deepEqual(formatShared([0.00099999]), { exponent: -3, labels: ["1"] });
  assert.deepEqual(formatShared([NaN, 0, 3e-6]).labels, ["NaN", "0", "3"]);
});

test("linear ticks of one axis share the exponent; symlog ticks are decades", () => {
  const ticks = scaleTicks(makeScale("linear", 0.00512), 480, 60);
  assert.ok(ticks.every((t) => t.exponent === -3), JSON.stringify(ticks));
  assert.deepEqual(ticks.map((t) => t.short), ["-5.12", "-4", "-2", "0", "2", "4", "5.12"]);
  assert.deepEqual(ticks.map((t) => t.label), ["-5.12e-3", "-4e-3", "-2e-3", "0", "2e-3", "4e-3", "5.12e-3"]);
  const plainTicks = scaleTicks(makeScale("linear", 2.6), 240, 22);
  assert.ok(plainTicks.every((t) => t.exponent === 0 && t.short === t.label));
  const logTicks = scaleTicks(makeScale("symlog", 1, 1e-10), 480, 44);
  assert.ok(logTicks.every((t) => t.exponent === 0));
  assert.ok(logTicks.some((t) => t.label === "1e-3"), logTicks.map((t) => t.label).join(" "));
});

test("a fixed range is a finite number > 0, else the reason", () => {
  assert.deepEqual(parseRangeMax("0.5"), { value: 0.5 });
  assert.deepEqual(parseRangeMax(" 2e-3 "), { value: 0.002 });
  assert.deepEqual(parseRangeMax(""), { error: "enter a number > 0" });
  assert.deepEqual(parseRangeMax("", true), { error: "must be a number > 0" });
  assert.deepEqual(parseRangeMax("abc"), { error: "must be a number > 0" });
  assert.deepEqual(parseRangeMax("0"), { error: "must be > 0" });
  assert.deepEqual(parseRangeMax("-1"), { error: "must be > 0" });
  assert.deepEqual(parseRangeMax("1e999"), { error: "must be finite" });
});
