// The text view (the workshop notebook's and LSTMVis' view, per logged
// step): the probe sequence as text, each token's background the chosen
// unit's activation (or an LSTM's cell state) at that timestep, on a
// diverging scale shown under it. Units are ranked so interesting ones
// come first: by variance over the sequence, or, once the user selects a
// span of tokens (drag, or click then shift-click), by how much higher
// they are on the span than elsewhere (LSTMVis). Runs are drawn one under
// the other with equal token cells, so position t is at the same x in each.

import { el } from "../draw/dom.js";
import { colorBar } from "../draw/colorbar.js";
import { divergingCss } from "../draw/colormap.js";
import { fmt } from "../draw/format.js";
import { runColor } from "../draw/run_colors.js";
import { makeScale } from "../draw/scales.js";
import { isTimestepTensor, maskSeriesOf, quantityLabel, seriesFor } from "../data/index_model.js";
import { loadAtStep } from "../data/loaders.js";
import { errorText, settle } from "../data/results.js";
import { sampleMask } from "../data/samples.js";
import { loadTokens, tokenAt, visibleToken } from "../data/tokens.js";

export const STATE_KINDS = ["activation", "cell_state"];
// How many of the ranked units are offered as buttons.
export const RANKED_SHOWN = 12;
// A token cell is as wide as the longest token shown, at most this (in ch).
const MAX_TOKEN_CH = 14;

// ---- ranking ----------------------------------------------------------------

/** Whether timestep t of a sample counts (unmasked; no mask: all do). */
const counts = (mask, t) => !mask || mask[t] !== 0;

/**
 * Per unit c, the population variance over the unmasked timesteps of one
 * sample's [T, C] values (data[offset + t * C + c]); non-finite values are
 * left out; NaN for a unit with none.
 */
export function unitVariances(data, offset, T, C, mask = null) {
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  const n = new Float64Array(C);
  for (let t = 0; t < T; t++) {
    if (!counts(mask, t)) continue;
    for (let c = 0, at = offset + t * C; c < C; c++, at++) {
      const v = data[at];
      if (!Number.isFinite(v)) continue;
      sum[c] += v;
      sq[c] += v * v;
      n[c] += 1;
    }
  }
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mean = sum[c] / n[c];
    out[c] = n[c] ? Math.max(0, sq[c] / n[c] - mean * mean) : NaN;
  }
  return out;
}

/**
 * Per unit c, LSTMVis' span score: the mean over the unmasked timesteps
 * in [span[0], span[1]] minus the mean over the other unmasked ones
 * (non-finite values left out); NaN where either side has no value.
 */
export function spanContrast(data, offset, T, C, span, mask = null) {
  const [a, b] = span;
  const sums = [new Float64Array(C), new Float64Array(C)];
  const ns = [new Float64Array(C), new Float64Array(C)];
  for (let t = 0; t < T; t++) {
    if (!counts(mask, t)) continue;
    const side = t >= a && t <= b ? 0 : 1;
    for (let c = 0, at = offset + t * C; c < C; c++, at++) {
      const v = data[at];
      if (!Number.isFinite(v)) continue;
      sums[side][c] += v;
      ns[side][c] += 1;
    }
  }
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    out[c] = ns[0][c] && ns[1][c] ? sums[0][c] / ns[0][c] - sums[1][c] / ns[1][c] : NaN;
  }
  return out;
}

/** Unit indices by score, highest first; NaN scores last; ties by index. */
export function rankUnits(scores) {
  const key = (c) => (Number.isNaN(scores[c]) ? -Infinity : scores[c]);
  return Array.from(scores, (_, c) => c).sort((x, y) => key(y) - key(x) || x - y);
}

/** A valid span [a, b] (a <= b, integers) of the option, or null. */
export function validSpan(value) {
  return Array.isArray(value) && value.length === 2 && value.every(Number.isInteger) &&
    value[0] >= 0 && value[0] <= value[1] ? value : null;
}

// ---- token strips (shared with the input dependency view) ---------------------

/** The cell width (ch) that fits every token text of `texts` (at least 1, at most MAX_TOKEN_CH). */
export function tokenWidth(texts) {
  let widest = 1;
  for (const text of texts) widest = Math.max(widest, [...text].length);
  return Math.min(widest, MAX_TOKEN_CH);
}

/**
 * A row of token cells, one per timestep, `width` ch each: cell t shows
 * texts[t] (as text), data-t and, for a masked t, the padding style.
 * Returns {node, cells}.
 */
export function tokenStrip(texts, width, mask, run) {
  const cells = texts.map((text, t) => el("span", {
    class: counts(mask, t) ? "rnn-token" : "rnn-token rnn-token-pad",
    text,
    title: counts(mask, t) ? null : "padding (masked)",
    dataset: { t },
    style: { width: `${width}ch` },
  }));
  const node = el("div", { class: "rnn-token-strip", dataset: { run } }, cells);
  return { node, cells };
}

/** The texts of one sample's T tokens (visible blanks), or timestep numbers without tokens. */
export function sampleTexts(tokens, sample, T) {
  return Array.from({ length: T }, (_, t) => {
    const text = tokenAt(tokens, sample, t);
    return text === null ? String(t) : visibleToken(text);
  });
}

/** The timestep of the token cell under an event, or null. */
export function cellT(event) {
  const cell = event.target.closest && event.target.closest(".rnn-token");
  return cell ? Number(cell.dataset.t) : null;
}

/** Black or white text, whichever reads on a background of normed |x| (0..1). */
export function textColour(x) {
  return Math.abs(x) > 0.55 ? "#fff" : "#111";
}

/** The tokens loaded with an item: the value, a note on why there are none, or an error note. */
export function tokenNote(item) {
  if (!item.tokens) return null;
  if (item.tokens.error) return `Tokens not loaded (${errorText(item.tokens.error)}); showing timestep numbers.`;
  if (!item.tokens.value) return "No tokens logged for this layer (an input fed through an Embedding logs them); showing timestep numbers.";
  return null;
}

/** Loads the mask and tokens that go with item.step. */
export async function loadMaskAndTokens(ctx, item, maskSeries) {
  const [mask, tokens] = await Promise.all([
    maskSeries ? settle(ctx.api.tensor(maskSeries.run, maskSeries.tag, item.step)) : null,
    loadTokens(ctx.api, ctx.index, item.series, item.step),
  ]);
  item.mask = mask;
  item.tokens = tokens;
}

/** The run's title in its colour. */
export function runTitle(run, ctx) {
  const color = runColor(run, ctx.allRuns);
  return el("h3", { class: "rnn-run-title", title: run, style: { color, borderLeftColor: color } }, [run]);
}

// ---- the view -----------------------------------------------------------------

/** One item per shown run and direction: the chosen state (h_t or c_t) of the layer. */
function textItems(ctx) {
  const kind = ctx.state.textState === "cell_state" ? "cell_state" : "activation";
  return ctx.groups.flatMap((g) => {
    const chosen = seriesFor(ctx.index, g.run, ctx.state.layer, kind);
    const list = chosen.length ? chosen : seriesFor(ctx.index, g.run, ctx.state.layer, "activation");
    // A stacked cell's series are the layer's inner cells: the layer's own output comes first.
    const outer = list.filter((s) => s.cellIndex === null);
    return (outer.length ? outer : list).map((series) => ({ run: g.run, series }));
  });
}

async function loadText(ctx) {
  const items = textItems(ctx);
  const loaded = await loadAtStep(ctx, items, (item) => loadMaskAndTokens(ctx, item, maskSeriesOf(ctx.index, item.series)));
  if (!loaded) return null;
  const hasCellState = ctx.index.series.some((s) => s.layer === ctx.state.layer && s.kind === "cell_state" &&
    ctx.groups.some((g) => g.run === s.run));
  return { items, sampled: loaded.sampled, hasCellState };
}

/** Sets item.view ({data, offset, T, C, mask}), item.texts, item.notes; or item.error. */
function prepareText(item, sample) {
  item.notes = [];
  if (item.steps.error) item.error = `Could not load steps: ${errorText(item.steps.error)}`;
  else if (item.step === null || item.step === undefined) item.error = "No steps logged for this series.";
  else if (item.tensor.error) item.error = `Could not load tensor: ${errorText(item.tensor.error)}`;
  else if (item.tensor.value.shape.length !== 3) item.error = "Expected a [samples, timesteps, channels] tensor.";
  else if (sample >= item.tensor.value.shape[0]) {
    item.error = `This run has ${item.tensor.value.shape[0]} sample(s); sample ${sample} is not logged.`;
  }
  if (item.error) return;
  const tensor = item.tensor.value;
  const [, T, C] = tensor.shape;
  const maskTensor = item.mask && item.mask.value && item.mask.value.shape[1] === T ? item.mask.value : null;
  item.view = { data: tensor.data, offset: sample * T * C, T, C, mask: sampleMask(maskTensor, sample, T) };
  const tokens = item.tokens && item.tokens.value;
  const note = tokenNote(item);
  if (note) item.notes.push(note);
  if (tokens && tokens.ids.shape[1] !== T) {
    item.notes.push(`The tokens have ${tokens.ids.shape[1]} timesteps, the layer ${T}; showing timestep numbers.`);
  }
  item.texts = sampleTexts(tokens && tokens.ids.shape[1] === T ? tokens : null, sample, T);
}

function renderText({ items, sampled, hasCellState }, ctx) {
  const st = ctx.state;
  const sample = st.sample;
  for (const item of items) prepareText(item, sample);
  const drawn = items.filter((i) => i.view);
  ctx.samplesKnown(Math.max(0, ...items.filter((i) => i.tensor && i.tensor.value).map((i) => i.tensor.value.shape[0])));
  const span = validSpan(st.textSpan);
  const reference = drawn[0];
  let ranking = [];
  let scores = null;
  if (reference) {
    const v = reference.view;
    scores = span && span[1] < v.T ? spanContrast(v.data, v.offset, v.T, v.C, span, v.mask) : unitVariances(v.data, v.offset, v.T, v.C, v.mask);
    ranking = rankUnits(scores);
  }
  const unit = Number.isInteger(st.textUnit) ? st.textUnit : ranking[0] ?? 0;
  const vmax = Math.max(0, ...drawn.map((i) => unitMaxAbs(i.view, unit)));
  const width = tokenWidth(drawn.flatMap((i) => i.texts));
  const stateKind = st.textState === "cell_state" && hasCellState ? "cell_state" : "activation";
  const toolbar = textToolbar({ ranking, scores, unit, span, reference, hasCellState, stateKind }, ctx);
  const panels = items.map((item) => textPanel(item, { unit, vmax, width, span, sample }, ctx));
  if (st.sampleMode !== "sample") {
    panels.unshift(el("div", { class: "rnn-note", text: `Text is one sequence: showing sample ${sample} (a mean over samples has no tokens).` }));
  }
  const scale = makeScale("linear", vmax);
  const bar = vmax > 0 ? colorBar(scale, Math.min(480, ctx.width - 40)) : el("div", { class: "rnn-note", text: "All values of this unit are 0." });
  return {
    nodes: [el("div", { class: "rnn-text-view", dataset: { unit, vmax, state: stateKind } }, [toolbar, ...panels, bar])],
    errors: items.filter((i) => i.error).length,
    errorsSay: "text panel(s) could not be drawn",
    sampled,
    samples: Math.max(0, ...items.filter((i) => i.tensor && i.tensor.value).map((i) => i.tensor.value.shape[0])),
  };
}

/** max |v| of unit c over the unmasked finite timesteps of a view (0 for an absent unit). */
function unitMaxAbs(view, c) {
  if (!(c >= 0 && c < view.C)) return 0;
  let max = 0;
  for (let t = 0; t < view.T; t++) {
    const v = view.data[view.offset + t * view.C + c];
    if (counts(view.mask, t) && Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  }
  return max;
}

/** Colour by (h_t / c_t), the unit, the ranked units and the span. */
function textToolbar({ ranking, scores, unit, span, reference, hasCellState, stateKind }, ctx) {
  const state = el("select", { id: "rnn-text-state", attrs: { "aria-label": "colour tokens by" } },
    STATE_KINDS.filter((k) => k === "activation" || hasCellState)
      .map((k) => el("option", { value: k, text: quantityLabel(k), selected: k === stateKind })));
  state.addEventListener("change", () => ctx.setOption("textState", state.value));
  const unitInput = el("input", {
    id: "rnn-text-unit", type: "number", min: "0", step: "1", value: String(unit),
    attrs: { "aria-label": "unit" },
  });
  unitInput.addEventListener("change", () => {
    const value = Number(unitInput.value);
    if (Number.isInteger(value) && value >= 0 && (!reference || value < reference.view.C)) ctx.setOption("textUnit", value);
    else unitInput.classList.add("rnn-invalid");
  });
  const how = span ? `high on timesteps ${span[0]}\u2013${span[1]}, low elsewhere (mean on span \u2212 mean elsewhere)` : "variance over the sequence";
  const chips = ranking.slice(0, RANKED_SHOWN).map((c) => {
    const chip = el("button", {
      type: "button", class: `rnn-unit-chip ${c === unit ? "rnn-unit-chip-on" : ""}`,
      text: `${c}`, title: `unit ${c}: ${span ? "contrast" : "variance"} ${fmt(scores[c], 3)}`,
      dataset: { unit: c, score: scores[c] },
    });
    chip.addEventListener("click", () => ctx.setOption("textUnit", c));
    return chip;
  });
  const clear = span ? el("button", { type: "button", id: "rnn-text-clear-span", text: "clear span" }) : null;
  if (clear) clear.addEventListener("click", () => ctx.setOption("textSpan", null));
  return el("div", { class: "rnn-text-toolbar" }, [
    el("label", {}, ["colour by ", state]),
    el("label", {}, ["unit ", unitInput]),
    el("div", { class: "rnn-unit-ranking", id: "rnn-unit-ranking", dataset: { order: ranking.slice(0, RANKED_SHOWN).join(",") } }, [
      el("span", { class: "rnn-muted", text: `units ranked by ${how}${reference ? ` in ${reference.run}` : ""}: ` }),
      ...chips,
    ]),
    clear,
    el("div", { class: "rnn-muted rnn-text-hint", text: "Drag over tokens (or click, then shift-click) to rank units by a span." }),
  ]);
}

/** One run's (and direction's) text, coloured by the unit. */
function textPanel(item, { unit, vmax, width, span, sample }, ctx) {
  const s = item.series;
  const heading = [runTitle(item.run, ctx)];
  const info = [s.cell, `layer ${s.layer}`, s.direction, quantityLabel(s.kind), `unit ${unit}`, `sample ${sample}`,
    item.step !== undefined && item.step !== null ? `step ${item.step}` : null].filter(Boolean).join(" \u00b7 ");
  const panel = el("div", { class: "rnn-panel rnn-text-panel", dataset: { run: item.run, direction: s.direction || "none", step: item.step } },
    [...heading, el("div", { class: "rnn-panel-info", text: info })]);
  if (item.error) {
    panel.append(el("div", { class: "rnn-note rnn-note-error", text: item.error }));
    return panel;
  }
  const v = item.view;
  const strip = tokenStrip(item.texts, width, v.mask, item.run);
  const hasUnit = unit < v.C;
  strip.cells.forEach((cell, t) => {
    if (!counts(v.mask, t)) return;
    const value = hasUnit ? v.data[v.offset + t * v.C + unit] : NaN;
    cell.dataset.value = String(value);
    cell.style.backgroundColor = divergingCss(value, vmax);
    cell.style.color = textColour(vmax > 0 ? value / vmax : 0);
    if (span && t >= span[0] && t <= span[1]) cell.classList.add("rnn-token-span");
  });
  if (!hasUnit) item.notes.push(`This layer has ${v.C} units; unit ${unit} is not one.`);
  wireSpanSelection(strip, span, item, unit, ctx);
  panel.append(strip.node);
  for (const note of item.notes) panel.append(el("div", { class: "rnn-note", text: note }));
  return panel;
}

/** Drag (or click, then shift-click) over tokens selects a span; hover reads a token. */
function wireSpanSelection(strip, span, item, unit, ctx) {
  let start = null;
  const node = strip.node;
  const mark = (a, b) => strip.cells.forEach((cell, t) => cell.classList.toggle("rnn-token-span", t >= a && t <= b));
  node.addEventListener("mousedown", (event) => {
    const t = cellT(event);
    if (t === null || event.button !== 0) return;
    event.preventDefault();
    start = event.shiftKey && span ? span[0] : t;
    mark(Math.min(start, t), Math.max(start, t));
  });
  node.addEventListener("mousemove", (event) => {
    const t = cellT(event);
    if (t === null) return;
    if (start !== null) mark(Math.min(start, t), Math.max(start, t));
    const v = item.view;
    const value = unit < v.C ? v.data[v.offset + t * v.C + unit] : NaN;
    ctx.onHover([["run", item.run], ["timestep", String(t)], ["token", item.texts[t]],
      counts(v.mask, t) ? ["unit", String(unit)] : ["", "masked (padding)"],
      counts(v.mask, t) ? ["value", fmt(value, 4)] : null].filter(Boolean), event);
  });
  node.addEventListener("mouseleave", () => ctx.onLeave());
  node.addEventListener("mouseup", (event) => {
    const t = cellT(event);
    if (start === null) return;
    const a = Math.min(start, t ?? start);
    const b = Math.max(start, t ?? start);
    start = null;
    // The new ranking's top unit is shown, not the one picked before.
    ctx.setOption("textUnit", null);
    ctx.setOption("textSpan", [a, b]);
  });
}

export const textView = {
  id: "text",
  label: "text (tokens coloured by a unit)",
  appliesTo: (meta) => isTimestepTensor(meta) && meta.kind === "activation",
  perSample: true,
  usesTabScales: false,
  options: {
    textState: { initial: "activation", valid: (v) => STATE_KINDS.includes(v) },
    textUnit: { initial: null, valid: (v) => v === null || (Number.isInteger(v) && v >= 0) },
    textSpan: { initial: null, valid: (v) => v === null || validSpan(v) !== null },
  },
  load: loadText,
  render: renderText,
};
