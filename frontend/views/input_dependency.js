// The input dependency view (the workshop notebook's information
// dependency, Distill's connectivity), per logged step: the probe sequence
// as text, each input token j coloured by how much the loss at the chosen
// position t depends on it, D[sample, k(t), j] = ||dL_t / de_j||, on a
// sequential scale from 0 to the largest value of that row in the runs
// shown. The user moves t with the slider or by clicking a token; runs are
// drawn one under the other on equal token cells, so they align.

import { el } from "../draw/dom.js";
import { gradientBar } from "../draw/colorbar.js";
import { fmt } from "../draw/format.js";
import { loadAtStep } from "../data/loaders.js";
import { errorText } from "../data/results.js";
import { sampleMask } from "../data/samples.js";
import { targetsOf } from "./horizon_model.js";
import {
  cellT, loadMaskAndTokens, runTitle, sampleTexts, textColour, tokenNote, tokenStrip, tokenWidth,
} from "./text.js";

export const DEPENDENCY_KIND = "input_dependency";

// The sequential scale: white (0) through mid blue to dark blue (max).
const STOPS = [[0, [247, 251, 255]], [0.5, [107, 174, 214]], [1, [8, 48, 107]]];

/** The scale's colour at f in [0, 1] (clamped; NaN: magenta) as [r, g, b]. */
export function sequentialRgb(f) {
  if (Number.isNaN(f)) return [255, 0, 255];
  const x = Math.min(1, Math.max(0, f));
  const i = x > STOPS[1][0] ? 1 : 0;
  const [x0, c0] = STOPS[i];
  const [x1, c1] = STOPS[i + 1];
  const g = (x - x0) / (x1 - x0);
  return c0.map((c, k) => Math.round(c + g * (c1[k] - c)));
}

const css = (rgb) => `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;

/** The row k of the loss at timestep t, or -1 when no loss is at t. */
export function targetRow(targets, t) {
  return targets.indexOf(t);
}

/** The mask series of the run's layer (the activation's), if any. */
function layerMask(index, series) {
  const owner = index.series.find((s) => s.run === series.run && s.layer === series.layer && s.maskTag);
  return owner ? index.series.find((s) => s.run === series.run && s.tag === owner.maskTag) || null : null;
}

async function loadDependency(ctx) {
  const items = ctx.groups.flatMap((g) => g.panels.map((p) => ({ run: g.run, series: p.series })));
  const loaded = await loadAtStep(ctx, items, (item) => loadMaskAndTokens(ctx, item, layerMask(ctx.index, item.series)));
  if (!loaded) return null;
  return { items, sampled: loaded.sampled };
}

/** item.rows ([K, T] of the sample), item.targets, item.texts; or item.error. */
function prepareDependency(item, sample) {
  item.notes = [];
  if (item.steps.error) item.error = `Could not load steps: ${errorText(item.steps.error)}`;
  else if (item.step === null || item.step === undefined) item.error = "No steps logged for this series.";
  else if (item.tensor.error) item.error = `Could not load tensor: ${errorText(item.tensor.error)}`;
  else if (item.tensor.value.shape.length !== 3) item.error = "Expected a [samples, targets, timesteps] tensor.";
  else if (sample >= item.tensor.value.shape[0]) {
    item.error = `This run has ${item.tensor.value.shape[0]} sample(s); sample ${sample} is not logged.`;
  }
  if (item.error) return;
  const [, K, T] = item.tensor.value.shape;
  item.targets = targetsOf(item.series.meta, K);
  if (!item.targets) {
    item.error = `The metadata's targets do not name the tensor's ${K} loss rows.`;
    return;
  }
  item.K = K;
  item.T = T;
  item.offset = sample * K * T;
  const maskTensor = item.mask && item.mask.value && item.mask.value.shape[1] === T ? item.mask.value : null;
  item.maskRow = sampleMask(maskTensor, sample, T);
  const tokens = item.tokens && item.tokens.value;
  const note = tokenNote(item);
  if (note) item.notes.push(note);
  item.texts = sampleTexts(tokens && tokens.ids.shape[1] === T ? tokens : null, sample, T);
}

/** D[sample, row of t, j] of an item, or NaN where t is no loss of its. */
function valueAt(item, t, j) {
  const k = targetRow(item.targets, t);
  return k < 0 ? NaN : item.tensor.value.data[item.offset + k * item.T + j];
}

/** The largest finite D over the row of t in every drawn item (0 if none). */
function rowMax(drawn, t) {
  let max = 0;
  for (const item of drawn) {
    for (let j = 0; j < item.T; j++) {
      const v = valueAt(item, t, j);
      if (Number.isFinite(v) && v > max) max = v;
    }
  }
  return max;
}

function renderDependency({ items, sampled }, ctx) {
  const st = ctx.state;
  const sample = st.sample;
  for (const item of items) prepareDependency(item, sample);
  const drawn = items.filter((i) => !i.error);
  const samples = Math.max(0, ...items.filter((i) => i.tensor && i.tensor.value).map((i) => i.tensor.value.shape[0]));
  ctx.samplesKnown(samples);
  const targets = [...new Set(drawn.flatMap((i) => i.targets))].sort((a, b) => a - b);
  const chosen = Number.isInteger(st.dependencyT) && targets.includes(st.dependencyT) ? st.dependencyT : targets[targets.length - 1];
  const width = tokenWidth(drawn.flatMap((i) => i.texts));
  const strips = [];
  const panels = items.map((item) => dependencyPanel(item, { width, sample }, ctx, strips));
  const legend = el("div", { class: "rnn-dependency-legend" });
  const slider = targetSlider(targets, chosen, (t, final) => {
    recolour(t);
    if (final) ctx.setOption("dependencyT", t);
  });
  // Colours every strip for loss position t, in place (the slider moves fast).
  const recolour = (t) => {
    const start = performance.now();
    const vmax = rowMax(drawn, t);
    for (const { item, strip } of strips) colourStrip(item, strip, t, vmax);
    legend.replaceChildren(...sequentialLegend(vmax, Math.min(480, ctx.width - 40)));
    slider.show(t, drawn[0] ? drawn[0].texts[t] : null);
    view.dataset.t = String(t);
    view.dataset.vmax = String(vmax);
    // Read by benchmarks/bench_text_view.py.
    view.dataset.recolourMs = (performance.now() - start).toFixed(3);
  };
  for (const { strip } of strips) {
    strip.node.addEventListener("click", (event) => {
      const t = cellT(event);
      if (t !== null && targets.includes(t)) ctx.setOption("dependencyT", t);
    });
  }
  const view = el("div", { class: "rnn-dependency-view" }, [slider.node, ...panels, legend]);
  if (st.sampleMode !== "sample") {
    view.prepend(el("div", { class: "rnn-note", text: `Text is one sequence: showing sample ${sample}.` }));
  }
  if (targets.length) recolour(chosen);
  else if (drawn.length) view.prepend(el("div", { class: "rnn-note", text: "No loss positions logged." }));
  return {
    nodes: [view],
    errors: items.length - drawn.length,
    errorsSay: "input dependency panel(s) could not be drawn",
    sampled,
    samples,
  };
}

/** One run's tokens (coloured later by recolour); pushes {item, strip} to strips. */
function dependencyPanel(item, { width, sample }, ctx, strips) {
  const s = item.series;
  const info = [s.cell, `layer ${s.layer}`, `sample ${sample}`,
    item.step !== undefined && item.step !== null ? `step ${item.step}` : null].filter(Boolean).join(" \u00b7 ");
  const panel = el("div", { class: "rnn-panel rnn-text-panel", dataset: { run: item.run, step: item.step } },
    [runTitle(item.run, ctx), el("div", { class: "rnn-panel-info", text: info })]);
  if (item.error) {
    panel.append(el("div", { class: "rnn-note rnn-note-error", text: item.error }));
    return panel;
  }
  const strip = tokenStrip(item.texts, width, item.maskRow, item.run);
  strips.push({ item, strip });
  strip.node.addEventListener("mousemove", (event) => {
    const j = cellT(event);
    if (j === null) return;
    const t = Number(strip.node.dataset.lossT);
    ctx.onHover([["run", item.run], ["input timestep j", String(j)], ["token", item.texts[j]],
      ["loss at t", `${t} (${item.texts[t] ?? ""})`], ["value", fmt(valueAt(item, t, j), 4)]], event);
  });
  strip.node.addEventListener("mouseleave", () => ctx.onLeave());
  panel.append(strip.node);
  for (const note of item.notes) panel.append(el("div", { class: "rnn-note", text: note }));
  return panel;
}

/** Colours an item's token cells by D[., k(t), j] / vmax and marks t. */
function colourStrip(item, strip, t, vmax) {
  strip.node.dataset.lossT = String(t);
  strip.cells.forEach((cell, j) => {
    cell.classList.toggle("rnn-token-target", j === t);
    if (cell.classList.contains("rnn-token-pad")) return;
    const value = valueAt(item, t, j);
    const f = vmax > 0 ? value / vmax : 0;
    cell.dataset.value = String(value);
    cell.style.backgroundColor = css(sequentialRgb(f));
    cell.style.color = textColour(f);
  });
}

/** The slider over the loss positions: onMove(t, final) on input (final on change). */
function targetSlider(targets, chosen, onMove) {
  const input = el("input", {
    id: "rnn-dependency-t", type: "range", min: "0", max: String(Math.max(0, targets.length - 1)), step: "1",
    value: String(Math.max(0, targets.indexOf(chosen))), disabled: targets.length < 2,
    attrs: { "aria-label": "loss position t" },
  });
  const readout = el("span", { id: "rnn-dependency-t-value", class: "rnn-dependency-t-value" });
  input.addEventListener("input", () => onMove(targets[Number(input.value)], false));
  input.addEventListener("change", () => onMove(targets[Number(input.value)], true));
  const node = el("div", { class: "rnn-text-toolbar" }, [
    el("label", {}, ["loss at t ", input]), readout,
    el("span", { class: "rnn-muted", text: "each token j: ||dL_t / de_j|| (click a token to move t there)" }),
  ]);
  return {
    node,
    show(t, token) {
      readout.textContent = `t = ${t}${token ? ` (${token})` : ""}`;
      input.value = String(targets.indexOf(t));
    },
  };
}

/** The scale 0..vmax: its gradient and end labels. */
function sequentialLegend(vmax, width) {
  const bar = gradientBar(width, (f, out, at) => {
    const rgb = sequentialRgb(f);
    out[at] = rgb[0]; out[at + 1] = rgb[1]; out[at + 2] = rgb[2];
  });
  return [
    bar,
    el("div", { class: "rnn-dependency-ticks", style: { width: `${width}px` } }, [
      el("span", { text: "0" }), el("span", { text: "||dL_t / de_j||, max of this t over the runs shown" }), el("span", { text: fmt(vmax, 3) }),
    ]),
  ];
}

export const inputDependencyView = {
  id: "input_dependency",
  label: "input dependency (over the tokens)",
  appliesTo: (meta) => Boolean(meta) && meta.kind === DEPENDENCY_KIND,
  perSample: true,
  usesTabScales: false,
  options: {
    dependencyT: { initial: null, valid: (v) => v === null || (Number.isInteger(v) && v >= 0) },
  },
  load: loadDependency,
  render: renderDependency,
};
