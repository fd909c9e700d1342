// Canvas and axes: sizing for devicePixelRatio, the theme's colours and
// fonts, the timestep axis, y ticks and titles, masked spans, gapped lines.
// Layout numbers are in CSS pixels; the backing store is scaled by
// devicePixelRatio.

import { MASK_HATCH, MASK_RGB } from "./colormap.js";

export const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";
export const LABEL_FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
export const BOLD_FONT = "bold 12px system-ui, -apple-system, 'Segoe UI', sans-serif";

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
// The colours setupCanvas read last: what the drawing functions of this
// folder use for axes and text on the canvas it set up.
export const drawnColors = { axis: "#555", text: "#333" };

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
  const colors = canvasColors();
  Object.assign(drawnColors, colors);
  ctx.fillStyle = drawnColors.background;
  ctx.fillRect(0, 0, width, height);
  return ctx;
}

export function maskedSpans(mask, T) {
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
export function drawMaskedSpans(ctx, spans, layout, fillGrey) {
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
    ctx.fillStyle = drawnColors.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText("masked", centre, plotY - 3);
  }
}

/** The timestep axis under a plot (layout: plotX, plotY, plotW, plotH, cellW per timestep). */
export function drawXAxis(ctx, layout, T, t0 = 0) {
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  const bottom = plotY + plotH;
  ctx.strokeStyle = drawnColors.axis;
  ctx.fillStyle = drawnColors.text;
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

/** The layout in data-* attributes (read by tests and the pixel helpers). */
export function setLayoutData(canvas, layout, T, C) {
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
 * from the bottom, label, strong?: drawn in the zero line's colour}) for a
 * plot at x = plotX..plotX + plotW, y = top..top + h.
 */
export function drawYTicks(c, colors, plotX, ticks, top, h, plotW) {
  c.font = FONT;
  c.textAlign = "right";
  c.textBaseline = "middle";
  for (const tick of ticks) {
    const y = Math.round(top + h * (1 - tick.pos)) + 0.5;
    c.strokeStyle = tick.strong ? colors.zero : colors.grid;
    c.beginPath();
    c.moveTo(plotX, y);
    c.lineTo(plotX + plotW, y);
    c.stroke();
    c.fillStyle = colors.text;
    c.fillText(tick.label, plotX - 6, y);
  }
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
