// Canvas drawing: heatmaps (ImageData, one pixel per cell, scaled up
// without smoothing), line plots, axes and the colour bar. Layout numbers
// are in CSS pixels; the canvas backing store is scaled by devicePixelRatio.

import { el } from "./dom.js";
import { binEdges, fmt, multiplierText, scaleName, scaleTicks } from "./scales.js";
import {
  divergingInto, divergingCss, divergingPixels, MASK_HATCH, MASK_RGB, NAN_RGB, NEG_INF_RGB, POS_INF_RGB,
  NEGATIVE_NAME, POSITIVE_NAME,
} from "./colormap.js";
import { channelColor } from "./channels.js";

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";

// Colours of what canvases draw around the data (background, axes, text,
// grid), from the stylesheet's custom properties so they follow the tab's
// light or dark theme; read again at every draw. The data's colours stay.
const CANVAS_COLORS = {
  background: ["--rnn-plot-bg", "#fff"],
  axis: ["--rnn-axis", "#555"],
  text: ["--rnn-axis-text", "#333"],
  muted: ["--rnn-axis-muted", "#666"],
  grid: ["--rnn-grid", "#e3e3e3"],
  zero: ["--rnn-grid-zero", "#999"],
};
let colors = {};
let AXIS_COLOR = "#555";
let TEXT_COLOR = "#333";

/** The canvas colours of the current theme: { background, axis, text, muted, grid, zero }. */
export function canvasColors() {
  const style = typeof getComputedStyle === "function" && document.documentElement
    ? getComputedStyle(document.documentElement) : null;
  const out = {};
  for (const [name, [prop, fallback]] of Object.entries(CANVAS_COLORS)) {
    out[name] = (style && style.getPropertyValue(prop).trim()) || fallback;
  }
  return out;
}

// A panel's data is a view { data, offset, T, C, mask } (samples.js builds
// them): value(t, c) = data[offset + t * C + c]; mask[t] === 0 means masked.

// Results computed from a tensor's data, kept with it (a WeakMap: dropped
// when the data is) so that redrawing a cached step or changing the colour
// scale does not walk its 512 x 1000 values again. A few per tensor
// (views of other samples, zoom windows).
const derived = new WeakMap();
const DERIVED_PER_TENSOR = 12;

function memoized(data, key, compute) {
  let entries = derived.get(data);
  if (!entries) {
    entries = new Map();
    derived.set(data, entries);
  }
  if (entries.has(key)) return entries.get(key);
  const value = compute();
  if (entries.size >= DERIVED_PER_TENSOR) entries.delete(entries.keys().next().value);
  entries.set(key, value);
  return value;
}

function viewKey(view) {
  return `${view.offset}|${view.T}|${view.C}|${view.mask ? view.mask.join("") : "-"}`;
}

/** Max |v| over finite, unmasked values, and counts of NaN, +Inf, -Inf, masked. */
export function summarize(view) {
  return memoized(view.data, `summary|${viewKey(view)}`, () => computeSummary(view));
}

function computeSummary(view) {
  const { data, offset, T, C, mask } = view;
  let maxAbs = 0;
  let minAbs = Infinity; // smallest nonzero finite |v|
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let maskedSteps = 0;
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) {
      maskedSteps++;
      continue;
    }
    const row = offset + t * C;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      if (Number.isNaN(v)) nan++;
      else if (v === Infinity) posInf++;
      else if (v === -Infinity) negInf++;
      else {
        const a = Math.abs(v);
        if (a > maxAbs) maxAbs = a;
        if (a > 0 && a < minAbs) minAbs = a;
      }
    }
  }
  return { maxAbs, minAbs, nan, posInf, negInf, inf: posInf + negInf, maskedSteps };
}

/** The percentile the "robust" colour range is taken at. */
export const ROBUST_PERCENTILE = 99;

/**
 * |v| of every finite, unmasked value of a view (the values summarize's
 * maxAbs is taken over), as a Float64Array.
 */
export function finiteAbsValues(view) {
  const { data, offset, T, C, mask } = view;
  const out = new Float64Array(T * C);
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) continue;
    const row = offset + t * C;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      if (Number.isFinite(v)) out[n++] = Math.abs(v);
    }
  }
  return out.subarray(0, n);
}

/** The arrays one after another, in one Float64Array. */
export function concatValues(arrays) {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/**
 * The q-th percentile (0..100) of `values`, interpolated linearly between
 * the two nearest ranks exactly as numpy.percentile's default ("linear")
 * method does. NaN for no values. `values` is not modified.
 */
export function percentile(values, q) {
  const n = values.length;
  if (!n) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (n - 1) * (Math.min(100, Math.max(0, q)) / 100);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const t = rank - lo;
  const a = sorted[lo];
  const diff = sorted[hi] - a;
  return t >= 0.5 ? sorted[hi] - diff * (1 - t) : a + diff * t;
}

/** How many of `values` are above `limit`. */
export function countAbove(values, limit) {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > limit) n++;
  return n;
}

/** Integer tick positions 0, k, 2k, ... spaced at least minPx apart. */
export function integerTicks(n, pxPerItem, minPx) {
  const steps = [1, 2, 5];
  let step = 1;
  for (let scale = 1; ; scale *= 10) {
    const found = steps.find((s) => s * scale * pxPerItem >= minPx);
    if (found !== undefined) {
      step = found * scale;
      break;
    }
    if (scale > 1e9) break;
  }
  const ticks = [];
  for (let i = 0; i < n; i += step) ticks.push(i);
  return ticks;
}

/** Sizes a canvas for devicePixelRatio and paints the theme's background; its 2d context. */
export function setupCanvas(canvas, width, height) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.dataset.dpr = String(dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  colors = canvasColors();
  AXIS_COLOR = colors.axis;
  TEXT_COLOR = colors.text;
  ctx.fillStyle = colors.background;
  ctx.fillRect(0, 0, width, height);
  return ctx;
}

function maskedSpans(mask, T) {
  const spans = [];
  if (!mask) return spans;
  let start = -1;
  for (let t = 0; t <= T; t++) {
    const masked = t < T && mask[t] === 0;
    if (masked && start < 0) start = t;
    if (!masked && start >= 0) {
      spans.push([start, t]);
      start = -1;
    }
  }
  return spans;
}

/** Grey hatch over masked timestep spans, and "masked" above the plot. */
function drawMaskedSpans(ctx, spans, layout, fillGrey) {
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  let labelEnd = -Infinity;
  for (const [t0, t1] of spans) {
    const x = plotX + t0 * cellW;
    const w = (t1 - t0) * cellW;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, plotY, w, plotH);
    ctx.clip();
    if (fillGrey) {
      ctx.fillStyle = `rgb(${MASK_RGB.join(",")})`;
      ctx.fillRect(x, plotY, w, plotH);
    }
    ctx.strokeStyle = MASK_HATCH;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let d = -plotH; d < w + plotH; d += 7) {
      ctx.moveTo(x + d, plotY + plotH);
      ctx.lineTo(x + d + plotH, plotY);
    }
    ctx.stroke();
    ctx.restore();
    // "masked" above the span, kept inside the plot's width; a label that
    // would overlap the previous one is left out (the hatch still shows).
    ctx.font = FONT;
    const half = ctx.measureText("masked").width / 2;
    const centre = Math.min(Math.max(x + w / 2, plotX + half), plotX + plotW - half);
    if (centre - half < labelEnd + 4) continue;
    labelEnd = centre + half;
    ctx.fillStyle = colors.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("masked", centre, plotY - 3);
  }
}

/** The timestep axis under a plot (layout: plotX, plotY, plotW, plotH, cellW per timestep). */
export function drawXAxis(ctx, layout, T, t0 = 0) {
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  const bottom = plotY + plotH;
  ctx.strokeStyle = AXIS_COLOR;
  ctx.fillStyle = TEXT_COLOR;
  ctx.font = FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.beginPath();
  for (const t of integerTicks(T, cellW, 36)) {
    const x = Math.round(plotX + (t + 0.5) * cellW) + 0.5;
    ctx.moveTo(x, bottom);
    ctx.lineTo(x, bottom + 4);
    ctx.fillText(String(t + t0), x, bottom + 6);
  }
  ctx.stroke();
  ctx.font = LABEL_FONT;
  ctx.fillText("timestep", plotX + plotW / 2, bottom + 22);
}

function setLayoutData(canvas, layout, T, C) {
  const d = canvas.dataset;
  d.plotX = String(layout.plotX);
  d.plotY = String(layout.plotY);
  d.plotWidth = String(layout.plotW);
  d.plotHeight = String(layout.plotH);
  d.cellWidth = String(layout.cellW);
  d.cellHeight = String(layout.cellH);
  d.timesteps = String(T);
  d.channels = String(C);
  d.t0 = String(layout.t0 || 0);
  d.c0 = String(layout.c0 || 0);
}

/**
 * A zoom window { t0, t1, c0, c1 } (half-open) clamped to a T x C view;
 * null or an empty window is the whole view.
 */
export function clampWindow(win, T, C) {
  if (!win) return { t0: 0, t1: T, c0: 0, c1: C };
  const t0 = Math.max(0, Math.min(T - 1, win.t0));
  const c0 = Math.max(0, Math.min(C - 1, win.c0));
  const t1 = Math.max(t0 + 1, Math.min(T, win.t1));
  const c1 = Math.max(c0 + 1, Math.min(C, win.c1));
  return { t0, t1, c0, c1 };
}

/**
 * Sizes a heatmap of the window's nT x nC cells to fit maxPlotW x maxPlotH:
 * whole pixels per cell when they fit (up to 32 x 16), else one pixel
 * column (row) per group of timesteps (channels): cellW < 1, aggregated.
 */
export function heatmapLayout(T, C, maxPlotW, maxPlotH = 300, win = null) {
  const w = clampWindow(win, T, C);
  const nT = w.t1 - w.t0;
  const nC = w.c1 - w.c0;
  const maxW = Math.max(1, Math.floor(maxPlotW));
  const maxH = Math.max(1, Math.floor(maxPlotH));
  const aggT = nT > maxW;
  const aggC = nC > maxH;
  const cellW = aggT ? maxW / nT : Math.min(32, Math.floor(maxW / nT));
  const cellH = aggC ? maxH / nC : Math.min(16, Math.floor(maxH / nC));
  const left = 50;
  const top = 18;
  const right = 12;
  const bottom = 40;
  const plotW = aggT ? maxW : nT * cellW;
  const plotH = aggC ? maxH : nC * cellH;
  return {
    plotX: left, plotY: top, plotW, plotH, cellW, cellH,
    width: left + plotW + right, height: top + plotH + bottom,
    ...w, nT, nC, cols: aggT ? maxW : nT, rows: aggC ? maxH : nC, aggT, aggC,
  };
}

/**
 * The window's cells grouped into layout.cols x layout.rows bins, each
 * the value of largest |v| in its bin (sign kept; NaN, then +-Inf win),
 * masked timesteps left out; colMasked[i]: every timestep of column i is
 * masked. Row-major Float64Array [rows][cols].
 */
export function aggregateCells(view, layout) {
  const { t0, t1, c0, c1, cols, rows } = layout;
  const key = `cells|${viewKey(view)}|${t0}|${t1}|${c0}|${c1}|${cols}|${rows}`;
  return memoized(view.data, key, () => computeCells(view, layout));
}

function computeCells(view, layout) {
  const { data, offset, C, mask } = view;
  const { t0, c0, nT, nC, cols, rows } = layout;
  const colOf = binIndex(nT, cols);
  const rowOf = binIndex(nC, rows);
  // Column-major while reducing, so that a timestep's channels (contiguous
  // in the data) land in contiguous bins: this is the hot loop of a
  // 1000 x 512 draw, so no per-cell allocations or calls either.
  const byColumn = new Float64Array(cols * rows);
  const bestAbs = new Float64Array(cols * rows).fill(-1);
  const colMasked = new Uint8Array(cols).fill(1);
  for (let t = 0; t < nT; t++) {
    if (mask && mask[t0 + t] === 0) continue;
    const i = colOf[t];
    colMasked[i] = 0;
    const base = offset + (t0 + t) * C + c0;
    const bins = i * rows;
    for (let c = 0; c < nC; c++) {
      const v = data[base + c];
      const k = bins + rowOf[c];
      // NaN (v !== v) wins over everything, then +-Inf, then largest |v|.
      const a = v !== v ? Infinity : v < 0 ? -v : v;
      if (a > bestAbs[k] || (v !== v && byColumn[k] === byColumn[k])) {
        bestAbs[k] = a;
        byColumn[k] = v;
      }
    }
  }
  const values = new Float64Array(cols * rows);
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < rows; j++) values[j * cols + i] = byColumn[i * rows + j];
  }
  return { values, colMasked };
}

/** For each of n items, the index of its bin among binEdges(n, slots). */
function binIndex(n, slots) {
  const index = new Int32Array(n);
  binEdges(n, slots).forEach(([a, b], bin) => index.fill(bin, a, b));
  return index;
}

/**
 * Draws channels (y) against timesteps (x) with a scale (scales.js).
 * Returns the layout; the canvas gets it as data-* attributes so the pixel
 * of cell (t, c) is at plotX + (t - t0 + 0.5) * cellWidth.
 */
export function drawHeatmap(canvas, view, scale, layout) {
  const { T, C, mask } = view;
  const ctx = setupCanvas(canvas, layout.width, layout.height);
  setLayoutData(canvas, layout, T, C);
  canvas.dataset.aggregated = layout.aggT || layout.aggC ? "true" : "false";

  const { values, colMasked } = aggregateCells(view, layout);
  const { cols, rows } = layout;
  const image = new ImageData(cols, rows);
  divergingPixels(scale.normAll(values), colMasked, cols, image.data);
  const cells = document.createElement("canvas");
  cells.width = cols;
  cells.height = rows;
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, layout.plotX, layout.plotY, layout.plotW, layout.plotH);

  const windowMask = mask ? mask.subarray(layout.t0, layout.t1) : null;
  drawMaskedSpans(ctx, maskedSpans(windowMask, layout.nT), layout, false);

  ctx.strokeStyle = AXIS_COLOR;
  ctx.lineWidth = 1;
  ctx.strokeRect(layout.plotX - 0.5, layout.plotY - 0.5, layout.plotW + 1, layout.plotH + 1);
  drawXAxis(ctx, layout, layout.nT, layout.t0);

  ctx.fillStyle = TEXT_COLOR;
  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.beginPath();
  for (const c of integerTicks(layout.nC, layout.cellH, 14)) {
    const y = Math.round(layout.plotY + (c + 0.5) * layout.cellH) + 0.5;
    ctx.moveTo(layout.plotX - 4, y);
    ctx.lineTo(layout.plotX - 1, y);
    ctx.fillText(String(c + layout.c0), layout.plotX - 6, y);
  }
  ctx.stroke();
  drawYLabel(ctx, { text: TEXT_COLOR }, "channel", layout.plotY, layout.plotH);
  return layout;
}

/** The (t, c) cell under a mouse event on a heatmap, or null. */
export function heatmapCellAt(canvas, layout, event) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - layout.plotX;
  const y = event.clientY - rect.top - layout.plotY;
  if (x < 0 || y < 0 || x >= layout.plotW || y >= layout.plotH) return null;
  return {
    t: (layout.t0 || 0) + Math.min((layout.nT || Infinity) - 1, Math.floor(x / layout.cellW)),
    c: (layout.c0 || 0) + Math.min((layout.nC || Infinity) - 1, Math.floor(y / layout.cellH)),
  };
}

/**
 * Line plot layout: timestep t at x = plotX + (t + 0.5) * cellW; the plot
 * is maxPlotW wide whatever T (cellW is fractional), fixed height.
 */
export function linesLayout(T, maxPlotW, plotH = 240) {
  const plotW = Math.max(1, Math.floor(maxPlotW));
  const cellW = plotW / T;
  const left = 62;
  const top = 18;
  const right = 12;
  const bottom = 40;
  return {
    plotX: left, plotY: top, plotW, plotH, cellW, cellH: plotH, t0: 0, c0: 0,
    width: left + plotW + right, height: top + plotH + bottom,
  };
}

function lineY(layout, scale, v) {
  return layout.plotY + layout.plotH / 2 - scale.norm(v) * (layout.plotH / 2);
}

function strokeChannel(ctx, view, layout, scale, c) {
  const { data, offset, T, C, mask } = view;
  ctx.beginPath();
  let drawing = false;
  for (let t = 0; t < T; t++) {
    const v = data[offset + t * C + c];
    if ((mask && mask[t] === 0) || !Number.isFinite(v)) {
      drawing = false;
      continue;
    }
    const x = layout.plotX + (t + 0.5) * layout.cellW;
    const y = lineY(layout, scale, v);
    if (drawing) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    // A lone point (neighbours missing) still shows as a short tick.
    if (!drawing) ctx.lineTo(x + 0.01, y);
    drawing = true;
  }
  ctx.stroke();
}

/** Every channel of a view, 0..C-1. */
function allChannels(view) {
  return Array.from({ length: view.C }, (_, c) => c);
}

// Non-finite markers of the lines view: half-width and height in px.
const MARKER_HALF = 4.5;
const MARKER_H = 8;

/**
 * Where the lines view marks a non-finite value: NaN on the 0 line,
 * +Inf at the top edge, -Inf at the bottom edge (y of the marker's centre).
 */
export function markerY(layout, kind) {
  if (kind === "posInf") return layout.plotY + 1 + MARKER_H / 2;
  if (kind === "negInf") return layout.plotY + layout.plotH - 1 - MARKER_H / 2;
  return layout.plotY + layout.plotH / 2;
}

/**
 * The timesteps holding NaN, +Inf and -Inf in any channel (shown or not),
 * unmasked ones only: { nan: [t...], posInf: [...], negInf: [...] }.
 */
export function nonFiniteSteps(view) {
  const { data, offset, T, C, mask } = view;
  const out = { nan: [], posInf: [], negInf: [] };
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) continue;
    const row = offset + t * C;
    let nan = false;
    let pos = false;
    let neg = false;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      if (Number.isNaN(v)) nan = true;
      else if (v === Infinity) pos = true;
      else if (v === -Infinity) neg = true;
    }
    if (nan) out.nan.push(t);
    if (pos) out.posInf.push(t);
    if (neg) out.negInf.push(t);
  }
  return out;
}

function drawMarkers(ctx, layout, steps) {
  const shapes = [
    ["nan", NAN_RGB], ["posInf", POS_INF_RGB], ["negInf", NEG_INF_RGB],
  ];
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#fff";
  for (const [kind, rgb] of shapes) {
    ctx.fillStyle = `rgb(${rgb.join(",")})`;
    const y = markerY(layout, kind);
    for (const t of steps[kind]) {
      const x = layout.plotX + (t + 0.5) * layout.cellW;
      ctx.beginPath();
      if (kind === "nan") {
        // A diamond on the 0 line.
        ctx.moveTo(x, y - MARKER_HALF - 0.5);
        ctx.lineTo(x + MARKER_HALF + 0.5, y);
        ctx.lineTo(x, y + MARKER_HALF + 0.5);
        ctx.lineTo(x - MARKER_HALF - 0.5, y);
      } else {
        // A triangle pointing at its edge.
        const dir = kind === "posInf" ? -1 : 1;
        ctx.moveTo(x, y + dir * MARKER_H / 2);
        ctx.lineTo(x + MARKER_HALF, y - dir * MARKER_H / 2);
        ctx.lineTo(x - MARKER_HALF, y - dir * MARKER_H / 2);
      }
      ctx.closePath();
      ctx.stroke();
      ctx.fill();
    }
  }
  ctx.restore();
}

/**
 * One polyline per channel over timesteps (channels: which ones, first on
 * top; all when null), each in its channel's colour; y from the scale
 * (linear or symlog) over [-vmax, vmax], with its ticks. NaN, +Inf and
 * -Inf of any channel are marked at their timesteps (markerY).
 */
export function drawLines(canvas, view, scale, layout, channels = null) {
  const { T, C, mask } = view;
  const shown = channels || allChannels(view);
  const ctx = setupCanvas(canvas, layout.width, layout.height);
  setLayoutData(canvas, layout, T, C);
  canvas.dataset.scale = scale.kind;
  canvas.dataset.shownChannels = shown.join(",");
  const { plotX, plotY, plotW, plotH } = layout;

  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const ticks = scaleTicks(scale, plotH, 22);
  for (const tick of ticks) {
    const y = Math.round(plotY + plotH / 2 - tick.pos * (plotH / 2)) + 0.5;
    ctx.strokeStyle = tick.value === 0 ? colors.zero : colors.grid;
    ctx.beginPath();
    ctx.moveTo(plotX, y);
    ctx.lineTo(plotX + plotW, y);
    ctx.stroke();
    ctx.fillStyle = TEXT_COLOR;
    ctx.fillText(tick.short, plotX - 6, y);
  }
  // The ticks' shared exponent, once, above the axis.
  const multiplier = multiplierText(ticks[0].exponent);
  canvas.dataset.multiplier = multiplier;
  if (multiplier) {
    ctx.textBaseline = "bottom";
    ctx.fillText(multiplier, plotX - 6, plotY - 5);
  }
  drawMaskedSpans(ctx, maskedSpans(mask, T), layout, true);

  ctx.save();
  ctx.beginPath();
  ctx.rect(plotX, plotY, plotW, plotH);
  ctx.clip();
  ctx.lineWidth = shown.length > 32 ? 1 : 1.5;
  ctx.globalAlpha = shown.length > 32 ? 0.6 : 0.85;
  // Drawn last is on top: the first channel (the largest, for top-k).
  for (let i = shown.length - 1; i >= 0; i--) {
    ctx.strokeStyle = channelColor(shown[i]);
    strokeChannel(ctx, view, layout, scale, shown[i]);
  }
  const steps = nonFiniteSteps(view);
  drawMarkers(ctx, layout, steps);
  ctx.restore();
  canvas.dataset.nanSteps = steps.nan.join(",");
  canvas.dataset.posInfSteps = steps.posInf.join(",");
  canvas.dataset.negInfSteps = steps.negInf.join(",");

  ctx.strokeStyle = AXIS_COLOR;
  ctx.lineWidth = 1;
  ctx.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  drawXAxis(ctx, layout, T);
  drawYLabel(ctx, { text: TEXT_COLOR }, scale.kind === "symlog" ? "value (symlog)" : "value", layout.plotY, layout.plotH);
  return layout;
}

/**
 * Draws channel c's line thick and dark on an overlay canvas the size of
 * the plot canvas (cleared first); c null only clears.
 */
export function drawLineHighlight(overlay, view, scale, layout, c) {
  const dpr = window.devicePixelRatio || 1;
  if (overlay.width !== Math.round(layout.width * dpr)) {
    overlay.width = Math.round(layout.width * dpr);
    overlay.height = Math.round(layout.height * dpr);
    overlay.style.width = `${layout.width}px`;
    overlay.style.height = `${layout.height}px`;
  }
  const ctx = overlay.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, layout.width, layout.height);
  overlay.dataset.channel = c === null || c === undefined ? "" : String(c);
  if (c === null || c === undefined) return;
  ctx.save();
  ctx.beginPath();
  ctx.rect(layout.plotX, layout.plotY, layout.plotW, layout.plotH);
  ctx.clip();
  ctx.lineWidth = 4;
  ctx.strokeStyle = colors.background || "#fff";
  strokeChannel(ctx, view, layout, scale, c);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = channelColor(c);
  strokeChannel(ctx, view, layout, scale, c);
  ctx.restore();
}

/**
 * The timestep under the mouse and the drawn channel (channels; all when
 * null) whose line is nearest; a non-finite value counts at its marker.
 */
export function linesPointAt(canvas, layout, view, scale, event, channels = null) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - layout.plotX;
  const y = event.clientY - rect.top;
  if (x < 0 || x >= layout.plotW || y < layout.plotY || y > layout.plotY + layout.plotH) return null;
  const t = Math.min(view.T - 1, Math.floor(x / layout.cellW));
  if (view.mask && view.mask[t] === 0) return { t, c: null };
  let best = null;
  let bestDist = Infinity;
  for (const c of channels || allChannels(view)) {
    const v = view.data[view.offset + t * view.C + c];
    let vy;
    if (Number.isFinite(v)) vy = lineY(layout, scale, v);
    else vy = markerY(layout, Number.isNaN(v) ? "nan" : v > 0 ? "posInf" : "negInf");
    const d = Math.abs(vy - y);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return { t, c: best };
}

const RANGE_CAPTIONS = {
  auto: "auto range",
  fixed: "fixed range",
  robust: `robust range (${ROBUST_PERCENTILE}th pct)`,
};

/**
 * Colour bar: the gradient from -vmax (blue) through 0 (white) to +vmax
 * (red), its numbers, and swatches for masked / NaN / Inf. `range` is
 * "auto", "fixed" or "robust"; the last two say that values beyond +-vmax
 * are clipped (`clipped`: how many cells are, when known).
 */
export function colorBar(scale, width, { showMasked = false, range = "auto", clipped = null, aggregated = null } = {}) {
  const vmax = scale.vmax;
  const barWidth = Math.max(200, Math.min(width, 480));
  // Position along the bar is the scale's norm; the colour is that of norm.
  const canvas = gradientBar(barWidth, (f, out, at) => divergingInto(2 * f - 1, 1, out, at));

  // Ticks at their scale positions (symlog: decades), labels centred.
  // Linear: the ends and 0 (the gradient between is even).
  const ticks = scale.kind === "linear" || !(vmax > 0)
    ? scaleTicks(scale, barWidth, barWidth)
    : scaleTicks(scale, barWidth, 44);
  const multiplier = multiplierText(ticks[0].exponent);
  const exponentLine = multiplier ? el("div", {
    class: "rnn-colorbar-multiplier", style: { width: `${barWidth}px` }, text: multiplier,
    title: `tick values are multiplied by 10^${ticks[0].exponent}`,
  }) : null;
  const numbers = el("div", { class: "rnn-colorbar-numbers rnn-colorbar-ticks", style: { width: `${barWidth}px` } },
    ticks.map((tick) => el("span", {
      class: "rnn-colorbar-tick",
      text: tick.short,
      dataset: { value: tick.value },
      style: { left: `${((tick.pos + 1) / 2) * 100}%` },
    })));
  const caption = el("div", { class: "rnn-colorbar-caption", style: { width: `${barWidth}px` } }, [
    el("span", { text: `${NEGATIVE_NAME} = negative` }),
    el("span", { class: "rnn-colorbar-range", text: RANGE_CAPTIONS[range] || RANGE_CAPTIONS.auto }),
    el("span", { text: `${POSITIVE_NAME} = positive` }),
  ]);
  const scaleLine = el("div", {
    class: "rnn-colorbar-scale", style: { maxWidth: `${barWidth}px` },
    text: `colour scale: ${scaleName(scale)}`,
  });
  const swatch = (rgb, text, cls) => el("span", { class: "rnn-swatch-item" }, [
    el("span", { class: `rnn-swatch ${cls || ""}`, style: { background: `rgb(${rgb.join(",")})` } }),
    text,
  ]);
  let clipNote = null;
  if (range === "fixed") clipNote = `beyond \u00b1${fmt(vmax)}: clipped`;
  if (range === "robust") {
    const cells = clipped === null ? "" : ` (${clipped} cell${clipped === 1 ? "" : "s"})`;
    clipNote = `beyond \u00b1${fmt(vmax)}: clipped to the end colours${cells}`;
  }
  const legend = el("div", { class: "rnn-colorbar-legend", style: { maxWidth: `${barWidth}px` } }, [
    showMasked ? swatch(MASK_RGB, "masked (padding)", "rnn-swatch-masked") : null,
    swatch(NAN_RGB, "NaN"),
    swatch(POS_INF_RGB, "+Inf"),
    swatch(NEG_INF_RGB, "\u2212Inf"),
    clipNote ? el("span", { class: "rnn-swatch-item rnn-clip-note", text: clipNote }) : null,
  ]);
  return el("div", {
    class: "rnn-colorbar",
    dataset: {
      vmax: String(vmax), range, scale: scale.kind,
      linthresh: scale.linthresh === null ? null : String(scale.linthresh),
      clipped: clipped === null ? null : String(clipped),
      multiplier,
      negativeColor: divergingCss(-1, 1), positiveColor: divergingCss(1, 1),
    },
  }, [exponentLine, canvas, numbers, caption, scaleLine, aggregated, legend]);
}

/** The canvas of one panel, with the data attributes tests and tools read. */
export function panelCanvas(p, series, opts, view) {
  return el("canvas", {
    class: "rnn-plot",
    dataset: {
      run: series.run, direction: series.direction || "none", view,
      step: p.step, sample: opts.sample, vmax: p.scale.vmax, scale: p.scale.kind,
    },
  });
}

/**
 * A y axis title, rotated, centred on the plot's height (top..top + h),
 * its centre `x` px from the canvas' left edge.
 */
export function drawYLabel(c, colors, text, top, h, x = 12) {
  // Centred on the plot, squeezed to the canvas' height where longer (a
  // short chart's title with its "×1e-3" was cut at the canvas' edge).
  const height = parseFloat(c.canvas.style.height) || top + h;
  const room = 2 * Math.min(top + h / 2, height - top - h / 2) - 4;
  c.save();
  c.translate(x, top + h / 2);
  c.rotate(-Math.PI / 2);
  c.font = LABEL_FONT;
  c.fillStyle = colors.text;
  c.textAlign = "center";
  c.textBaseline = "middle";
  c.fillText(text, 0, 0, Math.max(room, 1));
  c.restore();
}

/**
 * Horizontal grid lines and right-aligned labels of `ticks` ({pos: 0..1
 * from the bottom, label}) for a plot at x = plotX..plotX + plotW, y =
 * top..top + h.
 */
export function drawYTicks(c, colors, plotX, ticks, top, h, plotW) {
  c.font = FONT;
  c.textAlign = "right";
  c.textBaseline = "middle";
  for (const tick of ticks) {
    const y = Math.round(top + h * (1 - tick.pos)) + 0.5;
    c.strokeStyle = colors.grid;
    c.beginPath();
    c.moveTo(plotX, y);
    c.lineTo(plotX + plotW, y);
    c.stroke();
    c.fillStyle = colors.text;
    c.fillText(tick.label, plotX - 6, y);
  }
}

/**
 * A colour bar's gradient: a canvas `width` px wide and 10 px high whose
 * column at fraction f (0..1, left to right) is colourInto(f, rgba, at)'s
 * colour (it writes r, g, b; alpha is set opaque).
 */
export function gradientBar(width, colourInto) {
  const canvas = el("canvas", { class: "rnn-colorbar-gradient" });
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(10 * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = "10px";
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, 1);
  for (let i = 0; i < canvas.width; i++) {
    colourInto((i + 0.5) / canvas.width, image.data, 4 * i);
    image.data[4 * i + 3] = 255;
  }
  for (let row = 0; row < canvas.height; row++) ctx.putImageData(image, 0, row);
  return canvas;
}

/**
 * Strokes one line through `points` ([x, y], y null where there is no
 * value: the line breaks there); a point alone between gaps is a dot-long
 * stroke so it still shows.
 */
export function strokeGappedLine(c, points) {
  c.beginPath();
  let drawing = false;
  for (const [x, y] of points) {
    if (y === null) {
      drawing = false;
      continue;
    }
    if (drawing) c.lineTo(x, y);
    else {
      c.moveTo(x, y);
      c.lineTo(x + 0.01, y);
    }
    drawing = true;
  }
  c.stroke();
}
