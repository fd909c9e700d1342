// The "all samples" view (see-rnn's features_2D over samples): every sample
// of the probe batch as a small heatmap (channels against timesteps), in a
// grid fitted to the panel's width, all on one colour scale, each labelled
// with its sample index; hover reads sample, timestep, channel and value.

import { el } from "../draw/dom.js";
import { divergingInto, MASK_HATCH, MASK_RGB } from "../draw/colormap.js";
import { colorBar } from "../draw/colorbar.js";
import { aggregateCells, heatmapCellAt } from "../draw/heatmap.js";
import { splitSample } from "../data/samples.js";
import { hoverRows } from "../draw/tooltip.js";
import { timestepView } from "./timestep_panels.js";


const GAP = 10;
const MIN_CELL_W = 96;
const MAX_CELL_W = 260;

/**
 * How the grid is laid out: columns and each small heatmap's largest plot
 * size, for `samples` small multiples in `width` CSS px.
 */
export function gridLayout(samples, width) {
  const fit = Math.max(1, Math.min(samples, Math.floor((width + GAP) / (MIN_CELL_W + GAP))));
  // About square, as large as fits; a few more columns when that fills the last row.
  let cols = Math.min(fit, Math.ceil(Math.sqrt(samples)));
  for (let c = cols; c <= Math.min(fit, cols + 2); c++) {
    if (samples % c === 0) {
      cols = c;
      break;
    }
  }
  const cellW = Math.min(MAX_CELL_W, Math.floor((width - GAP * (cols - 1)) / cols));
  const cellH = Math.max(32, Math.min(140, Math.round(cellW * 0.6)));
  return { cols, rows: Math.ceil(samples / cols), cellW, cellH };
}

/**
 * Sizes one small heatmap to exactly maxW x maxH (cells stretched, or
 * grouped into pixels by largest |v| where there are more than pixels).
 */
export function smallLayout(T, C, maxW, maxH) {
  const plotW = Math.max(1, Math.floor(maxW) - 2);
  const plotH = Math.max(1, Math.floor(maxH) - 2);
  const aggT = T > plotW;
  const aggC = C > plotH;
  return {
    plotX: 1, plotY: 1, plotW, plotH, cellW: plotW / T, cellH: plotH / C,
    width: plotW + 2, height: plotH + 2, t0: 0, t1: T, c0: 0, c1: C, nT: T, nC: C,
    cols: aggT ? plotW : T, rows: aggC ? plotH : C, aggT, aggC,
  };
}

/** Draws one small heatmap (no axes: the grid's caption names them). */
function drawSmall(canvas, view, scale, maxW, maxH) {
  const layout = smallLayout(view.T, view.C, maxW, maxH);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(layout.width * dpr);
  canvas.height = Math.round(layout.height * dpr);
  canvas.style.width = `${layout.width}px`;
  canvas.style.height = `${layout.height}px`;
  Object.assign(canvas.dataset, {
    dpr: String(dpr), plotX: "1", plotY: "1", plotWidth: String(layout.plotW), plotHeight: String(layout.plotH),
    cellWidth: String(layout.cellW), cellHeight: String(layout.cellH), t0: "0", c0: "0",
    timesteps: String(view.T), channels: String(view.C), aggregated: String(layout.aggT || layout.aggC),
  });
  const { values, colMasked } = aggregateCells(view, layout);
  const { cols, rows } = layout;
  const image = new ImageData(cols, rows);
  const px = image.data;
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      const at = (j * cols + i) * 4;
      if (colMasked[i]) {
        px[at] = MASK_RGB[0]; px[at + 1] = MASK_RGB[1]; px[at + 2] = MASK_RGB[2];
      } else {
        divergingInto(scale.norm(values[j * cols + i]), 1, px, at);
      }
      px[at + 3] = 255;
    }
  }
  const cells = document.createElement("canvas");
  cells.width = cols;
  cells.height = rows;
  cells.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, 1, 1, layout.plotW, layout.plotH);
  // Masked timesteps: hatched over the grey, as in the heatmap view.
  ctx.save();
  ctx.beginPath();
  for (let i = 0; i < cols; i++) {
    if (colMasked[i]) ctx.rect(1 + (i * layout.plotW) / cols, 1, layout.plotW / cols, layout.plotH);
  }
  ctx.clip();
  ctx.strokeStyle = MASK_HATCH;
  ctx.beginPath();
  for (let d = -layout.plotH; d < layout.plotW + layout.plotH; d += 7) {
    ctx.moveTo(1 + d, 1 + layout.plotH);
    ctx.lineTo(1 + d + layout.plotH, 1);
  }
  ctx.stroke();
  ctx.restore();
  ctx.strokeStyle = "#888";
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, 0.5, layout.plotW + 1, layout.plotH + 1);
  return layout;
}

/**
 * The panel's grid and colour bar. p.view is allSamplesView (every sample
 * stacked; its colour range covers them all). opts: maxPlotW, range,
 * onHover, onLeave.
 */
export function samplesBody(p, series, opts) {
  const all = p.view;
  const S = all.samples;
  const width = opts.maxPlotW + 60;
  const grid = gridLayout(S, width);
  const items = [];
  let aggregated = false;
  for (let s = 0; s < S; s++) {
    const view = splitSample(all, s);
    const canvas = el("canvas", {
      class: "rnn-sample-plot",
      dataset: { run: series.run, direction: series.direction || "none", view: "samples", sample: s, step: p.step },
    });
    const layout = drawSmall(canvas, view, p.scale, grid.cellW, grid.cellH);
    aggregated = aggregated || layout.aggT || layout.aggC;
    canvas.addEventListener("mousemove", (event) => {
      const rows = hoverRows(series, view, heatmapCellAt(canvas, layout, event));
      if (rows.length) rows.splice(series.direction ? 2 : 1, 0, ["sample", String(s)]);
      opts.onHover(rows, event);
    });
    canvas.addEventListener("mouseleave", () => opts.onLeave());
    items.push(el("figure", { class: "rnn-sample-cell", dataset: { sample: s } }, [
      el("figcaption", { class: "rnn-sample-label", text: `sample ${s}` }), canvas,
    ]));
  }
  const gridNode = el("div", {
    class: "rnn-samples-grid",
    dataset: { samples: S, columns: grid.cols },
    style: { gridTemplateColumns: `repeat(${grid.cols}, ${grid.cellW}px)` },
  }, items);
  const caption = el("div", {
    class: "rnn-note rnn-samples-caption",
    text: `${S} sample${S === 1 ? "" : "s"} of the probe batch; each: timesteps 0\u2013${all.steps - 1} ` +
      `left to right, channels 0\u2013${all.C - 1} top to bottom; one colour scale for all` +
      (aggregated ? " (more cells than pixels: each pixel shows the largest |v| of its group, sign kept)" : "") +
      ". Hover for values.",
  });
  const nodes = [gridNode, caption];
  if (p.stats.maxAbs === 0 && !p.stats.nan && !p.stats.inf) {
    nodes.push(el("div", { class: "rnn-note rnn-all-zero", text: "All values are 0." }));
  } else {
    // Under the grid, which has no axis to indent past: flush left and no
    // wider than the grid (with the heatmap's indent it overflowed the panel).
    const gridWidth = grid.cols * grid.cellW + GAP * (grid.cols - 1);
    const bar = colorBar(p.scale, Math.min(gridWidth, 480), {
      showMasked: p.stats.maskedSteps > 0, range: opts.range, clipped: p.clipped,
    });
    bar.classList.add("rnn-colorbar-flush");
    nodes.push(bar);
  }
  return nodes;
}

// Every sample of the probe batch: the Sample control does not apply.
export const samplesView = timestepView({
  id: "samples", label: "all samples (small multiples)", body: samplesBody, perSample: false,
});
