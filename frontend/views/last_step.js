// The last-step view (see-rnn's "0D" view) for sequence-to-one layers
// (return_sequences=False: only the last output reaches the loss): per
// sample and unit, the activation and the output gradient dL/dy at the
// sample's last real timestep, as two aligned scatters over the units
// (x: unit; or x: activation, y: gradient), every unit in the same colour
// for every sample. Any layer's last step can be drawn; the note says
// whether the logged gradient shows the layer as sequence-to-one.

import { el } from "../draw/dom.js";
import { drawnColors, FONT, integerTicks, setupCanvas } from "../draw/canvas.js";
import { channelColor } from "../draw/channels.js";
import { fmt } from "../draw/format.js";
import { isTimestepTensor, maskSeriesOf, seriesFor } from "../data/index_model.js";
import { loadAtStep } from "../data/loaders.js";
import { errorText, settle } from "../data/results.js";
import { runTitle } from "./text.js";

const PLOT_H = 170;
const PAD = { left: 64, right: 12, top: 10, bottom: 30 };

/**
 * Per sample, the timestep whose output a sequence-to-one layer returns:
 * the last unmasked one (first for a backward direction, which reads the
 * input reversed); without a mask the last (first). -1 for an all-masked sample.
 */
export function lastSteps(S, T, mask, backward = false) {
  return Array.from({ length: S }, (_, s) => {
    if (!mask) return backward ? 0 : T - 1;
    const real = (t) => mask.data[s * T + t] > 0.5;
    if (backward) {
      for (let t = 0; t < T; t++) if (real(t)) return t;
    } else {
      for (let t = T - 1; t >= 0; t--) if (real(t)) return t;
    }
    return -1;
  });
}

/**
 * Whether a [S, T, C] output gradient is zero at every timestep but each
 * sample's last (`last` from lastSteps): the loss sees only the last output.
 */
export function onlyLastStepGradient(gradient, last) {
  const [S, T, C] = gradient.shape;
  let nonzeroLast = false;
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0, at = (s * T + t) * C; c < C; c++, at++) {
        if (gradient.data[at] === 0) continue;
        if (t !== last[s]) return false;
        nonzeroLast = true;
      }
    }
  }
  return nonzeroLast;
}

/** [S][C] values of a [S, T, C] tensor at each sample's last step (NaN for none). */
export function atLastSteps(tensor, last) {
  const [S, T, C] = tensor.shape;
  return Array.from({ length: S }, (_, s) => Float64Array.from({ length: C },
    (_, c) => (last[s] < 0 ? NaN : tensor.data[(s * T + last[s]) * C + c])));
}

async function loadLastStep(ctx) {
  const items = ctx.groups.flatMap((g) => g.panels.map((p) => ({ run: g.run, series: p.series })));
  const loaded = await loadAtStep(ctx, items, async (item) => {
    const gradientSeries = seriesFor(ctx.index, item.run, item.series.layer, "output_gradient")
      .find((s) => s.direction === item.series.direction && s.cellIndex === item.series.cellIndex);
    const maskSeries = maskSeriesOf(ctx.index, item.series);
    const [gradient, mask] = await Promise.all([
      gradientSeries ? settle(ctx.api.tensor(gradientSeries.run, gradientSeries.tag, item.step)) : null,
      maskSeries ? settle(ctx.api.tensor(maskSeries.run, maskSeries.tag, item.step)) : null,
    ]);
    item.gradient = gradient;
    item.mask = mask;
  });
  return loaded ? { items, sampled: loaded.sampled } : null;
}

function renderLastStep({ items, sampled }, ctx) {
  const samples = Math.max(0, ...items.filter((i) => i.tensor && i.tensor.value).map((i) => i.tensor.value.shape[0]));
  const mode = ctx.state.lastStepPlot === "scatter" ? "scatter" : "units";
  const select = el("select", { id: "rnn-last-step-plot", attrs: { "aria-label": "plot" } }, [
    el("option", { value: "units", text: "x: unit; activation and gradient", selected: mode === "units" }),
    el("option", { value: "scatter", text: "x: activation, y: gradient", selected: mode === "scatter" }),
  ]);
  select.addEventListener("change", () => ctx.setOption("lastStepPlot", select.value));
  const toolbar = el("div", { class: "rnn-text-toolbar" }, [el("label", {}, ["plot ", select]),
    el("span", { class: "rnn-muted", text: "one dot per sample and unit; a unit has the same colour in every sample" })]);
  const panels = items.map((item) => lastStepPanel(item, mode, ctx));
  return {
    nodes: [el("div", { class: "rnn-last-step-view" }, [toolbar, ...panels])],
    errors: items.filter((i) => i.error).length,
    errorsSay: "last-step panel(s) could not be drawn",
    sampled,
    samples,
  };
}

function lastStepPanel(item, mode, ctx) {
  const s = item.series;
  const panel = el("div", { class: "rnn-panel", dataset: { run: item.run, direction: s.direction || "none", step: item.step } }, [
    runTitle(item.run, ctx),
    el("div", { class: "rnn-panel-info", text: [s.cell, `layer ${s.layer}`, s.direction, `step ${item.step}`].filter(Boolean).join(" \u00b7 ") }),
  ]);
  const error = item.steps.error ? errorText(item.steps.error)
    : item.step === null || item.step === undefined ? "No steps logged for this series."
      : item.tensor.error ? `Could not load tensor: ${errorText(item.tensor.error)}`
        : item.tensor.value.shape.length !== 3 ? "Expected a [samples, timesteps, channels] tensor." : null;
  if (error) {
    item.error = error;
    panel.append(el("div", { class: "rnn-note rnn-note-error", text: error }));
    return panel;
  }
  const [S, T] = item.tensor.value.shape;
  const mask = item.mask && item.mask.value && item.mask.value.shape[1] === T ? item.mask.value : null;
  const last = lastSteps(S, T, mask, s.direction === "backward");
  const activation = atLastSteps(item.tensor.value, last);
  const gradient = item.gradient && item.gradient.value && item.gradient.value.shape.join() === item.tensor.value.shape.join()
    ? item.gradient.value : null;
  const width = Math.max(300, Math.min(1200, ctx.width - 40));
  if (mode === "scatter" && gradient) {
    panel.append(scatterCanvas(activation, atLastSteps(gradient, last), width, "activation y", "dL/dy", item, ctx));
  } else {
    panel.append(unitsCanvas(activation, width, "activation y", item, ctx));
    if (gradient) panel.append(unitsCanvas(atLastSteps(gradient, last), width, "dL/dy", item, ctx));
  }
  const notes = [];
  if (!gradient) notes.push("No output gradient logged at this step: only the activation is drawn.");
  else if (onlyLastStepGradient(gradient, last)) notes.push("Sequence-to-one: the loss sees only the last step's output (the gradient is 0 before it).");
  else notes.push("This layer's output reaches the loss at other timesteps too (return_sequences=True): its last step is only one of them.");
  for (const text of notes) panel.append(el("div", { class: "rnn-note", text }));
  return panel;
}

/** The [lo, hi] range of finite values in rows, widened when empty or flat. */
function rangeOf(rows) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of rows) for (const v of row) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi >= lo)) return [-1, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** Axes box, y ticks at lo, 0 (when inside) and hi, and the y label. */
function axes(c, width, [lo, hi], yLabel, xLabel) {
  const plotW = width - PAD.left - PAD.right;
  const y = (v) => PAD.top + (1 - (v - lo) / (hi - lo)) * (PLOT_H - PAD.top - PAD.bottom);
  c.strokeStyle = drawnColors.axis;
  c.fillStyle = drawnColors.text;
  c.font = FONT;
  c.strokeRect(PAD.left, PAD.top, plotW, PLOT_H - PAD.top - PAD.bottom);
  c.textAlign = "right";
  c.textBaseline = "middle";
  for (const v of lo < 0 && hi > 0 ? [lo, 0, hi] : [lo, hi]) c.fillText(fmt(v, 3), PAD.left - 4, y(v));
  if (lo < 0 && hi > 0) {
    c.strokeStyle = drawnColors.zero || "#999";
    c.beginPath();
    c.moveTo(PAD.left, y(0));
    c.lineTo(PAD.left + plotW, y(0));
    c.stroke();
  }
  c.save();
  c.translate(12, PLOT_H / 2);
  c.rotate(-Math.PI / 2);
  c.textAlign = "center";
  c.fillText(yLabel, 0, 0);
  c.restore();
  c.textAlign = "center";
  c.textBaseline = "bottom";
  c.fillText(xLabel, PAD.left + plotW / 2, PLOT_H - 2);
  return { plotW, y };
}

/** x: unit, y: value; one dot per sample, in the unit's colour. */
function unitsCanvas(rows, width, label, item, ctx) {
  const canvas = el("canvas", { class: "rnn-last-step-plot", dataset: { run: item.run, quantity: label } });
  const c = setupCanvas(canvas, width, PLOT_H);
  const C = rows[0] ? rows[0].length : 0;
  const { plotW, y } = axes(c, width, rangeOf(rows), label, `unit (0\u2013${C - 1}); one dot per sample`);
  const x = (u) => PAD.left + ((u + 0.5) / Math.max(1, C)) * plotW;
  c.fillStyle = drawnColors.text;
  c.textAlign = "center";
  c.textBaseline = "top";
  for (const u of integerTicks(C, plotW / Math.max(1, C), 28)) c.fillText(String(u), x(u), PLOT_H - PAD.bottom + 2);
  rows.forEach((row) => row.forEach((v, u) => dot(c, x(u), y(v), channelColor(u), v)));
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const u = Math.floor(((event.clientX - rect.left - PAD.left) / plotW) * C);
    if (!(u >= 0 && u < C)) return ctx.onLeave();
    ctx.onHover([["run", item.run], ["unit", String(u)], ...rows.map((row, s) => [`sample ${s}`, fmt(row[u], 4)])], event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  return canvas;
}

/** x: activation, y: gradient; one dot per sample and unit. */
function scatterCanvas(xRows, yRows, width, xLabel, yLabel, item, ctx) {
  const canvas = el("canvas", { class: "rnn-last-step-plot", dataset: { run: item.run, quantity: "scatter" } });
  const c = setupCanvas(canvas, width, PLOT_H);
  const [xlo, xhi] = rangeOf(xRows);
  const { plotW, y } = axes(c, width, rangeOf(yRows), yLabel, `${xLabel} (${fmt(xlo, 3)} \u2026 ${fmt(xhi, 3)})`);
  const x = (v) => PAD.left + ((v - xlo) / (xhi - xlo)) * plotW;
  xRows.forEach((row, s) => row.forEach((v, u) => dot(c, x(v), y(yRows[s][u]), channelColor(u), v + yRows[s][u])));
  return canvas;
}

function dot(c, x, y, colour, value) {
  if (!Number.isFinite(value)) return;
  c.fillStyle = colour;
  c.beginPath();
  c.arc(x, y, 3, 0, 2 * Math.PI);
  c.fill();
}

export const lastStepView = {
  id: "last_step",
  label: "last step (sequence-to-one)",
  appliesTo: (meta) => isTimestepTensor(meta) && meta.kind === "activation",
  perSample: false,
  usesTabScales: false,
  options: {
    lastStepPlot: { initial: "units", valid: (v) => v === "units" || v === "scatter" },
  },
  load: loadLastStep,
  render: renderLastStep,
};
