// Line plots: one line per channel over timesteps, markers for
// non-finite values, the highlighted line and the point under the mouse.

import { channelColor } from "./channels.js";
import { multiplierText } from "./format.js";
import { scaleTicks } from "./scales.js";
import { NAN_RGB, NEG_INF_RGB, POS_INF_RGB } from "./colormap.js";
import {
  drawMaskedSpans, drawnColors, drawXAxis, drawYLabel, drawYTicks, maskedSpans, setLayoutData, setupCanvas,
} from "./canvas.js";

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

  // Ticks at the scale's positions (-1..1 from the middle), the zero line stronger.
  const ticks = scaleTicks(scale, plotH, 22);
  drawYTicks(ctx, drawnColors, plotX, ticks.map((tick) => ({
    pos: (tick.pos + 1) / 2, label: tick.short, strong: tick.value === 0,
  })), plotY, plotH, plotW);
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

  ctx.strokeStyle = drawnColors.axis;
  ctx.lineWidth = 1;
  ctx.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  drawXAxis(ctx, layout, T);
  drawYLabel(ctx, { text: drawnColors.text }, scale.kind === "symlog" ? "value (symlog)" : "value", layout.plotY, layout.plotH);
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
  ctx.strokeStyle = drawnColors.background || "#fff";
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
