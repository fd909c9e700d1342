// Heatmaps: ImageData, one pixel per cell (or bin of cells), scaled up
// without smoothing; the zoom window and the cell under the mouse.

import { el } from "./dom.js";
import { binEdges } from "./scales.js";
import { divergingPixels, sequentialPixels } from "./colormap.js";
import {
  drawMaskedSpans, drawnColors, drawXAxis, drawYLabel, FONT, integerTicks, maskedSpans, setLayoutData, setupCanvas,
} from "./canvas.js";
import { memoized, viewKey } from "../data/stats.js";

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
  // A [0, 1] scale (gate activations) on viridis; signed values on the diverging map.
  (scale.sequential ? sequentialPixels : divergingPixels)(scale.normAll(values), colMasked, cols, image.data);
  const cells = document.createElement("canvas");
  cells.width = cols;
  cells.height = rows;
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, layout.plotX, layout.plotY, layout.plotW, layout.plotH);

  const windowMask = mask ? mask.subarray(layout.t0, layout.t1) : null;
  drawMaskedSpans(ctx, maskedSpans(windowMask, layout.nT), layout, false);

  ctx.strokeStyle = drawnColors.axis;
  ctx.lineWidth = 1;
  ctx.strokeRect(layout.plotX - 0.5, layout.plotY - 0.5, layout.plotW + 1, layout.plotH + 1);
  drawXAxis(ctx, layout, layout.nT, layout.t0);

  ctx.fillStyle = drawnColors.text;
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
  drawYLabel(ctx, { text: drawnColors.text }, "channel", layout.plotY, layout.plotH);
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
