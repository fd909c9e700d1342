// The "norms" view per matrix (and direction, stacked cell) one chart, a line per
//   run in the run's colour (the colour it has everywhere in the tab) and per
//   gate in its dash pattern, over step on a log y axis. Colour goes to the
//   runs: the runs compared are often of different cells (GRU, LSTM,
//   SimpleRNN), whose gates have no common colour (a GRU's candidate h and
//   an LSTM's candidate c are different gates), and three runs told apart
//   by dash alone were hard to follow. A cell's 1-4 gates take the dash
//   patterns in their cell's gate order; weight decay shows as a run's lines
//   all sloping down together, steeper for the run with more decay.


import { el } from "../draw/dom.js";
import {
  canvasColors, drawYLabel, drawYTicks, FONT, LABEL_FONT, setupCanvas, strokeGappedLine,
} from "../draw/canvas.js";
import { logScale, positiveRange } from "../data/profiles.js";
import { NAN_RGB } from "../draw/colormap.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { niceStep } from "../draw/scales.js";
import { quantityLabel } from "../data/index_model.js";
import {
  gateNames, logAxisTicks, logMark, NORM_FIELDS, weightGateLabel,
} from "./gate_history.js";

// Dash patterns telling a cell's gates apart, in the cell's gate order
// (the row of the gate in its matrix): solid, long dash, dots, dash-dot.
const GATE_DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]];

/** The dash pattern of a cell's r-th gate. */
export function gateDash(r) {
  return GATE_DASHES[r % GATE_DASHES.length];
}
import { compareSeries, companionView, countsOf, seriesKey, seriesPlace, sortOut } from "./gate_history_items.js";

const NAN_CSS = `rgb(${NAN_RGB.join(",")})`;
let COLORS = canvasColors();

const NORM_PLOT_H = 240;

function renderNorms(loaded, ctx) {
  const { notes, errors, ok } = sortOut(loaded, ctx, ["gate_stats"]);
  const nodes = [normsToolbar(ctx), ...notes];
  const usable = ok.filter((item) => item.kept.gate_stats.value.steps.length);
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
  const available = Math.max(360, ctx.width - 8);
  const side = charts.size > 1 && available >= 2 * 520 + 16;
  const panelW = side ? Math.floor((available - 16) / 2) : Math.min(available, 1180);
  nodes.push(el("div", { class: "rnn-ghist-charts" },
    [...charts.values()].map((items) => normChart(items, panelW, ctx))));
  return { nodes, errors };
}

function normsToolbar(ctx) {
  const select = el("select", { class: "rnn-ghist-field", id: "rnn-ghist-field" },
    NORM_FIELDS.map((f) => el("option", { value: f.value, text: f.text })));
  select.value = ctx.state.normField;
  select.addEventListener("change", () => {
    ctx.setOption("normField", select.value);
  });
  return el("div", { class: "rnn-ghist-toolbar" }, [
    el("label", {}, [el("span", { class: "rnn-muted", text: "Per gate " }), select]),
    el("span", { class: "rnn-muted", text: `of ${quantityLabel(ctx.state.kind)}, layer ${ctx.state.layer}: ` +
      "each gate's block of the matrix, over its finite values, at every logged step. Colour: run; line style: gate. " +
      "Click a step to select it (dashed red line)." }),
  ]);
}

/** The lines of a chart: per item (run, series) and gate, the field's values at every step. */
function normLines(items, field, allRuns) {
  const lines = [];
  for (const item of items) {
    const s = item.kept.gate_stats.value;
    const fields = s.header.metadata.fields || [];
    const col = fields.indexOf(field);
    const names = gateNames(s.header.metadata.gates, s.rows);
    const counts = (r) => countsOf(s, r);
    for (let r = 0; r < s.rows; r++) {
      const values = s.steps.map((_, i) => (col < 0 ? NaN : s.value(i, r, col)));
      const at = counts(r);
      lines.push({
        run: item.run, cell: item.series.cell, meta: item.series.meta, gate: names[r], row: r, steps: s.steps, values,
        nonFinite: s.steps.map((_, i) => at(i)),
        color: runColor(item.run, allRuns), dash: gateDash(r),
      });
    }
  }
  return lines;
}

function normChart(items, panelW, ctx) {
  const field = ctx.state.normField;
  const fieldText = (NORM_FIELDS.find((f) => f.value === field) || { text: field }).text;
  const lines = normLines(items, field, ctx.allRuns);
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
  canvas.rnnNorms = lines.map((l) => ({
    run: l.run, gate: l.gate, color: l.color, dash: l.dash.slice(), steps: l.steps.slice(), values: l.values.slice(),
  }));
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
    normLegend(lines, layout),
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
    ["run", best.line.run], ["gate", weightGateLabel(best.line.gate, best.line.meta)], ["step", String(step)],
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

/**
 * The gates as their dash patterns, one entry per gate label (a GRU's
 * candidate h and a SimpleRNN's whole-cell h are two), with the cell
 * when the runs shown have several: [{gate, label, dash}].
 */
function legendGates(lines) {
  const cells = new Set(lines.map((l) => l.cell));
  const gates = [];
  for (const l of lines) {
    const name = weightGateLabel(l.gate, l.meta);
    const label = cells.size > 1 && l.cell ? `${l.cell} ${name}` : name;
    if (!gates.some((g) => g.label === label)) gates.push({ gate: l.gate, label, dash: l.dash });
  }
  return gates;
}

function normLegend(lines, layout) {
  const runs = [];
  for (const l of lines) if (!runs.some((r) => r.run === l.run)) runs.push({ run: l.run, color: l.color });
  const dashSample = (dash, color) => {
    const canvas = el("canvas", { class: "rnn-ghist-dash" });
    const c = setupCanvas(canvas, 28, 10);
    c.strokeStyle = color;
    c.lineWidth = 2;
    c.setLineDash(dash);
    c.beginPath();
    c.moveTo(0, 5);
    c.lineTo(28, 5);
    c.stroke();
    return canvas;
  };
  // Runs (colours) and gates (line styles) on rows of their own.
  return el("div", { class: "rnn-ghist-legends", style: { marginLeft: `${layout.plotX}px` } }, [
    el("div", { class: "rnn-ghist-legend rnn-norms-legend-runs" }, [
      el("span", { class: "rnn-muted", text: "colour: run" }),
      ...runs.map(({ run, color }) => el("span", { class: "rnn-ghist-legend-item", dataset: { run, color } }, [
        el("span", { class: "rnn-ghist-line-swatch", style: { background: color } }),
        el("span", { text: run, style: { color, fontWeight: "600" } }),
      ])),
    ]),
    el("div", { class: "rnn-ghist-legend rnn-norms-legend-gates" }, [
      el("span", { class: "rnn-muted", text: "line style: gate" }),
      ...legendGates(lines).map((g) => el("span", { class: "rnn-ghist-legend-item", dataset: { gate: g.gate ?? "", dash: g.dash.join(",") } }, [
        dashSample(g.dash, COLORS.text),
        el("span", { text: g.label }),
      ])),
    ]),
  ]);
}

export const normsView = companionView({
  id: "norms",
  label: "per-gate norms over training",
  options: { normField: { initial: "l2_norm", valid: (v) => NORM_FIELDS.some((f) => f.value === v) } },
  render: renderNorms,
}, ["gate_stats"]);
