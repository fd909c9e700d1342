// The profile's robust summaries: the median and p10-p90 band per
// timestep, the decay fitted per sample and summarised by the median, and
// the Sample control's "median |v|". The case: 8 samples, 7 fade
// and 1 grows 11x; the median and its fit follow the 7, the mean the 1.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  batchQuantiles, fitDecay, perSampleDecay, profileRow, robustDecayText,
} from "../../frontend/data/profiles.js";
import { medianAbsOverSamples, panelView, sampleLabel, SAMPLE_MODES } from "../../frontend/data/samples.js";

const T = 20;
const fade = (t) => 0.5 ** (t / 10); // x0.5 per 10 timesteps
const grow = (t) => 100 * 11 ** (t / (T - 1)); // x11 over the sequence, and large

/** Samples 0..6: (s + 1) * fade(t); sample 7: grow(t). One logged step. */
function sevenFadeOneGrows() {
  const S = 8;
  const data = new Float32Array(S * T);
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) data[s * T + t] = s < 7 ? (s + 1) * fade(t) : grow(t);
  }
  return { samples: S, timesteps: T, data, shapes: null };
}

const close = (a, b, rel = 1e-5) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} != ${b}`);

test("median and p10-p90 per timestep follow the 7 fading samples, not the growing one", () => {
  const p = sevenFadeOneGrows();
  const q = batchQuantiles(p, 0);
  for (const t of [0, 7, 19]) {
    // Sorted: 1f..7f, then the outlier. Median (rank 3.5): 4.5 f.
    close(q.median[t], 4.5 * fade(t));
    // p10 at rank 0.7: 1f + 0.7 (2f - 1f); p90 at rank 6.3: 7f + 0.3 (outlier - 7f).
    close(q.lo[t], 1.7 * fade(t));
    close(q.hi[t], 7 * fade(t) + 0.3 * (grow(t) - 7 * fade(t)));
    assert.equal(q.counts[t], 8);
  }
  // The median line fades; the mean line grows (the outlier sets it).
  assert.ok(q.median[19] < q.median[0]);
  const mean = profileRow(p, 0, "mean");
  assert.ok(mean[19] > mean[0]);
  assert.ok(fitDecay(mean).per10 > 1);
});

test("decay fitted per sample: median x0.5 per 10 timesteps, the band up to the outlier's", () => {
  const summary = perSampleDecay(sevenFadeOneGrows(), 0);
  close(summary.per10, 0.5);
  close(summary.lo10, 0.5);
  // Slopes: 7 of log10(0.5)/10, 1 of log10(11)/19; p90 at rank 6.3.
  const s0 = Math.log10(0.5) / 10;
  const s7 = Math.log10(11) / 19;
  close(summary.hi10, 10 ** (10 * (s0 + 0.3 * (s7 - s0))));
  assert.equal(summary.fitted, 8);
  assert.match(robustDecayText(summary), /^\u00d70\.5 per 10 timesteps, median of 8 sample fits \(p10-p90 \u00d70\.5-\u00d7\d/);
});

test("padding is left out per sample: the median over the samples unmasked at t", () => {
  const p = sevenFadeOneGrows();
  const mask = { shape: [8, T], data: new Float32Array(8 * T).fill(1) };
  for (let t = 15; t < T; t++) mask.data[7 * T + t] = 0; // the outlier padded from t = 15
  for (let t = 10; t < T; t++) mask.data[0 * T + t] = 0; // sample 0 from t = 10
  const q = batchQuantiles(p, 0, mask);
  close(q.median[5], 4.5 * fade(5));
  assert.equal(q.counts[12], 7);
  close(q.median[12], 5 * fade(12)); // 2f..7f and the outlier: rank 3 -> 5f
  assert.equal(q.counts[17], 6);
  close(q.median[17], 4.5 * fade(17)); // 2f..7f: (4f + 5f) / 2
  // Each sample's fit sees only its own real timesteps: still x0.5 in the median.
  close(perSampleDecay(p, 0, mask).per10, 0.5);
  const allMasked = { shape: [8, T], data: new Float32Array(8 * T) };
  assert.ok(Number.isNaN(batchQuantiles(p, 0, allMasked).median[0]));
  assert.equal(perSampleDecay(p, 0, allMasked), null);
});

test("median |v| over samples: per (timestep, channel), NaN and padding left out", () => {
  // [S=3, T=2, C=2]
  const tensor = {
    shape: [3, 2, 2],
    data: Float32Array.from([1, -2, 3, 4, /**/ -5, 6, NaN, 8, /**/ 100, -200, 9, 10]),
  };
  const v = medianAbsOverSamples(tensor, null);
  assert.deepEqual([...v.data], [5, 6, 6, 8]); // t1 c0: |3| and |9| (NaN left out) -> 6
  assert.equal(v.nanCells, 1);
  const mask = { shape: [3, 2], data: Float32Array.from([1, 1, 1, 1, 0, 1]) };
  const masked = medianAbsOverSamples(tensor, mask);
  assert.deepEqual([...masked.data.slice(0, 2)], [3, 4]); // t0 without sample 2: (1+5)/2, (2+6)/2
  assert.ok(SAMPLE_MODES.some((m) => m.value === "medianAbs" && m.text === "median |v| over samples"));
  assert.deepEqual([...panelView(tensor, null, "medianAbs", 0).view.data], [5, 6, 6, 8]);
  assert.equal(sampleLabel("medianAbs", 0, 3), "median |v| over 3 samples");
});
