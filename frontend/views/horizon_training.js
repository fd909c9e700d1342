// View "horizon_training" of the gradient horizon: over training (every
// logged step), the effective horizon of each run (horizon_stats'
// "effective_horizon", the mean lag the gradient reaches back), runs
// overlaid in their colours; under it, on the same step axis, what the
// gates promise against what the gradient uses: the memory timescales of
// the forget gate (GRU: update gate z), median and quartile band over
// units, and the timescale implied by the fitted decay of ||dL/dh_t||
// (the state gradient's profile), -1/ln r, per step. Log y axis there.

import { el } from "../draw/dom.js";
import { canvasColors, drawYLabel, drawYTicks, FONT, LABEL_FONT, setupCanvas, strokeGappedLine } from "../draw/canvas.js";
import { CHART_PLOT_X as PLOT_X, CHART_RIGHT as RIGHT, MAX_CHART_W as MAX_W, PANEL_CHROME_W } from "../draw/layout.js";
import { decadeTicks, fitDecay, logScale, profileRow, rowLength } from "../data/profiles.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { niceStep } from "../draw/scales.js";
import { directionLabel, unionSteps } from "../data/index_model.js";
import { memoryGates } from "../data/kind_facts.js";
import { itemsOf, loadKept, missingRuns } from "../data/loaders.js";
import { decayTimescale, isHorizonSeries, quartiles, valueTicks } from "./horizon_model.js";
import { errorText } from "../data/results.js";

const TOP = 8;
const HORIZON_H = 190;
const TIMESCALE_H = 220;



/** The series of the same run, layer, direction and cell as `series` of kind `kind` (gate: one of `gates`). */
function companionSeries(index, series, kind, gates = null) {
  const same = index.series.filter((s) => s.run === series.run && s.layer === series.layer && s.kind === kind &&
    s.direction === series.direction && s.cellIndex === series.cellIndex);
  if (!gates) return same[0] || null;
  for (const gate of gates) {
    const found = same.find((s) => s.gate === gate);
    if (found) return found;
  }
  return null;
}

/** Everything one run and direction contributes: effective horizons, gate and gradient timescales. */
async function loadItem(api, index, item) {
  const { series } = item;
  // The forget gate, or GRU's update gate z (h = z h_{t-1} + (1 - z) candidate).
  const gate = companionSeries(index, series, "gate_activation", memoryGates(series.meta));
  const gradient = companionSeries(index, series, "state_gradient");
  item.gate = gate;
  item.gradient = gradient;
  const [stats, timescales, profile] = await Promise.all([
    loadKept(api, series, "horizon_stats"),
    gate ? loadKept(api, gate, "memory_timescale") : null,
    gradient && gradient.version !== 1 ? loadKept(api, gradient, "profile") : null,
  ]);
  item.stats = stats;
  item.timescales = timescales;
  item.profile = profile;
  const backward = series.meta.backward === true;  // /tags says the time order
  if (stats.value) {
    const kept = stats.value;
    const fields = (kept.header.metadata && kept.header.metadata.fields) || ["max", "effective_horizon"];
    const column = fields.indexOf("effective_horizon");
    item.horizon = { steps: kept.steps, values: kept.steps.map((_, i) => (column >= 0 ? kept.value(i, 0, column) : NaN)) };
  }
  if (timescales && timescales.value) {
    const kept = timescales.value;
    item.gateScales = kept.steps.map((step, i) => {
      const units = [];
      for (let u = 0; u < kept.columns; u++) units.push(kept.value(i, 0, u));
      return { step, ...quartiles(units) };
    });
  }
  if (profile && profile.value) {
    const p = profile.value;
    item.gradientScales = p.steps.map((step, i) => ({
      step, value: decayTimescale(fitDecay(profileRow(p, i, "mean"), rowLength(p, i)), backward),
    }));
  }
}

/** Every run's kept horizon statistics, gate timescales and gradient profile, over all steps. */
async function load(ctx) {
  const items = itemsOf(ctx.groups);
  await Promise.all(items.map((item) => loadItem(ctx.api, ctx.index, item)));
  return ctx.isStale() ? null : items;
}

function render(items, ctx) {
  const missing = missingRuns(ctx.groups);
  const nodes = [];
  let errors = 0;
  if (missing.length) {
    nodes.push(note(`No gradient horizon logged for layer ${ctx.state.layer} in: ${missing.join(", ")}. ` +
      "Log it with RNNTensorBoard(gradient_horizon=True).", "warn"));
  }
  for (const item of items) {
    const error = item.stats.error;
    if (!error) continue;
    if (error.status === 404) {
      // Not an error of the tab: the log has no kept statistics.
      nodes.push(note(`${where(item)}: logged without horizon_stats (tb-rnn-plugin's gradient_horizon ` +
        `op writes them with every horizon): nothing to draw over training. (${errorText(error)})`, "warn"));
    } else {
      errors++;
      nodes.push(note(`${where(item)}: could not load the horizon's kept statistics: ${errorText(error)}`, "error"));
    }
  }
  const width = Math.max(360, Math.min(MAX_W, (ctx.width || 1000) - 8));
  const directions = [null, "forward", "backward"];
  for (const direction of directions) {
    const mine = items.filter((i) => (i.series.direction || null) === direction && i.horizon);
    if (mine.length) nodes.push(directionCharts(direction, mine, ctx, width));
  }
  if (!items.length && !missing.length) nodes.push(el("div", { class: "rnn-message", text: "Select at least one run." }));
  return { nodes, errors };
}

function where(item) {
  return `${item.run}${item.series.direction ? ` (${item.series.direction})` : ""}`;
}

function note(text, kind = "") {
  return el("div", { class: `rnn-note rnn-horizon-note${kind ? ` rnn-note-${kind}` : ""}`, style: { flexBasis: "100%" }, text });
}

/** The step axis shared by both charts: [lo, hi] padded so one step still has room. */
function stepRange(items) {
  const steps = unionSteps(items.flatMap((i) => [
    i.horizon.steps, (i.gateScales || []).map((g) => g.step), (i.gradientScales || []).map((g) => g.step),
  ]));
  const lo = steps.length ? steps[0] : 0;
  const hi = steps.length ? steps[steps.length - 1] : 1;
  return { lo, hi: hi > lo ? hi : lo + 1, steps };
}

function directionCharts(direction, items, ctx, width) {
  // Inside the panel's padding and border, or its canvas-wrap clips the right edge.
  const canvasW = width - PANEL_CHROME_W;
  const plotW = canvasW - PLOT_X - RIGHT;
  const range = stepRange(items);
  const xOf = (step) => PLOT_X + ((step - range.lo) / (range.hi - range.lo)) * plotW;
  const axis = { plotW, xOf, range, width: canvasW };
  const lines = items.map((item) => ({
    run: item.run, color: runColor(item.run, ctx.allRuns), steps: item.horizon.steps, values: item.horizon.values,
  }));
  const horizon = horizonChart(lines, axis, ctx, direction);
  const timescale = timescaleChart(items, axis, ctx, direction);
  const heading = [el("span", { text: `gradient horizon over training \u00b7 layer ${ctx.state.layer}` })];
  if (direction) heading.unshift(el("span", { class: "rnn-direction", text: directionLabel(direction) }));
  return el("div", {
    class: "rnn-panel rnn-horizon-panel rnn-horizon-training",
    dataset: { view: "horizon_training", direction: direction || "none" },
    style: { width: `${width}px` },
  }, [el("div", { class: "rnn-panel-heading" }, heading), ...horizon, ...timescale]);
}

/**
 * The step axis under a chart. A label centred on its tick would stick out
 * of the canvas at the right end (the last step sits on the plot's edge):
 * each is kept inside the canvas. Returns the labels' boxes [{text, left,
 * right}] in canvas px (for tests).
 */
function drawStepAxis(c, colors, axis, top, h, label) {
  const { plotW, xOf, range, width } = axis;
  c.font = FONT;
  c.fillStyle = colors.text;
  c.strokeStyle = colors.axis;
  c.textAlign = "center";
  c.textBaseline = "top";
  const step = niceStep((range.hi - range.lo) / Math.max(1, Math.floor(plotW / 90)));
  const boxes = [];
  c.beginPath();
  for (let s = Math.ceil(range.lo / step) * step; s <= range.hi; s += step) {
    const x = Math.round(xOf(s)) + 0.5;
    c.moveTo(x, top + h);
    c.lineTo(x, top + h + 4);
    const text = fmt(Number(s.toPrecision(12)));
    const half = c.measureText(text).width / 2;
    const centre = Math.min(x, width - 1 - half);
    c.fillText(text, centre, top + h + 6);
    boxes.push({ text, left: centre - half, right: centre + half });
  }
  c.stroke();
  c.font = LABEL_FONT;
  c.fillText(label, PLOT_X + plotW / 2, top + h + 20);
  return boxes;
}



/** A polyline through the finite points (gaps elsewhere), a dot at each when few. */
function polyline(c, points, dots) {
  strokeGappedLine(c, points);
  if (!dots) return;
  for (const [x, y] of points) {
    if (y === null) continue;
    c.beginPath();
    c.arc(x, y, 2.5, 0, 2 * Math.PI);
    c.fill();
  }
}

function selectedMarker(c, colors, axis, step, top, h) {
  if (step === null || step === undefined || step < axis.range.lo || step > axis.range.hi) return;
  const x = Math.round(axis.xOf(step)) + 0.5;
  c.strokeStyle = colors.text;
  c.setLineDash([3, 3]);
  c.beginPath();
  c.moveTo(x, top);
  c.lineTo(x, top + h);
  c.stroke();
  c.setLineDash([]);
}

/** Nearest logged step to the cursor, or null outside the plot. */
function stepAt(canvas, axis, event, h) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left;
  const y = event.clientY - rect.top;
  if (x < PLOT_X || x > PLOT_X + axis.plotW || y < TOP || y > TOP + h || !axis.range.steps.length) return null;
  let best = axis.range.steps[0];
  for (const s of axis.range.steps) if (Math.abs(axis.xOf(s) - x) < Math.abs(axis.xOf(best) - x)) best = s;
  return best;
}

function hookSteps(canvas, axis, ctx, h, rowsAt) {
  canvas.addEventListener("mousemove", (event) => {
    const step = stepAt(canvas, axis, event, h);
    if (step === null) {
      ctx.onLeave();
      return;
    }
    ctx.onHover([["step", String(step)], ...rowsAt(step)], event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  canvas.addEventListener("click", (event) => {
    const step = stepAt(canvas, axis, event, h);
    if (step !== null) ctx.onStep(step);
  });
  canvas.style.cursor = "pointer";
  canvas.title = "Click to select the nearest logged step";
}

function valueAt(steps, values, step) {
  const i = steps.indexOf(step);
  return i < 0 ? null : values[i];
}

function horizonChart(lines, axis, ctx, direction) {
  const h = HORIZON_H;
  let hi = 0;
  for (const line of lines) for (const v of line.values) if (Number.isFinite(v) && v > hi) hi = v;
  hi = hi > 0 ? hi * 1.08 : 1;
  const canvas = el("canvas", {
    class: "rnn-plot rnn-horizon-effective",
    dataset: { view: "horizon-effective", direction: direction || "none", lines: lines.length, hi,
      plotX: PLOT_X, plotY: TOP, plotWidth: axis.plotW, plotHeight: h, selectedStep: ctx.state.step ?? "" },
  });
  canvas.rnnLines = lines.map((l) => ({ run: l.run, color: l.color, steps: l.steps, values: Array.from(l.values) }));
  const c = setupCanvas(canvas, axis.width, TOP + h + 38);
  const colors = canvasColors();
  // One exponent for the whole axis, written once in its title (as on every other chart).
  const { ticks, multiplier } = valueTicks(hi, Math.max(2, Math.floor(h / 40)));
  drawYTicks(c, colors, PLOT_X, ticks, TOP, h, axis.plotW);
  canvas.dataset.multiplier = multiplier;
  canvas.dataset.tickLabels = ticks.map((t) => t.label).join(" ");
  const yOf = (v) => (Number.isFinite(v) ? TOP + h * (1 - Math.min(1, v / hi)) : null);
  for (const line of lines) {
    c.strokeStyle = c.fillStyle = line.color;
    c.lineWidth = 2;
    polyline(c, line.steps.map((s, i) => [axis.xOf(s), yOf(line.values[i])]), line.steps.length <= 60);
  }
  c.lineWidth = 1;
  selectedMarker(c, colors, axis, ctx.state.step, TOP, h);
  c.strokeStyle = colors.axis;
  c.strokeRect(PLOT_X - 0.5, TOP - 0.5, axis.plotW + 1, h + 1);
  canvas.rnnStepLabels = drawStepAxis(c, colors, axis, TOP, h, "step");
  drawYLabel(c, colors, `effective horizon (lags)${multiplier ? ` ${multiplier}` : ""}`, TOP, h);
  hookSteps(canvas, axis, ctx, h, (step) => lines.map((l) => {
    const v = valueAt(l.steps, l.values, step);
    return [l.run, v === null ? "not logged" : `${fmt(v, 3)} timesteps`];
  }));
  const legend = el("div", { class: "rnn-horizon-training-legend" }, lines.map((l) => el("span", {}, [
    el("span", { class: "rnn-horizon-swatch", style: { background: l.color, height: "3px", width: "18px" } }),
    el("span", { text: l.run }),
  ])));
  return [
    el("div", { class: "rnn-horizon-projection-title", text:
      "Effective horizon: the mean lag t \u2212 j under the normalised lag profile G[t, t\u2212l] / G[t, t] " +
      "(mean over samples and losses) \u2014 how far back, on average, the gradient of a loss reaches. One line per run." }),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    legend,
  ];
}

function timescaleChart(items, axis, ctx, direction) {
  const h = TIMESCALE_H;
  const runs = items.map((item) => ({
    run: item.run, color: runColor(item.run, ctx.allRuns), gate: item.gate, gateScales: item.gateScales || null,
    gradientScales: item.gradientScales || null, item,
  }));
  const positives = [];
  for (const r of runs) {
    for (const g of r.gateScales || []) for (const v of [g.q1, g.median, g.q3]) if (v > 0 && Number.isFinite(v)) positives.push(v);
    for (const g of r.gradientScales || []) if (g.value > 0 && Number.isFinite(g.value)) positives.push(g.value);
  }
  const notes = [];
  for (const r of runs) notes.push(runNote(r));
  if (!positives.length) {
    return [
      el("div", { class: "rnn-horizon-projection-title", text: "Memory timescales (log): none to draw." }),
      ...notes.map((text) => el("div", { class: "rnn-note rnn-horizon-note", text })),
    ];
  }
  const scale = logScale(Math.min(...positives), Math.max(...positives));
  const yOf = (v) => {
    const n = scale.norm(v);
    return Number.isFinite(n) ? TOP + h * (1 - n) : null;
  };
  const canvas = el("canvas", {
    class: "rnn-plot rnn-horizon-timescales",
    dataset: { view: "horizon-timescales", direction: direction || "none", lo: scale.lo, hi: scale.hi,
      plotX: PLOT_X, plotY: TOP, plotWidth: axis.plotW, plotHeight: h },
  });
  canvas.rnnTimescales = runs.map((r) => ({
    run: r.run, gate: r.gate ? r.gate.gate : null, gateScales: r.gateScales, gradientScales: r.gradientScales,
  }));
  const c = setupCanvas(canvas, axis.width, TOP + h + 38);
  const colors = canvasColors();
  drawYTicks(c, colors, PLOT_X, decadeTicks(scale, h, 24), TOP, h, axis.plotW);
  c.save();
  c.beginPath();
  c.rect(PLOT_X, TOP, axis.plotW, h);
  c.clip();
  for (const r of runs) {
    if (!r.gateScales) continue;
    // Quartile band, then the median.
    const band = r.gateScales.filter((g) => Number.isFinite(g.q1) && Number.isFinite(g.q3));
    if (band.length) {
      c.globalAlpha = 0.18;
      c.fillStyle = r.color;
      c.beginPath();
      band.forEach((g, i) => (i ? c.lineTo(axis.xOf(g.step), yOf(g.q3)) : c.moveTo(axis.xOf(g.step), yOf(g.q3))));
      for (let i = band.length - 1; i >= 0; i--) c.lineTo(axis.xOf(band[i].step), yOf(band[i].q1));
      c.closePath();
      c.fill();
      if (band.length === 1) c.fillRect(axis.xOf(band[0].step) - 3, yOf(band[0].q3), 6, yOf(band[0].q1) - yOf(band[0].q3));
      c.globalAlpha = 1;
    }
    c.strokeStyle = c.fillStyle = r.color;
    c.lineWidth = 2;
    polyline(c, r.gateScales.map((g) => [axis.xOf(g.step), yOf(g.median)]), r.gateScales.length <= 60);
  }
  for (const r of runs) {
    if (!r.gradientScales) continue;
    c.strokeStyle = c.fillStyle = r.color;
    c.lineWidth = 1.5;
    c.setLineDash([5, 4]);
    polyline(c, r.gradientScales.map((g) => [axis.xOf(g.step), g.value > 0 ? yOf(g.value) : null]), false);
    c.setLineDash([]);
  }
  c.restore();
  c.lineWidth = 1;
  selectedMarker(c, colors, axis, ctx.state.step, TOP, h);
  c.strokeStyle = colors.axis;
  c.strokeRect(PLOT_X - 0.5, TOP - 0.5, axis.plotW + 1, h + 1);
  canvas.rnnStepLabels = drawStepAxis(c, colors, axis, TOP, h, "step");
  drawYLabel(c, colors, "timescale (timesteps, log)", TOP, h);
  hookSteps(canvas, axis, ctx, h, (step) => runs.flatMap((r) => {
    const rows = [];
    const g = (r.gateScales || []).find((x) => x.step === step);
    if (g) {
      rows.push([`${r.run} gate ${r.gate.gate}`, `median ${fmt(g.median, 3)}, quartiles ${fmt(g.q1, 3)}\u2013${fmt(g.q3, 3)}` +
        (g.infinite ? `, ${g.infinite} unit(s) +inf` : "")]);
    }
    const d = (r.gradientScales || []).find((x) => x.step === step);
    if (d) rows.push([`${r.run} gradient`, d.value === null ? "no fit" : d.value === Infinity ? "+inf (no decay)" : fmt(d.value, 3)]);
    return rows;
  }));
  return [
    el("div", { class: "rnn-horizon-projection-title", text:
      "Memory timescales, log axis. Solid line and band: the forget gate's (GRU: update gate z's) " +
      "T_u = \u22121/ln(mean gate) over units, median and quartiles \u2014 what the gates promise. Dashed: " +
      "\u22121/ln r, with r the per-timestep factor of the fitted decay of ||dL/dh_t|| \u2014 the memory the gradient uses." }),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    timescaleLegend(runs),
    ...notes.map((text) => el("div", { class: "rnn-note rnn-horizon-note rnn-horizon-timescale-note", text })),
    flatNote(runs),
  ];
}

/** Why ||dL/dh_t|| need not decay with a loss at every timestep (said once). */
function flatNote(runs) {
  const flat = runs.some((r) => lossEveryStep(r.item.series) &&
    (r.gradientScales || []).some((g) => g.value === Infinity));
  return flat ? el("div", { class: "rnn-note rnn-horizon-note", text:
    "With a loss at every timestep, ||dL/dh_t|| sums the gradients of every later loss and need not decay " +
    "going back: the dashed timescale is then missing or long, and the effective horizon above is the measure " +
    "of how far back the gradient reaches." }) : null;
}

/** Per run what it draws: the gate's median and band (solid), the gradient's timescale (dashed). */
function timescaleLegend(runs) {
  const items = [];
  for (const r of runs) {
    if (r.gateScales) {
      items.push(el("span", {}, [
        el("span", { class: "rnn-horizon-key-band", style: { background: r.color, borderColor: r.color } }),
        el("span", { text: `${r.run}: gate ${r.gate.gate} median, quartile band` }),
      ]));
    }
    if (r.gradientScales && r.gradientScales.some((g) => g.value > 0 && Number.isFinite(g.value))) {
      items.push(el("span", {}, [
        el("span", { class: "rnn-horizon-key-dashed", style: { borderColor: r.color } }),
        el("span", { text: `${r.run}: from the decay of ||dL/dh_t||` }),
      ]));
    }
  }
  return el("div", { class: "rnn-horizon-training-legend" }, items);
}

/** Whether the horizon has more than one loss (targets null: every timestep). */
function lossEveryStep(series) {
  const targets = series.meta && series.meta.targets;
  return !Array.isArray(targets) || targets.length > 1;
}

/** What a run contributes to the timescale chart, and what it lacks. */
function runNote(r) {
  const parts = [];
  if (!r.gate) parts.push("no forget/update gate series (SimpleRNN has no gates; or logged with log_gate_activations=False)");
  else if (!r.gateScales) parts.push(`gate ${r.gate.gate}: no memory timescales (${r.item.timescales && r.item.timescales.error ? errorText(r.item.timescales.error) : "not logged"})`);
  else {
    const last = r.gateScales[r.gateScales.length - 1];
    const units = last.finite + last.infinite;
    parts.push(`gate ${r.gate.gate}, ${units} units; at step ${last.step} ${last.infinite} unit(s) +inf (gate at 1: kept apart, not drawn)`);
  }
  if (!r.item.gradient) parts.push("no state gradient logged: no gradient timescale");
  else if (!r.gradientScales) parts.push(`no state gradient profile (${r.item.profile && r.item.profile.error ? errorText(r.item.profile.error) : "older log"})`);
  else {
    const flat = r.gradientScales.filter((g) => g.value === Infinity).length;
    if (flat) parts.push(`${flat} of ${r.gradientScales.length} steps with no decay of ||dL/dh_t|| (+inf, not drawn)`);
  }
  return `${r.run}: ${parts.join("; ")}.`;
}

export const horizonTrainingView = {
  id: "horizon_training",
  label: "horizon over training (effective horizon, memory timescales)",
  appliesTo: isHorizonSeries,
  perSample: false,
  usesTabScales: false,
  options: {},
  load,
  render,
};
