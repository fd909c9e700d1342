// The "distributions" view of a weight (or weight gradient) series over all
// of training, from its kept per-gate histograms (every logged step): per run a block in its run colour, small multiples per
//   (matrix, gate), each a ridgeline of the gate's signed log-magnitude
//   histogram at every logged step (TensorBoard's "offset" mode: oldest at
//   the back, newest in front and most opaque), one x range for all.
//   Runs get their own blocks, not overlaid outlines: two ridgelines of
//   up to 60 ridges each drawn over one another cross on every ridge and
//   neither can be read; side by side blocks on the same x range compare.


import { el } from "../draw/dom.js";
import { canvasColors, FONT, setupCanvas } from "../draw/canvas.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { quantityLabel } from "../data/index_model.js";
import {
  binRangeText, binTicks, gateColor, gateNames, MAX_RIDGES, nonFiniteSummary, nonFiniteText, thinIndices, usedBins, weightGateLabel,
} from "./gate_history.js";
import { compareSeries, companionView, countsOf, explanation, seriesPlace, sortOut } from "./gate_history_items.js";

let COLORS = canvasColors();


const RIDGE_H = 150; // plot height of one small multiple, px
const GUTTER = 40; // left of each multiple: the first and last step's labels

function renderDistributions(loaded, ctx) {
  const { notes, errors, ok } = sortOut(loaded, ctx, ["gate_histogram", "gate_stats"]);
  const nodes = [explanation(
    "Per run, one chart per weight matrix (rows) and gate (columns): the distribution of the values at " +
    "every logged step, oldest at the back (top, faint), newest in front (bottom, solid). x: signed " +
    "magnitude on a log scale, two bins per decade, the bin around 0 holding exact zeros and |v| < 1e-9. " +
    "Hover for counts."), ...notes];
  const usable = ok.filter((item) => item.kept.gate_histogram.value.steps.length);
  if (!usable.length) {
    if (!notes.length) nodes.push(el("div", { class: "rnn-message", text: ctx.groups.length ? "Nothing logged to draw." : "Select at least one run." }));
    return { nodes, errors };
  }
  const edges = usable[0].kept.gate_histogram.value.header.metadata.bin_edges;
  const range = usedBins(usable.map((item) => {
    const h = item.kept.gate_histogram.value;
    return { count: h.value, steps: h.steps.length, rows: h.rows, bins: h.columns };
  })) || { lo: 0, hi: edges.length };
  const byRun = new Map();
  for (const item of usable) {
    if (!byRun.has(item.run)) byRun.set(item.run, []);
    byRun.get(item.run).push(item);
  }
  // One chart width for every run (the most gates any shown series has), so
  // that the shared x range also sits at the same pixels in every block.
  const columns = Math.max(...usable.map((item) => item.kept.gate_histogram.value.rows));
  for (const [run, items] of byRun) {
    nodes.push(runBlock(run, items.sort((a, b) => compareSeries(a.series, b.series)), edges, range, columns, ctx));
  }
  return { nodes, errors };
}

function runBlock(run, items, edges, range, columns, ctx) {
  const color = runColor(run, ctx.allRuns);
  const available = Math.max(320, ctx.width - 24);
  const multipleW = Math.max(200, Math.min(420, Math.floor((available - 12 * (columns - 1)) / columns)));
  const rows = items.map((item) => {
    const cells = [];
    const h = item.kept.gate_histogram.value;
    const names = gateNames(h.header.metadata.gates, h.rows);
    for (let r = 0; r < h.rows; r++) cells.push(ridgeMultiple(run, item, r, names[r], edges, range, color, multipleW, ctx));
    return el("div", { class: "rnn-ghist-row" }, [
      el("div", { class: "rnn-ghist-row-label", text: seriesPlace(item.series) }),
      el("div", { class: "rnn-ghist-cells" }, cells),
    ]);
  });
  const h = items[0].kept.gate_histogram.value;
  const thinned = items.some((item) => item.kept.gate_histogram.value.steps.length > MAX_RIDGES);
  const note = thinned
    ? `Showing ${MAX_RIDGES} of ${h.steps.length} logged steps, evenly spaced (first and last included).`
    : `${h.steps.length} logged step${h.steps.length === 1 ? "" : "s"}, steps ${h.steps[0]}\u2013${h.steps[h.steps.length - 1]}.`;
  return el("div", { class: "rnn-ghist-block", dataset: { run }, style: { borderColor: color } }, [
    el("div", { class: "rnn-ghist-block-heading" }, [
      el("span", { class: "rnn-swatch", style: { background: color } }),
      el("span", { class: "rnn-ghist-run", text: run, style: { color } }),
      el("span", { class: "rnn-muted", text: `${quantityLabel(ctx.state.kind)} \u00b7 layer ${ctx.state.layer} \u00b7 ${note}` }),
    ]),
    ...rows,
  ]);
}

function ridgeMultiple(run, item, r, gate, edges, range, color, width, ctx) {
  const h = item.kept.gate_histogram.value;
  const stats = item.kept.gate_stats.value;
  const kept = thinIndices(h.steps.length);
  const layout = {
    width, height: RIDGE_H + 40, plotX: GUTTER, plotY: 6, plotW: width - GUTTER - 8, plotH: RIDGE_H,
    bins: range.hi - range.lo + 1,
  };
  layout.binW = layout.plotW / layout.bins;
  // The tallest ridge reaches this high above its baseline: up to ~4
  // ridge spacings, so neighbouring steps overlap as in TensorBoard.
  layout.peakH = Math.min(layout.plotH * 0.45, Math.max(24, (4 * layout.plotH) / Math.max(1, kept.length)));
  layout.spacing = kept.length > 1 ? (layout.plotH - layout.peakH) / (kept.length - 1) : 0;
  let maxCount = 0;
  for (const i of kept) for (let b = range.lo; b <= range.hi; b++) maxCount = Math.max(maxCount, h.value(i, r, b));
  const total = (i) => {
    let n = 0;
    for (let b = 0; b < h.columns; b++) n += h.value(i, r, b);
    return n;
  };
  const summary = nonFiniteSummary(stats.steps, countsOf(stats, r));
  const series = item.series;
  const canvas = el("canvas", {
    class: "rnn-plot rnn-ghist-ridges",
    dataset: {
      view: "distributions", run, matrix: (series.meta && series.meta.matrix) || "", gate: gate ?? "",
      direction: series.direction || "none", cellIndex: series.cellIndex ?? "",
      ridges: kept.length, steps: h.steps.length, binLo: range.lo, binHi: range.hi,
      firstStep: h.steps[kept[0]], lastStep: h.steps[kept[kept.length - 1]],
      plotX: layout.plotX, plotY: layout.plotY, plotWidth: layout.plotW, plotHeight: layout.plotH, binWidth: layout.binW,
      nanSteps: summary.nan.steps, infSteps: summary.posinf.steps + summary.neginf.steps, zeroSteps: summary.zero.steps,
    },
  });
  drawRidges(canvas, h, r, kept, range, edges, color, layout, maxCount);
  // What is drawn, for tools and tests.
  canvas.rnnRidges = { steps: kept.map((i) => h.steps[i]), lo: range.lo, hi: range.hi, maxCount };
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - layout.plotX;
    const y = event.clientY - rect.top;
    if (x < 0 || x >= layout.plotW || y < layout.plotY || y > layout.plotY + layout.plotH + 4) {
      ctx.onLeave();
      return;
    }
    const b = range.lo + Math.min(layout.bins - 1, Math.floor(x / layout.binW));
    // The ridge whose baseline is nearest below the cursor (its curve rises above it).
    const k = Math.max(0, Math.min(kept.length - 1, layout.spacing
      ? Math.ceil((y - layout.plotY - layout.peakH) / layout.spacing - 1e-9) : 0));
    const i = kept[k];
    ctx.onHover([
      ["run", run], ["matrix", seriesPlace(series)], ["gate", weightGateLabel(gate, series.cell, series.meta)],
      ["step", String(h.steps[i])], ["bin", binRangeText(edges, b, fmt)],
      ["count", `${fmt(h.value(i, r, b))} of ${fmt(total(i))} finite values`],
    ], event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  const text = nonFiniteText(summary, stats.steps.length);
  const bad = summary.nan.steps || summary.posinf.steps || summary.neginf.steps;
  return el("div", { class: "rnn-ghist-multiple", style: { width: `${width}px` } }, [
    el("div", { class: "rnn-ghist-gate" }, [
      el("span", { class: "rnn-swatch", style: { background: gateColor(gate, r, series.cell) } }),
      el("span", { text: weightGateLabel(gate, series.cell, series.meta) }),
    ]),
    canvas,
    el("div", { class: `rnn-ghist-nonfinite${bad ? " rnn-ghist-bad" : ""}`, text }),
  ]);
}

function drawRidges(canvas, h, r, kept, range, edges, color, layout, maxCount) {
  const c = setupCanvas(canvas, layout.width, layout.height);
  COLORS = canvasColors();
  const { plotX, plotY, plotW, plotH, binW, peakH, spacing } = layout;
  const bottom = plotY + plotH;
  // Vertical grid at the labelled ticks, under the ridges.
  const ticks = binTicks(edges, range.lo, range.hi, binW);
  c.strokeStyle = COLORS.grid;
  c.lineWidth = 1;
  for (const t of ticks) {
    const x = Math.round(plotX + t.pos * binW) + 0.5;
    c.beginPath();
    c.moveTo(x, plotY);
    c.lineTo(x, bottom);
    c.stroke();
  }
  c.save();
  c.beginPath();
  c.rect(plotX, 0, plotW, bottom + 1);
  c.clip();
  const n = kept.length;
  kept.forEach((i, k) => {
    const base = plotY + peakH + k * spacing;
    const age = n > 1 ? k / (n - 1) : 1; // 0 oldest .. 1 newest
    c.beginPath();
    c.moveTo(plotX, base);
    for (let b = range.lo; b <= range.hi; b++) {
      const v = maxCount > 0 ? h.value(i, r, b) / maxCount : 0;
      c.lineTo(plotX + (b - range.lo + 0.5) * binW, base - v * peakH);
    }
    c.lineTo(plotX + plotW, base);
    c.closePath();
    // Opaque background first: a ridge in front hides the ones behind it.
    c.globalAlpha = 1;
    c.fillStyle = COLORS.background;
    c.fill();
    c.globalAlpha = 0.15 + 0.6 * age;
    c.fillStyle = color;
    c.fill();
    // The outline only where the ridge rises: baselines of 60 ridges
    // stroked end to end would paint the whole plot in the run's colour.
    c.globalAlpha = 0.35 + 0.65 * age;
    c.strokeStyle = color;
    c.lineWidth = 1;
    c.beginPath();
    const point = (b) => [plotX + (b - range.lo + 0.5) * binW, base - (maxCount > 0 ? h.value(i, r, b) / maxCount : 0) * peakH];
    const counted = (b) => b >= range.lo && b <= range.hi && h.value(i, r, b) > 0;
    if (counted(range.lo)) {
      c.moveTo(plotX, base);
      c.lineTo(...point(range.lo));
    }
    for (let b = range.lo; b < range.hi; b++) {
      if (!counted(b) && !counted(b + 1)) continue;
      c.moveTo(...point(b));
      c.lineTo(...point(b + 1));
    }
    if (counted(range.hi)) {
      c.moveTo(...point(range.hi));
      c.lineTo(plotX + plotW, base);
    }
    c.stroke();
  });
  c.restore();
  c.globalAlpha = 1;
  // x axis.
  c.strokeStyle = COLORS.axis;
  c.beginPath();
  c.moveTo(plotX, bottom + 0.5);
  c.lineTo(plotX + plotW, bottom + 0.5);
  c.stroke();
  c.font = FONT;
  c.fillStyle = COLORS.text;
  c.textAlign = "center";
  c.textBaseline = "top";
  c.beginPath();
  for (const t of ticks) {
    const x = Math.round(plotX + t.pos * binW) + 0.5;
    c.moveTo(x, bottom);
    c.lineTo(x, bottom + 4);
    c.fillText(t.label, Math.min(plotX + plotW - 12, Math.max(plotX + 12, x)), bottom + 6);
  }
  c.stroke();
  c.fillStyle = COLORS.muted;
  c.fillText("value (signed, log |v|)", plotX + plotW / 2, bottom + 20);
  // Steps of the back and front ridges, at the left.
  c.textAlign = "right";
  c.textBaseline = "middle";
  c.fillStyle = COLORS.muted;
  c.fillText(`${h.steps[kept[0]]}`, plotX - 4, plotY + peakH);
  if (n > 1) c.fillText(`${h.steps[kept[n - 1]]}`, plotX - 4, plotY + peakH + (n - 1) * spacing);
  c.save();
  c.translate(10, plotY + peakH + ((n - 1) * spacing) / 2);
  c.rotate(-Math.PI / 2);
  c.textAlign = "center";
  c.fillText("step", 0, 0);
  c.restore();
}

// ---------------------------------------------------------------------------
// Norms: one log-y chart per matrix, a line per (run, gate).

export const distributionsView = companionView({
  id: "distributions", label: "per-gate distributions over training", render: renderDistributions,
}, ["gate_histogram", "gate_stats"]);
