// The probe batch's tokens at a layer's timesteps (kind "tokens", tag
// `<layer>[/<direction>]/tokens`, [sample, timestep] ids, metadata
// `vocabulary`), loaded once per run, layer and direction, and how a token
// is written on screen. Every per-timestep view's readout names the token
// through tokenRows(); the text views draw them.
//
// A run writes its tokens once (again when its probe changes): the tokens
// of a step are the latest logged at or before it, else the first.

import { pickStep } from "./index_model.js";
import { settle } from "./results.js";

export const TOKENS_KIND = "tokens";

// What stands for characters that draw nothing or break the line.
const VISIBLE = { " ": "\u00b7", "\n": "\u21b5", "\r": "\u240d", "\t": "\u2192", "": "\u2205" };

/**
 * A token's text as shown: blanks and control characters made visible
 * ("·" for a space, "↵", "→", control pictures); a space inside a longer
 * token that has other characters stays a space.
 */
export function visibleToken(text) {
  const str = String(text);
  if (Object.prototype.hasOwnProperty.call(VISIBLE, str)) return VISIBLE[str];
  const blank = str.trim() === "";
  let out = "";
  for (const ch of str) {
    const code = ch.codePointAt(0);
    if (ch === " ") out += blank ? VISIBLE[" "] : " ";
    else if (VISIBLE[ch]) out += VISIBLE[ch];
    // C0 controls as their Unicode control pictures (U+2400..), DEL as U+2421.
    else if (code < 0x20) out += String.fromCodePoint(0x2400 + code);
    else if (code === 0x7f) out += "\u2421";
    else out += ch;
  }
  return out;
}

/** The text of token `id`: vocabulary[id], or "#id" without a vocabulary or outside it. */
export function tokenText(id, vocabulary) {
  if (!Number.isFinite(id)) return "?";
  const k = Math.round(id);
  if (Array.isArray(vocabulary) && k >= 0 && k < vocabulary.length && vocabulary[k] !== null) {
    return String(vocabulary[k]);
  }
  return `#${k}`;
}

/**
 * The tokens series a series' timesteps were fed: same run and layer, same
 * direction (else the layer's undirected one, else any). Null if none.
 */
export function tokenSeriesOf(index, series) {
  const candidates = index.series.filter((s) => s.kind === TOKENS_KIND && s.run === series.run && s.layer === series.layer);
  return candidates.find((s) => s.direction === series.direction) ||
    candidates.find((s) => !s.direction) || candidates[0] || null;
}

// run/layer/direction -> the tokens last loaded for it (what readouts show).
const latest = new Map();
const keyOf = (series) => JSON.stringify([series.run, series.layer, series.direction || null]);
// () => {api, index}: where readouts load the tokens they miss (the app's).
let source = null;
const pending = new Set();

/** Sets where tokenRows loads tokens on a miss: sourceOf() -> {api, index} (shell/app.js calls it once). */
export function useTokenSource(sourceOf) {
  source = sourceOf;
}

/**
 * The tokens of `series` at `step` (latest logged <= step, else the
 * first): {value: {ids: {shape, data}, vocabulary, step, series}} or
 * {error}; {value: null} when the run logs no tokens for the layer.
 */
export async function loadTokens(api, index, series, step) {
  const tokens = tokenSeriesOf(index, series);
  if (!tokens) return { value: null };
  const steps = await settle(api.steps(tokens.run, tokens.tag));
  if (steps.error) return steps;
  const at = pickStep(steps.value.steps, step === null || step === undefined ? Infinity : step);
  if (at === null) return { value: null };
  const tensor = await settle(api.tensor(tokens.run, tokens.tag, at));
  if (tensor.error) return tensor;
  if (tensor.value.shape.length !== 2) {
    return { error: new Error(`tokens of shape [${tensor.value.shape.join(", ")}], expected [sample, timestep]`) };
  }
  const vocabulary = Array.isArray(tokens.meta.vocabulary) ? tokens.meta.vocabulary : null;
  const value = { ids: tensor.value, vocabulary, step: at, series: tokens };
  latest.set(keyOf(series), value);
  return { value };
}

/** Loads the tokens of every item's series at its step, for the readouts (errors are not shown there). */
export function preloadTokens(ctx, items) {
  return Promise.all(items.map((item) => loadTokens(ctx.api, ctx.index, item.series, item.step ?? ctx.state.step)));
}

/** The token text of sample `sample`, timestep t of loaded tokens, or null outside them. */
export function tokenAt(tokens, sample, t) {
  if (!tokens) return null;
  const [S, T] = tokens.ids.shape;
  if (!(sample >= 0 && sample < S && t >= 0 && t < T)) return null;
  return tokenText(tokens.ids.data[sample * T + t], tokens.vocabulary);
}

/**
 * The readout's rows for the token of `series` at (sample, t): [["token",
 * text]], or [] when the sample is not one (a mean) or its tokens are not
 * loaded. A miss starts loading them (newest logged) from the source
 * useTokenSource set, so the next hover has them.
 */
export function tokenRows(series, sample, t) {
  if (!Number.isInteger(sample)) return [];
  const key = keyOf(series);
  if (!latest.has(key) && source && !pending.has(key)) {
    pending.add(key);
    const { api, index } = source();
    loadTokens(api, index, series, null).finally(() => pending.delete(key));
  }
  const text = tokenAt(latest.get(key), sample, t);
  return text === null ? [] : [["token", visibleToken(text)]];
}

/** The sample a per-timestep view shows (data/samples.js views), or null for a mean. */
export function sampleOfView(view) {
  if (view.samples !== undefined || !(view.T > 0 && view.C > 0)) return null;
  return Math.round(view.offset / (view.T * view.C));
}
