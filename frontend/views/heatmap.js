// The heatmap view: one panel draws channels against timesteps, fitted to
// the width (timesteps, channels grouped into pixel columns/rows by max |v|
// when they do not fit), with drag-to-zoom (double-click resets), hover
// readout and its colour bar.

import { el } from "../draw/dom.js";
import { colorBar } from "../draw/colorbar.js";
import { drawHeatmap, heatmapCellAt, heatmapLayout, panelCanvas } from "../draw/heatmap.js";
import { hoverRows } from "../draw/tooltip.js";
import { timestepView } from "./timestep_panels.js";

const MAX_PLOT_H = 300;
// A drag shorter than this (px) is a click, not a zoom.
const MIN_DRAG = 4;

/** The sentence that says how cells were grouped, or "" when not. */
export function aggregationNote(layout) {
  const parts = [];
  if (layout.aggT) parts.push(`${layout.nT} timesteps in ${layout.cols} px columns`);
  if (layout.aggC) parts.push(`${layout.nC} channels in ${layout.rows} px rows`);
  if (!parts.length) return "";
  return `Aggregated: ${parts.join(", ")}; each pixel shows the value of largest |v| ` +
    "in its group (sign kept). Drag to zoom for full resolution.";
}

/**
 * The panel's plot and legend nodes. opts: maxPlotW, range, zoom (window
 * or null), onZoom(window | null), onHover(rows, event), onLeave().
 */
export function heatmapBody(p, series, opts) {
  const view = p.view;
  const canvas = panelCanvas(p, series, opts, "heatmap");
  const box = el("div", { class: "rnn-zoom-box", hidden: true });
  const wrap = el("div", { class: "rnn-canvas-wrap" }, [canvas, box]);
  const drawStart = performance.now();
  const layout = drawHeatmap(canvas, view, p.scale, heatmapLayout(view.T, view.C, opts.maxPlotW, MAX_PLOT_H, opts.zoom));
  // Read by benchmarks/bench_draw.py.
  canvas.dataset.drawMs = (performance.now() - drawStart).toFixed(3);
  const zoomed = layout.nT < view.T || layout.nC < view.C;
  canvas.dataset.zoomed = zoomed ? "true" : "false";

  let drag = null;
  const local = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };
  canvas.addEventListener("mousedown", (event) => {
    const cell = heatmapCellAt(canvas, layout, event);
    if (!cell || event.button !== 0) return;
    event.preventDefault();
    drag = { cell, at: local(event) };
  });
  canvas.addEventListener("mousemove", (event) => {
    const cell = heatmapCellAt(canvas, layout, event);
    opts.onHover(hoverRows(series, view, cell), event);
    if (!drag) return;
    const [x, y] = local(event);
    const [x0, y0] = drag.at;
    Object.assign(box.style, {
      left: `${Math.min(x, x0)}px`, top: `${Math.min(y, y0)}px`,
      width: `${Math.abs(x - x0)}px`, height: `${Math.abs(y - y0)}px`,
    });
    box.hidden = false;
  });
  window.addEventListener("mouseup", (event) => {
    if (!drag || !canvas.isConnected) return;
    const start = drag;
    drag = null;
    box.hidden = true;
    const [x, y] = local(event);
    if (Math.abs(x - start.at[0]) < MIN_DRAG && Math.abs(y - start.at[1]) < MIN_DRAG) return;
    // Clamp the end into the plot so a drag past the edge still zooms.
    const rect = canvas.getBoundingClientRect();
    const clamped = {
      clientX: Math.min(Math.max(event.clientX, rect.left + layout.plotX), rect.left + layout.plotX + layout.plotW - 1),
      clientY: Math.min(Math.max(event.clientY, rect.top + layout.plotY), rect.top + layout.plotY + layout.plotH - 1),
    };
    const end = heatmapCellAt(canvas, layout, clamped);
    if (!end) return;
    const dx = Math.abs(x - start.at[0]) >= MIN_DRAG;
    const dy = Math.abs(y - start.at[1]) >= MIN_DRAG;
    // A mostly horizontal drag zooms timesteps only, a vertical one channels.
    opts.onZoom({
      t0: dx ? Math.min(start.cell.t, end.t) : layout.t0,
      t1: dx ? Math.max(start.cell.t, end.t) + 1 : layout.t1,
      c0: dy ? Math.min(start.cell.c, end.c) : layout.c0,
      c1: dy ? Math.max(start.cell.c, end.c) + 1 : layout.c1,
    });
  });
  canvas.addEventListener("dblclick", () => opts.onZoom(null));
  canvas.addEventListener("mouseleave", () => opts.onLeave());

  const nodes = [wrap];
  if (zoomed) {
    nodes.push(el("div", {
      class: "rnn-note rnn-zoom-note",
      text: `Zoomed: timesteps ${layout.t0}\u2013${layout.t1 - 1} of ${view.T}, channels ` +
        `${layout.c0}\u2013${layout.c1 - 1} of ${view.C}. Double-click to reset.`,
    }));
  }
  const note = aggregationNote(layout);
  const aggregated = note ? el("div", { class: "rnn-aggregated", text: note }) : null;
  if (p.stats.maxAbs === 0 && !p.stats.nan && !p.stats.inf) {
    nodes.push(el("div", { class: "rnn-note rnn-all-zero", text: "All values are 0." }), aggregated);
  } else {
    nodes.push(colorBar(p.scale, layout.plotW, {
      showMasked: p.stats.maskedSteps > 0, range: opts.range, clipped: p.clipped, aggregated,
    }));
  }
  return nodes.filter(Boolean);
}

// unitScale: a gate's activations (known to lie in [0, 1]) on the sequential 0..1 map.
export const heatmapView = timestepView({ id: "heatmap", label: "heatmap", body: heatmapBody, perSample: true, unitScale: true });
