// Under a horizon's stacked bars: the labels row (true and predicted class
// per timestep, or the share right over samples) and the overview strip
// (the kept max per step over training); and the bars' geometry both use.

import { el } from "../draw/dom.js";
import { canvasColors, drawYLabel, drawYTicks, FONT, LABEL_FONT, setupCanvas } from "../draw/canvas.js";
import { CHART_PLOT_X as PLOT_X } from "../draw/layout.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { errorText } from "../data/results.js";
import { labelRow, tokenText, valueTicks } from "./horizon_model.js";
import { tokenRows } from "../data/tokens.js";

const OVERVIEW_H = 70;
const LABEL_ROW_H = 17;
// Right and wrong predictions: readable with white text on both themes.
const RIGHT_COLOR = "#2e7d32";
const WRONG_COLOR = "#c62828";

export const LABELS_HINT =
  "No labels row: RNNTensorBoard logs the true and predicted class per timestep with the gradient horizon " +
  "when the loss is a classification loss (vocabulary=... shows tokens); other writers log a \"labels\" series.";


/** The x of bar i (its slot's left edge). */
export function barX(model, i) {
  return PLOT_X + i * model.barW;
}

/** Value to y within a plot of height h whose top is `top`. */
export function yOf(v, hi, top, h) {
  return top + h * (1 - Math.min(1, v / hi));
}

/** Width of a bar drawn at slot width w: a 1 px gap once bars are wide enough. */
export function drawnWidth(w) {
  return w >= 4 ? w - 1 : Math.max(w, 0.6);
}

/**
 * The y ticks of a value axis 0..hi, one exponent for the whole axis; the
 * axis title, with that exponent ("... \u00d71e-3"), drawn beside them.
 * Sets the canvas' data-multiplier and data-tick-labels (for tests).
 */
export function drawValueAxis(c, colors, canvas, hi, top, h, plotW, title) {
  const { ticks, multiplier } = valueTicks(hi, Math.max(2, Math.floor(h / 40)));
  drawYTicks(c, colors, PLOT_X, ticks, top, h, plotW);
  drawYLabel(c, colors, multiplier ? `${title} ${multiplier}` : title, top, h);
  canvas.dataset.multiplier = multiplier;
  canvas.dataset.tickLabels = ticks.map((t) => t.label).join(" ");
}

/** What the y range of a chart is, said under it. */
export function yRangeText(model) {
  return model.shared
    ? `y range shared across runs (the largest of the ${model.charts} chart${model.charts === 1 ? "" : "s"} shown)`
    : "this run's own y range (shared across runs is off)";
}

/** A note across the panels' row. */
export function note(text, kind = "") {
  return el("div", { class: `rnn-note rnn-horizon-note${kind ? ` rnn-note-${kind}` : ""}`, style: { flexBasis: "100%" }, text });
}

export function labelsRow(item, model, ctx) {
  if (!item.labelsSeries) return el("div", { class: "rnn-note rnn-horizon-labels-missing", text: LABELS_HINT });
  const result = item.labels;
  if (!result || result.error) {
    return el("div", { class: "rnn-note rnn-horizon-labels-missing",
      text: `No labels at step ${item.step}: ${result ? errorText(result.error) : "not loaded"}` });
  }
  const tensor = result.value;
  if (tensor.shape.length !== 3 || tensor.shape[1] !== model.T || tensor.shape[2] < 2) {
    return el("div", { class: "rnn-note rnn-horizon-labels-missing",
      text: `The labels have shape [${tensor.shape.join(", ")}]; expected [sample, ${model.T}, 2].` });
  }
  const sample = model.sample === "mean" ? "mean" : Math.min(model.sample, tensor.shape[0] - 1);
  const cells = labelRow(tensor, sample);
  const vocabulary = item.labelsSeries.meta && item.labelsSeries.meta.vocabulary;
  const rows = sample === "mean" ? 1 : 2;
  const canvas = el("canvas", {
    class: "rnn-plot rnn-horizon-labels",
    dataset: { view: "horizon-labels", run: item.run, rows, sample: String(sample) },
  });
  canvas.rnnLabels = cells;
  const height = rows * LABEL_ROW_H + 2;
  const c = setupCanvas(canvas, model.width, height);
  const colors = canvasColors();
  const slots = model.binned ? model.bins : cells.map((_, j) => [j, j + 1]);
  c.font = FONT;
  c.textBaseline = "middle";
  c.textAlign = "right";
  c.fillStyle = colors.text;
  if (rows === 2) {
    c.fillText("true", PLOT_X - 6, LABEL_ROW_H / 2);
    c.fillText("predicted", PLOT_X - 6, LABEL_ROW_H * 1.5);
  } else c.fillText("% right", PLOT_X - 6, LABEL_ROW_H / 2);
  c.textAlign = "center";
  const w = drawnWidth(model.barW);
  slots.forEach(([j0, j1], i) => {
    const x = barX(model, i);
    if (sample === "mean") {
      let share = 0;
      let n = 0;
      for (let j = j0; j < j1; j++) if (Number.isFinite(cells[j].share)) { share += cells[j].share; n++; }
      if (!n) return;
      share /= n;
      c.fillStyle = mix(WRONG_COLOR, RIGHT_COLOR, share);
      c.fillRect(x, 1, w, LABEL_ROW_H - 1);
      drawCellText(c, `${Math.round(100 * share)}`, x + w / 2, LABEL_ROW_H / 2, w);
      return;
    }
    const cell = cells[j0];
    let wrong = 0;
    let known = 0;
    for (let j = j0; j < j1; j++) {
      if (cells[j].right === null) continue;
      known++;
      if (!cells[j].right) wrong++;
    }
    if (!known) return;
    c.fillStyle = wrong ? WRONG_COLOR : RIGHT_COLOR;
    c.fillRect(x, 1, w, 2 * LABEL_ROW_H - 1);
    if (j1 - j0 === 1) {
      drawCellText(c, tokenText(cell.truth, vocabulary), x + w / 2, LABEL_ROW_H / 2, w);
      drawCellText(c, tokenText(cell.predicted, vocabulary), x + w / 2, LABEL_ROW_H * 1.5, w);
    }
  });
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - PLOT_X;
    if (x < 0 || x >= model.plotW) {
      ctx.onLeave();
      return;
    }
    const [j0] = slots[Math.min(slots.length - 1, Math.floor(x / model.barW))];
    const cell = cells[j0];
    const rows2 = [["run", item.run], ["j", String(j0)], ...tokenRows(item.series, sample, j0)];
    if (sample === "mean") rows2.push(["right", `${fmt(100 * cell.share, 3)} % of ${cell.n} samples`]);
    else rows2.push(["true", tokenText(cell.truth, vocabulary) || "none"], ["predicted", tokenText(cell.predicted, vocabulary) || "none"]);
    ctx.onHover(rows2, event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  return el("div", { class: "rnn-canvas-wrap rnn-horizon-labels-wrap" }, [canvas]);
}

/** A label inside its cell, only when it fits. */
function drawCellText(c, text, x, y, w) {
  if (!text || c.measureText(text).width > w - 2) return;
  c.fillStyle = "#fff";
  c.fillText(text, x, y);
}

function mix(from, to, f) {
  const a = [1, 3, 5].map((i) => Number.parseInt(from.slice(i, i + 2), 16));
  const b = [1, 3, 5].map((i) => Number.parseInt(to.slice(i, i + 2), 16));
  return `rgb(${a.map((v, i) => Math.round(v + f * (b[i] - v))).join(",")})`;
}

// ---- the overview: the largest gradient of every logged step -------------------

/** The kept max of every logged step, {steps, values}, or null when the horizon_stats did not load. */
export function overviewValues(item) {
  const stats = item.stats;
  if (!stats || stats.error) return null;
  const kept = stats.value;
  const fields = (kept.header.metadata && kept.header.metadata.fields) || ["max", "effective_horizon"];
  const column = fields.indexOf("max");
  return { steps: kept.steps, values: kept.steps.map((_, i) => (column >= 0 ? kept.value(i, 0, column) : NaN)) };
}

export function overview(item, model, ctx) {
  const stats = item.stats;
  if (!model.overview) {
    return el("div", { class: "rnn-note rnn-horizon-note",
      text: `No overview over steps: its kept horizon_stats did not load (${stats ? errorText(stats.error) : "?"}).` });
  }
  const { steps, values } = model.overview;
  const selected = steps.indexOf(item.step);
  const canvas = el("canvas", {
    class: "rnn-plot rnn-horizon-overview",
    dataset: { view: "horizon-overview", run: item.run, direction: item.series.direction || "none",
      steps: steps.length, selectedStep: item.step, plotX: PLOT_X, plotY: 6, plotWidth: model.plotW,
      plotHeight: OVERVIEW_H, hi: model.overviewHi, yRange: model.shared ? "shared" : "own" },
  });
  canvas.rnnOverview = { steps, values };
  const top = 6;
  const h = OVERVIEW_H;
  const c = setupCanvas(canvas, model.width, top + h + 34);
  const colors = canvasColors();
  const hi = model.overviewHi;
  drawValueAxis(c, colors, canvas, hi, top, h, model.plotW, "max");
  const slot = model.plotW / Math.max(1, steps.length);
  const w = drawnWidth(slot);
  const color = runColor(item.run, ctx.allRuns);
  values.forEach((v, i) => {
    if (!Number.isFinite(v) || v <= 0) return;
    const y = yOf(v, hi, top, h);
    c.globalAlpha = i === selected ? 1 : 0.35;
    c.fillStyle = i === selected ? color : colors.muted;
    c.fillRect(PLOT_X + i * slot, y, w, top + h - y);
  });
  c.globalAlpha = 1;
  if (selected >= 0) {
    c.strokeStyle = color;
    c.strokeRect(PLOT_X + selected * slot - 0.5, top - 0.5, w + 1, h + 1);
  }
  c.strokeStyle = colors.axis;
  c.strokeRect(PLOT_X - 0.5, top - 0.5, model.plotW + 1, h + 1);
  // Step ticks: a few of the logged steps.
  c.font = FONT;
  c.fillStyle = colors.text;
  c.textAlign = "center";
  c.textBaseline = "top";
  const every = Math.max(1, Math.ceil(60 / slot));
  for (let i = 0; i < steps.length; i += every) c.fillText(String(steps[i]), PLOT_X + (i + 0.5) * slot, top + h + 4);
  c.font = LABEL_FONT;
  c.fillText("logged step (click a bar to show it)", PLOT_X + model.plotW / 2, top + h + 18);
  const indexAt = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left - PLOT_X;
    if (x < 0 || x >= model.plotW || !steps.length) return null;
    return Math.min(steps.length - 1, Math.floor(x / slot));
  };
  canvas.addEventListener("mousemove", (event) => {
    const i = indexAt(event);
    if (i === null) {
      ctx.onLeave();
      return;
    }
    ctx.onHover([["run", item.run], ["step", String(steps[i])], ["max ||dL_t/dh_j||", fmt(values[i], 4)]], event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
  canvas.addEventListener("click", (event) => {
    const i = indexAt(event);
    if (i !== null) ctx.onStep(steps[i]);
  });
  canvas.style.cursor = "pointer";
  return el("div", { class: "rnn-horizon-overview-box" }, [
    el("div", { class: "rnn-horizon-projection-title", text: "Largest ||dL_t/dh_j|| (over samples, losses and timesteps) at every logged step; the shown step in the run's colour; " +
      `${yRangeText(model)}.` }),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
  ]);
}
