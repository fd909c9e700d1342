// Scales shared by every view: a value -> position in [-1, 1] (0 = zero),
// linear or symlog (log of the magnitude, sign kept) and their ticks; the
// fixed range the user typed. Numbers print with draw/format.js.
// Pure functions: no DOM, tested with node --test (tests/js/scales.test.mjs).

import { fmt, fmtTick, formatShared } from "./format.js";

/**
 * The fixed colour range the user typed: { value } when it is a finite
 * number > 0, else { error } saying what is wrong. badInput: the field's
 * validity.badInput (a number field reports "" for text it cannot parse).
 */
export function parseRangeMax(text, badInput = false) {
  const trimmed = String(text ?? "").trim();
  if (badInput) return { error: "must be a number > 0" };
  if (!trimmed) return { error: "enter a number > 0" };
  const value = Number(trimmed);
  if (Number.isNaN(value)) return { error: "must be a number > 0" };
  if (!Number.isFinite(value)) return { error: "must be finite" };
  if (!(value > 0)) return { error: "must be > 0" };
  return { value };
}

// The most decades a symlog scale spans below vmax: the linear threshold is
// never below vmax * 10^-MAX_DECADES (float32 noise would otherwise take
// over the whole colour range).
export const MAX_DECADES = 12;

/**
 * The symlog scale's linear threshold: the smallest nonzero |v| shown
 * (so every nonzero value sits on the logarithmic part and gets a colour
 * of its own), but no lower than vmax * 10^-MAX_DECADES.
 */
export function chooseLinthresh(vmax, minNonzero) {
  if (!(vmax > 0)) return 1;
  const floor = vmax * 10 ** -MAX_DECADES;
  const lt = Number.isFinite(minNonzero) && minNonzero > 0 ? minNonzero : floor;
  return Math.min(vmax, Math.max(floor, lt));
}

/**
 * A scale: { kind: "linear" | "symlog", vmax, linthresh, norm(v) }.
 * norm maps [-vmax, vmax] onto [-1, 1] (clipped beyond), NaN and +-Inf
 * pass through unchanged. vmax 0 (all values 0): norm is 0 everywhere.
 *
 * symlog: norm(v) = sign(v) * log1p(|v| / linthresh) / log1p(vmax / linthresh):
 * linear near 0 (|v| << linthresh), one equal step per decade above it.
 */
export function makeScale(kind, vmax, minNonzero = NaN) {
  const zero = !(vmax > 0);
  if (kind === "symlog") {
    const linthresh = chooseLinthresh(vmax, minNonzero);
    const perLinthresh = 1 / linthresh;
    const perDenom = zero ? 0 : 1 / Math.log1p(vmax / linthresh);
    return {
      kind, vmax, linthresh,
      // Called once per heatmap pixel: no allocations, few calls.
      norm(v) {
        if (v !== v || v === Infinity || v === -Infinity) return v;
        const x = Math.log1p((v < 0 ? -v : v) * perLinthresh) * perDenom;
        const clipped = x < 1 ? x : 1;
        return v < 0 ? -clipped : clipped;
      },
      normAll(values) {
        return normEach(this.norm, values);
      },
    };
  }
  return {
    kind: "linear", vmax, linthresh: null,
    norm(v) {
      if (!Number.isFinite(v)) return v;
      if (zero) return 0;
      return Math.max(-1, Math.min(1, v / vmax));
    },
    normAll(values) {
      return normEach(this.norm, values);
    },
  };
}

/** Runs whose largest |v| differ by this factor or more are not put on one shared linear scale by default. */
export const OWN_SCALE_RATIO = 100;

/** "300", "1.2e4": a ratio as the scale note writes it. */
function ratioText(r) {
  return r < 1e4 ? String(Math.round(r)) : r.toExponential(1).replace("e+", "e");
}

/**
 * The default of "shared across runs" (while the user has not chosen) from
 * each shown run's largest |v| [{run, max}]: shared unless the largest and
 * the smallest nonzero differ by OWN_SCALE_RATIO or more, when one linear
 * scale would paint the smaller run blank; then each run gets its own and
 * the note says by how much they differ. Returns { shared, ratio, note }
 * (note "" when shared).
 */
export function defaultSharing(maxima) {
  const usable = maxima.filter((m) => m.max > 0 && Number.isFinite(m.max));
  if (usable.length < 2) return { shared: true, ratio: 1, note: "" };
  const large = usable.reduce((a, b) => (b.max > a.max ? b : a));
  const small = usable.reduce((a, b) => (b.max < a.max ? b : a));
  const ratio = large.max / small.max;
  if (ratio < OWN_SCALE_RATIO) return { shared: true, ratio, note: "" };
  return {
    shared: false, ratio,
    note: `${small.run}'s values are 1/${ratioText(ratio)} of ${large.run}'s (largest |v|): each run on its own scale. ` +
      "Tick \u201cshared across runs\u201d to compare them on one.",
  };
}

/**
 * The sequential scale of values known to lie in [0, 1] (a gate's
 * activations): { kind: "unit", sequential: true, vmax: 1, norm(v) } with
 * norm(v) = v clipped to [0, 1]; NaN and +-Inf pass through. Drawn with a
 * sequential colour map (viridis), so all of it is used, not half of a
 * diverging one.
 */
export function makeUnitScale() {
  return {
    kind: "unit", sequential: true, vmax: 1, linthresh: null,
    norm(v) {
      if (!Number.isFinite(v)) return v;
      return v < 0 ? 0 : v > 1 ? 1 : v;
    },
    normAll(values) {
      return normEach(this.norm, values);
    },
  };
}

/**
 * norm over a whole array (a heatmap's pixels): one call site per scale,
 * so the engine inlines `norm` instead of dispatching per pixel.
 */
function normEach(norm, values) {
  const out = new Float64Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = norm(values[k]);
  return out;
}

/** 1, 2, 5 x 10^k: the smallest such step >= raw. */
export function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/**
 * Ticks of a scale over [-vmax, vmax] (symmetric: `signed`) or [0, vmax],
 * for an axis `pixels` long (the whole [-1, 1] span, or [0, 1]), at least
 * minPx apart. Returns [{ value, pos, label, short, exponent }] with pos
 * in [-1, 1]; label stands alone ("2.5e-3"), short is the label to show
 * with multiplierText(exponent) ("2.5" with "x1e-3"), the same for all.
 * linear: 1-2-5 steps; symlog: 0, powers of ten (every k-th decade so
 * they fit) and +-vmax.
 */
export function scaleTicks(scale, pixels, minPx = 40, signed = true) {
  const { vmax } = scale;
  if (!(vmax > 0)) return [{ value: 0, pos: 0, label: "0" }];
  const perUnit = signed ? pixels / 2 : pixels; // px per norm unit
  const values = [0];
  if (scale.kind === "symlog") {
    const lo = Math.ceil(Math.log10(scale.linthresh) - 1e-9);
    const hi = Math.floor(Math.log10(vmax) + 1e-9);
    const decades = [];
    for (let e = lo; e <= hi; e++) decades.push(e);
    // Keep every k-th decade, counted down from the top one.
    let k = 1;
    const gapOf = (kk) => {
      let gap = Infinity;
      for (let i = decades.length - 1; i - kk >= 0; i -= kk) {
        gap = Math.min(gap, (scale.norm(10 ** decades[i]) - scale.norm(10 ** decades[i - kk])) * perUnit);
      }
      return gap;
    };
    while (k < decades.length && gapOf(k) < minPx) k++;
    const kept = [];
    for (let i = decades.length - 1; i >= 0; i -= k) kept.push(10 ** decades[i]);
    for (const v of kept) {
      // Not too close to vmax or to 0, which are labelled anyway.
      const pos = scale.norm(v);
      if ((1 - pos) * perUnit < minPx * 0.6 || pos * perUnit < minPx * 0.6) continue;
      values.push(v);
    }
    values.push(vmax);
  } else {
    const maxTicks = Math.max(1, Math.floor(perUnit / minPx));
    const step = niceStep(vmax / maxTicks);
    for (let v = step; v <= vmax * (1 + 1e-9); v += step) values.push(Number(v.toPrecision(12)));
    const last = values[values.length - 1];
    if (last === 0 || (1 - last / vmax) * perUnit >= minPx * 0.6) values.push(vmax);
    else values[values.length - 1] = vmax;
  }
  // Linear ticks share one exponent; symlog ticks are decades (1e-7, ...).
  const shared = scale.kind === "symlog" ? null : formatShared(values);
  const exponent = shared ? shared.exponent : 0;
  const out = [];
  values.forEach((v, i) => {
    const short = shared ? shared.labels[i] : v === vmax ? fmt(v) : fmtTick(v);
    const label = exponent && v !== 0 ? `${short}e${exponent}` : short;
    const tick = (sign) => ({
      value: sign * v, pos: sign * scale.norm(v), exponent,
      short: sign < 0 ? `-${short}` : short, label: sign < 0 ? `-${label}` : label,
    });
    if (signed && v !== 0) out.push(tick(-1));
    out.push(tick(1));
  });
  return out.sort((a, b) => a.pos - b.pos);
}

/** What a scale is called in legends. */
export function scaleName(scale) {
  return scale.kind === "symlog"
    ? `symlog (log |v|, sign kept; linear below ${fmt(scale.linthresh)})`
    : "linear";
}

/**
 * Bins of n items into at most `slots` groups: [start, end) index pairs,
 * one per slot; n <= slots gives one bin per item.
 */
export function binEdges(n, slots) {
  const k = Math.max(1, Math.min(n, slots));
  const edges = [];
  for (let i = 0; i < k; i++) edges.push([Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
  return edges;
}

/**
 * Of the values given, the one with the largest |v|, sign kept; NaN wins
 * over everything, then +-Inf (so they stay visible when aggregated).
 */
export function maxAbsSigned(values) {
  let best = 0;
  let bestAbs = -1;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    const a = Math.abs(v);
    if (a > bestAbs) {
      bestAbs = a;
      best = v;
    }
  }
  return best;
}
