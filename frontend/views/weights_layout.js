// The weights view's pure part: which matrices of a cell go together and in
// what order, how a weight of any rank becomes rows x columns, how columns
// are fitted to pixels without a pixel ever mixing two gates, the max-|v|
// binning, and the colour scales' ranges. No DOM: tested with node --test
// (tests/js/weights.test.mjs).

import { fmt } from "../draw/format.js";
import { compareMatrices } from "../data/kind_facts.js";

/** Whether a series is a weight or weight gradient (the weights' views draw those). */
export function isWeightSeries(meta) {
  return Boolean(meta) && (meta.kind === "weight" || meta.kind === "weight_gradient");
}

/** What a matrix is called on screen. */
export function matrixLabel(name) {
  const labels = {
    kernel: "kernel (input \u2192 gates)",
    recurrent_kernel: "recurrent kernel (h\u209c\u208b\u2081 \u2192 gates)",
    bias: "bias",
    input_bias: "input bias",
    recurrent_bias: "recurrent bias",
  };
  return labels[name] || String(name);
}

/** The short label of a bias strip's row (left of the strip). */
export function stripLabel(name) {
  const labels = { bias: "bias", input_bias: "input", recurrent_bias: "recurrent" };
  return labels[name] || String(name).slice(0, 10);
}

/** Plots in their kind's matrix order (Keras' first, left to right). */
function compareItems(a, b) {
  return compareMatrices(a.matrix, b.matrix, a.series.meta);
}

/**
 * A weight's matrix name: its metadata's (a user's cell: whatever it was
 * logged as); never read from the tag.
 */
export function matrixName(series) {
  const meta = series.meta || {};
  return typeof meta.matrix === "string" && meta.matrix ? meta.matrix : "(matrix)";
}

/** The rank a weight series was logged with (its axes; 2 when unknown). */
export function seriesRank(series) {
  const axes = series.meta && Array.isArray(series.meta.axes) ? series.meta.axes : series.axes;
  return Array.isArray(axes) && axes.length ? axes.length : 2;
}

/**
 * Groups one run's weight series into its cells: one slot per direction and
 * stacked cell, in the order given (seriesFor sorts them). In each slot,
 * `plots` are the matrices of rank >= 2 (kernel, recurrent kernel, a user's
 * cell's others), `strips` the rank-1 ones (biases), drawn as labelled
 * rows of one strip plot.
 * @returns {Array<{key, direction, cellIndex, plots: Array, strips: Array}>}
 */
export function cellSlots(seriesList) {
  const slots = new Map();
  for (const series of seriesList) {
    const key = `${series.direction || ""}|${series.cellIndex ?? ""}`;
    if (!slots.has(key)) {
      slots.set(key, { key, direction: series.direction || null, cellIndex: series.cellIndex ?? null, plots: [], strips: [] });
    }
    const item = { series, matrix: matrixName(series), rank: seriesRank(series) };
    slots.get(key)[item.rank === 1 ? "strips" : "plots"].push(item);
  }
  for (const slot of slots.values()) {
    slot.plots.sort(compareItems);
    slot.strips.sort(compareItems);
  }
  return [...slots.values()];
}

/**
 * A tensor of any rank as rows x columns: the last axis is the columns
 * (Keras keeps the gates there), every axis before it is flattened into rows
 * (row-major, so a ConvLSTM kernel [k0, k1, in, 4u] has row
 * (k0 * K1 + k1) * in + channel). `spatial` holds the axes flattened before
 * the row axis (empty for rank <= 2).
 */
export function asMatrix(shape, data) {
  const dims = shape.length ? shape : [1];
  const cols = dims[dims.length - 1];
  const rows = dims.length === 1 ? 1 : dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const spatial = dims.length > 2 ? dims.slice(0, -2) : [];
  const inner = dims.length >= 2 ? dims[dims.length - 2] : 1;
  return { rows, cols, data, spatial, inner, shape: dims.slice() };
}

/** "row 7 (kernel position [0, 2], input channel 3)" for a flattened ConvLSTM row. */
export function rowText(matrix, row) {
  if (!matrix.spatial.length) return String(row);
  let rest = Math.floor(row / matrix.inner);
  const position = [];
  for (let k = matrix.spatial.length - 1; k >= 0; k--) {
    position.unshift(rest % matrix.spatial[k]);
    rest = Math.floor(rest / matrix.spatial[k]);
  }
  return `${row} (kernel position [${position.join(", ")}], input channel ${row % matrix.inner})`;
}

/**
 * The metadata's gates as segments covering [0, cols): each gate's
 * [start, stop), and columns no gate claims as unnamed segments (name
 * null). Gates outside the columns or overlapping an earlier one are
 * dropped. null/absent gates: one unnamed segment (the matrix whole).
 */
export function gateSegments(gates, cols) {
  const valid = (Array.isArray(gates) ? gates : [])
    .filter((g) => g && Number.isInteger(g.start) && Number.isInteger(g.stop) && g.start >= 0 && g.stop <= cols && g.start < g.stop)
    .map((g) => ({ name: g.name === undefined || g.name === null ? null : String(g.name), start: g.start, stop: g.stop }))
    .sort((a, b) => a.start - b.start);
  const segments = [];
  let at = 0;
  for (const g of valid) {
    if (g.start < at) continue; // overlaps the previous gate
    if (g.start > at) segments.push({ name: null, start: at, stop: g.start });
    segments.push(g);
    at = g.stop;
  }
  if (at < cols) segments.push({ name: null, start: at, stop: cols });
  return segments;
}

/** For `slots` pixels over n items: each pixel's [a, b) (b > a), in order. */
export function pixelRanges(n, slots) {
  const out = [];
  for (let p = 0; p < slots; p++) {
    const a = Math.floor((p * n) / slots);
    const b = Math.max(a + 1, Math.floor(((p + 1) * n) / slots));
    out.push([a, Math.min(n, b)]);
  }
  return out;
}

/**
 * Fits `cols` columns split into `segments` into maxW px (not counting the
 * `gap` px left blank between two segments, where a separator goes): whole
 * pixels per column (up to maxCellW; under 8 px per column, the exact
 * share of the width) when they fit, else one pixel column
 * per group of columns, each segment (gate) getting its share of the width,
 * so that no pixel holds two gates' columns. Returns {plotW (gaps
 * included), cellW, aggregated, bins ([a, b) per drawn pixel column or per
 * column, segment after segment), cols (bins.length), spans (per segment:
 * name, start, stop, x0, x1 px from the plot's left, bins, firstBin),
 * separators (x of the middle of each gap)}.
 */
export function fitColumns(cols, segments, maxW, maxCellW = 24, gap = 0) {
  const width = Math.max(segments.length, Math.floor(maxW));
  const aggregated = cols > width;
  // Whole pixels per column when they are wide; narrower ones use the
  // width there is (cells then differ by a pixel, but the plot fills it).
  const raw = width / cols;
  const cellW = aggregated ? raw : raw >= 8 ? Math.min(maxCellW, Math.floor(raw)) : raw;
  const spans = [];
  const bins = [];
  let x = 0;
  let used = 0;
  segments.forEach((s, k) => {
    if (k > 0) x += gap;
    let pixels;
    if (!aggregated) pixels = (s.stop - s.start) * cellW;
    else {
      // In proportion to its columns, rounded at the running total so the
      // segments add up to the width; at least one pixel.
      const end = k === segments.length - 1 ? width : Math.round((s.stop * width) / cols);
      pixels = Math.max(1, end - used);
    }
    const ranges = aggregated ? pixelRanges(s.stop - s.start, pixels) : pixelRanges(s.stop - s.start, s.stop - s.start);
    spans.push({ ...s, x0: x, x1: x + pixels, bins: ranges.length, firstBin: bins.length });
    for (const [a, b] of ranges) bins.push([s.start + a, s.start + b]);
    x += pixels;
    used += pixels;
  });
  const separators = spans.slice(1).map((s) => s.x0 - gap / 2);
  return { plotW: x, cellW, aggregated, bins, spans, separators, cols: bins.length };
}

/**
 * The bin (index into fitColumns' bins) drawn at x px from the plot's
 * left, or null in a gap between gates or outside.
 */
export function columnBinAt(colFit, x) {
  const span = colFit.spans.find((s) => x >= s.x0 && x < s.x1);
  if (!span) return null;
  return span.firstBin + Math.min(span.bins - 1, Math.floor(((x - span.x0) / (span.x1 - span.x0)) * span.bins));
}

/**
 * Fits `rows` rows into at most maxH px: whole pixels per row (between
 * minCellH and maxCellH) when they fit, else one pixel row per group.
 */
export function fitRows(rows, maxH, maxCellH = 12, minCellH = 1) {
  const height = Math.max(1, Math.floor(maxH));
  if (rows * minCellH <= height) {
    const cellH = Math.max(minCellH, Math.min(maxCellH, Math.floor(height / rows)));
    const bins = [];
    for (let r = 0; r < rows; r++) bins.push([r, r + 1]);
    return { plotH: rows * cellH, cellH, aggregated: false, bins, rows };
  }
  return { plotH: height, cellH: height / rows, aggregated: true, bins: pixelRanges(rows, height), rows: height };
}

/**
 * The matrix binned to rowBins x colBins: each bin the value of largest |v|
 * of its cells, sign kept; NaN wins over everything, then +-Inf, so one bad
 * cell stays visible however far it is aggregated. Row-major Float64Array.
 */
export function binMatrix(matrix, rowBins, colBins) {
  const nc = colBins.length;
  const out = new Float64Array(rowBins.length * nc);
  const { data, cols } = matrix;
  for (let i = 0; i < rowBins.length; i++) {
    const [r0, r1] = rowBins[i];
    for (let j = 0; j < nc; j++) {
      const [c0, c1] = colBins[j];
      let best = 0;
      let bestAbs = -1;
      scan: for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) {
          const v = data[base + c];
          if (v !== v) {
            best = NaN; // nothing beats NaN
            break scan;
          }
          const a = v < 0 ? -v : v;
          if (a > bestAbs) {
            bestAbs = a;
            best = v;
          }
        }
      }
      out[i * nc + j] = best;
    }
  }
  return out;
}

/** {maxAbs (finite values), nan, posInf, negInf, zero: every value is 0} of values. */
export function valueStats(data) {
  let maxAbs = 0;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v) nan++;
    else if (v === Infinity) posInf++;
    else if (v === -Infinity) negInf++;
    else {
      const a = v < 0 ? -v : v;
      if (a > maxAbs) maxAbs = a;
    }
  }
  return { maxAbs, nan, posInf, negInf, zero: maxAbs === 0 && !nan && !posInf && !negInf };
}

/** The colour scale choices of the view. */
export const SCALE_MODES = [
  { value: "signed", text: "signed, per matrix" },
  { value: "signed-all", text: "signed, one range for all matrices" },
  { value: "abs", text: "|v| intensity, per matrix (viridis)" },
];

/**
 * The colour range of each drawn matrix: {key -> vmax}. `items` are
 * [{key, group, maxAbs}]: "signed" and "abs" give every item of a group
 * (the same matrix of the same cell, in every run shown) the group's
 * largest |v|, so runs compare; "signed-all" one range for everything.
 * A range of 0 (all zero) becomes 1.
 */
export function scaleRanges(items, mode) {
  const byGroup = new Map();
  let all = 0;
  for (const { group, maxAbs } of items) {
    byGroup.set(group, Math.max(byGroup.get(group) || 0, maxAbs));
    all = Math.max(all, maxAbs);
  }
  const out = new Map();
  for (const { key, group } of items) {
    const v = mode === "signed-all" ? all : byGroup.get(group);
    out.set(key, v > 0 ? v : 1);
  }
  return out;
}

/** Nice tick values over [lo, hi] (about `count` of them), both ends included. */
export function rangeTicks(lo, hi, count = 4) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  // The ends, where the colour bar's ends are, unless a tick is close.
  if (ticks.length && ticks[0] - lo > step * 0.5) ticks.unshift(lo);
  else if (ticks.length) ticks[0] = lo;
  if (hi - ticks[ticks.length - 1] > step * 0.5) ticks.push(hi);
  else ticks[ticks.length - 1] = hi;
  return ticks;
}

/** Tick labels for a colour bar: [{value, pos (0..1), label}]. */
export function colorBarTicks(mode, vmax, count = 4) {
  const lo = mode === "abs" ? 0 : -vmax;
  return rangeTicks(lo, vmax, count).map((value) => ({
    value, pos: (value - lo) / (vmax - lo), label: fmt(value, 3),
  }));
}

/** What the non-finite cells of the drawn matrices are, as a sentence, or "". */
export function nonFiniteNote(counts) {
  const parts = [];
  const plural = (n, what) => `${n} ${what} cell${n === 1 ? "" : "s"}`;
  if (counts.nan) parts.push(`${plural(counts.nan, "NaN")} (magenta)`);
  if (counts.posInf) parts.push(`${plural(counts.posInf, "+Inf")} (black)`);
  if (counts.negInf) parts.push(`${plural(counts.negInf, "\u2212Inf")} (green)`);
  return parts.join(", ");
}

/** The sentence saying how a matrix was fitted to pixels, or "". */
export function aggregationText(matrix, colFit, rowFit) {
  const parts = [];
  if (colFit.aggregated) parts.push(`${matrix.cols} columns in ${colFit.cols} px (gate by gate)`);
  if (rowFit.aggregated) parts.push(`${matrix.rows} rows in ${rowFit.rows} px`);
  if (!parts.length) return "";
  return `Aggregated: ${parts.join(", ")}; each pixel shows the value of largest |v| in its group (sign kept; NaN and \u00b1Inf win).`;
}
