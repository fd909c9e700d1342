// What the weights' views over training share (distributions.js, norms.js):
// the kept per-gate companions of every shown series (every logged step,
// never sampled), notes for what could not be loaded, and the series' order.

import { el } from "../draw/dom.js";
import { directionLabel, quantityLabel } from "../data/index_model.js";
import { compareMatrices } from "../data/kind_facts.js";
import { itemsOf, loadOverSteps, missingRuns } from "../data/loaders.js";
import { errorText } from "../data/results.js";
import { matrixLabel } from "./gate_history.js";
import { isWeightSeries } from "./weights_layout.js";

/** The companions `kinds` of every shown series: {items: [{run, series, kept}], missing}, or null when stale. */
export async function loadCompanions(ctx, kinds) {
  const items = await loadOverSteps(ctx, itemsOf(ctx.groups), kinds);
  return items && { items, missing: missingRuns(ctx.groups) };
}

/** A view over the weights' kept companions `kinds` (appliesTo: the series writes them). */
export function companionView(view, kinds) {
  return {
    appliesTo: (meta) => isWeightSeries(meta) &&
      (!Array.isArray(meta.companions) || kinds.every((k) => meta.companions.includes(k))),
    perSample: false,
    usesTabScales: false,
    options: {},
    load: (ctx) => loadCompanions(ctx, kinds),
    ...view,
  };
}



/** Notes for runs without the quantity and series whose companions did not load; the loaded items. */
export function sortOut(loaded, ctx, kinds) {
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
    const failed = kinds.map((k) => [k, item.kept[k]]).filter(([, r]) => r.error);
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
export function seriesPlace(series) {
  const parts = [];
  if (series.direction) parts.push(directionLabel(series.direction));
  if (series.cellIndex !== null && series.cellIndex !== undefined) parts.push(`cell ${series.cellIndex}`);
  parts.push(matrixLabel(series.meta && series.meta.matrix));
  return parts.join(" \u00b7 ");
}

export function seriesKey(series) {
  return JSON.stringify([series.direction || null, series.cellIndex ?? null, (series.meta && series.meta.matrix) || null]);
}

/** Series order: direction, stacked cell, then matrix in Keras' order. */
export function compareSeries(a, b) {
  const order = { null: 0, forward: 1, backward: 2 };
  return (order[a.direction || null] - order[b.direction || null]) ||
    ((a.cellIndex ?? -1) - (b.cellIndex ?? -1)) ||
    compareMatrices((a.meta && a.meta.matrix) || "", (b.meta && b.meta.matrix) || "", a.meta);
}

/** The per-gate non-finite and zero counts of a gate_stats companion at step index i, row r. */
export function countsOf(stats, r) {
  const fields = (stats.header.metadata && stats.header.metadata.fields) || [];
  const at = (name) => fields.indexOf(name);
  const [nan, posinf, neginf, zero] = ["nan_count", "posinf_count", "neginf_count", "zero_count"].map(at);
  const read = (i, col) => (col < 0 ? 0 : stats.value(i, r, col));
  return (i) => ({ nan: read(i, nan), posinf: read(i, posinf), neginf: read(i, neginf), zero: read(i, zero) });
}

export function explanation(text) {
  return el("div", { class: "rnn-ghist-toolbar rnn-muted", text });
}

