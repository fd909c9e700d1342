// Shaping profiles (||v_t||, the L2 norm over channels, per sample, timestep
// and logged step) for the profile and flow views: the batch mean or one
// sample, the fitted decay rate, the flow matrix binned to pixels, and the
// log colour scale. Pure functions: tested with node --test
// (tests/js/profiles.test.mjs).

import { fmt } from "../draw/format.js";
import { binEdges, niceStep } from "../draw/scales.js";
import { percentile } from "./stats.js";

// The band drawn around the median line, and summarised for the decay fit:
// the 10th to the 90th percentile over the probe batch's samples.
export const BAND = [10, 90];

/** Items grouped by direction: [[direction or null, items]], forward first. */
export function byDirection(items) {
  const order = [null, "forward", "backward"];
  const groups = new Map();
  for (const item of items) {
    const d = item.series.direction || null;
    if (!groups.has(d)) groups.set(d, []);
    groups.get(d).push(item);
  }
  return [...groups].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
}


/**
 * The profile of logged step index i over timesteps (a Float64Array of T):
 * the selected sample's norms, or (sample "mean") their mean over the
 * samples whose value is finite; a timestep with none is NaN (+Inf when
 * one is +Inf). NaN padding of a shorter step (p.shapes) stays NaN.
 * With a mask, masked (sample, timestep) pairs are left out of the mean
 * and NaN (a gap) for the one sample.
 */
export function profileRow(p, i, sample = "mean", mask = null) {
  const { samples: S, timesteps: T, data } = p;
  const out = new Float64Array(T);
  const base = i * S * T;
  // mask: {shape: [S, T], data} of 1 (real) / 0 (padding), or null.
  const usable = mask && mask.shape.length === 2 && mask.shape[0] === S && mask.shape[1] === T;
  const masked = (s, t) => usable && !(mask.data[s * T + t] > 0.5);
  if (sample !== "mean") {
    const s = Math.min(Math.max(0, sample), S - 1);
    for (let t = 0; t < T; t++) out[t] = masked(s, t) ? NaN : data[base + s * T + t];
    return out;
  }
  for (let t = 0; t < T; t++) {
    let sum = 0;
    let n = 0;
    let inf = false;
    for (let s = 0; s < S; s++) {
      if (masked(s, t)) continue;
      const v = data[base + s * T + t];
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      } else if (v === Infinity) inf = true;
    }
    out[t] = n ? sum / n : inf ? Infinity : NaN;
  }
  return out;
}

/**
 * The batch summarised robustly per timestep of logged step index i:
 * { median, lo, hi, counts } (Float64Arrays of T): the median and the
 * BAND percentiles (numpy's "linear" rule) of ||v_t|| over the samples
 * unmasked at t whose value is finite. A timestep with none is NaN
 * (+Inf when one sample there is +Inf). One sample that grows while the
 * others fade moves the mean, not the median.
 */
export function batchQuantiles(p, i, mask = null) {
  const { samples: S, timesteps: T, data } = p;
  const base = i * S * T;
  const usable = mask && mask.shape.length === 2 && mask.shape[0] === S && mask.shape[1] === T;
  const median = new Float64Array(T);
  const lo = new Float64Array(T);
  const hi = new Float64Array(T);
  const counts = new Uint32Array(T);
  const column = [];
  for (let t = 0; t < T; t++) {
    column.length = 0;
    let inf = false;
    for (let s = 0; s < S; s++) {
      if (usable && !(mask.data[s * T + t] > 0.5)) continue;
      const v = data[base + s * T + t];
      if (Number.isFinite(v)) column.push(v);
      else if (v === Infinity) inf = true;
    }
    counts[t] = column.length;
    if (!column.length) {
      median[t] = lo[t] = hi[t] = inf ? Infinity : NaN;
      continue;
    }
    median[t] = percentile(column, 50);
    lo[t] = percentile(column, BAND[0]);
    hi[t] = percentile(column, BAND[1]);
  }
  return { median, lo, hi, counts };
}

/**
 * The decay fit per sample, summarised over the batch: fitDecay of each
 * sample's own profile (padding masked out, its row length), then the
 * median and the BAND percentiles of the fitted slopes (so of the factor
 * per 10 timesteps, a monotone function of the slope). Returns { per10,
 * lo10, hi10, slope, fitted (samples with a fit), samples } or null when
 * no sample has a fit.
 */
export function perSampleDecay(p, i, mask = null, length = rowLength(p, i)) {
  const slopes = [];
  for (let s = 0; s < p.samples; s++) {
    const fit = fitDecay(profileRow(p, i, s, mask), length);
    if (fit) slopes.push(fit.slope);
  }
  if (!slopes.length) return null;
  const factor = (slope) => 10 ** (10 * slope);
  const slope = percentile(slopes, 50);
  return {
    slope, per10: factor(slope), lo10: factor(percentile(slopes, BAND[0])),
    hi10: factor(percentile(slopes, BAND[1])), fitted: slopes.length, samples: p.samples,
  };
}

/** How many timesteps a row holds before its NaN padding (p.shapes), else T. */
export function rowLength(p, i) {
  return p.shapes && p.shapes[i] ? Math.min(p.timesteps, p.shapes[i][1]) : p.timesteps;
}

/**
 * The decay rate of a profile: the least-squares line through
 * (t, log10 v_t) over finite values v_t > 0. Returns { slope (decades per
 * timestep), per10 (the factor over 10 timesteps, t -> t + 10), n (points
 * used) }, or null with fewer than 2 points.
 */
export function fitDecay(values, length = values.length) {
  let n = 0;
  let st = 0;
  let sy = 0;
  let stt = 0;
  let sty = 0;
  for (let t = 0; t < length; t++) {
    const v = values[t];
    if (!(v > 0) || !Number.isFinite(v)) continue;
    const y = Math.log10(v);
    n++;
    st += t;
    sy += y;
    stt += t * t;
    sty += t * y;
  }
  if (n < 2) return null;
  const denom = n * stt - st * st;
  if (!(denom > 0)) return null;
  const slope = (n * sty - st * sy) / denom;
  return { slope, per10: 10 ** (10 * slope), n };
}

/** "×0.42 per 10 timesteps" for a fit (null: "no decay fit (too few values)"). */
export function decayText(fit) {
  if (!fit) return "no decay fit (fewer than 2 positive values)";
  return `\u00d7${factorText(fit.per10)} per 10 timesteps`;
}

/** A factor per 10 timesteps as the legend writes it: "0.82", "1.2e-4". */
function factorText(f) {
  return f >= 0.01 && f < 1000 ? String(Number(f.toPrecision(2))) : f.toExponential(1);
}

/**
 * "×0.82 per 10 timesteps (p10-p90 ×0.5-×1.1 over 8 samples)" for a
 * perSampleDecay summary (null: no fit).
 */
export function robustDecayText(summary) {
  if (!summary) return "no decay fit (no sample has 2 positive values)";
  const x = "\u00d7";
  return `${x}${factorText(summary.per10)} per 10 timesteps, median of ${summary.fitted} sample fits ` +
    `(p${BAND[0]}-p${BAND[1]} ${x}${factorText(summary.lo10)}-${x}${factorText(summary.hi10)})`;
}

/** Smallest finite value > 0 and largest finite value of arrays; null if none. */
export function positiveRange(arrays) {
  let lo = Infinity;
  let hi = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v > 0 && Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return hi > 0 ? { lo, hi } : null;
}

// The most decades a log scale spans below its top (float32 round-off
// under that would take over the range).
export const MAX_LOG_DECADES = 12;

/**
 * A log scale over [lo, hi] (values > 0), widened to whole decades and
 * cut to MAX_LOG_DECADES: { lo, hi, norm(v) -> [0, 1] }. Values <= 0 are
 * -Infinity under norm (off the scale), non-finite pass through.
 */
export function logScale(lo, hi) {
  let a = Math.floor(Math.log10(lo) + 1e-9);
  let b = Math.ceil(Math.log10(hi) - 1e-9) + 0; // + 0: no -0
  if (b <= a) b = a + 1;
  if (b - a > MAX_LOG_DECADES) a = b - MAX_LOG_DECADES;
  return {
    kind: "log", lo: 10 ** a, hi: 10 ** b, decades: [a, b],
    norm(v) {
      if (Number.isNaN(v) || v === Infinity) return v;
      if (!(v > 0)) return -Infinity;
      return Math.min(1, Math.max(0, (Math.log10(v) - a) / (b - a)));
    },
  };
}

/** A linear scale over [0, hi]: { lo: 0, hi, norm(v) -> [0, 1] }. */
export function linearScale(hi) {
  const top = hi > 0 ? hi : 1;
  return {
    kind: "linear", lo: 0, hi: top,
    norm(v) {
      if (Number.isNaN(v) || v === Infinity) return v;
      return Math.min(1, Math.max(0, v / top));
    },
  };
}

/**
 * The flow matrix binned to at most `cols` x `rows` pixels: rows are
 * logged steps, columns timesteps; each bin holds the largest value of its
 * group (NaN, then +Inf win, so they stay visible). Returns { values
 * (Float64Array rows x cols, row-major), rows, cols, rowBins, colBins }.
 * rowsOf[i] is the profile row (a Float64Array of T) of step index i.
 */
export function binFlow(rowsOf, n, T, cols, rows) {
  const rowBins = binEdges(n, rows);
  const colBins = binEdges(T, cols);
  const R = rowBins.length;
  const K = colBins.length;
  const values = new Float64Array(R * K);
  for (let r = 0; r < R; r++) {
    const [i0, i1] = rowBins[r];
    for (let k = 0; k < K; k++) {
      const [t0, t1] = colBins[k];
      let best = -Infinity;
      let seen = false;
      for (let i = i0; i < i1; i++) {
        const row = rowsOf[i];
        for (let t = t0; t < t1; t++) {
          const v = row[t];
          if (Number.isNaN(v)) {
            best = NaN;
            break;
          }
          if (!seen || v > best) best = v;
          seen = true;
        }
        if (Number.isNaN(best)) break;
      }
      values[r * K + k] = best;
    }
  }
  return { values, rows: R, cols: K, rowBins, colBins };
}

/** Ticks 0, step, 2 step, ... <= hi of a linear scale, about `count` of them: [{ value, pos (0..1), label }]. */
export function linearTicks(hi, count) {
  const step = niceStep(hi / Math.max(1, count));
  const ticks = [];
  for (let v = 0; v <= hi * (1 + 1e-9); v += step) ticks.push({ value: v, pos: v / hi, label: fmt(Number(v.toPrecision(12))) });
  return ticks;
}

/** Decade ticks of a log scale: [{ value, pos (0..1), label }], every k-th to fit. */
export function decadeTicks(scale, pixels, minPx = 28) {
  const [a, b] = scale.decades;
  const span = b - a;
  let k = 1;
  while ((k * pixels) / span < minPx && k < span) k++;
  const ticks = [];
  for (let e = b; e >= a; e -= k) ticks.push({ value: 10 ** e, pos: (e - a) / span, label: `1e${e}` });
  return ticks.reverse();
}
