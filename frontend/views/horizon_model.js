// Shaping the gradient horizon (RNNbow's itemized gradients) for the
// horizon views: G[b, k, j] = ||dL_{t_k}/dh_j|| per sample b, loss row k
// (timestep t_k) and source timestep j, both in input-time order. Pure
// functions: tested with node --test (tests/js/horizon.test.mjs).

import { formatShared, multiplierText } from "../draw/format.js";
import { binEdges, niceStep } from "../draw/scales.js";
import { viridis } from "../vendor/viridis.js";

/** Whether a series is a gradient horizon (the horizon views draw those). */
export function isHorizonSeries(meta) {
  return Boolean(meta) && meta.kind === "gradient_horizon";
}

/** Lags up to this one get a colour each; longer lags are grouped in bands. */
export const SINGLE_LAGS = 20;

/** 0, step, 2 step, ... up to hi (1-2-5 steps, about `count` of them). */
function stepsUpTo(hi, count) {
  const step = niceStep(hi / Math.max(1, count));
  const values = [];
  for (let v = 0; v <= hi * (1 + 1e-9); v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

/**
 * The ticks of a value axis from 0 to hi (> 0), about `count` of them,
 * labelled as every other chart's axis is (scales.formatShared): one
 * exponent for the whole axis, so never a mix like "0.01, 5e-3". Returns
 * {ticks: [{value, pos (0..1), label}], multiplier ("\u00d71e-3" or "")}:
 * each label is read with the multiplier, written once by the axis.
 */
export function valueTicks(hi, count) {
  let values = stepsUpTo(hi, count);
  // A nice step just above hi / count leaves 0 alone: ask for finer ones.
  if (values.length < 2) values = stepsUpTo(hi, 2 * count + 1);
  const { labels, exponent } = formatShared(values);
  return {
    ticks: values.map((value, i) => ({ value, pos: value / hi, label: labels[i] })),
    multiplier: multiplierText(exponent),
  };
}

/**
 * The top of each chart's y axis from each chart's largest value:
 * shared (the tab's "Scale: shared across runs"), the largest over all
 * charts, so bars of different runs compare by height; else each its own.
 * A chart with nothing above 0 gets 1 (or the shared top).
 */
export function yTops(maxima, shared) {
  const own = maxima.map((v) => (v > 0 && Number.isFinite(v) ? v : 0));
  const top = Math.max(0, ...own);
  return own.map((v) => (shared ? top || 1 : v || 1));
}

/** Why a sample number is not drawn from a horizon of S samples ("" when it is logged). */
export function sampleNotLogged(sample, S) {
  if (sample === "mean" || sample < S) return "";
  return `This run has ${S} sample(s); sample ${sample} is not logged.`;
}

/**
 * The timestep of each loss row: the metadata's `targets`, or (null)
 * every timestep 0..K-1. Null when the list does not match the K rows.
 */
export function targetsOf(meta, rows) {
  const targets = meta && Array.isArray(meta.targets) ? meta.targets : null;
  if (targets === null) return Array.from({ length: rows }, (_, k) => k);
  if (targets.length !== rows || !targets.every(Number.isInteger)) return null;
  return targets.slice();
}

/** How far the source j lies behind loss t, in the direction the layer reads. */
export function lagOf(t, j, backward) {
  return backward ? j - t : t - j;
}

/**
 * The K x T matrix drawn (a Float64Array, row k = loss t_k): one sample's
 * rows, or (sample "mean") the mean over samples of the finite values.
 * tensor: {shape: [S, K, T], data}.
 */
export function horizonMatrix(tensor, sample) {
  const [S, K, T] = tensor.shape;
  const out = new Float64Array(K * T);
  const size = K * T;
  if (sample !== "mean") {
    const s = Math.min(Math.max(0, sample), S - 1);
    for (let i = 0; i < size; i++) out[i] = tensor.data[s * size + i];
    return out;
  }
  for (let i = 0; i < size; i++) {
    let sum = 0;
    let n = 0;
    for (let s = 0; s < S; s++) {
      const v = tensor.data[s * size + i];
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    out[i] = n ? sum / n : NaN;
  }
  return out;
}

/**
 * The lag bands: lags 0..SINGLE_LAGS-1 one each, then 20-29, 30-49,
 * 50-99, 100-199, 200-499, ... (1-2-5 steps) up to maxLag. Each band
 * {lo, hi (inclusive), label, color}; colours run along viridis from
 * lag 0 (dark) to the longest band (yellow).
 */
export function lagBands(maxLag) {
  const bands = [];
  const last = Math.max(0, maxLag);
  for (let lag = 0; lag <= Math.min(last, SINGLE_LAGS - 1); lag++) {
    bands.push({ lo: lag, hi: lag, label: String(lag) });
  }
  let lo = SINGLE_LAGS;
  const bounds = [30, 50];
  for (let scale = 100; bounds[bounds.length - 1] <= last; scale *= 10) bounds.push(scale, 2 * scale, 5 * scale);
  for (const bound of bounds) {
    if (lo > last) break;
    const hi = Math.min(bound - 1, last);
    bands.push({ lo, hi, label: lo === hi ? String(lo) : `${lo}\u2013${hi}` });
    lo = bound;
  }
  const n = bands.length;
  // Not viridis' very darkest end: lag 0 must stand out on a dark theme too.
  for (let i = 0; i < n; i++) bands[i].color = viridis(n === 1 ? 0.15 : 0.12 + (0.86 * i) / (n - 1));
  return bands;
}

/** Index of the band holding `lag` (bands as lagBands gives them). */
export function bandOf(bands, lag) {
  if (lag < SINGLE_LAGS) return Math.min(lag, bands.length - 1);
  for (let i = SINGLE_LAGS; i < bands.length; i++) if (lag <= bands[i].hi) return i;
  return bands.length - 1;
}

/** band[lag] for lags 0..maxLag: bandOf without a search per segment. */
export function bandLookup(bands, maxLag) {
  const band = new Int32Array(maxLag + 1);
  for (let lag = 0; lag <= maxLag; lag++) band[lag] = bandOf(bands, lag);
  return band;
}

/**
 * The stacked bars: per source timestep j, its segments, one per loss t
 * that reaches j (lag >= 0, value finite and > 0), sorted by lag (the
 * nearest loss at the bottom), with their running sum. Returns {columns:
 * [{j, total, segments: [{k, t, lag, value, start}]}], maxLag, maxTotal}.
 */
export function stackColumns(matrix, targets, T, backward) {
  const columns = [];
  let maxLag = 0;
  let maxTotal = 0;
  // Rows in the order of their lag at any j (forward: ascending t), so no
  // column needs sorting (1000 x 1000 losses stack in a fraction of a second).
  const order = targets.map((_, k) => k).sort((a, b) => (backward ? targets[b] - targets[a] : targets[a] - targets[b]));
  for (let j = 0; j < T; j++) {
    const segments = [];
    for (const k of order) {
      const value = matrix[k * T + j];
      const lag = lagOf(targets[k], j, backward);
      if (lag < 0 || !(value > 0) || !Number.isFinite(value)) continue;
      segments.push({ k, t: targets[k], lag, value, start: 0 });
    }
    let total = 0;
    for (const s of segments) {
      s.start = total;
      total += s.value;
      if (s.lag > maxLag) maxLag = s.lag;
    }
    if (total > maxTotal) maxTotal = total;
    columns.push({ j, total, segments });
  }
  return { columns, maxLag, maxTotal };
}

/**
 * The bars drawn when there are more timesteps than pixels: timesteps
 * binned to at most `slots` bars, each bar the MEAN over its timesteps of
 * every band's part (so a bar's height is the mean column total). Returns
 * [{j0, j1 (exclusive), total, parts: Float64Array per band}].
 */
export function binnedBars(stack, bands, slots) {
  const band = bandLookup(bands, stack.maxLag);
  return binEdges(stack.columns.length, slots).map(([j0, j1]) => {
    const parts = new Float64Array(bands.length);
    for (let j = j0; j < j1; j++) {
      for (const s of stack.columns[j].segments) parts[band[s.lag]] += s.value;
    }
    let total = 0;
    for (let b = 0; b < parts.length; b++) {
      parts[b] /= j1 - j0;
      total += parts[b];
    }
    return { j0, j1, total, parts };
  });
}

/**
 * One loss row binned like the bars: the mean of G[k, j] over each bin's
 * timesteps (non-finite values left out). Returns a Float64Array per bin.
 */
export function binnedRow(matrix, k, T, bins) {
  return Float64Array.from(bins, ([j0, j1]) => {
    let sum = 0;
    let n = 0;
    for (let j = j0; j < j1; j++) {
      const v = matrix[k * T + j];
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    return n ? sum / n : NaN;
  });
}

/** The segment of column `column` at height `value` (0 at the bottom), or null. */
export function segmentAt(column, value) {
  if (!column || !(value >= 0) || value > column.total) return null;
  for (const s of column.segments) if (value <= s.start + s.value) return s;
  return null;
}

/**
 * The loss row shown below the bars before any hover: the last loss for
 * a forward layer (it reaches furthest back), the first for a backward one.
 */
export function defaultRow(targets, backward) {
  let best = 0;
  for (let k = 1; k < targets.length; k++) {
    if (backward ? targets[k] < targets[best] : targets[k] > targets[best]) best = k;
  }
  return best;
}

/**
 * Labels per timestep from a "labels" tensor [S, T, 2] (field 0 true, 1
 * predicted class id, -1 none): for one sample [{truth, predicted, right}]
 * (right null where either is -1); for "mean", the share of samples right
 * at each timestep among those with both labels ({share, n}).
 */
export function labelRow(tensor, sample) {
  const [S, T, F] = tensor.shape;
  const at = (s, t, f) => tensor.data[(s * T + t) * F + f];
  const out = [];
  if (sample !== "mean") {
    const s = Math.min(Math.max(0, sample), S - 1);
    for (let t = 0; t < T; t++) {
      const truth = at(s, t, 0);
      const predicted = at(s, t, 1);
      const known = truth >= 0 && predicted >= 0;
      out.push({ truth, predicted, right: known ? truth === predicted : null });
    }
    return out;
  }
  for (let t = 0; t < T; t++) {
    let n = 0;
    let right = 0;
    for (let s = 0; s < S; s++) {
      if (at(s, t, 0) < 0 || at(s, t, 1) < 0) continue;
      n++;
      if (at(s, t, 0) === at(s, t, 1)) right++;
    }
    out.push({ share: n ? right / n : NaN, n });
  }
  return out;
}

/** A class id as its token when a vocabulary is logged, else the id ("" for -1). */
export function tokenText(id, vocabulary) {
  if (!(id >= 0)) return "";
  if (Array.isArray(vocabulary) && id < vocabulary.length) return String(vocabulary[id]);
  return String(id);
}

/**
 * The timescale implied by a fitted decay (profiles.fitDecay of ||dL/dh_t||
 * over t): r the per-step factor going back through time (towards smaller
 * t forward, larger t backward), timescale -1/ln r. +Infinity when the
 * gradient does not decay (r >= 1), null without a fit.
 */
export function decayTimescale(fit, backward) {
  if (!fit || !Number.isFinite(fit.slope)) return null;
  const decadesPerStep = backward ? -fit.slope : fit.slope;
  if (!(decadesPerStep > 0)) return Infinity;
  return 1 / (decadesPerStep * Math.LN10);
}

/**
 * Median and quartiles of the finite values, and how many are +Inf (a
 * gate at 1: memory forever). {q1, median, q3, finite, infinite}; the
 * quantiles are NaN without finite values.
 */
export function quartiles(values) {
  const finite = [];
  let infinite = 0;
  for (const v of values) {
    if (v === Infinity) infinite++;
    else if (Number.isFinite(v)) finite.push(v);
  }
  finite.sort((a, b) => a - b);
  const q = (p) => {
    if (!finite.length) return NaN;
    const x = p * (finite.length - 1);
    const i = Math.floor(x);
    return i + 1 < finite.length ? finite[i] + (x - i) * (finite[i + 1] - finite[i]) : finite[i];
  };
  return { q1: q(0.25), median: q(0.5), q3: q(0.75), finite: finite.length, infinite };
}
