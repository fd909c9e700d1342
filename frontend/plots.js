// Canvas drawing: heatmaps (ImageData, one pixel per cell, scaled up
// without smoothing), line plots, axes and the colour bar. Layout numbers
// are in CSS pixels; the canvas backing store is scaled by devicePixelRatio.

import { el, fmt } from "./dom.js";
import {
  divergingInto, divergingCss, LINE_COLORS, MASK_HATCH, MASK_RGB, INF_RGB, NAN_RGB,
  NEGATIVE_NAME, POSITIVE_NAME,
} from "./colormap.js";

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const AXIS_COLOR = "#555";
const TEXT_COLOR = "#333";

/**
 * One panel's data: a [timesteps, channels] slice of a [samples, timesteps,
 * channels] tensor, and which timesteps are padding.
 * value(t, c) = data[offset + t * C + c]; mask[t] === 0 means masked.
 */
export function sliceView(tensor, sample, mask) {
  const [, T, C] = tensor.shape;
  return { data: tensor.data, offset: sample * T * C, T, C, mask };
}

/** Max |v| over finite, unmasked values, and counts of NaN, Inf, masked. */
export function summarize(view) {
  const { data, offset, T, C, mask } = view;
  let maxAbs = 0;
  let nan = 0;
  let inf = 0;
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
      else if (v === Infinity || v === -Infinity) inf++;
      else if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
    }
  }
  return { maxAbs, nan, inf, maskedSteps };
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

function setupCanvas(canvas, width, height) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  canvas.dataset.dpr = String(dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
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
    ctx.fillStyle = "#666";
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("masked", centre, plotY - 3);
  }
}

function drawXAxis(ctx, layout, T) {
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  const bottom = plotY + plotH;
  ctx.strokeStyle = AXIS_COLOR;
  ctx.fillStyle = TEXT_COLOR;
  ctx.font = FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.beginPath();
  for (const t of integerTicks(T, cellW, 30)) {
    const x = Math.round(plotX + (t + 0.5) * cellW) + 0.5;
    ctx.moveTo(x, bottom);
    ctx.lineTo(x, bottom + 4);
    ctx.fillText(String(t), x, bottom + 6);
  }
  ctx.stroke();
  ctx.font = LABEL_FONT;
  ctx.fillText("timestep", plotX + plotW / 2, bottom + 22);
}

function drawYLabel(ctx, layout, text) {
  const { plotY, plotH } = layout;
  ctx.save();
  ctx.translate(12, plotY + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.font = LABEL_FONT;
  ctx.fillStyle = TEXT_COLOR;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, 0, 0);
  ctx.restore();
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
}

/** Sizes a heatmap so the plot is at most about maxPlotW wide. */
export function heatmapLayout(T, C, maxPlotW, maxPlotH = 300) {
  const cellW = Math.max(1, Math.min(32, Math.floor(maxPlotW / T)));
  const cellH = Math.max(1, Math.min(16, Math.floor(maxPlotH / C)));
  const left = 50;
  const top = 18;
  const right = 12;
  const bottom = 40;
  const plotW = T * cellW;
  const plotH = C * cellH;
  return {
    plotX: left, plotY: top, plotW, plotH, cellW, cellH,
    width: left + plotW + right, height: top + plotH + bottom,
  };
}

/**
 * Draws channels (y) against timesteps (x). Returns the layout; the canvas
 * gets it as data-* attributes so the pixel of cell (t, c) can be computed.
 */
export function drawHeatmap(canvas, view, vmax, layout) {
  const { data, offset, T, C, mask } = view;
  const ctx = setupCanvas(canvas, layout.width, layout.height);
  setLayoutData(canvas, layout, T, C);

  // One pixel per cell, then scaled up without smoothing.
  const image = new ImageData(T, C);
  const px = image.data;
  for (let c = 0; c < C; c++) {
    for (let t = 0; t < T; t++) {
      const at = (c * T + t) * 4;
      if (mask && mask[t] === 0) {
        px[at] = MASK_RGB[0]; px[at + 1] = MASK_RGB[1]; px[at + 2] = MASK_RGB[2];
      } else {
        divergingInto(data[offset + t * C + c], vmax, px, at);
      }
      px[at + 3] = 255;
    }
  }
  const cells = document.createElement("canvas");
  cells.width = T;
  cells.height = C;
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, layout.plotX, layout.plotY, layout.plotW, layout.plotH);

  drawMaskedSpans(ctx, maskedSpans(mask, T), layout, false);

  ctx.strokeStyle = AXIS_COLOR;
  ctx.lineWidth = 1;
  ctx.strokeRect(layout.plotX - 0.5, layout.plotY - 0.5, layout.plotW + 1, layout.plotH + 1);
  drawXAxis(ctx, layout, T);

  ctx.fillStyle = TEXT_COLOR;
  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.beginPath();
  for (const c of integerTicks(C, layout.cellH, 14)) {
    const y = Math.round(layout.plotY + (c + 0.5) * layout.cellH) + 0.5;
    ctx.moveTo(layout.plotX - 4, y);
    ctx.lineTo(layout.plotX - 1, y);
    ctx.fillText(String(c), layout.plotX - 6, y);
  }
  ctx.stroke();
  drawYLabel(ctx, layout, "channel");
  return layout;
}

/** The (t, c) cell under a mouse event on a heatmap, or null. */
export function heatmapCellAt(canvas, layout, event) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - layout.plotX;
  const y = event.clientY - rect.top - layout.plotY;
  if (x < 0 || y < 0 || x >= layout.plotW || y >= layout.plotH) return null;
  return { t: Math.floor(x / layout.cellW), c: Math.floor(y / layout.cellH) };
}

/**
 * Line plot layout: timestep t at x = plotX + (t + 0.5) * cellW (cellW may
 * be fractional here), fixed height.
 */
export function linesLayout(T, maxPlotW, plotH = 240) {
  const plotW = Math.max(maxPlotW, T);
  const cellW = plotW / T;
  const left = 62;
  const top = 18;
  const right = 12;
  const bottom = 40;
  return {
    plotX: left, plotY: top, plotW, plotH, cellW, cellH: plotH,
    width: left + plotW + right, height: top + plotH + bottom,
  };
}

/** One polyline per channel over timesteps; y symmetric in [-vmax, vmax]. */
export function drawLines(canvas, view, vmax, layout) {
  const { data, offset, T, C, mask } = view;
  const ctx = setupCanvas(canvas, layout.width, layout.height);
  setLayoutData(canvas, layout, T, C);
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  const yOf = (v) => plotY + plotH / 2 - (v / vmax) * (plotH / 2);

  // Grid: -vmax, -vmax/2, 0, vmax/2, vmax.
  ctx.font = FONT;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const f of [-1, -0.5, 0, 0.5, 1]) {
    const y = Math.round(yOf(f * vmax)) + 0.5;
    ctx.strokeStyle = f === 0 ? "#999" : "#e3e3e3";
    ctx.beginPath();
    ctx.moveTo(plotX, y);
    ctx.lineTo(plotX + plotW, y);
    ctx.stroke();
    ctx.fillStyle = TEXT_COLOR;
    ctx.fillText(f === 0 ? "0" : fmt(f * vmax), plotX - 6, y);
  }
  drawMaskedSpans(ctx, maskedSpans(mask, T), layout, true);

  ctx.save();
  ctx.beginPath();
  ctx.rect(plotX, plotY, plotW, plotH);
  ctx.clip();
  ctx.lineWidth = C > 32 ? 1 : 1.5;
  ctx.globalAlpha = C > 32 ? 0.6 : 0.85;
  for (let c = 0; c < C; c++) {
    ctx.strokeStyle = LINE_COLORS[c % LINE_COLORS.length];
    ctx.beginPath();
    let drawing = false;
    for (let t = 0; t < T; t++) {
      const v = data[offset + t * C + c];
      if ((mask && mask[t] === 0) || !Number.isFinite(v)) {
        drawing = false;
        continue;
      }
      const x = plotX + (t + 0.5) * cellW;
      const y = yOf(v);
      if (drawing) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      // A lone point (neighbours missing) still shows as a short tick.
      if (!drawing) ctx.lineTo(x + 0.01, y);
      drawing = true;
    }
    ctx.stroke();
  }
  ctx.restore();

  ctx.strokeStyle = AXIS_COLOR;
  ctx.lineWidth = 1;
  ctx.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  drawXAxis(ctx, layout, T);
  drawYLabel(ctx, layout, "value");
  return layout;
}

/** The timestep under the mouse and the channel whose line is nearest. */
export function linesPointAt(canvas, layout, view, vmax, event) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - layout.plotX;
  const y = event.clientY - rect.top;
  if (x < 0 || x >= layout.plotW || y < layout.plotY || y > layout.plotY + layout.plotH) return null;
  const t = Math.min(view.T - 1, Math.floor(x / layout.cellW));
  if (view.mask && view.mask[t] === 0) return { t, c: null };
  let best = null;
  let bestDist = Infinity;
  for (let c = 0; c < view.C; c++) {
    const v = view.data[view.offset + t * view.C + c];
    const vy = Number.isFinite(v)
      ? layout.plotY + layout.plotH / 2 - (v / vmax) * (layout.plotH / 2)
      : layout.plotY;
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
export function colorBar(vmax, width, { showMasked = false, range = "auto", clipped = null } = {}) {
  const barWidth = Math.max(200, Math.min(width, 480));
  const canvas = el("canvas", { class: "rnn-colorbar-gradient" });
  const height = 10;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(barWidth * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${barWidth}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, 1);
  for (let i = 0; i < canvas.width; i++) {
    const v = ((i + 0.5) / canvas.width) * 2 - 1;
    divergingInto(v, 1, image.data, i * 4);
    image.data[i * 4 + 3] = 255;
  }
  for (let row = 0; row < canvas.height; row++) ctx.putImageData(image, 0, row);

  const numbers = el("div", { class: "rnn-colorbar-numbers", style: { width: `${barWidth}px` } }, [
    el("span", { text: fmt(-vmax) }),
    el("span", { text: "0" }),
    el("span", { text: fmt(vmax) }),
  ]);
  const caption = el("div", { class: "rnn-colorbar-caption", style: { width: `${barWidth}px` } }, [
    el("span", { text: `${NEGATIVE_NAME} = negative` }),
    el("span", { class: "rnn-colorbar-range", text: RANGE_CAPTIONS[range] || RANGE_CAPTIONS.auto }),
    el("span", { text: `${POSITIVE_NAME} = positive` }),
  ]);
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
    swatch(INF_RGB, "\u00b1Inf"),
    clipNote ? el("span", { class: "rnn-swatch-item rnn-clip-note", text: clipNote }) : null,
  ]);
  return el("div", {
    class: "rnn-colorbar",
    dataset: {
      vmax: String(vmax), range, clipped: clipped === null ? null : String(clipped),
      negativeColor: divergingCss(-vmax, vmax), positiveColor: divergingCss(vmax, vmax),
    },
  }, [canvas, numbers, caption, legend]);
}

/** Legend of line colours: one swatch per channel, or how they cycle. */
export function linesLegend(C, width) {
  const items = [];
  const shown = Math.min(C, LINE_COLORS.length);
  for (let c = 0; c < shown; c++) {
    items.push(el("span", { class: "rnn-swatch-item" }, [
      el("span", { class: "rnn-swatch rnn-swatch-line", style: { background: LINE_COLORS[c] } }),
      C > LINE_COLORS.length ? `${c}, ${c + LINE_COLORS.length}, \u2026` : `channel ${c}`,
    ]));
  }
  return el("div", { class: "rnn-colorbar-legend rnn-lines-legend", style: { maxWidth: `${width}px` } }, items);
}
