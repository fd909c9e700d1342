// The profile views: "profile over timesteps" (||v_t|| against t at the
// selected step, runs overlaid in their colours, log y axis, decay rate
// fitted per run) and, through views/flow.js, "flow over training" (that
// profile at every logged step as a heatmap). Both read /profile, one
// request per run and direction, cached by the Api.

import { el } from "../draw/dom.js";
import { canvasColors, drawXAxis, drawYTicks, setupCanvas, strokeGappedLine } from "../draw/canvas.js";
import {
  BAND, batchQuantiles, byDirection, decadeTicks, decayText, linearTicks, fitDecay, linearScale, logScale,
  perSampleDecay, positiveRange, profileRow, robustDecayText, rowLength,
} from "../data/profiles.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import {
  directionLabel, isTimestepTensor, maskSeriesOf, pickStep, quantityLabel, unionSteps,
} from "../data/index_model.js";
import { hasProfile } from "../data/kind_facts.js";
import { itemsOf, loadKept, missingRuns } from "../data/loaders.js";
import { flowNodes } from "./flow.js";
import { errorText, settle } from "../data/results.js";
import { tokenRows } from "../data/tokens.js";

// Canvas colours of the current theme, read at the start of each draw.
let COLORS = canvasColors();


const PLOT_H = 280;



/**
 * Loads the whole profile of every series shown (one request each, every
 * logged step), sets the step slider to the steps they hold (with their
 * wall times) and, for the profile chart (withMasks), each series' mask at
 * the step drawn. Returns {items: [{run, series, result, mask?}], missing}.
 */
async function loadProfiles(ctx, withMasks) {
  const items = itemsOf(ctx.groups);
  await Promise.all(items.map(async (item) => {
    item.result = await loadKept(ctx.api, item.series, "profile");
  }));
  if (ctx.isStale()) return null;
  const loaded = items.filter((i) => i.result.value);
  ctx.chooseStep(unionSteps(loaded.map((i) => i.result.value.steps)), loaded.map((i) => ({
    run: i.run, steps: i.result.value.steps, wall_times: Array.from(i.result.value.wallTimes),
  })));
  if (withMasks) await loadMasks(ctx, items, ctx.state.step);
  if (ctx.isStale()) return null;
  return { items, missing: missingRuns(ctx.groups) };
}

/**
 * The mask of each item's series at the step it draws (item.mask, or
 * null), when its series has one and the mask was logged at that step.
 * Padding is then left out of the batch mean and drawn as a gap for one sample.
 */
async function loadMasks(ctx, items, step) {
  await Promise.all(items.map(async (item) => {
    item.mask = null;
    const p = item.result.value;
    const maskSeries = p && p.steps.length ? maskSeriesOf(ctx.index, item.series) : null;
    if (!maskSeries) return;
    const at = pickStep(p.steps, step);
    const steps = await settle(ctx.api.steps(maskSeries.run, maskSeries.tag));
    if (!steps.value || !steps.value.steps.includes(at)) return;
    const mask = await settle(ctx.api.tensor(maskSeries.run, maskSeries.tag, at));
    item.mask = mask.value || null;
  }));
}

/** The most samples a loaded profile has (for the Sample control). */
function profileSamples(loaded) {
  return Math.max(0, ...loaded.items.filter((i) => i.result.value).map((i) => i.result.value.samples));
}

const OPTIONS = {
  profileYScale: { initial: "log", valid: (v) => v === "log" || v === "linear" },
  // "both": the batch median with its band (thick) and one sample (thin).
  profileBatch: { initial: "both", valid: (v) => ["median", "mean", "sample", "both"].includes(v) },
};

/** The profile or the flow view: one loader, two charts. */
function profileFamilyView(id, label) {
  return {
    id,
    label,
    appliesTo: (meta) => isTimestepTensor(meta) && hasProfile(meta),
    perSample: true,
    usesTabScales: false,
    options: OPTIONS,
    load: (ctx) => loadProfiles(ctx, id === "profile"),
    render(loaded, ctx) {
      const st = ctx.state;
      const { nodes, errors } = profileViewNodes(id, loaded, {
        ...ctx, step: st.step, sample: st.sample, shared: st.shared !== false, layer: st.layer, kind: st.kind,
      });
      return { nodes, errors, errorsSay: "profile(s) could not be loaded", sampled: [], samples: profileSamples(loaded) };
    },
  };
}

export const profileView = profileFamilyView("profile", "profile over timesteps (||v_t||, runs overlaid)");
export const flowView = profileFamilyView("flow", "flow over training (profile at every logged step)");

/**
 * The panels' nodes for view "profile" or "flow". ctx: step, sample,
 * shared, allRuns, width, layer, kind, onHover(rows, event), onLeave(),
 * onStep(step), redraw(). Returns { nodes, errors }.
 */
export function profileViewNodes(view, loaded, ctx) {
  const nodes = [toolbar(view, ctx)];
  let errors = 0;
  const notes = [];
  if (loaded.missing.length) {
    notes.push(`No ${quantityLabel(ctx.kind)} logged for layer ${ctx.layer} in: ${loaded.missing.join(", ")}.`);
  }
  for (const item of loaded.items) {
    if (!item.result.error) continue;
    const error = item.result.error;
    const where = `${item.run}${item.series.direction ? ` (${item.series.direction})` : ""}`;
    if (error.status === 404) {
      notes.push(`${where}: no profile to show. Profiles are logged by tb-rnn-plugin's ` +
        `summary ops since metadata version 2; older logs (or other writers) have none. (${errorText(error)})`);
    } else {
      errors++;
      nodes.push(el("div", { class: "rnn-note rnn-note-error", text: `${where}: could not load the profile: ${errorText(error)}` }));
    }
  }
  for (const text of notes) {
    nodes.push(el("div", { class: "rnn-note rnn-note-warn rnn-profile-missing", style: { flexBasis: "100%" }, text }));
  }
  const ok = loaded.items.filter((i) => i.result.value && i.result.value.steps.length);
  if (ok.length) {
    // One full-width row of charts, below the notes.
    nodes.push(el("div", {
      class: "rnn-profile-charts",
      style: { flexBasis: "100%", display: "flex", flexWrap: "wrap", gap: "16px", alignItems: "flex-start" },
    }, view === "flow" ? flowNodes(ok, ctx) : profileCharts(ok, ctx)));
  } else if (!loaded.items.length && !loaded.missing.length) {
    nodes.push(el("div", { class: "rnn-message", text: "Select at least one run." }));
  }
  return { nodes, errors };
}

/** The flow view's Batch menu value for the shared choice (flow.js flowBatch). */
function flowBatchChoice(profileBatch) {
  return profileBatch === "sample" || profileBatch === "mean" ? profileBatch : "median";
}

/** The y-axis (colour) scale and batch choices above the charts. */
function toolbar(view, ctx) {
  const scale = el("select", { class: "rnn-profile-scale", id: "rnn-profile-scale" }, [
    el("option", { value: "log", text: "log" }),
    el("option", { value: "linear", text: "linear" }),
  ]);
  scale.value = ctx.state.profileYScale;
  scale.addEventListener("change", () => ctx.setOption("profileYScale", scale.value));
  const band = `p${BAND[0]}-p${BAND[1]}`;
  const batchOptions = view === "profile" ? [
    el("option", { value: "both", text: `median, band ${band} (thick) and sample ${ctx.sample} (thin, dashed)` }),
    el("option", { value: "median", text: `median over the probe batch, band ${band}` }),
  ] : [el("option", { value: "median", text: "median over the probe batch" })];
  batchOptions.push(
    el("option", { value: "mean", text: "mean over the probe batch" }),
    el("option", { value: "sample", text: `sample ${ctx.sample} (Sample control)` }),
  );
  const batch = el("select", { class: "rnn-profile-batch", id: "rnn-profile-batch" }, batchOptions);
  // The flow view draws one row per step: the median, the mean or one sample.
  batch.value = view === "flow" ? flowBatchChoice(ctx.state.profileBatch) : ctx.state.profileBatch;
  batch.addEventListener("change", () => ctx.setOption("profileBatch", batch.value));
  const what = view === "flow"
    ? "Rows: every logged step (top: first); columns: timesteps; colour: ||v_t|| (L2 norm over channels)."
    : "||v_t|| (L2 norm over channels) against timestep at the selected step; one line per run.";
  return el("div", {
    class: "rnn-profile-toolbar", style: { flexBasis: "100%", display: "flex", flexWrap: "wrap", gap: "6px 18px", alignItems: "center", fontSize: "12px" },
  }, [
    el("label", {}, [el("span", { class: "rnn-muted", text: view === "flow" ? "Colour scale " : "y axis " }), scale]),
    el("label", {}, [el("span", { class: "rnn-muted", text: "Batch " }), batch]),
    el("span", { class: "rnn-muted", text: what }),
  ]);
}

/**
 * The lines one run contributes at its step: [{kind: "median"|"mean"|"sample",
 * values, length, lo?, hi? (the median's band)}], the batch's line first.
 */
function runLines(p, i, sample, batch, mask) {
  const length = rowLength(p, i);
  const lines = [];
  if (batch === "median" || batch === "both") {
    const q = batchQuantiles(p, i, mask);
    lines.push({ kind: "median", values: q.median, lo: q.lo, hi: q.hi, length });
  }
  if (batch === "mean") lines.push({ kind: "mean", values: profileRow(p, i, "mean", mask), length });
  if (batch === "sample" || batch === "both") lines.push({ kind: "sample", values: profileRow(p, i, sample, mask), length });
  return lines;
}

/**
 * The decay fit of the first line: for the batch, fitted per sample and
 * summarised by the median with its band (robust: one growing sample does
 * not set it); for the mean, the fit of the mean line (what it draws).
 * { per10, text, how }.
 */
function decayOf(p, i, line, sample, mask) {
  if (line.kind === "median") {
    const summary = perSampleDecay(p, i, mask, line.length);
    return {
      per10: summary ? summary.per10 : null, lo10: summary ? summary.lo10 : null, hi10: summary ? summary.hi10 : null,
      text: robustDecayText(summary),
      how: "least-squares fit of log10 ||v_t|| over t in each sample (padding left out), then the median and " +
        `p${BAND[0]}-p${BAND[1]} of the samples' factors; factor from t to t + 10`,
    };
  }
  const fit = fitDecay(line.values, line.length);
  return {
    per10: fit ? fit.per10 : null, text: decayText(fit),
    how: `least-squares fit of log10 ||v_t|| over t (${line.kind === "mean" ? "batch mean" : `sample ${sample}`}), ` +
      "finite nonzero values; factor from t to t + 10",
  };
}

/** One chart per direction, every run's profile overlaid. */
function profileCharts(items, ctx) {
  const groups = byDirection(items);
  const available = Math.max(360, ctx.width - 8);
  const side = groups.length > 1 && available >= 2 * 520 + 16;
  const panelW = side ? Math.floor((available - 16) / 2) : Math.min(available, 1180);
  return groups.map(([direction, group]) => profileChart(direction, group, ctx, panelW));
}

function profileChart(direction, items, ctx, panelW) {
  const batch = ctx.state.profileBatch;
  const runs = items.map((item) => {
    const p = item.result.value;
    const step = pickStep(p.steps, ctx.step);
    const i = p.steps.indexOf(step);
    const sample = Math.max(0, Math.min(ctx.sample, p.samples - 1));
    const lines = runLines(p, i, sample, batch, item.mask || null);
    return {
      run: item.run, series: item.series, step, T: p.timesteps, lines, sample, masked: Boolean(item.mask),
      samples: p.samples, color: runColor(item.run, ctx.allRuns), fit: decayOf(p, i, lines[0], sample, item.mask || null),
    };
  });
  const T = Math.max(...runs.map((r) => r.T));
  const range = positiveRange(runs.flatMap((r) => r.lines.flatMap((l) => (l.lo ? [l.values, l.lo, l.hi] : [l.values]))));
  const log = ctx.state.profileYScale === "log";
  const scale = log ? logScale(range ? range.lo : 1e-3, range ? range.hi : 1) : linearScale(range ? range.hi : 1);

  const layout = { plotX: 66, plotY: 10, plotW: Math.max(200, panelW - 66 - 36), plotH: PLOT_H };
  layout.width = layout.plotX + layout.plotW + 16;
  layout.height = layout.plotY + layout.plotH + 40;
  layout.cellW = layout.plotW / T;
  const canvas = el("canvas", {
    class: "rnn-plot rnn-profile-plot",
    dataset: {
      view: "profile", direction: direction || "none", scale: scale.kind, timesteps: T,
      plotX: layout.plotX, plotY: layout.plotY, plotWidth: layout.plotW, plotHeight: layout.plotH,
      lo: scale.lo, hi: scale.hi,
    },
  });
  drawProfile(canvas, runs, scale, layout, T);
  // What is drawn, for tools and tests: per run and line, the values.
  canvas.rnnProfile = runs.map((r) => ({
    run: r.run, step: r.step, per10: r.fit.per10, lo10: r.fit.lo10 ?? null, hi10: r.fit.hi10 ?? null,
    lines: r.lines.map((l) => ({
      kind: l.kind, values: Array.from(l.values.subarray(0, l.length)),
      ...(l.lo ? { lo: Array.from(l.lo.subarray(0, l.length)), hi: Array.from(l.hi.subarray(0, l.length)) } : {}),
    })),
  }));
  canvas.addEventListener("mousemove", (event) => {
    const rows = hoverRows(canvas, runs, scale, layout, event, direction);
    if (rows.length) ctx.onHover(rows, event);
    else ctx.onLeave();
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());

  const legend = el("div", { class: "rnn-profile-legend", style: { display: "flex", flexDirection: "column", gap: "2px", fontSize: "12px", marginLeft: `${layout.plotX}px` } },
    runs.map((r) => el("div", {
      class: "rnn-profile-legend-item",
      dataset: { run: r.run, color: r.color, per10: r.fit.per10 ?? "", step: r.step },
      style: { display: "flex", gap: "8px", alignItems: "center" },
    }, [
      el("span", { class: "rnn-swatch rnn-swatch-line", style: { background: r.color, width: "18px", height: "3px", display: "inline-block" } }),
      el("span", { text: r.run, style: { fontWeight: "600" } }),
      el("span", { class: "rnn-muted", text: `step ${r.step}` }),
      el("span", { class: "rnn-profile-decay", text: r.fit.text, title: r.fit.how }),
    ])));
  const n = Math.max(...runs.map((r) => r.samples));
  const band = `median, band p${BAND[0]}-p${BAND[1]} of ${n} sample${n === 1 ? "" : "s"}`;
  const lineNote = {
    both: `Thick: ${band} (shaded); thin dashed: sample ${ctx.sample}. Decay fitted per sample, median shown.`,
    median: `Thick: ${band} (shaded). Decay fitted per sample, median shown.`,
    sample: `Sample ${ctx.sample} of the probe batch.`,
    mean: "Mean of ||v_t|| over the probe batch (one large sample can set it; the median is robust to it).",
  }[batch];
  const maskNote = runs.some((r) => r.masked)
    ? " Padding (the layer's mask at that step) is left out of each sample, the median and the mean, and is a gap for the sample." : "";
  const scaleNote = log
    ? `y axis: log (1e${scale.decades[0]} to 1e${scale.decades[1]}); zeros and non-finite values are gaps.`
    : "y axis: linear.";
  const heading = [el("span", { text: `${quantityLabel(ctx.kind)} \u00b7 layer ${ctx.layer}` })];
  if (direction) heading.unshift(el("span", { class: "rnn-direction", text: directionLabel(direction) }));
  return el("div", {
    class: "rnn-panel rnn-profile-panel",
    dataset: { view: "profile", direction: direction || "none" },
    style: { width: `${panelW}px` },
  }, [
    el("div", { class: "rnn-panel-heading" }, heading),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    legend,
    el("div", { class: "rnn-note", style: { marginLeft: `${layout.plotX}px` }, text: `${lineNote}${maskNote} ${scaleNote} Hover for values.` }),
  ]);
}

function yOf(scale, layout, v) {
  const n = scale.norm(v);
  if (!Number.isFinite(n)) return null;
  return layout.plotY + layout.plotH * (1 - n);
}

function drawProfile(canvas, runs, scale, layout, T) {
  const c = setupCanvas(canvas, layout.width, layout.height);
  COLORS = canvasColors(); // the theme (light or dark) at this draw
  const { plotX, plotY, plotW, plotH, cellW } = layout;
  // Grid and y ticks.
  const ticks = scale.kind === "log"
    ? decadeTicks(scale, plotH, 22)
    : linearTicks(scale.hi, Math.floor(plotH / 40));
  drawYTicks(c, COLORS, plotX, ticks, plotY, plotH, plotW);
  // Bands under the lines, then the lines: the batch's thick, samples thin and dashed.
  c.save();
  c.beginPath();
  c.rect(plotX, plotY, plotW, plotH);
  c.clip();
  for (const r of runs) {
    for (const line of r.lines) if (line.lo) fillBand(c, r.color, line, scale, layout);
  }
  for (const r of runs) {
    for (const line of r.lines) {
      c.strokeStyle = r.color;
      c.lineWidth = line.kind !== "sample" && r.lines.length > 1 ? 2.5 : line.kind !== "sample" ? 2 : 1.2;
      c.setLineDash(line.kind === "sample" && r.lines.length > 1 ? [4, 3] : []);
      strokeGappedLine(c, Array.from({ length: line.length },
        (_, t) => [plotX + (t + 0.5) * cellW, yOf(scale, layout, line.values[t])]));
    }
  }
  c.restore();
  c.setLineDash([]);
  c.strokeStyle = COLORS.axis;
  c.lineWidth = 1;
  c.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  drawXAxis(c, { plotX, plotY, plotW, plotH, cellW }, T);
  c.fillStyle = COLORS.text;
  c.save();
  c.translate(12, plotY + plotH / 2);
  c.rotate(-Math.PI / 2);
  c.textBaseline = "middle";
  c.fillText(scale.kind === "log" ? "||v_t|| (log)" : "||v_t||", 0, 0);
  c.restore();
}

/**
 * Shades the band lo..hi of a line in the run's colour, one polygon per
 * stretch of timesteps where both ends are on the scale (gaps stay gaps).
 */
function fillBand(c, color, line, scale, layout) {
  const x = (t) => layout.plotX + (t + 0.5) * layout.cellW;
  c.save();
  c.fillStyle = color;
  c.globalAlpha = 0.18;
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      c.beginPath();
      run.forEach(([t, , yHi], k) => (k ? c.lineTo(x(t), yHi) : c.moveTo(x(t), yHi)));
      for (let k = run.length - 1; k >= 0; k--) c.lineTo(x(run[k][0]), run[k][1]);
      c.closePath();
      c.fill();
    }
    run = [];
  };
  for (let t = 0; t < line.length; t++) {
    const yLo = yOf(scale, layout, line.lo[t]);
    const yHi = yOf(scale, layout, line.hi[t]);
    if (yLo === null || yHi === null) flush();
    else run.push([t, yLo, yHi]);
  }
  flush();
  c.restore();
}

/** Tooltip rows for the line nearest the cursor at the hovered timestep. */
function hoverRows(canvas, runs, scale, layout, event, direction) {
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left - layout.plotX;
  const y = event.clientY - rect.top;
  if (x < 0 || x >= layout.plotW || y < layout.plotY || y > layout.plotY + layout.plotH) return [];
  const t = Math.floor(x / layout.cellW);
  let best = null;
  let bestDist = Infinity;
  for (const r of runs) {
    for (const line of r.lines) {
      if (t >= line.length) continue;
      const ly = yOf(scale, layout, line.values[t]);
      const d = ly === null ? Infinity : Math.abs(ly - y);
      if (best === null || d < bestDist) {
        best = { r, line };
        bestDist = d;
      }
    }
  }
  if (!best) return [];
  const rows = [["run", best.r.run]];
  if (direction) rows.push(["direction", direction]);
  rows.push(["step", String(best.r.step)], ["timestep", String(t)], ...tokenRows(best.r.series, best.r.sample, t));
  const [first, second] = best.r.lines;
  rows.push(["value", fmt(first.values[t], 4)]);
  rows.push(["", first.kind === "sample" ? `sample ${best.r.sample}` : `${first.kind} over the batch`]);
  if (first.lo) rows.push([`p${BAND[0]}-p${BAND[1]}`, `${fmt(first.lo[t], 3)} to ${fmt(first.hi[t], 3)}`]);
  if (second) rows.push([`sample ${best.r.sample}`, fmt(second.values[t], 4)]);
  return rows;
}
