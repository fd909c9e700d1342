// The lines view: one line per channel over timesteps on a linear or
// symlog y axis, fitted to the width; the line under the cursor is drawn
// thick on an overlay and read out in the tooltip.

import { el } from "./dom.js";
import {
  drawLineHighlight, drawLines, linesLayout, linesLegend, linesPointAt, panelCanvas, ROBUST_PERCENTILE,
} from "./plots.js";
import { fmt } from "./scales.js";
import { hoverRows } from "./tooltip.js";

export const KINDS = ["activation", "output_gradient", "state_gradient"];

const CLIP_NOTES = {
  fixed: " (fixed; lines beyond it are clipped)",
  robust: ` (robust, ${ROBUST_PERCENTILE}th percentile of |v|; lines beyond it are clipped)`,
};

/** The panel's plot and legend nodes. opts: maxPlotW, range, sample, onHover, onLeave. */
export function linesBody(p, series, opts) {
  const view = p.view;
  const canvas = panelCanvas(p, series, opts, "lines");
  const overlay = el("canvas", { class: "rnn-line-highlight" });
  const wrap = el("div", { class: "rnn-canvas-wrap" }, [canvas, overlay]);
  const layout = drawLines(canvas, view, p.scale, linesLayout(view.T, opts.maxPlotW));
  drawLineHighlight(overlay, view, p.scale, layout, null);
  canvas.addEventListener("mousemove", (event) => {
    const hit = linesPointAt(canvas, layout, view, p.scale, event);
    drawLineHighlight(overlay, view, p.scale, layout, hit ? hit.c : null);
    opts.onHover(hoverRows(series, view, hit), event);
  });
  canvas.addEventListener("mouseleave", () => {
    drawLineHighlight(overlay, view, p.scale, layout, null);
    opts.onLeave();
  });
  const axis = p.scale.kind === "symlog"
    ? `y axis symlog \u00b1${fmt(p.scale.vmax)} (linear below ${fmt(p.scale.linthresh)})`
    : `y axis \u00b1${fmt(p.scale.vmax)}`;
  const nodes = [wrap, linesLegend(view.C, layout.plotW)];
  if (p.stats.maxAbs === 0 && !p.stats.nan && !p.stats.inf) {
    nodes.push(el("div", { class: "rnn-note rnn-all-zero", text: "All values are 0." }));
  }
  nodes.push(el("div", {
    class: "rnn-note",
    text: `${view.C} channel(s), one line each; ${axis}${CLIP_NOTES[opts.range] || ""}. ` +
      "Hover for values (the nearest line is highlighted).",
  }));
  return nodes;
}
