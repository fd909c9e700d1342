// View "horizon" of the gradient horizon (RNNbow, Cashman et al. 2018,
// figure 5): at the chosen step, per run and direction, a stacked bar per
// source timestep j: the gradient reaching h_j, split by the loss L_t it
// comes from and coloured by the lag t - j. Hovering a segment highlights
// every segment of the same loss and draws that loss's horizon
// ||dL_t/dh_j|| over j below. Above the bars, true and predicted class per
// timestep when a "labels" series is logged; below, the step's largest
// gradient at every logged step (click a bar to go to its step).

import { el } from "../draw/dom.js";
import { canvasColors, drawXAxis, setupCanvas } from "../draw/canvas.js";
import {
  CHART_PLOT_X as PLOT_X, CHART_RIGHT as RIGHT, MAX_CHART_W as MAX_PANEL_W, PANEL_CHROME_W,
} from "../draw/layout.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { defaultSharing } from "../draw/scales.js";
import { directionLabel } from "../data/index_model.js";
import { itemsOf, loadAtStep, loadKept, missingRuns } from "../data/loaders.js";
import {
  bandLookup, bandOf, binnedBars, binnedRow, defaultRow, horizonMatrix, lagBands, lagOf, sampleNotLogged, isHorizonSeries, segmentAt, stackColumns, targetsOf, yTops,
} from "./horizon_model.js";
import {
  barX, drawnWidth, drawValueAxis, labelsRow, note, overview, overviewValues, yOf, yRangeText,
} from "./horizon_strips.js";
import { errorText, settle } from "../data/results.js";

const BARS_H = 220;
const PROJECTION_H = 110;
const FADED_ALPHA = 0.22;

export const LABELS_KIND = "labels";



/** "sample s" or "mean" from the tab's Sample control (G >= 0: |mean| is the mean). */
export function sampleChoice(state) {
  return state.sampleMode && state.sampleMode !== "sample" ? "mean" : Math.max(0, state.sample || 0);
}

/** Each run's horizon at the chosen step, with its kept maxima per step and its labels row. */
async function load(ctx) {
  const items = itemsOf(ctx.groups);
  const loaded = await loadAtStep(ctx, items, (item) => loadAlongside(ctx, item));
  return loaded && { items, ...loaded };
}

function render({ items, sampled }, ctx) {
  const { state } = ctx;
  const missing = missingRuns(ctx.groups);
  const nodes = [];
  let errors = 0;
  if (missing.length) {
    nodes.push(note(`No gradient horizon logged for layer ${state.layer} in: ${missing.join(", ")}. ` +
      "Log it with RNNTensorBoard(gradient_horizon=True).", "warn"));
  }
  const width = Math.max(360, Math.min(MAX_PANEL_W, (ctx.width || 1000) - 8));
  const prepared = items.map((item) => horizonModel(item, ctx, width));
  const models = prepared.filter((p) => p.model).map((p) => p.model);
  const sharing = horizonSharing(models, ctx.state.shared);
  setYRanges(models, sharing.shared);
  if (sharing.note) {
    nodes.push(el("div", { class: "rnn-note rnn-note-warn rnn-scale-note", dataset: { ratio: sharing.ratio }, text: sharing.note }));
  }
  for (const p of prepared) {
    const panel = p.model ? horizonPanel(p.model, ctx) : p;
    if (panel.error) errors++;
    nodes.push(panel.node);
  }
  if (!items.length && !missing.length) nodes.push(el("div", { class: "rnn-message", text: "Select at least one run." }));
  // For the Sample control's "of 0-N": the most samples any run logged.
  const samples = Math.max(0, ...items.map((i) => (i.tensor && i.tensor.value ? i.tensor.value.shape[0] : 0)));
  return { nodes, errors, sampled, samples, sharedDefault: sharing.chosen ? null : sharing.shared };
}

/**
 * "Shared across runs" for the horizon: the user's choice when made, else
 * scales.defaultSharing over each run's largest bar (runs whose gradients
 * differ by 100x or more each get their own y range, said in a note).
 */
function horizonSharing(models, chosen) {
  if (typeof chosen === "boolean") return { shared: chosen, chosen: true, note: "", ratio: 1 };
  const maxima = new Map();
  for (const model of models) {
    const run = model.item.run;
    maxima.set(run, Math.max(maxima.get(run) || 0, chartMaxima(model).barsMax));
  }
  return { ...defaultSharing([...maxima].map(([run, max]) => ({ run, max }))), chosen: false };
}

/** What comes with the horizon at item.step: its kept max per step and its labels. */
async function loadAlongside(ctx, item) {
  const labels = ctx.index.series.find((s) => s.run === item.run && s.layer === item.series.layer &&
    s.kind === LABELS_KIND) || null;
  item.labelsSeries = labels;
  const [stats, labelTensor] = await Promise.all([
    loadKept(ctx.api, item.series, "horizon_stats"),
    labels ? loadLabels(ctx.api, labels, item.step) : null,
  ]);
  item.stats = stats;
  item.labels = labelTensor;
}

/** The labels at `step`, or {error} saying they were not logged then (no request for a step not listed). */
async function loadLabels(api, labels, step) {
  const steps = await settle(api.steps(labels.run, labels.tag));
  if (steps.error) return steps;
  if (!steps.value.steps.includes(step)) {
    return { error: new Error(`not logged at this step (the labels have ${steps.value.steps.length} logged steps)`) };
  }
  return settle(api.tensor(labels.run, labels.tag, step));
}


function heading(item, ctx, extra) {
  const parts = [
    el("span", { class: "rnn-horizon-swatch", style: { background: runColor(item.run, ctx.allRuns) } }),
    el("span", { class: "rnn-horizon-run", text: item.run }),
  ];
  if (item.series.direction) parts.push(el("span", { class: "rnn-direction", text: directionLabel(item.series.direction) }));
  parts.push(el("span", { class: "rnn-muted", text: extra }));
  return el("div", { class: "rnn-panel-heading" }, parts);
}

function errorPanel(item, ctx, width, text) {
  return {
    error: true,
    node: el("div", {
      class: "rnn-panel rnn-horizon-panel", dataset: { run: item.run, direction: item.series.direction || "none" },
      style: { width: `${width}px` },
    }, [heading(item, ctx, ""), el("div", { class: "rnn-note rnn-note-error", text })]),
  };
}

/** {model} of what one run's (and direction's) horizon panel draws, or {error, node} saying why not. */
function horizonModel(item, ctx, width) {
  const where = `layer ${item.series.layer}`;
  if (item.steps.error) return errorPanel(item, ctx, width, `Could not list the steps: ${errorText(item.steps.error)}`);
  if (item.step === null || item.step === undefined) return errorPanel(item, ctx, width, "No step logged.");
  if (item.tensor.error) return errorPanel(item, ctx, width, `Could not load the horizon at step ${item.step}: ${errorText(item.tensor.error)}`);
  const tensor = item.tensor.value;
  if (tensor.shape.length !== 3 || tensor.shape.some((d) => d === 0)) {
    return errorPanel(item, ctx, width, `The horizon of ${where} has shape [${tensor.shape.join(", ")}]; ` +
      "expected [sample, target, timestep], none empty.");
  }
  const [S, K, T] = tensor.shape;
  const targets = targetsOf(item.series.meta, K);
  if (!targets) {
    return errorPanel(item, ctx, width, `The horizon's metadata lists ${JSON.stringify(item.series.meta.targets)} ` +
      `as targets for ${K} rows; cannot tell which loss each row is.`);
  }
  const sample = sampleChoice(ctx.state);
  // Like every other view: a sample the run did not log is refused, never replaced by another.
  const notLogged = sampleNotLogged(sample, S);
  if (notLogged) return errorPanel(item, ctx, width, notLogged);
  const backward = item.series.meta.backward === true;  // /tags says the time order
  const matrix = horizonMatrix(tensor, sample);
  const stack = stackColumns(matrix, targets, T, backward);
  const bands = lagBands(stack.maxLag);
  // Inside the panel's padding and border, or its canvas-wrap clips the right edge.
  const canvasW = width - PANEL_CHROME_W;
  const plotW = canvasW - PLOT_X - RIGHT;
  const binned = T > plotW;
  const model = {
    item, S, T, K, targets, backward, matrix, stack, bands, sample, binned,
    bars: binned ? binnedBars(stack, bands, Math.floor(plotW)) : null,
    plotW, width: canvasW, panelWidth: width, highlight: null, overview: overviewValues(item),
  };
  model.barCount = binned ? model.bars.length : T;
  model.barW = plotW / model.barCount;
  model.bins = binned ? model.bars.map((b) => [b.j0, b.j1]) : null;
  return { model };
}

/** The largest value of a model's bars and of its overview (the projection: projectionTop). */
function chartMaxima(model) {
  const barsMax = model.binned ? Math.max(0, ...model.bars.map((b) => b.total)) : model.stack.maxTotal;
  let overviewMax = 0;
  for (const v of model.overview ? model.overview.values : []) if (Number.isFinite(v) && v > overviewMax) overviewMax = v;
  return { barsMax, overviewMax };
}

/**
 * The y range of the bars and overview charts: with "Scale: shared across
 * runs" ticked, each kind reaches the same top in every run and direction
 * shown, so heights compare across runs (the projection: projectionTop).
 */
function setYRanges(models, shared) {
  const maxima = models.map(chartMaxima);
  const tops = (key) => yTops(maxima.map((m) => m[key]), shared);
  const bars = tops("barsMax");
  const overviews = tops("overviewMax");
  models.forEach((model, i) => {
    model.shared = shared;
    model.charts = models.length;
    model.peers = models;
    model.hi = bars[i];
    model.overviewHi = overviews[i];
  });
}

/**
 * The projection's y top for loss row k: that loss's largest value, over
 * every run and direction shown with "shared across runs" (the same loss
 * timestep t), so that one loss's decay is readable whatever the others'
 * size, and the same loss compares by height across runs.
 */
function projectionTop(model, k) {
  const t = model.targets[k];
  let hi = 0;
  for (const peer of model.shared ? model.peers : [model]) {
    const row = peer.targets.indexOf(t);
    if (row < 0) continue;
    for (const v of projectedRow(peer, row)) if (Number.isFinite(v) && v > hi) hi = v;
  }
  return hi || 1;
}


function horizonPanel(model, ctx) {
  const { item, S, K, T, targets, backward, bands, binned, sample, stack } = model;
  const sampleText = sample === "mean" ? `mean over ${S} samples` : `sample ${sample} of ${S}`;
  const notes = [];
  const single = K === 1;
  if (single) notes.push("One loss (sequence-to-one): the horizon is ||dL/dh_j|| over j.");
  if (binned) {
    notes.push(`${T} timesteps in ${model.barCount} bars: each bar is the mean over its timesteps; ` +
      "hovering highlights a lag band, and the chart below shows the loss with the largest part in it.");
  }
  if (stack.maxTotal === 0) notes.push("Every value is 0 at this step: no gradient reaches the layer.");

  const yRange = model.shared ? "shared" : "own";
  const bars = el("canvas", {
    class: "rnn-plot rnn-horizon-bars",
    dataset: {
      view: "horizon", run: item.run, direction: item.series.direction || "none", step: item.step,
      sample: String(sample), bars: model.barCount, timesteps: T, losses: K, binned: String(binned),
      plotX: PLOT_X, plotY: 8, plotWidth: model.plotW, plotHeight: BARS_H, barWidth: model.barW, hi: model.hi,
      yRange, highlightTarget: "",
    },
  });
  // What is drawn, for tools and tests.
  bars.rnnHorizon = { targets, stack, bars: model.bars };
  drawBars(bars, model);
  const projection = single ? null : el("canvas", {
    class: "rnn-plot rnn-horizon-projection",
    dataset: { view: "horizon-projection", run: item.run, direction: item.series.direction || "none", yRange },
  });
  const projectionTitle = el("div", { class: "rnn-horizon-projection-title" });
  const project = (k) => {
    if (!projection) return;
    drawProjection(projection, model, k);
    projectionTitle.textContent = `Loss at t = ${targets[k]}: its horizon ||dL_t/dh_j|| over j ` +
      `(${sampleText}${binned ? "; mean per bar" : ""}), coloured by lag; y range: ` +
      (model.shared ? `this loss's largest in the ${model.charts} chart${model.charts === 1 ? "" : "s"} shown (shared across runs).`
        : "this loss's own (shared across runs is off).");
  };
  project(defaultRow(targets, backward));
  hookBars(bars, model, ctx, project);

  const children = [
    heading(item, ctx, `step ${item.step} \u00b7 ${sampleText} \u00b7 ${K} loss${K === 1 ? "" : "es"} \u00d7 ${T} timesteps`),
    ...notes.map((text) => el("div", { class: "rnn-note rnn-horizon-note", text })),
  ];
  const labels = labelsRow(item, model, ctx);
  children.push(labels);
  children.push(el("div", { class: "rnn-canvas-wrap" }, [bars]));
  children.push(lagLegend(bands, single, backward));
  children.push(el("div", {
    class: "rnn-note rnn-horizon-note rnn-horizon-y-range",
    text: (single
      ? "Bar height: ||dL/dh_j||, the gradient of the loss reaching the state at timestep j."
      : "Bar height at j: the sum over losses L_t of ||dL_t/dh_j|| (norms add; the gradient vectors " +
        "may partly cancel). Segments: one per loss t, the nearest (lag 0) at the bottom.") +
      ` Scale: ${yRangeText(model)}.`,
  }));
  if (projection) children.push(projectionTitle, el("div", { class: "rnn-canvas-wrap" }, [projection]));
  children.push(overview(item, model, ctx));
  return {
    error: false,
    node: el("div", {
      class: "rnn-panel rnn-horizon-panel",
      dataset: { run: item.run, direction: item.series.direction || "none", view: "horizon" },
      style: { width: `${model.panelWidth}px` },
    }, children),
  };
}

// ---- the stacked bars ------------------------------------------------------






function drawBars(canvas, model) {
  const top = 8;
  const h = BARS_H;
  const c = setupCanvas(canvas, model.width, top + h + 40);
  const colors = canvasColors();
  drawValueAxis(c, colors, canvas, model.hi, top, h, model.plotW,
    model.K === 1 ? "||dL/dh_j||" : "\u03a3_t ||dL_t/dh_j||");
  const { bands, highlight } = model;
  const w = drawnWidth(model.barW);
  const base = top + h;
  const scaleY = h / model.hi;
  for (let i = 0; i < model.barCount; i++) {
    const x = barX(model, i);
    // Parts per band, bottom up (nearest lags first).
    const parts = model.binned ? model.bars[i].parts : columnParts(model, i);
    let sum = 0;
    for (let b = 0; b < parts.length; b++) {
      if (!(parts[b] > 0)) continue;
      const y0 = base - sum * scaleY;
      sum += parts[b];
      const y1 = base - sum * scaleY;
      const faded = highlight && !(highlight.band === b);
      c.globalAlpha = faded ? FADED_ALPHA : 1;
      c.fillStyle = bands[b].color;
      c.fillRect(x, y1, w, y0 - y1);
    }
  }
  c.globalAlpha = 1;
  if (highlight && highlight.k !== undefined && !model.binned) {
    // Every segment of the hovered loss, at full colour and outlined.
    c.strokeStyle = colors.text;
    c.lineWidth = 1;
    for (const [j, s] of lossSegments(model, highlight.k)) {
      const x = barX(model, j);
      const y1 = base - (s.start + s.value) * scaleY;
      c.fillStyle = bands[bandOf(bands, s.lag)].color;
      c.fillRect(x, y1, w, s.value * scaleY);
      c.strokeRect(x + 0.5, y1 + 0.5, Math.max(0, w - 1), Math.max(0, s.value * scaleY - 1));
    }
  }
  c.strokeStyle = colors.axis;
  c.strokeRect(PLOT_X - 0.5, top - 0.5, model.plotW + 1, h + 1);
  drawXAxis(c, { plotX: PLOT_X, plotY: top, plotW: model.plotW, plotH: h, cellW: model.plotW / model.T }, model.T);
}

/** Column j's parts per lag band (unbinned: one column per timestep), computed once. */
function columnParts(model, j) {
  if (!model.parts) {
    const band = bandLookup(model.bands, model.stack.maxLag);
    model.parts = model.stack.columns.map((column) => {
      const parts = new Float64Array(model.bands.length);
      for (const s of column.segments) parts[band[s.lag]] += s.value;
      return parts;
    });
  }
  return model.parts[j];
}

/** Every segment of loss row k, one per column it reaches (cached per row). */
function lossSegments(model, k) {
  if (!model.byLoss) model.byLoss = new Map();
  if (!model.byLoss.has(k)) {
    const found = [];
    for (const column of model.stack.columns) {
      const s = column.segments.find((seg) => seg.k === k);
      if (s) found.push([column.j, s]);
    }
    model.byLoss.set(k, found);
  }
  return model.byLoss.get(k);
}

/** The bar and height under the cursor: {i, value} or null. */
function barAt(canvas, model, event) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - PLOT_X;
  const y = event.clientY - rect.top - 8;
  if (x < 0 || x >= model.plotW || y < 0 || y > BARS_H) return null;
  return { i: Math.min(model.barCount - 1, Math.floor(x / model.barW)), value: (1 - y / BARS_H) * model.hi };
}

/** In a binned bar: the band at that height and the loss with most of it at the bar's middle timestep. */
function binnedHit(model, i, value) {
  const bar = model.bars[i];
  let sum = 0;
  for (let b = 0; b < bar.parts.length; b++) {
    sum += bar.parts[b];
    if (bar.parts[b] > 0 && value <= sum) {
      const middle = model.stack.columns[Math.floor((bar.j0 + bar.j1 - 1) / 2)];
      let best = null;
      for (const s of middle.segments) {
        if (bandOf(model.bands, s.lag) === b && (!best || s.value > best.value)) best = s;
      }
      return { band: b, bar, segment: best };
    }
  }
  return null;
}

function hookBars(canvas, model, ctx, project) {
  const { item } = model;
  const setHighlight = (highlight, k) => {
    const key = JSON.stringify(highlight);
    if (key === JSON.stringify(model.highlight)) return;
    model.highlight = highlight;
    drawBars(canvas, model);
    canvas.dataset.highlightTarget = k === null ? "" : String(model.targets[k]);
    if (k !== null) project(k);
  };
  canvas.addEventListener("mousemove", (event) => {
    const hit = barAt(canvas, model, event);
    if (!hit) {
      ctx.onLeave();
      return;
    }
    const rows = [["run", item.run]];
    if (item.series.direction) rows.push(["direction", item.series.direction]);
    if (model.binned) {
      const found = binnedHit(model, hit.i, hit.value);
      if (!found) {
        ctx.onLeave();
        return;
      }
      const { bar, band, segment } = found;
      rows.push(["j", bar.j1 - bar.j0 > 1 ? `${bar.j0}\u2013${bar.j1 - 1}` : String(bar.j0)], ["lag", model.bands[band].label],
        ["value", `${fmt(bar.parts[band], 4)} (mean per timestep)`]);
      if (segment) rows.push(["largest t", `${segment.t} at j ${segment.t - (model.backward ? -segment.lag : segment.lag)}`]);
      setHighlight({ band }, segment ? segment.k : null);
    } else {
      const column = model.stack.columns[hit.i];
      const s = segmentAt(column, hit.value);
      if (!s) {
        ctx.onLeave();
        return;
      }
      rows.push(["j", String(column.j)], ["t", String(s.t)], ["lag", String(s.lag)],
        ["value", fmt(s.value, 4)], ["bar", `${fmt(column.total, 4)} (${fmt((100 * s.value) / column.total, 3)} %)`]);
      setHighlight({ k: s.k }, s.k);
    }
    ctx.onHover(rows, event);
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());
}

// ---- the projected horizon of one loss --------------------------------------

/** Loss row k as the projection draws it: one value per bar (binned: the mean per bar). */
function projectedRow(model, k) {
  const { T } = model;
  return model.binned ? binnedRow(model.matrix, k, T, model.bins)
    : Float64Array.from({ length: T }, (_, j) => model.matrix[k * T + j]);
}

function drawProjection(canvas, model, k) {
  const top = 6;
  const h = PROJECTION_H;
  const { T, targets, backward, bands } = model;
  const t = targets[k];
  const values = projectedRow(model, k);
  const hi = projectionTop(model, k);
  const c = setupCanvas(canvas, model.width, top + h + 38);
  const colors = canvasColors();
  drawValueAxis(c, colors, canvas, hi, top, h, model.plotW, `||dL_${t}/dh_j||`);
  const w = drawnWidth(model.barW);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v > 0) || !Number.isFinite(v)) continue;
    const j = model.binned ? model.bins[i][0] : i;
    const lag = lagOf(t, j, backward);
    c.fillStyle = lag >= 0 ? bands[bandOf(bands, lag)].color : colors.muted;
    const y = yOf(v, hi, top, h);
    c.fillRect(barX(model, i), y, w, top + h - y);
  }
  // Where the loss itself is.
  const x = PLOT_X + ((t + 0.5) * model.plotW) / T;
  c.strokeStyle = colors.text;
  c.setLineDash([3, 3]);
  c.beginPath();
  c.moveTo(Math.round(x) + 0.5, top);
  c.lineTo(Math.round(x) + 0.5, top + h);
  c.stroke();
  c.setLineDash([]);
  c.strokeStyle = colors.axis;
  c.strokeRect(PLOT_X - 0.5, top - 0.5, model.plotW + 1, h + 1);
  drawXAxis(c, { plotX: PLOT_X, plotY: top, plotW: model.plotW, plotH: h, cellW: model.plotW / T }, T);
  canvas.dataset.target = String(t);
  canvas.dataset.row = String(k);
  canvas.dataset.hi = String(hi);
  canvas.rnnProjected = { target: t, values: Array.from(values) };
}

// ---- lag colours --------------------------------------------------------------

function lagLegend(bands, single, backward) {
  const grouped = bands.length > 20;
  const items = bands.map((band, i) => {
    const labelled = i < 20 ? i % 5 === 0 || i === bands.length - 1 : true;
    return el("span", { class: "rnn-horizon-legend-item", dataset: { lo: band.lo, hi: band.hi } }, [
      el("span", { class: "rnn-horizon-legend-swatch", style: { background: band.color } }),
      el("span", { class: "rnn-horizon-legend-label", text: labelled ? band.label : "" }),
    ]);
  });
  const text = backward ? "lag j \u2212 t (backward layer)" : single ? "lag T\u22121 \u2212 j" : "lag t \u2212 j";
  return el("div", { class: "rnn-horizon-legend", style: { marginLeft: `${PLOT_X}px` } }, [
    el("span", { class: "rnn-muted", text: `${text}:` }),
    el("span", { class: "rnn-horizon-legend-strip" }, items),
    el("span", { class: "rnn-muted", text: grouped ? "(lags from 20 on in bands)" : "" }),
  ]);
}

// ---- labels row ---------------------------------------------------------------

export const horizonView = {
  id: "horizon",
  label: "horizon (stacked by lag, RNNbow)",
  appliesTo: isHorizonSeries,
  perSample: true,
  usesTabScales: false,
  options: {},
  load,
  render,
};
