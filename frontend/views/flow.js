// "Flow over training": a run's profile ||v_t|| at every logged step as a
// heatmap, rows = logged steps (first at the top), columns = timesteps,
// on a log colour scale (viridis), so the step at which the gradient
// starts to reach early timesteps shows as a front moving left. Rows and
// columns are binned to pixels when there are more than fit (each pixel the
// largest value of its group). Clicking a row selects that step.

import { el } from "../draw/dom.js";
import { canvasColors, drawXAxis, FONT, integerTicks, LABEL_FONT, setupCanvas } from "../draw/canvas.js";
import { gradientBar } from "../draw/colorbar.js";
import {
  batchQuantiles, binFlow, byDirection, decadeTicks, linearScale, linearTicks, logScale, positiveRange, profileRow, rowLength,
} from "../data/profiles.js";
import { MASK_RGB, NAN_RGB, POS_INF_RGB, viridisInto } from "../draw/colormap.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { directionLabel } from "../data/index_model.js";

// Canvas colours of the current theme, read at the start of each draw.
let COLORS = canvasColors();

const MAX_PLOT_H = 360;
const MAX_ROW_H = 24;
const MAX_COL_W = 24;
// Below the log scale (exactly 0): white, off the map.
export const ZERO_RGB = [255, 255, 255];
// A timestep a shorter step did not log (its profile is padded).
const MISSING = -2;


/** The colour of a scale position (0..1, or off the scale) into out[at..at+2]. */
export function flowColorInto(v, pos, out, at) {
  let c;
  if (v === MISSING) c = MASK_RGB;
  else if (Number.isNaN(v)) c = NAN_RGB;
  else if (v === Infinity) c = POS_INF_RGB;
  else if (pos === -Infinity) c = ZERO_RGB;
  else {
    viridisInto(pos, out, at);
    return;
  }
  out[at] = c[0]; out[at + 1] = c[1]; out[at + 2] = c[2];
}

/** What a flow row summarises of the batch: "median" (the default: one
 * sample that grows while the others fade must not decide), "mean", or a
 * sample index; from the profile view's shared Batch choice. */
export function flowBatch(profileBatch, sample) {
  if (profileBatch === "sample") return sample;
  return profileBatch === "mean" ? "mean" : "median";
}

/** The rows (one Float64Array of T per logged step) of a profile. */
function flowRows(p, batch) {
  const rows = [];
  for (let i = 0; i < p.steps.length; i++) {
    const row = batch === "median" ? batchQuantiles(p, i).median : profileRow(p, i, batch);
    const length = rowLength(p, i);
    if (length < p.timesteps) row.fill(MISSING, length);
    rows.push(row);
  }
  return rows;
}

/** The flow panels: per run, one heatmap per direction. */
export function flowNodes(items, ctx) {
  const useSample = ctx.state.profileBatch === "sample";
  for (const item of items) {
    const p = item.result.value;
    item.flowSample = Math.max(0, Math.min(ctx.sample, p.samples - 1));
    item.flowBatch = flowBatch(ctx.state.profileBatch, item.flowSample);
    item.flowRows = flowRows(p, item.flowBatch);
  }
  const log = ctx.state.profileYScale === "log";
  const scaleOf = (rows) => {
    const range = positiveRange(rows);
    return log ? logScale(range ? range.lo : 1e-3, range ? range.hi : 1) : linearScale(range ? range.hi : 1);
  };
  const shared = ctx.shared ? scaleOf(items.flatMap((i) => i.flowRows)) : null;
  const available = Math.max(360, ctx.width - 8);
  const directions = byDirection(items);
  const side = directions.length > 1 && available >= 2 * 520 + 16;
  const panelW = side ? Math.floor((available - 16) / 2) : Math.min(available, 1180);
  const runs = [...new Set(items.map((i) => i.run))];
  return runs.map((run) => {
    const mine = items.filter((i) => i.run === run);
    const panels = byDirection(mine).map(([direction, [item]]) =>
      flowPanel(item, direction, shared || scaleOf(item.flowRows), ctx, panelW, useSample));
    return el("section", {
      class: "rnn-run-column rnn-flow-run", dataset: { run },
      style: { flexBasis: "100%" },
    }, [
      el("h3", { class: "rnn-run-title", title: run }, [
        el("span", { style: { display: "inline-block", width: "12px", height: "12px", borderRadius: "2px", marginRight: "6px", background: runColor(run, ctx.allRuns) } }),
        run,
      ]),
      el("div", { style: { display: "flex", flexWrap: "wrap", gap: "16px" } }, panels),
    ]);
  });
}

function flowLayout(n, T, panelW) {
  const plotX = 74;
  const maxW = Math.max(100, Math.floor(panelW - plotX - 36));
  const aggT = T > maxW;
  const cols = aggT ? maxW : T;
  const cellW = aggT ? maxW / T : Math.max(1, Math.min(MAX_COL_W, Math.floor(maxW / T)));
  const aggS = n > MAX_PLOT_H;
  const rows = aggS ? MAX_PLOT_H : n;
  const rowH = aggS ? MAX_PLOT_H / n : Math.max(1, Math.min(MAX_ROW_H, Math.floor(MAX_PLOT_H / n)));
  const plotW = aggT ? maxW : T * cellW;
  const plotH = aggS ? MAX_PLOT_H : n * rowH;
  return {
    plotX, plotY: 8, plotW, plotH, cellW, rowH, cols, rows, aggT, aggS,
    width: plotX + plotW + 20, height: 8 + plotH + 40,
  };
}

function flowPanel(item, direction, scale, ctx, panelW, useSample) {
  const p = item.result.value;
  const n = p.steps.length;
  const T = p.timesteps;
  const layout = flowLayout(n, T, panelW);
  const binned = binFlow(item.flowRows, n, T, layout.cols, layout.rows);
  const selected = p.steps.indexOf(ctx.step);
  const canvas = el("canvas", {
    class: "rnn-plot rnn-flow-plot",
    dataset: {
      view: "flow", run: item.run, direction: direction || "none", steps: n, rows: binned.rows,
      cols: binned.cols, timesteps: T, scale: scale.kind, plotX: layout.plotX, plotY: layout.plotY,
      plotWidth: layout.plotW, plotHeight: layout.plotH,
    },
  });
  drawFlow(canvas, binned, p.steps, scale, layout, T, selected);
  canvas.rnnFlow = { steps: p.steps, rows: binned.rows, cols: binned.cols, values: binned.values, lo: scale.lo, hi: scale.hi };
  const cellAt = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - layout.plotX;
    const y = event.clientY - rect.top - layout.plotY;
    if (x < 0 || y < 0 || x >= layout.plotW || y >= layout.plotH) return null;
    const r = Math.min(binned.rows - 1, Math.floor((y / layout.plotH) * binned.rows));
    const k = Math.min(binned.cols - 1, Math.floor((x / layout.plotW) * binned.cols));
    return { r, k };
  };
  canvas.addEventListener("mousemove", (event) => {
    const cell = cellAt(event);
    if (!cell) {
      ctx.onLeave();
      return;
    }
    const [i0, i1] = binned.rowBins[cell.r];
    const [t0, t1] = binned.colBins[cell.k];
    const v = binned.values[cell.r * binned.cols + cell.k];
    const rows = [["run", item.run]];
    if (direction) rows.push(["direction", direction]);
    rows.push(["step", i1 - i0 > 1 ? `${p.steps[i0]}\u2013${p.steps[i1 - 1]} (largest)` : String(p.steps[i0])]);
    rows.push(["timestep", t1 - t0 > 1 ? `${t0}\u2013${t1 - 1}` : String(t0)]);
    rows.push(["value", v === MISSING ? "not logged" : fmt(v, 4)]);
    rows.push(["", useSample ? `||v_t|| of sample ${item.flowSample}` : `${item.flowBatch} ||v_t|| over the batch`]);
    ctx.onHover(rows, event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  canvas.addEventListener("click", (event) => {
    const cell = cellAt(event);
    if (cell) ctx.onStep(p.steps[binned.rowBins[cell.r][0]]);
  });
  canvas.style.cursor = "pointer";
  canvas.title = "Click a row to select its step";

  const parts = [];
  if (layout.aggT) parts.push(`${T} timesteps in ${binned.cols} px columns`);
  if (layout.aggS) parts.push(`${n} logged steps in ${binned.rows} px rows`);
  const aggregated = parts.length
    ? `Aggregated: ${parts.join(", ")}; each pixel shows the largest value of its group.` : "";
  const heading = [el("span", { text: `${n} logged step${n === 1 ? "" : "s"} \u00d7 ${T} timesteps` })];
  if (direction) heading.unshift(el("span", { class: "rnn-direction", text: directionLabel(direction) }));
  return el("div", {
    class: "rnn-panel rnn-flow-panel", dataset: { run: item.run, direction: direction || "none", view: "flow" },
    style: { width: `${panelW}px` },
  }, [
    el("div", { class: "rnn-panel-heading" }, heading),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    flowColorBar(scale, Math.min(480, layout.plotW), layout.plotX, useSample ? `sample ${item.flowSample}` : `${item.flowBatch} over the batch`, aggregated),
  ]);
}

function drawFlow(canvas, binned, steps, scale, layout, T, selected) {
  const c = setupCanvas(canvas, layout.width, layout.height);
  COLORS = canvasColors(); // the theme (light or dark) at this draw
  const { rows, cols, values, rowBins } = binned;
  const image = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    flowColorInto(values[i], scale.norm(values[i]), image.data, 4 * i);
    image.data[4 * i + 3] = 255;
  }
  const cells = document.createElement("canvas");
  cells.width = cols;
  cells.height = rows;
  cells.getContext("2d").putImageData(image, 0, 0);
  c.imageSmoothingEnabled = false;
  const { plotX, plotY, plotW, plotH } = layout;
  c.drawImage(cells, plotX, plotY, plotW, plotH);
  c.strokeStyle = COLORS.axis;
  c.lineWidth = 1;
  c.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);

  // x: timesteps.
  drawXAxis(c, { plotX, plotY, plotW, plotH, cellW: plotW / T }, T);
  // y: logged steps (labels at row starts); the selected step's label in
  // red, with a marker at the plot's right end of its row.
  c.font = FONT;
  c.textAlign = "right";
  c.textBaseline = "middle";
  const rowH = plotH / rows;
  const selRow = selected >= 0 ? rowBins.findIndex(([a, b]) => selected >= a && selected < b) : -1;
  const selY = plotY + (selRow + 0.5) * rowH;
  c.beginPath();
  for (const r of integerTicks(rows, rowH, 16)) {
    const y = Math.round(plotY + (r + 0.5) * rowH) + 0.5;
    c.moveTo(plotX - 4, y);
    c.lineTo(plotX - 1, y);
    if (selRow < 0 || Math.abs(y - selY) >= 12) c.fillText(String(steps[rowBins[r][0]]), plotX - 6, y);
  }
  c.stroke();
  c.save();
  c.translate(11, plotY + plotH / 2);
  c.rotate(-Math.PI / 2);
  c.font = LABEL_FONT;
  c.textAlign = "center";
  c.fillText(plotH >= 90 ? "logged step" : "step", 0, 0);
  c.restore();
  if (selRow >= 0) {
    c.fillStyle = "#d50000";
    c.font = `bold ${FONT}`;
    c.fillText(String(steps[selected]), plotX - 6, selY);
    const x = plotX + plotW + 1;
    c.beginPath();
    c.moveTo(x, selY);
    c.lineTo(x + 8, selY - 5);
    c.lineTo(x + 8, selY + 5);
    c.closePath();
    c.fill();
  }
}

function flowColorBar(scale, width, left, what, aggregated) {
  const barW = Math.max(200, width);
  const canvas = gradientBar(barW, (f, out, at) => flowColorInto(1, f, out, at));
  const ticks = scale.kind === "log" ? decadeTicks(scale, barW, 56) : linearTicks(scale.hi, 5);
  const numbers = el("div", { class: "rnn-colorbar-numbers rnn-colorbar-ticks", style: { width: `${barW}px` } },
    ticks.map((tick) => el("span", {
      class: "rnn-colorbar-tick", text: tick.label, dataset: { value: tick.value },
      style: { left: `${tick.pos * 100}%` },
    })));
  const name = scale.kind === "log"
    ? `colour scale: log, ${what} of ||v_t|| from 1e${scale.decades[0]} to 1e${scale.decades[1]} (viridis)`
    : `colour scale: linear, ${what} of ||v_t|| from 0 to ${fmt(scale.hi)} (viridis)`;
  const swatch = (rgb, text) => el("span", { class: "rnn-swatch-item" }, [
    el("span", { class: "rnn-swatch", style: { background: `rgb(${rgb.join(",")})`, border: "1px solid #bbb" } }), text,
  ]);
  return el("div", {
    class: "rnn-colorbar rnn-flow-colorbar", style: { marginLeft: `${left}px` },
    dataset: { scale: scale.kind, lo: scale.lo, hi: scale.hi },
  }, [
    canvas, numbers,
    el("div", { class: "rnn-colorbar-scale", style: { maxWidth: `${barW + 200}px` }, text: name }),
    aggregated ? el("div", { class: "rnn-aggregated", text: aggregated }) : null,
    el("div", { class: "rnn-colorbar-legend", style: { maxWidth: `${barW + 200}px` } }, [
      scale.kind === "log" ? swatch(ZERO_RGB, "0 (below the log scale)") : null,
      swatch(NAN_RGB, "NaN"),
      swatch(POS_INF_RGB, "+Inf"),
      swatch(MASK_RGB, "not logged (shorter step)"),
      el("span", { class: "rnn-swatch-item rnn-muted", text: "red: the selected step (\u25c0); click a row to select it" }),
    ]),
  ]);
}
