// Profiles for the profile and flow views: body parsing, batch mean, decay
// fit, binning and the log scale. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { Api, parseKeptBody, parseProfileBody } from "../../frontend/data/api.js";
import {
  binFlow, byDirection, decadeTicks, decayText, fitDecay, logScale, positiveRange, profileRow,
} from "../../frontend/data/profiles.js";

/** A /profile body as reading.profile_payload writes it. */
function body(steps, walls, S, T, values, extra = {}) {
  let head = new TextEncoder().encode(JSON.stringify({
    dtype: "float32", format: 1, samples: S, steps: steps.length, timesteps: T, ...extra,
  }));
  const pad = (8 - ((4 + head.length) % 8)) % 8;
  const padded = new Uint8Array(head.length + pad).fill(32);
  padded.set(head);
  head = padded;
  const n = steps.length;
  const buffer = new ArrayBuffer(4 + head.length + 16 * n + 4 * values.length);
  const view = new DataView(buffer);
  view.setUint32(0, head.length, true);
  new Uint8Array(buffer, 4, head.length).set(head);
  const at = 4 + head.length;
  steps.forEach((s, i) => view.setBigInt64(at + 8 * i, BigInt(s), true));
  walls.forEach((w, i) => view.setFloat64(at + 8 * n + 8 * i, w, true));
  values.forEach((v, i) => view.setFloat32(at + 16 * n + 4 * i, v, true));
  return buffer;
}

test("parseProfileBody reads steps, wall times and [steps, samples, T] values", () => {
  const p = parseProfileBody(body([0, 10], [1.5, 2.5], 2, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, NaN]));
  assert.deepEqual(p.steps, [0, 10]);
  assert.deepEqual([...p.wallTimes], [1.5, 2.5]);
  assert.equal(p.samples, 2);
  assert.equal(p.timesteps, 3);
  assert.deepEqual([...p.data.slice(0, 11)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.ok(Number.isNaN(p.data[11]));
  assert.equal(p.shapes, null);
});

test("parseProfileBody refuses a truncated body", () => {
  const good = body([0], [1], 1, 2, [1, 2]);
  assert.throws(() => parseProfileBody(good.slice(0, good.byteLength - 4)), /needs/);
  assert.throws(() => parseProfileBody(new ArrayBuffer(2)), /2 bytes/);
});

test("Api.kept reads a companion's rows, columns and metadata, one request per series", async () => {
  const requests = [];
  const extra = { rows: 2, columns: 2, kind: "gate_stats", metadata: { fields: ["a", "b"] } };
  const api = new Api(async (url) => {
    requests.push(url);
    return new Response(body([5, 7], [1, 2], 2, 2, [1, 2, 3, 4, 5, 6, 7, 8], extra));
  });
  const k = await api.kept("r", "t/k", "gate_stats");
  await api.kept("r", "t/k", "gate_stats");
  assert.equal(requests.length, 1);
  assert.match(requests[0], /^\.\/kept\?run=r&tag=t%2Fk&kind=gate_stats$/);
  assert.deepEqual(k.header.metadata.fields, ["a", "b"]);
  assert.equal(k.value(1, 0, 1), 6);
  api.forgetSteps();
  await api.kept("r", "t/k", "gate_stats");
  assert.equal(requests.length, 2);
  assert.throws(() => parseKeptBody(new ArrayBuffer(3)), /3 bytes/);
});

test("Api.profile is one request per series until forgetSteps", async () => {
  const requests = [];
  const api = new Api(async (url) => {
    requests.push(url);
    return new Response(body([3], [1], 1, 1, [0.5]));
  });
  const a = await api.profile("r", "t");
  await api.profile("r", "t");
  assert.equal(requests.length, 1);
  assert.match(requests[0], /^\.\/profile\?run=r&tag=t$/);
  assert.deepEqual(a.steps, [3]);
  api.forgetSteps();
  await api.profile("r", "t");
  assert.equal(requests.length, 2);
});

test("profileRow: one sample, or the mean over finite samples", () => {
  const p = { samples: 3, timesteps: 2, data: Float32Array.from([1, 2, 3, NaN, 5, Infinity]) };
  assert.deepEqual([...profileRow(p, 0, 1)], [3, NaN]);
  const mean = profileRow(p, 0);
  assert.equal(mean[0], 3);
  assert.equal(mean[1], 2); // NaN and +Inf left out
  const q = { samples: 2, timesteps: 1, data: Float32Array.from([NaN, Infinity]) };
  assert.equal(profileRow(q, 0)[0], Infinity);
});

test("fitDecay: 10^(-t/100) decays x10^-0.1 per 10 timesteps; zeros and NaN left out", () => {
  const v = Float64Array.from({ length: 300 }, (_, t) => 3 * 10 ** (-t / 100));
  v[5] = 0;
  v[6] = NaN;
  const fit = fitDecay(v);
  assert.ok(Math.abs(fit.per10 - 10 ** -0.1) < 1e-9);
  assert.equal(fit.n, 298);
  assert.equal(decayText(fit), "\u00d70.79 per 10 timesteps");
  assert.equal(fitDecay([1, 0, NaN]), null);
  assert.match(decayText(null), /no decay fit/);
});

test("logScale spans whole decades, at most 12, and puts 0 off the scale", () => {
  const s = logScale(3e-5, 0.2);
  assert.deepEqual(s.decades, [-5, 0]);
  assert.equal(s.norm(1e-5), 0);
  assert.equal(s.norm(1), 1);
  assert.ok(Math.abs(s.norm(1e-3) - 0.4) < 1e-12);
  assert.equal(s.norm(0), -Infinity);
  assert.ok(Number.isNaN(s.norm(NaN)));
  assert.deepEqual(logScale(1e-30, 1).decades, [-12, 0]);
  assert.deepEqual(positiveRange([[0, 2, NaN], [Infinity, 0.5]]), { lo: 0.5, hi: 2 });
  const ticks = decadeTicks(logScale(1e-12, 1), 100, 28);
  assert.ok(ticks.length <= 5 && ticks[ticks.length - 1].label === "1e0");
});

test("binFlow takes the largest value per bin, NaN winning", () => {
  const rows = [Float64Array.from([1, 5, 2, 0]), Float64Array.from([3, NaN, 1, 1]), Float64Array.from([0, 0, 9, 0])];
  const whole = binFlow(rows, 3, 4, 10, 10);
  assert.equal(whole.rows, 3);
  assert.equal(whole.cols, 4);
  assert.deepEqual([...whole.values.slice(0, 4)], [1, 5, 2, 0]);
  const binned = binFlow(rows, 3, 4, 2, 1);
  assert.equal(binned.rows, 1);
  assert.equal(binned.values[0], NaN);
  assert.equal(binned.values[1], 9);
});

test("byDirection groups series forward first, then backward", () => {
  const items = [
    { run: "a", series: { direction: "backward" } },
    { run: "a", series: { direction: "forward" } },
    { run: "b", series: { direction: "backward" } },
  ];
  const groups = byDirection(items);
  assert.deepEqual(groups.map(([d, g]) => [d, g.length]), [["forward", 1], ["backward", 2]]);
  assert.deepEqual(byDirection([{ run: "x", series: { direction: null } }]).map(([d]) => d), [null]);
});

test("profileRow leaves masked timesteps out of the mean and gaps the sample", () => {
  const p = { samples: 2, timesteps: 2, data: Float32Array.from([1, 2, 3, 4]) };
  const mask = { shape: [2, 2], data: Float32Array.from([1, 0, 1, 1]) };
  assert.deepEqual([...profileRow(p, 0, "mean", mask)], [2, 4]);
  assert.deepEqual([...profileRow(p, 0, 0, mask)], [1, NaN]);
  const wrong = { shape: [1, 2], data: Float32Array.from([0, 0]) };
  assert.deepEqual([...profileRow(p, 0, "mean", wrong)], [2, 3]); // a mismatched mask is ignored
});
