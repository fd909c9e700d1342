// Two views of a weight (or weight gradient) series over all of training,
// read from its kept per-gate companions (every logged step, never sampled):
//
// "distributions": per run a block in its run colour, small multiples per
//   (matrix, gate), each a ridgeline of the gate's signed log-magnitude
//   histogram at every logged step (TensorBoard's "offset" mode: oldest at
//   the back, newest in front and most opaque), one x range for all.
//   Runs get their own blocks, not overlaid outlines: two ridgelines of
//   up to 60 ridges each drawn over one another cross on every ridge and
//   neither can be read; side by side blocks on the same x range compare.
// "norms": per matrix (and direction, stacked cell) one chart, a line per
//   gate in the gate's colour and per run in its dash pattern, over step on
//   a log y axis. Colour goes to the gates because the questions are about
//   gates ("which gate takes the most gradient?", "is a gate's gradient
//   vanishing?": one colour falling away from the others) and a cell has
//   3-4 of them while one usually compares 2 runs, which solid vs dashed
//   tells apart; weight decay shows as a run's lines all sloping down
//   together, steeper for the run with more decay, on one shared axis.

import { el } from "../draw/dom.js";
import { canvasColors, drawYLabel, drawYTicks, FONT, LABEL_FONT, setupCanvas, strokeGappedLine } from "../draw/canvas.js";
import { logScale, positiveRange } from "../data/profiles.js";
import { NAN_RGB } from "../draw/colormap.js";
import { runColor } from "../draw/run_colors.js";
import { fmt, niceStep } from "../draw/scales.js";
import { directionLabel, quantityLabel, registerView } from "../data/index_model.js";
import {
  binRangeText, binTicks, compareMatrices, gateColor, gateNames, logAxisTicks, logMark, MAX_RIDGES, matrixLabel,
  normLegendGates,
  nonFiniteSummary, nonFiniteText, NORM_FIELDS, runDash, thinIndices, usedBins, weightGateLabel,
} from "./gate_history.js";
import { errorText, settle } from "../data/results.js";

const KINDS = ["weight", "weight_gradient"];
const NAN_CSS = `rgb(${NAN_RGB.join(",")})`;

// The norms view's own choice, kept while the tab is open.
export const normOptions = { field: "l2_norm" };

let COLORS = canvasColors();



/**
 * The kept companions `kinds` of every shown series: [{run, series, stats?,
 * hist?: {value}|{error}}], and the runs that have no such series.
 */
async function loadCompanions(api, groups, kinds) {
  const items = groups.flatMap((g) => g.panels.map((p) => ({ run: g.run, series: p.series })));
  await Promise.all(items.map(async (item) => {
    const [stats, hist] = await Promise.all([
      kinds.includes("gate_stats") ? settle(api.kept(item.run, item.series.tag, "gate_stats")) : null,
      kinds.includes("gate_histogram") ? settle(api.kept(item.run, item.series.tag, "gate_histogram")) : null,
    ]);
    item.stats = stats;
    item.hist = hist;
  }));
  return { items, missing: groups.filter((g) => !g.panels.length).map((g) => g.run) };
}

/** Notes for runs without the quantity and series whose companions did not load; the loaded items. */
function sortOut(loaded, ctx, kinds) {
  const notes = [];
  let errors = 0;
  const quantity = quantityLabel(ctx.state.kind);
  if (loaded.missing.length) {
    notes.push(el("div", {
      class: "rnn-note rnn-note-warn rnn-ghist-missing",
      text: `No ${quantity} logged for layer ${ctx.state.layer} in: ${loaded.missing.join(", ")}.`,
    }));
  }
  const ok = [];
  for (const item of loaded.items) {
    const failed = kinds.map((k) => [k, k === "gate_stats" ? item.stats : item.hist]).filter(([, r]) => r.error);
    if (!failed.length) {
      ok.push(item);
      continue;
    }
    for (const [kind, result] of failed) {
      const where = `${item.run}: ${item.series.tag}`;
      if (result.error.status === 404) {
        notes.push(el("div", {
          class: "rnn-note rnn-note-warn rnn-ghist-missing",
          text: `${where}: logged without per-gate ${kind === "gate_stats" ? "statistics" : "histograms"} ` +
            `(${kind}); tb-rnn-plugin's weight summary ops write them at every logged step. (${errorText(result.error)})`,
        }));
      } else {
        errors++;
        notes.push(el("div", { class: "rnn-note rnn-note-error", text: `${where}: could not load its ${kind}: ${errorText(result.error)}` }));
      }
    }
  }
  return { notes, errors, ok };
}

/** "forward · cell 1 · recurrent kernel": where a series sits in its layer. */
function seriesPlace(series) {
  const parts = [];
  if (series.direction) parts.push(directionLabel(series.direction));
  if (series.cellIndex !== null && series.cellIndex !== undefined) parts.push(`cell ${series.cellIndex}`);
  parts.push(matrixLabel(series.meta && series.meta.matrix));
  return parts.join(" \u00b7 ");
}

function seriesKey(series) {
  return JSON.stringify([series.direction || null, series.cellIndex ?? null, (series.meta && series.meta.matrix) || null]);
}

/** Series order: direction, stacked cell, then matrix in Keras' order. */
function compareSeries(a, b) {
  const order = { null: 0, forward: 1, backward: 2 };
  return (order[a.direction || null] - order[b.direction || null]) ||
    ((a.cellIndex ?? -1) - (b.cellIndex ?? -1)) ||
    compareMatrices((a.meta && a.meta.matrix) || "", (b.meta && b.meta.matrix) || "");
}

/** The per-gate non-finite and zero counts of a gate_stats companion at step index i, row r. */
function countsOf(stats, r) {
  const fields = (stats.header.metadata && stats.header.metadata.fields) || [];
  const at = (name) => fields.indexOf(name);
  const [nan, posinf, neginf, zero] = ["nan_count", "posinf_count", "neginf_count", "zero_count"].map(at);
  const read = (i, col) => (col < 0 ? 0 : stats.value(i, r, col));
  return (i) => ({ nan: read(i, nan), posinf: read(i, posinf), neginf: read(i, neginf), zero: read(i, zero) });
}

function explanation(text) {
  return el("div", { class: "rnn-ghist-toolbar rnn-muted", text });
}

// ---------------------------------------------------------------------------
// Distributions: ridgelines.

const RIDGE_H = 150; // plot height of one small multiple, px
const GUTTER = 40; // left of each multiple: the first and last step's labels

async function renderDistributions(ctx) {
  const kinds = ["gate_histogram", "gate_stats"];
  const loaded = await loadCompanions(ctx.api, ctx.groups, kinds);
  if (ctx.isStale()) return { nodes: [] };
  const { notes, errors, ok } = sortOut(loaded, ctx, kinds);
  const nodes = [explanation(
    "Per run, one chart per weight matrix (rows) and gate (columns): the distribution of the values at " +
    "every logged step, oldest at the back (top, faint), newest in front (bottom, solid). x: signed " +
    "magnitude on a log scale, two bins per decade, the bin around 0 holding exact zeros and |v| < 1e-9. " +
    "Hover for counts."), ...notes];
  const usable = ok.filter((item) => item.hist.value.steps.length);
  if (!usable.length) {
    if (!notes.length) nodes.push(el("div", { class: "rnn-message", text: ctx.groups.length ? "Nothing logged to draw." : "Select at least one run." }));
    return { nodes, errors };
  }
  const edges = usable[0].hist.value.header.metadata.bin_edges;
  const range = usedBins(usable.map((item) => {
    const h = item.hist.value;
    return { count: h.value, steps: h.steps.length, rows: h.rows, bins: h.columns };
  })) || { lo: 0, hi: edges.length };
  const byRun = new Map();
  for (const item of usable) {
    if (!byRun.has(item.run)) byRun.set(item.run, []);
    byRun.get(item.run).push(item);
  }
  // One chart width for every run (the most gates any shown series has), so
  // that the shared x range also sits at the same pixels in every block.
  const columns = Math.max(...usable.map((item) => item.hist.value.rows));
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
    const h = item.hist.value;
    const names = gateNames(h.header.metadata.gates, h.rows);
    for (let r = 0; r < h.rows; r++) cells.push(ridgeMultiple(run, item, r, names[r], edges, range, color, multipleW, ctx));
    return el("div", { class: "rnn-ghist-row" }, [
      el("div", { class: "rnn-ghist-row-label", text: seriesPlace(item.series) }),
      el("div", { class: "rnn-ghist-cells" }, cells),
    ]);
  });
  const h = items[0].hist.value;
  const thinned = items.some((item) => item.hist.value.steps.length > MAX_RIDGES);
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
  const h = item.hist.value;
  const stats = item.stats.value;
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
      ["run", run], ["matrix", seriesPlace(series)], ["gate", weightGateLabel(gate, series.cell)],
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
      el("span", { text: weightGateLabel(gate, series.cell) }),
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

const NORM_PLOT_H = 240;

async function renderNorms(ctx) {
  const kinds = ["gate_stats"];
  const loaded = await loadCompanions(ctx.api, ctx.groups, kinds);
  if (ctx.isStale()) return { nodes: [] };
  const { notes, errors, ok } = sortOut(loaded, ctx, kinds);
  const nodes = [normsToolbar(ctx), ...notes];
  const usable = ok.filter((item) => item.stats.value.steps.length);
  if (!usable.length) {
    if (!notes.length) nodes.push(el("div", { class: "rnn-message", text: ctx.groups.length ? "Nothing logged to draw." : "Select at least one run." }));
    return { nodes, errors };
  }
  const charts = new Map();
  for (const item of usable.sort((a, b) => compareSeries(a.series, b.series))) {
    const key = seriesKey(item.series);
    if (!charts.has(key)) charts.set(key, []);
    charts.get(key).push(item);
  }
  const shownRuns = ctx.groups.map((g) => g.run);
  const available = Math.max(360, ctx.width - 8);
  const side = charts.size > 1 && available >= 2 * 520 + 16;
  const panelW = side ? Math.floor((available - 16) / 2) : Math.min(available, 1180);
  nodes.push(el("div", { class: "rnn-ghist-charts" },
    [...charts.values()].map((items) => normChart(items, shownRuns, panelW, ctx))));
  return { nodes, errors };
}

function normsToolbar(ctx) {
  const select = el("select", { class: "rnn-ghist-field", id: "rnn-ghist-field" },
    NORM_FIELDS.map((f) => el("option", { value: f.value, text: f.text })));
  select.value = normOptions.field;
  select.addEventListener("change", () => {
    normOptions.field = select.value;
    ctx.redraw();
  });
  return el("div", { class: "rnn-ghist-toolbar" }, [
    el("label", {}, [el("span", { class: "rnn-muted", text: "Per gate " }), select]),
    el("span", { class: "rnn-muted", text: `of ${quantityLabel(ctx.state.kind)}, layer ${ctx.state.layer}: ` +
      "each gate's block of the matrix, over its finite values, at every logged step. Colour: gate; line style: run. " +
      "Click a step to select it (dashed red line)." }),
  ]);
}

/** The lines of a chart: per item (run, series) and gate, the field's values at every step. */
function normLines(items, field, shownRuns) {
  const lines = [];
  for (const item of items) {
    const s = item.stats.value;
    const fields = s.header.metadata.fields || [];
    const col = fields.indexOf(field);
    const names = gateNames(s.header.metadata.gates, s.rows);
    const counts = (r) => countsOf(s, r);
    for (let r = 0; r < s.rows; r++) {
      const values = s.steps.map((_, i) => (col < 0 ? NaN : s.value(i, r, col)));
      const at = counts(r);
      lines.push({
        run: item.run, cell: item.series.cell, gate: names[r], row: r, steps: s.steps, values,
        nonFinite: s.steps.map((_, i) => at(i)),
        color: gateColor(names[r], r, item.series.cell), dash: runDash(Math.max(0, shownRuns.indexOf(item.run))),
      });
    }
  }
  return lines;
}

function normChart(items, shownRuns, panelW, ctx) {
  const field = normOptions.field;
  const fieldText = (NORM_FIELDS.find((f) => f.value === field) || { text: field }).text;
  const lines = normLines(items, field, shownRuns);
  const range = positiveRange(lines.map((l) => l.values));
  const scale = logScale(range ? range.lo : 1e-3, range ? range.hi : 1);
  const allSteps = [...new Set(lines.flatMap((l) => l.steps))].sort((a, b) => a - b);
  const s0 = allSteps[0];
  const s1 = allSteps[allSteps.length - 1];
  // The canvas stays 20 px narrower than its panel (the panel's padding).
  const layout = { plotX: 62, plotY: 16, plotW: Math.max(200, panelW - 62 - 40), plotH: NORM_PLOT_H, s0, s1 };
  layout.width = layout.plotX + layout.plotW + 12;
  layout.height = layout.plotY + layout.plotH + 40;
  const xOf = (step) => layout.plotX + (s1 > s0 ? ((step - s0) / (s1 - s0)) * layout.plotW : layout.plotW / 2);
  const yOf = (v) => layout.plotY + layout.plotH * (1 - scale.norm(v));
  const marks = markPoints(lines);
  const series = items[0].series;
  const canvas = el("canvas", {
    class: "rnn-plot rnn-ghist-norms",
    dataset: {
      view: "norms", matrix: (series.meta && series.meta.matrix) || "", direction: series.direction || "none",
      cellIndex: series.cellIndex ?? "", field, decades: scale.decades.join(","), lo: scale.lo, hi: scale.hi,
      lines: lines.length, nanMarks: marks.filter((m) => m.kind === "nan").length,
      infMarks: marks.filter((m) => m.kind === "inf").length, zeroMarks: marks.filter((m) => m.kind === "zero").length,
      selectedStep: ctx.state.step ?? "", plotX: layout.plotX, plotY: layout.plotY, plotWidth: layout.plotW,
      plotHeight: layout.plotH, firstStep: s0, lastStep: s1,
    },
  });
  drawNorms(canvas, lines, marks, scale, layout, xOf, yOf, ctx.state.step, fieldText);
  canvas.rnnNorms = lines.map((l) => ({ run: l.run, gate: l.gate, steps: l.steps.slice(), values: l.values.slice() }));
  canvas.rnnMarks = marks.map((m) => ({ run: m.line.run, gate: m.line.gate, step: m.step, kind: m.kind }));
  const stepAt = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    if (x < layout.plotX - 4 || x > layout.plotX + layout.plotW + 4) return null;
    const want = s0 + ((x - layout.plotX) / layout.plotW) * (s1 - s0);
    let best = allSteps[0];
    for (const s of allSteps) if (Math.abs(s - want) < Math.abs(best - want)) best = s;
    return best;
  };
  canvas.addEventListener("mousemove", (event) => {
    const step = stepAt(event);
    const rect = canvas.getBoundingClientRect();
    const y = event.clientY - rect.top;
    const rows = step === null ? [] : normHoverRows(lines, step, y, yOf, layout, fieldText);
    if (rows.length) ctx.onHover(rows, event);
    else ctx.onLeave();
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  canvas.addEventListener("click", (event) => {
    const step = stepAt(event);
    if (step !== null) ctx.onStep(step);
  });
  const headingParts = [el("span", { text: `${seriesPlace(series)} \u00b7 ${fieldText} per gate` })];
  return el("div", {
    class: "rnn-panel rnn-ghist-norm-panel",
    dataset: { view: "norms", matrix: (series.meta && series.meta.matrix) || "", direction: series.direction || "none" },
    style: { width: `${panelW}px` },
  }, [
    el("div", { class: "rnn-panel-heading" }, headingParts),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    normLegend(lines, shownRuns, ctx, layout),
    el("div", { class: "rnn-note rnn-ghist-note", style: { marginLeft: `${layout.plotX}px` }, text: markNote(marks, scale) }),
  ]);
}

/** Points a log axis cannot hold, marked at its edges: [{line, step, i, kind: "zero"|"nan"|"inf"}]. */
function markPoints(lines) {
  const marks = [];
  for (const line of lines) {
    line.steps.forEach((step, i) => {
      const v = line.values[i];
      const mark = logMark(v);
      const c = line.nonFinite[i];
      // The statistics are over finite values: NaN or Inf in the gate's block is marked even when its norm is finite.
      if (mark === "nan" || c.nan > 0) marks.push({ line, step, i, kind: "nan" });
      else if (mark === "inf" || c.posinf > 0 || c.neginf > 0) marks.push({ line, step, i, kind: "inf" });
      if (mark === "zero") marks.push({ line, step, i, kind: "zero" });
    });
  }
  return marks;
}

function markNote(marks, scale) {
  const nan = marks.filter((m) => m.kind === "nan");
  const inf = marks.filter((m) => m.kind === "inf");
  const zero = marks.filter((m) => m.kind === "zero");
  const parts = [`y axis: log, 1e${scale.decades[0]} to 1e${scale.decades[1]}.`];
  const where = (list) => {
    const steps = [...new Set(list.map((m) => m.step))].sort((a, b) => a - b);
    return `${steps.length} step${steps.length === 1 ? "" : "s"} (${steps.slice(0, 5).join(", ")}${steps.length > 5 ? ", \u2026" : ""})`;
  };
  if (nan.length) parts.push(`Magenta "NaN" marks at the top: a gate's block held NaN at ${where(nan)}; its statistics are over the finite values.`);
  if (inf.length) parts.push(`"Inf" marks at the top: \u00b1Inf in the block at ${where(inf)}.`);
  if (zero.length) parts.push(`\u25bc at the bottom edge: the value was 0 (below any log axis) at ${where(zero)}.`);
  if (!nan.length && !inf.length && !zero.length) parts.push("No NaN, Inf or zero values.");
  return parts.join(" ");
}

function stepTicks(s0, s1, pixels) {
  if (!(s1 > s0)) return [s0];
  const step = Math.max(1, niceStep((s1 - s0) / Math.max(1, Math.floor(pixels / 70))));
  const ticks = [];
  for (let v = Math.ceil(s0 / step) * step; v <= s1; v += step) ticks.push(v);
  return ticks;
}

function drawNorms(canvas, lines, marks, scale, layout, xOf, yOf, selected, fieldText) {
  const c = setupCanvas(canvas, layout.width, layout.height);
  COLORS = canvasColors();
  const { plotX, plotY, plotW, plotH, s0, s1 } = layout;
  const bottom = plotY + plotH;
  drawYTicks(c, COLORS, plotX, logAxisTicks(scale, plotH, 22), plotY, plotH, plotW);
  c.textAlign = "center";
  c.textBaseline = "top";
  c.strokeStyle = COLORS.axis;
  c.fillStyle = COLORS.text;
  c.beginPath();
  for (const step of stepTicks(s0, s1, plotW)) {
    const x = Math.round(xOf(step)) + 0.5;
    c.moveTo(x, bottom);
    c.lineTo(x, bottom + 4);
    // Kept inside the canvas: the last step sits on the right edge.
    const half = c.measureText(String(step)).width / 2;
    c.fillText(String(step), Math.min(x, layout.width - half - 2), bottom + 6);
  }
  c.stroke();
  c.font = LABEL_FONT;
  c.fillText("step", plotX + plotW / 2, bottom + 22);
  // The selected step (the tab's step slider / a click here).
  if (Number.isFinite(selected) && selected >= s0 && selected <= s1) {
    const x = Math.round(xOf(selected)) + 0.5;
    c.strokeStyle = "#e53935";
    c.lineWidth = 1.5;
    c.setLineDash([3, 3]);
    c.beginPath();
    c.moveTo(x, plotY);
    c.lineTo(x, bottom);
    c.stroke();
    c.setLineDash([]);
  }
  c.save();
  c.beginPath();
  c.rect(plotX, plotY, plotW, plotH);
  c.clip();
  for (const line of lines) {
    c.strokeStyle = line.color;
    c.lineWidth = 1.8;
    c.setLineDash(line.dash);
    strokeGappedLine(c, line.steps.map((step, i) =>
      [xOf(step), logMark(line.values[i]) === "ok" ? yOf(line.values[i]) : null]));
  }
  c.restore();
  c.setLineDash([]);
  // Marks at the edges for what a log axis cannot hold.
  for (const m of marks) {
    const x = xOf(m.step);
    if (m.kind === "zero") {
      c.fillStyle = m.line.color;
      c.beginPath();
      c.moveTo(x - 4, bottom - 7);
      c.lineTo(x + 4, bottom - 7);
      c.lineTo(x, bottom - 1);
      c.closePath();
      c.fill();
    } else {
      c.fillStyle = m.kind === "nan" ? NAN_CSS : COLORS.text;
      c.beginPath();
      c.moveTo(x, plotY - 1);
      c.lineTo(x + 4, plotY + 4);
      c.lineTo(x, plotY + 9);
      c.lineTo(x - 4, plotY + 4);
      c.closePath();
      c.fill();
    }
  }
  const tops = marks.filter((m) => m.kind !== "zero");
  if (tops.length) {
    c.font = FONT;
    c.textAlign = "left";
    c.textBaseline = "bottom";
    c.fillStyle = tops.some((m) => m.kind === "nan") ? NAN_CSS : COLORS.text;
    const x = Math.min(plotX + plotW - 40, xOf(tops[0].step) + 6);
    c.fillText(tops.some((m) => m.kind === "nan") ? "NaN" : "Inf", x, plotY - 1);
  }
  c.strokeStyle = COLORS.axis;
  c.lineWidth = 1;
  c.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  drawYLabel(c, COLORS, `${fieldText} (log)`, plotY, plotH);
}

/** Tooltip rows at `step`: the line nearest the cursor, then the other lines' values there. */
function normHoverRows(lines, step, y, yOf, layout, fieldText) {
  let best = null;
  let bestDist = Infinity;
  const at = [];
  for (const line of lines) {
    const i = line.steps.indexOf(step);
    if (i < 0) continue;
    const v = line.values[i];
    const ly = logMark(v) === "ok" ? yOf(v) : logMark(v) === "zero" ? layout.plotY + layout.plotH : layout.plotY;
    const d = Math.abs(ly - y);
    at.push({ line, i, v });
    if (d < bestDist) {
      best = { line, i, v };
      bestDist = d;
    }
  }
  if (!best) return [];
  const rows = [
    ["run", best.line.run], ["gate", weightGateLabel(best.line.gate, best.line.cell)], ["step", String(step)],
    [fieldText, fmt(best.v, 4)],
  ];
  const c = best.line.nonFinite[best.i];
  if (c.nan || c.posinf || c.neginf) rows.push(["non-finite", `${c.nan} NaN, ${c.posinf} +Inf, ${c.neginf} -Inf`]);
  if (c.zero) rows.push(["exact zeros", String(c.zero)]);
  for (const o of at) {
    if (o === best || o.line === best.line) continue;
    rows.push([`${o.line.run} \u00b7 ${o.line.gate ?? "matrix"}`, fmt(o.v, 4)]);
  }
  return rows;
}

function normLegend(lines, shownRuns, ctx, layout) {
  const gates = normLegendGates(lines);
  const runs = [...new Set(lines.map((l) => l.run))];
  const dashSample = (dash) => {
    const canvas = el("canvas", { class: "rnn-ghist-dash" });
    const c = setupCanvas(canvas, 28, 10);
    c.strokeStyle = COLORS.text;
    c.lineWidth = 2;
    c.setLineDash(dash);
    c.beginPath();
    c.moveTo(0, 5);
    c.lineTo(28, 5);
    c.stroke();
    return canvas;
  };
  // Gates (colours) and runs (line styles) on rows of their own.
  return el("div", { class: "rnn-ghist-legends", style: { marginLeft: `${layout.plotX}px` } }, [
    el("div", { class: "rnn-ghist-legend" }, [
      el("span", { class: "rnn-muted", text: "gates" }),
      ...gates.map((g) => el("span", { class: "rnn-ghist-legend-item", dataset: { gate: g.gate ?? "" } }, [
        el("span", { class: "rnn-ghist-line-swatch", style: { background: g.color } }),
        el("span", { text: g.label }),
      ])),
    ]),
    el("div", { class: "rnn-ghist-legend" }, [
      el("span", { class: "rnn-muted", text: "runs" }),
      ...runs.map((run) => el("span", { class: "rnn-ghist-legend-item", dataset: { run } }, [
        dashSample(runDash(Math.max(0, shownRuns.indexOf(run)))),
        el("span", { text: run, style: { color: runColor(run, ctx.allRuns), fontWeight: "600" } }),
      ])),
    ]),
  ]);
}

registerView(KINDS, { value: "distributions", text: "per-gate distributions over training", render: renderDistributions });
registerView(KINDS, { value: "norms", text: "per-gate norms over training", render: renderNorms });
