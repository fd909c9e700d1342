// Shaping the per-gate companions of weight series (gate_stats, gate_histogram,
// kept for every logged step) for the "distributions" and "norms" views:
// which steps become ridges, the signed log-magnitude bin axis and its
// ticks, the bins in use, how a value sits on a log axis, and the
// non-finite summary line. Pure functions: tested with node --test
// (tests/js/gate_history.test.mjs).

import { decadeTicks } from "../data/profiles.js";
import { gateLabel } from "../data/kind_facts.js";

// The most ridges one small multiple draws: past this they merge into a
// solid block and hide each other.
export const MAX_RIDGES = 60;

// The fields of gate_stats the norms view offers (mean is signed: no log axis).
export const NORM_FIELDS = [
  { value: "l2_norm", text: "L2 norm" },
  { value: "max_abs", text: "max |v|" },
  { value: "std", text: "standard deviation" },
];

/**
 * Indices into n logged steps that become ridges: all of them when n <= max,
 * else max of them evenly spaced, first and last included (ascending).
 */
export function thinIndices(n, max = MAX_RIDGES) {
  if (n <= 0) return [];
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max <= 1) return [n - 1];
  const out = [];
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1));
    if (out[out.length - 1] !== i) out.push(i);
  }
  return out;
}

/**
 * The bins holding any count in any of `histograms` (each a function
 * (i, row, bin) -> count over `steps` x `rows` x `bins`, given as
 * {count, steps, rows, bins}), widened by one empty bin each side so each
 * curve starts and ends on its baseline: {lo, hi} (inclusive), or null
 * when nothing is counted at all.
 */
export function usedBins(histograms) {
  let lo = Infinity;
  let hi = -Infinity;
  let bins = 0;
  for (const h of histograms) {
    bins = Math.max(bins, h.bins);
    for (let i = 0; i < h.steps; i++) {
      for (let r = 0; r < h.rows; r++) {
        for (let b = 0; b < h.bins; b++) {
          if (h.count(i, r, b) > 0) {
            if (b < lo) lo = b;
            if (b > hi) hi = b;
          }
        }
      }
    }
  }
  if (hi < lo) return null;
  return { lo: Math.max(0, lo - 1), hi: Math.min(bins - 1, hi + 1) };
}

/** "1e-3", "1", "1e2" for the decade 10^e; signed when negative. */
export function decadeLabel(e, sign = 1) {
  const text = e === 0 ? "1" : `1e${e}`;
  return sign < 0 ? `-${text}` : text;
}

/**
 * The decades among the inner bin edges: [{edge (index into edges),
 * exponent, sign}]. Edge i sits between bin i and bin i + 1.
 */
export function decadeEdges(edges) {
  const out = [];
  edges.forEach((v, i) => {
    if (!(v !== 0 && Number.isFinite(v))) return;
    const e = Math.log10(Math.abs(v));
    const rounded = Math.round(e);
    if (Math.abs(e - rounded) < 1e-6) out.push({ edge: i, exponent: rounded, sign: Math.sign(v) });
  });
  return out;
}

// Strides in decades the axis may label every k-th decade at.
const DECADE_STRIDES = [1, 2, 3, 4, 6, 12];

/**
 * Ticks of the bin axis over bins lo..hi (inclusive), `pxPerBin` pixels
 * per bin: [{pos (in bins from lo's left side), label}], ascending by pos.
 * Decades are labelled every k-th (exponents divisible by k, the smallest
 * k from DECADE_STRIDES that spaces them at least minPx apart); "0" sits in
 * the middle of the bin around zero (the one holding exact zeros), and
 * decade ticks closer than minPx to it are dropped.
 */
export function binTicks(edges, lo, hi, pxPerBin, minPx = 34) {
  const decades = decadeEdges(edges);
  // Bins per decade, from the first two same-sign decades (2 for the plugin's edges).
  const positives = decades.filter((d) => d.sign > 0);
  const perDecade = positives.length > 1 ? positives[1].edge - positives[0].edge : 1;
  const stride = DECADE_STRIDES.find((k) => k * perDecade * pxPerBin >= minPx) || DECADE_STRIDES[DECADE_STRIDES.length - 1];
  const ticks = [];
  for (const d of decades) {
    const pos = d.edge + 1 - lo; // edge i: left side of bin i + 1
    if (pos < 0 || pos > hi - lo + 1) continue;
    if (d.exponent % stride !== 0) continue;
    ticks.push({ pos, label: decadeLabel(d.exponent, d.sign) });
  }
  const zeroBin = zeroBinIndex(edges);
  if (zeroBin !== null && zeroBin >= lo && zeroBin <= hi) {
    const pos = zeroBin + 0.5 - lo;
    const kept = ticks.filter((t) => Math.abs(t.pos - pos) * pxPerBin >= minPx);
    kept.push({ pos, label: "0" });
    return kept.sort((a, b) => a.pos - b.pos);
  }
  return ticks;
}

/** The bin whose range holds 0 (edges[i - 1] <= 0 < edges[i]), or null. */
export function zeroBinIndex(edges) {
  for (let i = 0; i < edges.length; i++) {
    if (edges[i] > 0) return i > 0 && edges[i - 1] <= 0 ? i : i === 0 ? 0 : null;
  }
  return null;
}

/** "[1e-3, 3.2e-3)" for bin b of `edges` (open ends: "< -1e3", ">= 1e3"). */
export function binRangeText(edges, b, fmt) {
  if (b <= 0) return `< ${fmt(edges[0])}`;
  if (b >= edges.length) return `\u2265 ${fmt(edges[edges.length - 1])}`;
  return `[${fmt(edges[b - 1])}, ${fmt(edges[b])})`;
}

/**
 * Where a value goes on a log axis: "ok" (finite > 0, on the axis), "zero"
 * (0 or below: off the bottom, marked at the bottom edge), "nan" or "inf"
 * (marked at the top edge).
 */
export function logMark(v) {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity || v === -Infinity) return "inf";
  if (!(v > 0)) return "zero";
  return "ok";
}

/**
 * Per-gate counts of non-finite and zero values over the logged steps:
 * counts(i) -> {nan, posinf, neginf, zero} at step index i. Returns
 * {nan, posinf, neginf, zero}: each {steps (how many steps had any), first
 * (the first such step), most (the largest count at one step)}.
 */
export function nonFiniteSummary(steps, counts) {
  const out = {};
  for (const key of ["nan", "posinf", "neginf", "zero"]) out[key] = { steps: 0, first: null, most: 0 };
  steps.forEach((step, i) => {
    const c = counts(i);
    for (const key of Object.keys(out)) {
      const n = c[key];
      if (!(n > 0)) continue;
      out[key].steps++;
      if (out[key].first === null) out[key].first = step;
      out[key].most = Math.max(out[key].most, n);
    }
  });
  return out;
}

const NON_FINITE_NAMES = { nan: "NaN", posinf: "+Inf", neginf: "-Inf", zero: "exact zeros" };

/**
 * One line for a small multiple: "NaN at 12 of 150 steps (from step 40, up
 * to 3 values); exact zeros at 1 step (from step 0, up to 64 values)", or
 * "no NaN, Inf or exact zeros in 150 steps".
 */
export function nonFiniteText(summary, stepCount) {
  const parts = [];
  for (const [key, name] of Object.entries(NON_FINITE_NAMES)) {
    const s = summary[key];
    if (!s || !s.steps) continue;
    const steps = `${s.steps} of ${stepCount} step${stepCount === 1 ? "" : "s"}`;
    parts.push(`${name} at ${steps} (from step ${s.first}, up to ${s.most} value${s.most === 1 ? "" : "s"})`);
  }
  return parts.length ? parts.join("; ") : `no NaN, Inf or exact zeros in ${stepCount} step${stepCount === 1 ? "" : "s"}`;
}

// Matrices sort in their kind's order (data/kind_facts.js).
export { compareMatrices } from "../data/kind_facts.js";

/** "recurrent kernel" for "recurrent_kernel"; "(unnamed matrix)" for none. */
export function matrixLabel(matrix) {
  return matrix ? String(matrix).replace(/_/g, " ") : "(unnamed matrix)";
}

/** The gates of a companion (its metadata's gates; null: the whole matrix as one row). */
export function gateNames(gates, rows) {
  if (Array.isArray(gates) && gates.length === rows) return gates.map((g) => String(g.name));
  return Array.from({ length: rows }, (_, r) => (rows === 1 ? null : `row ${r}`));
}

// A colour per gate name (i, f, candidate, o; z, r), the same in every chart
// and cell type; unknown gates and the whole matrix get the last.
// (Weights name the candidate block c (LSTM) or h (GRU, SimpleRNN).)
const GATE_COLORS = {
  i: "#1f77b4", f: "#d62728", c: "#2ca02c", candidate: "#2ca02c", h: "#2ca02c", o: "#9467bd",
  z: "#e69f00", r: "#17becf",
};

/** Heading of a weight's gate block (null: the whole matrix), as its series' metadata names it. */
export function weightGateLabel(name, meta = null) {
  if (name === null || name === undefined) return "whole matrix (gates unknown)";
  return gateLabel(name, meta);
}
const OTHER_GATE_COLORS = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];
// A SimpleRNN's h is its whole cell, not a candidate: not the candidates' green.
const WHOLE_CELL_COLOR = "#7f7f7f";

/** The colour of gate `name` (null: the whole matrix), `index` its row, of a `cell` type. */
export function gateColor(name, index = 0, cell = null) {
  if (name === "h" && cell === "SimpleRNN") return WHOLE_CELL_COLOR;
  if (name && GATE_COLORS[name]) return GATE_COLORS[name];
  return OTHER_GATE_COLORS[index % OTHER_GATE_COLORS.length];
}

/**
 * One legend entry per gate as labelled, from the norms view's lines
 * [{gate, cell, color}]: a GRU's candidate h and a SimpleRNN's whole-cell
 * h are two entries.
 */
export function normLegendGates(lines) {
  const gates = [];
  for (const l of lines) {
    const label = weightGateLabel(l.gate, l.meta);
    if (!gates.some((g) => g.label === label)) gates.push({ gate: l.gate, color: l.color, cell: l.cell, label });
  }
  return gates;
}

// Dash patterns telling runs apart in the norms view (colour is the gate's).
const RUN_DASHES = [[], [7, 4], [2, 3], [9, 3, 2, 3]];

/** The dash pattern of the k-th shown run. */
export function runDash(k) {
  return RUN_DASHES[k % RUN_DASHES.length];
}

/**
 * Ticks of a log axis (profiles.logScale) `pixels` long: decades, plus 2
 * and 5 (or 3) times each decade where a decade is tall enough that the
 * labels stay minPx apart (a chart spanning one or two decades would
 * otherwise have two ticks). [{value, pos (0..1), label}], ascending;
 * labels "2e-3", "1e-2" in one style.
 */
export function logAxisTicks(scale, pixels, minPx = 22) {
  const [a, b] = scale.decades;
  const perDecade = pixels / (b - a);
  // 1, 2, 5: the tightest gap is 5 -> 10, log10(2) = 0.3 of a decade.
  const multiples = perDecade * Math.log10(2) >= minPx ? [1, 2, 5]
    : perDecade * Math.log10(10 / 3) >= minPx ? [1, 3] : null;
  if (!multiples) return decadeTicks(scale, pixels, minPx);
  const ticks = [];
  for (let e = a; e <= b; e++) {
    for (const m of multiples) {
      if (e === b && m > 1) break;
      const at = e + Math.log10(m);
      ticks.push({ value: m * 10 ** e, pos: (at - a) / (b - a), label: `${m}e${e}` });
    }
  }
  return ticks;
}
