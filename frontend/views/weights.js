// The weights view: for each shown run and each cell (direction, stacked
// cell), the kernel | recurrent kernel | bias of one logged step side by
// side as heatmaps in Keras' own layout (see-rnn's rnn_heatmap): rows are
// input channels (kernel) or units of h_{t-1} (recurrent kernel), columns
// the gates' blocks, with the gates' names above and a separator between
// them; biases as labelled strips. Columns are fitted to the width gate by
// gate (weights_layout.js) so a 256 x 1024 recurrent kernel needs no
// sideways scroll and no pixel mixes two gates.

import { el } from "../draw/dom.js";
import { BOLD_FONT, canvasColors, FONT, integerTicks, setupCanvas } from "../draw/canvas.js";
import { gradientBar } from "../draw/colorbar.js";
import { divergingInto, divergingCss, NAN_RGB, NEG_INF_RGB, POS_INF_RGB, viridisInto } from "../draw/colormap.js";
import { runColor } from "../draw/run_colors.js";
import { fmt } from "../draw/format.js";
import { directionLabel, quantityLabel } from "../data/index_model.js";
import { itemsOf, loadAtStep, missingRuns } from "../data/loaders.js";
import {
  aggregationText, asMatrix, binMatrix, cellSlots, colorBarTicks, columnBinAt, fitColumns, fitRows, gateSegments,
  isWeightSeries, matrixLabel, nonFiniteNote, rowText, SCALE_MODES, scaleRanges, stripLabel, valueStats,
} from "./weights_layout.js";
import { errorText } from "../data/results.js";


const MAX_PLOT_H = 260;
const STRIP_H = 18;
// Blank pixels between two gates' blocks; the separator line is drawn in it.
const GATE_GAP = 4;
const MARGIN = { left: 58, top: 22, right: 10, bottom: 26 };
const STRIP_LEFT = 70;
// Below this width per matrix, the matrices go one under the other.
const MIN_SIDE_W = 240;

const GATE_TITLES = {
  i: "input", f: "forget", c: "candidate", o: "output", z: "update", r: "reset", h: "candidate",
};

/** A gate's word ("forget"); none for a cell of one block (SimpleRNN's h is no candidate). */
function gateTitle(name, spans) {
  return spans.filter((s) => s.name !== null).length > 1 ? GATE_TITLES[name] || "" : "";
}


/** The colour of v on the mode's scale into out[at..at+2]. */
function colorInto(v, vmax, mode, out, at) {
  if (mode !== "abs" || v !== v || v === Infinity || v === -Infinity) {
    divergingInto(v, vmax, out, at); // NaN, +Inf, -Inf get their own colours here
    return;
  }
  viridisInto(Math.abs(v) / vmax, out, at);
}

/** Each weight series at the chosen step (the nearest logged one not above it). */
async function load(ctx) {
  const items = itemsOf(ctx.groups);
  const loaded = await loadAtStep(ctx, items);
  return loaded && { items, ...loaded };
}

function render({ items, step, sampled }, ctx) {
  const missing = missingRuns(ctx.groups);
  const nodes = [toolbar(ctx)];
  if (missing.length) {
    nodes.push(note(`No ${quantityLabel(ctx.state.kind)} logged for layer ${ctx.state.layer} in: ${missing.join(", ")}.`,
      "rnn-note-warn", "rnn-weights-missing"));
  }
  if (!items.length && !missing.length) nodes.push(el("div", { class: "rnn-message", text: "Select at least one run." }));

  const runs = ctx.groups.filter((g) => g.panels.length).map((g) => g.run);
  const plotsByRun = new Map(runs.map((run) => [run, buildPlots(items.filter((i) => i.run === run))]));
  const ranges = colourRanges(plotsByRun, ctx.state.shared !== false, ctx.state.weightsScale);
  let errors = 0;
  for (const run of runs) {
    const section = runSection(run, plotsByRun.get(run), ranges, ctx, step);
    errors += section.errors;
    nodes.push(section.node);
  }
  return { nodes, errors, sampled };
}

export const weightsView = {
  id: "weights",
  label: "kernel | recurrent kernel | bias (heatmap by gate)",
  appliesTo: isWeightSeries,
  perSample: false,
  usesTabScales: false,
  options: {
    weightsScale: { initial: "signed", valid: (v) => SCALE_MODES.some((m) => m.value === v) },
  },
  load,
  render,
};

/**
 * The colour range of every plot, keyed "run|plot key". With the tab's
 * "shared across runs" box ticked, the same matrix of every run shown gets
 * one range (comparable colours), else each run its own; "signed-all"
 * gives every matrix (of a run, or of all) one range.
 */
function colourRanges(plotsByRun, shared, mode) {
  const items = [...plotsByRun].flatMap(([run, slots]) => slots.flatMap((s) => s.plots).map((p) => {
    const group = mode === "signed-all" ? "every matrix" : p.group;
    return { key: `${run}|${p.key}`, group: shared ? group : `${run}|${group}`, maxAbs: p.stats.maxAbs };
  }));
  return scaleRanges(items, "signed");
}


function note(text, ...classes) {
  return el("div", { class: ["rnn-note", "rnn-weights-note", ...classes].join(" "), text });
}


/** The view's own control: the colour scale. */
function toolbar(ctx) {
  const select = el("select", { id: "rnn-weights-scale", class: "rnn-weights-scale" },
    SCALE_MODES.map(({ value, text }) => el("option", { value, text, selected: value === ctx.state.weightsScale })));
  select.value = ctx.state.weightsScale;
  select.addEventListener("change", () => ctx.setOption("weightsScale", select.value));
  return el("div", { class: "rnn-weights-toolbar", style: { flexBasis: "100%" } }, [
    el("label", { class: "rnn-weights-toolbar-item" }, ["Colour scale ", select]),
  ]);
}

/**
 * One run's cells, each with its plots: a matrix plot per kernel (rank >= 2),
 * one strip plot for its biases (rank 1, same width). Each plot carries its
 * data as rows x columns, its gates, value stats and the series it shows.
 */
function buildPlots(items) {
  const bySeries = new Map(items.map((i) => [i.series, i]));
  return cellSlots(items.map((i) => i.series)).map((slot) => {
    const plots = [];
    const problems = [];
    const loaded = (entry) => {
      const item = bySeries.get(entry.series);
      if (item.steps.error) problems.push(`${entry.matrix}: could not list its steps: ${errorText(item.steps.error)}`);
      else if (item.step === null || item.step === undefined) problems.push(`${entry.matrix}: no logged step`);
      else if (item.tensor.error) problems.push(`${entry.matrix}: could not load step ${item.step}: ${errorText(item.tensor.error)}`);
      else return item;
      return null;
    };
    for (const entry of slot.plots) {
      const item = loaded(entry);
      if (!item) continue;
      const matrix = asMatrix(item.tensor.value.shape, item.tensor.value.data);
      if (!matrix.rows || !matrix.cols) {
        problems.push(`${entry.matrix}: logged empty (shape ${item.tensor.value.shape.join(" \u00d7 ")}); nothing to draw`);
        continue;
      }
      plots.push({
        key: `${slot.key}|${entry.matrix}`, group: `${slot.key}|${entry.matrix}`, strip: false, matrix,
        names: [entry.matrix], entries: [item], gates: entry.series.meta.gates ?? null,
        segments: gateSegments(entry.series.meta.gates, matrix.cols), stats: valueStats(matrix.data),
      });
    }
    // Strips of equal width share a plot (GRU's input and recurrent bias).
    const byWidth = new Map();
    for (const entry of slot.strips) {
      const item = loaded(entry);
      if (!item) continue;
      const width = item.tensor.value.data.length;
      if (!width) {
        problems.push(`${entry.matrix}: logged empty; nothing to draw`);
        continue;
      }
      if (!byWidth.has(width)) byWidth.set(width, []);
      byWidth.get(width).push({ entry, item });
    }
    for (const [width, strips] of byWidth) {
      const data = new Float32Array(width * strips.length);
      strips.forEach(({ item }, r) => data.set(item.tensor.value.data, r * width));
      const matrix = { rows: strips.length, cols: width, data, spatial: [], inner: strips.length, shape: [strips.length, width] };
      const names = strips.map(({ entry }) => entry.matrix);
      const first = strips[0].entry.series;
      plots.push({
        // Grouped by the matrices it shows (not its width), so that an
        // LSTM's and a SimpleRNN's bias share a range across runs.
        key: `${slot.key}|strips|${width}`, group: `${slot.key}|${names.join("+")}`, strip: true, matrix, names,
        entries: strips.map(({ item }) => item), gates: first.meta.gates ?? null,
        segments: gateSegments(first.meta.gates, width), stats: valueStats(data),
      });
    }
    return { ...slot, plots, problems };
  });
}

/** A run's title, notes and one panel per cell. */
function runSection(run, slots, ranges, ctx, chosen) {
  const color = runColor(run, ctx.allRuns);
  const children = [el("h3", { class: "rnn-run-title rnn-weights-run-title", title: run, style: { color }, dataset: { run, color } }, [run])];
  const notes = runNotes(run, slots, ctx);
  for (const text of notes) children.push(note(text, "rnn-weights-run-note"));
  let errors = 0;
  const inner = Math.max(300, Math.floor(ctx.width) - 28);
  for (const slot of slots) {
    const panel = slotPanel(run, slot, ranges, ctx, chosen, inner);
    errors += slot.problems.length;
    children.push(panel);
  }
  const node = el("section", {
    class: "rnn-run-column rnn-weights-run", dataset: { run },
    style: { flexBasis: "100%", maxWidth: "100%" },
  }, children);
  return { node, errors };
}

/** What a user should know about this run's weights of the layer. */
function runNotes(run, slots, ctx) {
  const notes = [];
  const all = slots.flatMap((s) => s.plots);
  const series = all.flatMap((p) => p.entries.map((e) => e.series));
  if (series.some((s) => s.meta.gates === null || s.meta.gates === undefined)) {
    notes.push("custom cell: its gate layout is unknown, shown whole.");
  }
  const hasGates = ctx.index.series.some((s) => s.run === run && s.layer === ctx.state.layer && s.kind === "gate_activation");
  if (series.length && !hasGates) {
    notes.push("No gate activations were logged for this layer. They are recomputed only for Keras' " +
      "LSTM and GRU cells (not ConvLSTM, SimpleRNN or your own cells), and not with " +
      "RNNTensorBoard(log_gate_activations=False); the weights below are shown all the same.");
  }
  return notes;
}

/** One cell's panel: heading, then its matrices side by side (or stacked when narrow). */
function slotPanel(run, slot, ranges, ctx, chosen, inner) {
  const heading = [];
  if (slot.direction) heading.push(el("span", { class: "rnn-direction", text: directionLabel(slot.direction) }));
  if (slot.cellIndex !== null) heading.push(el("span", { class: "rnn-direction", text: `cell ${slot.cellIndex}` }));
  const cellType = slot.plots.length ? slot.plots[0].entries[0].series.cell : null;
  const steps = [...new Set(slot.plots.flatMap((p) => p.entries.map((e) => e.step)))];
  heading.push(el("span", {
    text: `${cellType ? `${cellType} \u00b7 ` : ""}${slot.plots.map((p) => p.names.map(matrixLabel).join(" + ")).join(" | ")}`,
  }));
  if (steps.length === 1) {
    heading.push(el("span", {
      class: `rnn-muted${steps[0] !== chosen ? " rnn-note-warn" : ""}`,
      text: steps[0] === chosen ? `step ${steps[0]}` : `step ${steps[0]} (nearest logged to ${chosen})`,
    }));
  }
  const count = slot.plots.length;
  const gap = 14;
  const side = count > 1 && (inner - gap * (count - 1)) / count >= MIN_SIDE_W;
  const plotW = side ? Math.floor((inner - gap * (count - 1)) / count) : inner;
  const plots = slot.plots.map((p) => matrixPlot(run, slot, p, ranges.get(`${run}|${p.key}`), ctx, plotW));
  return el("div", {
    class: "rnn-panel rnn-weights-panel",
    dataset: { run, direction: slot.direction || "none", cellIndex: slot.cellIndex ?? "none" },
    style: { maxWidth: "100%" },
  }, [
    el("div", { class: "rnn-panel-heading" }, heading),
    ...slot.problems.map((text) => note(text, "rnn-note-error")),
    el("div", { class: `rnn-weights-matrices${side ? " rnn-weights-side" : ""}` }, plots),
  ]);
}

/** The layout of one plot in CSS px: margins, fitted columns and rows. */
function plotLayout(plot, width) {
  const left = plot.strip ? STRIP_LEFT : MARGIN.left;
  const segments = plot.segments;
  const gaps = GATE_GAP * Math.max(0, segments.length - 1);
  const colFit = fitColumns(plot.matrix.cols, segments, width - left - MARGIN.right - gaps, 24, GATE_GAP);
  const rowFit = plot.strip
    ? fitRows(plot.matrix.rows, plot.matrix.rows * STRIP_H, STRIP_H, STRIP_H)
    : fitRows(plot.matrix.rows, MAX_PLOT_H, 12, 1);
  const top = MARGIN.top;
  return {
    plotX: left, plotY: top, plotW: colFit.plotW, plotH: rowFit.plotH, colFit, rowFit,
    width: left + colFit.plotW + MARGIN.right, height: top + rowFit.plotH + MARGIN.bottom,
  };
}

/** One matrix (or strip group): title, canvas, colour bar and notes. */
function matrixPlot(run, slot, plot, vmax, ctx, width) {
  const layout = plotLayout(plot, width);
  const { colFit, rowFit } = layout;
  const values = binMatrix(plot.matrix, rowFit.bins, colFit.bins);
  const mode = ctx.state.weightsScale;
  const spans = colFit.spans.map((s) => ({ ...s, x0: layout.plotX + s.x0, x1: layout.plotX + s.x1 }));
  const separators = colFit.separators.map((x) => layout.plotX + x);
  const first = plot.entries[0];
  const canvas = el("canvas", {
    class: "rnn-plot rnn-weights-plot",
    dataset: {
      view: "weights", run, direction: slot.direction || "none", cellIndex: slot.cellIndex ?? "none",
      matrix: plot.names.join(","), kind: first.series.kind, step: first.step, scale: mode, vmax,
      plotX: layout.plotX, plotY: layout.plotY, plotWidth: layout.plotW, plotHeight: layout.plotH,
      rows: plot.matrix.rows, cols: plot.matrix.cols, binRows: rowFit.rows, binCols: colFit.cols,
      aggregated: colFit.aggregated || rowFit.aggregated ? "true" : "false",
      separators: JSON.stringify(separators),
      gates: JSON.stringify(spans.filter((s) => s.name !== null)),
      stripRows: plot.strip ? JSON.stringify(plot.names.map((name, r) => ({
        matrix: name, label: stripLabel(name), y0: layout.plotY + r * rowFit.cellH, y1: layout.plotY + (r + 1) * rowFit.cellH,
      }))) : null,
      nan: plot.stats.nan, posinf: plot.stats.posInf, neginf: plot.stats.negInf,
    },
  });
  drawPlot(canvas, plot, layout, values, spans, separators, vmax, mode);
  canvas.rnnWeights = { values, rows: rowFit.rows, cols: colFit.cols };
  canvas.addEventListener("mousemove", (event) => {
    const rows = hoverRows(run, slot, plot, layout, spans, event);
    if (rows) ctx.onHover(rows, event);
    else ctx.onLeave();
  });
  canvas.addEventListener("mouseleave", () => ctx.onLeave());

  const title = plot.strip
    ? plot.names.map(matrixLabel).join(" | ")
    : `${matrixLabel(plot.names[0])} \u00b7 ${plot.matrix.shape.join(" \u00d7 ")}`;
  const children = [
    el("div", { class: "rnn-weights-plot-title", text: title }),
    el("div", { class: "rnn-canvas-wrap" }, [canvas]),
    colorBar(mode, vmax, Math.min(layout.plotW, 360), layout.plotX, plot, ctx.state.shared !== false),
  ];
  const aggregated = aggregationText(plot.matrix, colFit, rowFit);
  if (aggregated) children.push(el("div", { class: "rnn-aggregated rnn-weights-aggregated", text: aggregated, style: { marginLeft: `${layout.plotX}px` } }));
  if (plot.matrix.spatial.length) {
    const m = plot.matrix;
    children.push(note(`Kernel of shape ${m.shape.join(" \u00d7 ")}: its spatial axes (${m.spatial.join(" \u00d7 ")}) are ` +
      `flattened into rows: ${m.rows} rows = ${m.spatial.reduce((a, b) => a * b, 1)} kernel positions \u00d7 ${m.inner} input channels.`,
    "rnn-weights-flattened"));
  }
  const bad = nonFiniteNote(plot.stats);
  if (bad) {
    const nodeNote = note(`${plot.names.join(", ")}: ${bad}.`, "rnn-note-error", "rnn-weights-nonfinite");
    Object.assign(nodeNote.dataset, { nan: plot.stats.nan, posinf: plot.stats.posInf, neginf: plot.stats.negInf });
    children.push(nodeNote);
  }
  if (plot.stats.zero) children.push(note("All values are 0.", "rnn-weights-zero"));
  return el("div", {
    class: "rnn-weights-matrix",
    dataset: { matrix: plot.names.join(",") },
    style: { width: `${width}px`, maxWidth: "100%" },
  }, children);
}

function drawPlot(canvas, plot, layout, values, spans, separators, vmax, mode) {
  const c = setupCanvas(canvas, layout.width, layout.height);
  const colors = canvasColors();
  const { colFit, rowFit, plotX, plotY, plotW, plotH } = layout;
  // The binned cells as one image, then each gate's slice to its span.
  const image = new ImageData(colFit.cols, rowFit.rows);
  for (let i = 0; i < values.length; i++) {
    colorInto(values[i], vmax, mode, image.data, 4 * i);
    image.data[4 * i + 3] = 255;
  }
  const cells = document.createElement("canvas");
  cells.width = colFit.cols;
  cells.height = rowFit.rows;
  cells.getContext("2d").putImageData(image, 0, 0);
  c.imageSmoothingEnabled = false;
  let bin = 0;
  for (const s of colFit.spans) {
    const n = s.bins;
    c.drawImage(cells, bin, 0, n, rowFit.rows, plotX + s.x0, plotY, s.x1 - s.x0, plotH);
    bin += n;
  }
  c.strokeStyle = colors.axis;
  c.lineWidth = 1;
  c.strokeRect(plotX - 0.5, plotY - 0.5, plotW + 1, plotH + 1);
  // Separators in the gaps between gates, from the gate names to the ticks.
  c.fillStyle = colors.axis;
  for (const x of separators) c.fillRect(x - 1, plotY - 16, 2, plotH + 20);

  c.fillStyle = colors.text;
  c.font = BOLD_FONT;
  c.textAlign = "center";
  c.textBaseline = "alphabetic";
  for (const s of spans) {
    if (s.name === null) continue;
    const w = s.x1 - s.x0;
    const long = `${s.name} ${gateTitle(s.name, spans)}`.trim();
    const text = c.measureText(long).width + 6 <= w ? long : s.name;
    c.fillText(text, (s.x0 + s.x1) / 2, plotY - 6);
  }

  // Column ticks at the gates' boundaries (or evenly, for a whole matrix).
  c.font = FONT;
  c.textBaseline = "top";
  const ticks = [];
  if (spans.length > 1 || (spans.length && spans[0].name !== null)) {
    for (const s of spans) ticks.push([s.x0, s.start]);
    const last = spans[spans.length - 1];
    ticks.push([last.x1, last.stop]);
  } else {
    for (const col of integerTicks(plot.matrix.cols, plotW / plot.matrix.cols, 40)) ticks.push([plotX + (col * plotW) / plot.matrix.cols, col]);
  }
  let lastRight = -Infinity;
  c.beginPath();
  ticks.forEach(([x, col], k) => {
    c.moveTo(Math.round(x) + 0.5, plotY + plotH + 1);
    c.lineTo(Math.round(x) + 0.5, plotY + plotH + 5);
    const label = String(col);
    const w = c.measureText(label).width;
    const align = k === ticks.length - 1 && ticks.length > 1 ? "right" : k === 0 ? "left" : "center";
    const x0 = align === "left" ? x : align === "right" ? x - w : x - w / 2;
    if (x0 < lastRight + 6) return;
    c.textAlign = align;
    c.fillText(label, x, plotY + plotH + 7);
    lastRight = x0 + w;
  });
  c.stroke();

  // Rows: strip labels, or row ticks and what the rows are.
  c.textAlign = "right";
  c.textBaseline = "middle";
  if (plot.strip) {
    c.font = FONT;
    plot.names.forEach((name, r) => c.fillText(stripLabel(name), plotX - 6, plotY + (r + 0.5) * rowFit.cellH));
  } else {
    const rows = plot.matrix.rows;
    const rowH = plotH / rows;
    c.beginPath();
    for (const r of integerTicks(rows, rowH, 16)) {
      const y = Math.round(plotY + (r + 0.5) * rowH) + 0.5;
      c.moveTo(plotX - 4, y);
      c.lineTo(plotX - 1, y);
      c.fillText(String(r), plotX - 6, y);
    }
    c.stroke();
    c.save();
    c.translate(11, plotY + plotH / 2);
    c.rotate(-Math.PI / 2);
    c.textAlign = "center";
    const what = plot.matrix.spatial.length ? "position \u00d7 channel"
      : plot.names[0] === "recurrent_kernel" ? "unit of h\u209c\u208b\u2081"
        : plot.names[0] === "kernel" ? "input channel" : "row";
    c.fillText(plotH >= 70 ? what : "", 0, 0);
    c.restore();
  }
}

/** Tooltip rows for the cell under the mouse, or null outside the plot. */
function hoverRows(run, slot, plot, layout, spans, event) {
  const rect = event.currentTarget.getBoundingClientRect();
  const x = event.clientX - rect.left;
  const y = event.clientY - rect.top - layout.plotY;
  if (y < 0 || y >= layout.plotH) return null;
  const { colFit, rowFit } = layout;
  const bin = columnBinAt(colFit, x - layout.plotX);
  if (bin === null) return null;
  const span = spans.find((s) => bin >= s.firstBin && bin < s.firstBin + s.bins);
  const [c0, c1] = colFit.bins[bin];
  const r = Math.min(rowFit.rows - 1, Math.floor((y / layout.plotH) * rowFit.rows));
  const [r0, r1] = rowFit.bins[r];
  const value = binMatrixCell(plot.matrix, r0, r1, c0, c1);
  const entry = plot.strip ? plot.entries[r0] : plot.entries[0];
  const rows = [["run", run]];
  if (slot.direction) rows.push(["direction", slot.direction]);
  if (slot.cellIndex !== null) rows.push(["cell", String(slot.cellIndex)]);
  rows.push(["step", String(entry.step)]);
  rows.push(["matrix", plot.strip ? plot.names.slice(r0, r1).join(", ") : plot.names[0]]);
  if (span.name !== null) {
    const title = gateTitle(span.name, spans) ? ` (${gateTitle(span.name, spans)})` : "";
    rows.push(["gate", `${span.name}${title}, columns ${span.start}\u2013${span.stop - 1}`]);
  }
  if (!plot.strip) rows.push(["row", r1 - r0 > 1 ? `${r0}\u2013${r1 - 1}` : rowText(plot.matrix, r0)]);
  const unit = span.name !== null ? ` (unit ${c0 - span.start}${c1 - c0 > 1 ? `\u2013${c1 - 1 - span.start}` : ""} of gate ${span.name})` : "";
  rows.push(["column", `${c1 - c0 > 1 ? `${c0}\u2013${c1 - 1}` : c0}${unit}`]);
  rows.push(["value", fmt(value, 4)]);
  if (r1 - r0 > 1 || c1 - c0 > 1) rows.push(["", "largest |v| of the pixel's cells"]);
  return rows;
}

function binMatrixCell(matrix, r0, r1, c0, c1) {
  return binMatrix(matrix, [[r0, r1]], [[c0, c1]])[0];
}

/** The colour bar of one plot: gradient, ticks, what the scale is, NaN/Inf swatches. */
function colorBar(mode, vmax, width, left, plot, shared) {
  const barW = Math.max(160, Math.floor(width));
  const canvas = gradientBar(barW, (f, out, at) =>
    colorInto(mode === "abs" ? f * vmax : (2 * f - 1) * vmax, vmax, mode, out, at));
  const ticks = colorBarTicks(mode, vmax, barW >= 260 ? 4 : 2);
  const numbers = el("div", { class: "rnn-colorbar-numbers rnn-colorbar-ticks", style: { width: `${barW}px` } },
    ticks.map((t) => el("span", { class: "rnn-colorbar-tick", text: t.label, dataset: { value: t.value }, style: { left: `${t.pos * 100}%` } })));
  const runs = shared ? "in every run shown" : "in this run (runs not shared)";
  const what = {
    signed: `signed: blue < 0 < red, \u00b1${fmt(vmax)}, the range of this matrix ${runs}`,
    "signed-all": `signed: blue < 0 < red, \u00b1${fmt(vmax)}, one range for every matrix ${runs}`,
    abs: `|v| intensity 0\u2013${fmt(vmax)} (viridis), the largest |v| of this matrix ${runs}`,
  }[mode];
  const biases = plot.strip && plot.names.length > 1 ? "; these biases share one range" : "";
  const swatch = (rgb, text) => el("span", { class: "rnn-swatch-item" }, [
    el("span", { class: "rnn-swatch", style: { background: `rgb(${rgb.join(",")})` } }), text,
  ]);
  return el("div", {
    class: "rnn-colorbar rnn-weights-colorbar",
    style: { marginLeft: `${left}px` },
    dataset: { scale: mode, vmax, negativeColor: divergingCss(-1, 1), positiveColor: divergingCss(1, 1) },
  }, [
    canvas, numbers,
    el("div", { class: "rnn-colorbar-scale", style: { maxWidth: `${Math.max(barW, 300)}px` }, text: `colour: ${what}${biases}` }),
    el("div", { class: "rnn-colorbar-legend", style: { maxWidth: `${Math.max(barW, 300)}px` } }, [
      swatch(NAN_RGB, "NaN"), swatch(POS_INF_RGB, "+Inf"), swatch(NEG_INF_RGB, "\u2212Inf"),
    ]),
  ]);
}
