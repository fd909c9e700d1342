// What the per-timestep views (heatmap, lines, all samples) share: each
// draws one panel per series of a [sample, timestep, channel] tensor at the
// chosen step, with its mask, colour ranges shared per quantity, a grid of
// run columns and the notes under each panel. timestepView() makes such a
// view from the function that draws a panel's body.

import { el } from "../draw/dom.js";
import { exportControls } from "../draw/export.js";
import { gridLayout, PANEL_GAP } from "../draw/layout.js";
import { runColor } from "../draw/run_colors.js";
import { defaultSharing, makeScale, makeUnitScale, parseRangeMax } from "../draw/scales.js";
import { isUnitInterval } from "../data/kind_facts.js";
import { itemsOf, loadAtStep } from "../data/loaders.js";
import {
  directionLabel, gateLabel, isTimestepTensor, maskSeriesOf, quantityLabel,
} from "../data/index_model.js";
import { errorText, settle } from "../data/results.js";
import { preloadTokens } from "../data/tokens.js";
import { NAN_RULE, panelView, REDUCING_MODES, sampleLabel } from "../data/samples.js";
import { concatValues, countAbove, finiteAbsValues, percentile, ROBUST_PERCENTILE, summarize } from "../data/stats.js";
import { notLoggedText } from "../shell/run_list.js";

/**
 * A per-timestep view: spec = {id, label, body(p, series, opts) -> nodes,
 * perSample (draws one sample or a mean; false: every sample), stats?(view,
 * stats, state) (the range a body fits, e.g. the lines drawn), controls?,
 * options?}. Its colour range follows the tab's range and scale controls.
 */
export function timestepView(spec) {
  return {
    id: spec.id,
    label: spec.label,
    appliesTo: isTimestepTensor,
    perSample: spec.perSample,
    usesTabScales: true,
    options: spec.options || {},
    controls: spec.controls || null,
    load: loadPanels,
    render: (data, ctx) => renderPanels(data, ctx, spec),
  };
}

/** Each panel's tensor at the chosen step, and its mask when it has one. */
async function loadPanels(ctx) {
  const items = itemsOf(ctx.groups);
  const loaded = await loadAtStep(ctx, items, async (item) => {
    const maskSeries = maskSeriesOf(ctx.index, item.series);
    item.mask = maskSeries ? await settle(ctx.api.tensor(maskSeries.run, maskSeries.tag, item.step)) : null;
  });
  if (!loaded) return null;
  await preloadTokens(ctx, loaded.listed); // each timestep's token, for the readout
  if (ctx.isStale()) return null;
  return { items, sampled: loaded.sampled, signature: signature(ctx, items) };
}

// Identity of cached tensors, for telling whether a redraw would change anything.
const objectIds = new WeakMap();
let nextObjectId = 1;
function objectId(object) {
  if (!object || typeof object !== "object") return 0;
  if (!objectIds.has(object)) objectIds.set(object, nextObjectId++);
  return objectIds.get(object);
}

/** What a draw of these panels depends on: the state, width and data. */
function signature(ctx, items) {
  return JSON.stringify([
    ctx.state, ctx.width, window.innerWidth,
    items.map((p) => [
      p.series.run, p.series.tag, p.step,
      p.steps.error ? errorText(p.steps.error) : null,
      p.tensor ? objectId(p.tensor.value) || errorText(p.tensor.error) : null,
      p.mask ? objectId(p.mask.value) || errorText(p.mask.error) : null,
    ]),
  ]);
}

/** Turns fetched tensors into views, picks colour ranges, builds panels. */
function renderPanels({ items, sampled }, ctx, spec) {
  const st = ctx.state;
  let samples = 0;
  for (const p of items) {
    const tensor = p.tensor && p.tensor.value;
    if (tensor && tensor.shape.length === 3) samples = Math.max(samples, tensor.shape[0]);
  }
  // A sample number kept from a link that no run has falls back before drawing.
  ctx.samplesKnown(samples);
  const mode = spec.perSample ? st.sampleMode : "all";
  for (const p of items) prepare(p, ctx, mode, spec);
  const drawn = items.filter((p) => p.view);
  const range = colourRanges(drawn, { ...ctx, unitScales: Boolean(spec.unitScale) });
  const withPanels = ctx.groups.filter((g) => g.panels.length);
  const missing = ctx.groups.filter((g) => !g.panels.length).map((g) => g.run);
  const grid = gridLayout(ctx.width - 2, withPanels.length, Math.max(1, ...withPanels.map((g) => g.panels.length)));
  const columns = withPanels.map((g) => groupElement(g, items.filter((p) => p.run === g.run), grid, range.kind, ctx, spec, mode));
  const scaleNote = range.sharing.note ? [el("div", {
    // A row of its own above the run columns, as wide as they are.
    class: "rnn-note rnn-note-warn rnn-scale-note", style: { flex: "0 0 100%", maxWidth: "none", marginTop: "0" },
    dataset: { ratio: range.sharing.ratio }, text: range.sharing.note,
  })] : [];
  return {
    nodes: [...(missing.length ? [notLoggedElement(missing, ctx)] : []), ...scaleNote, ...columns],
    errors: items.filter((p) => p.error).length,
    errorsSay: "panel(s) could not be drawn",
    sampled,
    samples,
    lastVmax: range.lastVmax,
    rangeError: range.error,
    sharedDefault: range.sharing.chosen ? null : range.sharing.shared,
    panelsData: {
      columns: grid.groupsPerRow, rows: grid.rows, sideBySide: grid.sideBySide,
      scaleShared: range.sharing.shared, scaleSharedBy: range.sharing.chosen ? "user" : "default",
    },
  };
}

/** p.view (the slice, reduction or every sample), p.stats and notes; or p.error. */
function prepare(p, ctx, mode, spec) {
  p.notes = [];
  if (p.steps.error) {
    p.error = `Could not load steps: ${errorText(p.steps.error)}`;
    return;
  }
  if (p.step === null || p.step === undefined) {
    p.error = "No steps logged for this series.";
    return;
  }
  if (p.tensor.error) {
    p.error = `Could not load tensor: ${errorText(p.tensor.error)}`;
    return;
  }
  const tensor = p.tensor.value;
  if (tensor.shape.length !== 3) {
    p.error = `Expected a [samples, timesteps, channels] tensor, got shape [${tensor.shape.join(", ")}].`;
    return;
  }
  const made = panelView(tensor, maskFor(p, tensor), mode, ctx.state.sample);
  if (made.error) {
    p.error = made.error;
    return;
  }
  p.view = made.view;
  p.samples = tensor.shape[0];
  p.stats = summarize(p.view);
  if (spec.stats) p.stats = spec.stats(p.view, p.stats, ctx.state);
  if (made.view.nanCells) {
    p.notes.push({ text: `${mode === "medianAbs" ? "Median" : "Mean"} over samples: ${NAN_RULE}; ${made.view.nanCells} cell(s) had NaN left out.`, kind: "warn" });
  }
}

function maskFor(panel, tensor) {
  const result = panel.mask;
  if (!result) return null;
  const [samples, T] = tensor.shape;
  if (result.error) {
    panel.notes.push({ text: `Mask not loaded (${errorText(result.error)}); padding not shown.`, kind: "warn" });
    return null;
  }
  const m = result.value;
  if (m.shape.length !== 2 || m.shape[0] !== samples || m.shape[1] !== T) {
    panel.notes.push({ text: `Mask shape [${m.shape.join(", ")}] does not match; padding not shown.`, kind: "warn" });
    return null;
  }
  return m;
}

/** Per quantity (series kind) of the drawn panels: {max, min, robust} of |v| over them. */
function sharedRanges(drawn, robust) {
  const byKind = new Map();
  for (const p of drawn) {
    if (!byKind.has(p.series.kind)) byKind.set(p.series.kind, []);
    byKind.get(p.series.kind).push(p);
  }
  return new Map([...byKind].map(([kind, panels]) => [kind, {
    max: Math.max(0, ...panels.map((p) => p.stats.maxAbs)),
    min: Math.min(Infinity, ...panels.map((p) => p.stats.minAbs)),
    robust: robust ? robustRanges(panels) : 0,
  }]));
}

/**
 * For the robust colour range: sets each drawn panel's absValues (finite,
 * unmasked |v|) and robustMax (their ROBUST_PERCENTILE-th percentile), and
 * returns the percentile over all panels' values together (shared scale).
 */
function robustRanges(drawn) {
  for (const p of drawn) {
    p.absValues = finiteAbsValues(p.view);
    p.robustMax = percentile(p.absValues, ROBUST_PERCENTILE);
  }
  return percentile(concatValues(drawn.map((p) => p.absValues)), ROBUST_PERCENTILE);
}

/**
 * Whether the runs share one colour range: the user's choice when made
 * (st.shared true or false), else scales.defaultSharing over each run's
 * largest |v| of the chosen quantity. { shared, chosen, ratio, note }.
 */
function scaleSharing(drawn, st) {
  if (typeof st.shared === "boolean") return { shared: st.shared, chosen: true, ratio: 1, note: "" };
  const maxima = new Map();
  for (const p of drawn) {
    if (p.series.kind !== st.kind || p.unitScale) continue;
    maxima.set(p.run, Math.max(maxima.get(p.run) || 0, p.stats.maxAbs));
  }
  return { ...defaultSharing([...maxima].map(([run, max]) => ({ run, max }))), chosen: false };
}

/** Whether every finite value of a view lies in [0, 1]. */
function withinUnit(view) {
  const { data, offset, T, C } = view;
  for (let k = offset; k < offset + T * C; k++) {
    const v = data[k];
    if (Number.isFinite(v) && (v < 0 || v > 1)) return false;
  }
  return true;
}

/**
 * Sets each drawn panel's vmax, scale and clipped count from the range
 * controls; a series known to lie in [0, 1] (a gate's activations) gets
 * the sequential 0..1 scale unless the range is fixed or its values leave
 * [0, 1]. Returns {kind ("auto", "fixed", "robust"), lastVmax (the
 * chosen quantity's range, to prefill the fixed one), error (the fixed
 * range typed is not usable: why), sharing (scaleSharing)}.
 */
function colourRanges(drawn, ctx) {
  const st = ctx.state;
  const fixedInput = st.rangeMode === "fixed" ? parseRangeMax(st.rangeValue, ctx.rangeBadInput) : null;
  const fixed = fixedInput && !fixedInput.error ? fixedInput.value : NaN;
  const useFixed = st.rangeMode === "fixed" && Number.isFinite(fixed) && fixed > 0;
  const range = useFixed ? "fixed" : st.rangeMode === "robust" ? "robust" : "auto";
  for (const p of drawn) {
    p.unitScale = Boolean(ctx.unitScales) && range !== "fixed" && isUnitInterval(p.series.meta) && withinUnit(p.view);
  }
  const sharing = scaleSharing(drawn, st);
  const shared = sharing.shared;
  // Shared per quantity: the cell state's panels and h_t's beside them
  // each get their own range.
  const sharedOf = sharedRanges(drawn, range === "robust");
  for (const p of drawn) {
    if (p.unitScale) {
      Object.assign(p, { vmax: 1, scale: makeUnitScale(), clipped: null });
      continue;
    }
    const { max: sharedMax, min: sharedMin, robust: sharedRobust } = sharedOf.get(p.series.kind);
    let vmax;
    if (range === "fixed") vmax = fixed;
    else if (range === "robust") vmax = shared ? sharedRobust : p.robustMax;
    else vmax = shared ? sharedMax : p.stats.maxAbs;
    // A robust range of 0 (over 99% zeros) falls back to max |v|.
    if (range === "robust" && !(vmax > 0)) vmax = shared ? sharedMax : p.stats.maxAbs;
    if (!(vmax > 0)) vmax = 0; // all values 0: said so, no made-up range
    p.vmax = vmax;
    p.scale = makeScale(st.scale, vmax, shared ? sharedMin : p.stats.minAbs);
    p.clipped = range === "robust" ? countAbove(p.absValues, vmax) : null;
  }
  const main = sharedOf.get(st.kind) || { max: 0, robust: 0 };
  return {
    kind: range,
    lastVmax: (range === "robust" ? main.robust : main.max) || null,
    error: (fixedInput && fixedInput.error) || null,
    sharing,
  };
}

/** One run's column of the grid: its title in the run's colour, its panels. */
function groupElement(group, panels, grid, range, ctx, spec, mode) {
  const color = runColor(group.run, ctx.allRuns);
  const title = el("h3", {
    class: "rnn-run-title", title: group.run, style: { color, borderLeftColor: color }, dataset: { color },
  }, [group.run]);
  const nodes = panels.map((p) => {
    const panel = panelElement(p, grid.maxPlotW, range, ctx, spec, mode);
    panel.style.width = `${grid.panelWidth}px`;
    return panel;
  });
  const box = el("div", {
    class: `rnn-run-panels ${grid.sideBySide ? "rnn-side-by-side" : ""}`,
    style: { gap: `${PANEL_GAP}px` },
  }, nodes);
  // Long notes wrap inside the column instead of widening it past its share.
  return el("section", {
    class: "rnn-run-column", dataset: { run: group.run }, style: { width: `${grid.columnWidth}px` },
  }, [title, box]);
}

/** "<quantity> of layer <layer> not logged in: run_c, run_d", names in their colours. */
function notLoggedElement(runs, ctx) {
  const names = [];
  runs.forEach((run, i) => {
    if (i) names.push(", ");
    const color = runColor(run, ctx.allRuns);
    names.push(el("span", { class: "rnn-not-logged-run", text: run, style: { color }, dataset: { run, color } }));
  });
  return el("div", {
    id: "rnn-not-logged", class: "rnn-not-logged", title: notLoggedText(runs), dataset: { runs: JSON.stringify(runs) },
  }, [
    el("span", { class: "rnn-muted", text: `${quantityLabel(ctx.state.kind)} of layer ${ctx.state.layer} ` }),
    "not logged in: ", ...names,
  ]);
}

/** The panel's heading: direction, cell, gate, the step drawn (and why, when not the chosen one). */
function headingNodes(p, st) {
  const s = p.series;
  const heading = [];
  if (s.direction) heading.push(el("span", { class: "rnn-direction", text: directionLabel(s.direction) }));
  if (s.cellIndex !== null && s.cellIndex !== undefined) {
    heading.push(el("span", { class: "rnn-direction", text: `cell ${s.cellIndex}` }));
  }
  if (s.gate) heading.push(el("span", { class: "rnn-gate", text: gateLabel(s.gate, s.meta) }));
  if (p.step !== undefined && p.step !== null) {
    heading.push(el("span", { class: "rnn-drawn-step", text: `step ${p.step}` }));
    if (p.step !== st.step) {
      const why = p.step < st.step ? `nearest logged \u2264 ${st.step}` : `none logged \u2264 ${st.step}; nearest`;
      heading.push(el("span", { class: "rnn-muted", text: `(${why})` }));
    }
  }
  return heading;
}

function panelElement(p, maxPlotW, range, ctx, spec, mode) {
  const st = ctx.state;
  const s = p.series;
  const shows = sampleLabel(mode, st.sample, p.samples);
  const info = [s.cell, `layer ${s.layer}`, quantityLabel(s.kind), shows].filter(Boolean).join(" \u00b7 ");
  const panel = el("div", {
    class: "rnn-panel",
    dataset: {
      run: s.run, direction: s.direction || "none", gate: s.gate, tag: s.tag, step: p.step, vmax: p.vmax,
      range: p.unitScale ? "unit" : p.vmax ? range : null,
    },
    title: s.description || null,
  }, [
    el("div", { class: "rnn-panel-heading" }, headingNodes(p, st)),
    el("div", { class: "rnn-panel-info", text: info }),
  ]);
  if (p.error) {
    panel.append(el("div", { class: "rnn-note rnn-note-error", text: p.error }));
    return panel;
  }
  panel.append(...spec.body(p, s, {
    maxPlotW, range, zoom: st.zoom, topK: st.topK, channels: st.channels,
    sample: mode === "sample" ? st.sample : mode,
    onZoom: (win) => ctx.setOption("zoom", win),
    onHover: (rows, event) => {
      if (rows.length && REDUCING_MODES.includes(mode)) {
        rows.splice(s.direction ? 2 : 1, 0, ["sample", { mean: "mean", meanAbs: "mean |v|", medianAbs: "median |v|" }[mode]]);
      }
      ctx.onHover(rows, event);
    },
    onLeave: ctx.onLeave,
  }));
  // PNG / CSV / .npy of this panel (export.js).
  panel.querySelector(".rnn-panel-heading").append(exportControls(panel, {
    tensor: p.tensor.value, sample: st.sample, step: p.step, series: s,
  }));
  for (const note of [...p.notes, ...valueNotes(p)]) {
    panel.append(el("div", { class: `rnn-note ${note.kind ? `rnn-note-${note.kind}` : ""}`, text: note.text }));
  }
  return panel;
}

/** Notes on non-finite values and masked timesteps of a drawn panel. */
function valueNotes(p) {
  const notes = [];
  const { nan, posInf, negInf, maskedSteps } = p.stats;
  if (nan || posInf || negInf) {
    const parts = [];
    if (nan) parts.push(`${nan} NaN (magenta)`);
    if (posInf) parts.push(`${posInf} +Inf (black)`);
    if (negInf) parts.push(`${negInf} \u2212Inf (green)`);
    notes.push({ text: `Non-finite values: ${parts.join(", ")}.`, kind: "warn" });
  }
  if (maskedSteps) {
    const view = p.view;
    notes.push({
      text: view.samples && view.steps
        ? `${maskedSteps} of ${view.samples} \u00d7 ${view.steps} sample timesteps masked (padding, grey).`
        : `${maskedSteps} of ${view.T} timesteps masked (padding, grey hatch).`,
    });
  }
  return notes;
}
