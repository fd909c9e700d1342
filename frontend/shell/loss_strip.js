// The loss strip above the views: the compiled loss (or a compiled metric)
// on the probe batch at every logged step, from GET /loss
// (tb_rnn_plugin/loss_series.py), one line per shown run in its run colour.
// x is the training step, over the same steps as the step slider's and the
// loss's together (the slider's steps ticked under the axis); a dashed
// vertical line marks the selected step. Spikes (the
// loss at least x3 its recent median) are marked with a triangle and the factor, NaN/Inf
// steps with a magenta band. Hover reads the step and every run's value; a
// click selects that step, as the slider does. Absent when no run logged a
// probe loss (older logs). Text goes in through textContent only.

import { el } from "../draw/dom.js";
import { FONT, canvasColors, drawYTicks, setupCanvas, strokeGappedLine } from "../draw/canvas.js";
import { NAN_RGB } from "../draw/colormap.js";
import { fmt, fmtTick } from "../draw/format.js";
import { CHART_PLOT_X, CHART_RIGHT } from "../draw/layout.js";
import { runColor } from "../draw/run_colors.js";
import { niceStep } from "../draw/scales.js";

const PLOT_H = 110;
const TOP = 10;
const BOTTOM = 24;
// A log y axis once the values drawn span this factor (two decades): on a
// linear one the late, small loss would lie flat on the axis.
export const LOG_SPAN = 100;
const NAN_CSS = `rgb(${NAN_RGB.join(",")})`;
const NONFINITE_TEXT = { nan: "NaN", inf: "+Inf", "-inf": "-Inf" };

/** {log, lo, hi} of the y axis over `values` (finite ones), null when none. */
export function yRange(values) {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return null;
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  // A fifth of a decade of room above and below: lines do not run along the frame.
  if (lo > 0 && hi / lo >= LOG_SPAN) return { log: true, lo: lo / 10 ** 0.2, hi: hi * 10 ** 0.2 };
  const pad = hi > lo ? 0.05 * (hi - lo) : Math.max(Math.abs(lo) * 0.1, 1e-3);
  lo -= pad;
  hi += pad;
  if (lo < 0 && Math.min(...finite) >= 0) lo = 0;
  return { log: false, lo, hi };
}

/** Where `value` lies on the y axis, 0 (bottom) to 1 (top). */
export function yPos(range, value) {
  if (range.log) return (Math.log10(value) - Math.log10(range.lo)) / (Math.log10(range.hi) - Math.log10(range.lo) || 1);
  return (value - range.lo) / (range.hi - range.lo || 1);
}

/** Ticks [{pos, label}] of the y axis: powers of ten (log), 1-2-5 steps (linear). */
export function yTicks(range, pixels) {
  const ticks = [];
  if (range.log) {
    const first = Math.floor(Math.log10(range.lo));
    const last = Math.ceil(Math.log10(range.hi));
    const every = Math.max(1, Math.ceil((last - first) / Math.max(1, Math.floor(pixels / 22))));
    for (let k = first; k <= last; k += every) {
      const value = 10 ** k;
      if (value >= range.lo * 0.999 && value <= range.hi * 1.001) ticks.push({ pos: yPos(range, value), label: fmtTick(value) });
    }
    return ticks;
  }
  const step = niceStep((range.hi - range.lo) / Math.max(1, Math.floor(pixels / 28)));
  for (let v = Math.ceil(range.lo / step) * step; v <= range.hi + 1e-12; v += step) {
    ticks.push({ pos: yPos(range, v), label: fmt(Number(v.toPrecision(6)), 3) });
  }
  return ticks;
}

/** The element of sorted `steps` nearest `step` (null if none). */
export function nearestStep(steps, step) {
  let best = null;
  for (const s of steps) if (best === null || Math.abs(s - step) < Math.abs(best - step)) best = s;
  return best;
}

export class LossStrip {
  /** `app`: the tab (shell/app.js): its store, runs, steps, tooltip, update(). */
  constructor(app) {
    this.app = app;
    this.data = null; // GET /loss's runs
    this.loadedFor = undefined; // the index fingerprint the data was read for
    this.metric = "loss";
    this.canvas = el("canvas", { id: "rnn-loss-canvas", class: "rnn-loss-canvas" });
    this.metricSelect = el("select", { id: "rnn-loss-metric", hidden: true, attrs: { "aria-label": "what the strip draws" } });
    this.metricSelect.addEventListener("change", () => {
      this.metric = this.metricSelect.value;
      this.app.hideHover();
      this.draw();
    });
    this.legend = el("span", { class: "rnn-loss-legend" });
    this.node = el("section", { id: "rnn-loss", class: "rnn-loss", hidden: true, attrs: { "aria-label": "Loss on the probe batch" } }, [
      el("div", { class: "rnn-loss-head" }, [
        el("span", { class: "rnn-loss-title", text: "On the probe batch, per logged step:" }),
        this.metricSelect, this.legend,
      ]),
      this.canvas,
    ]);
    this.canvas.addEventListener("mousemove", (event) => this.hover(event));
    this.canvas.addEventListener("mouseleave", () => this.app.hideHover());
    this.canvas.addEventListener("click", (event) => this.select(event));
  }

  /** Reads /loss again when the index changed, then draws the shown runs at the selected step. */
  sync() {
    const fingerprint = this.app.indexLoads.fingerprint;
    if (fingerprint !== this.loadedFor) {
      this.loadedFor = fingerprint;
      this.load(fingerprint);
    }
    this.draw();
  }

  async load(fingerprint) {
    try {
      const response = await fetch("./loss", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const json = await response.json();
      if (fingerprint !== this.loadedFor) return; // a newer load started
      this.data = json.runs || {};
    } catch (error) {
      // The strip is an extra: without it the tab works as before.
      console.warn("rnn: no loss strip:", error);
      this.data = null;
    }
    this.draw();
  }

  /** The shown runs that logged a probe loss. */
  runs() {
    return this.data ? this.app.shownRuns().filter((run) => this.data[run]) : [];
  }

  /** The metrics offered: every name of the drawn runs, loss first. */
  fillMetrics(runs) {
    const names = [...new Set(runs.flatMap((run) => this.data[run].names))];
    if (!names.includes(this.metric)) this.metric = "loss";
    const same = [...this.metricSelect.options].map((o) => o.value).join("\n") === names.join("\n");
    if (!same) this.metricSelect.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    this.metricSelect.value = this.metric;
    this.metricSelect.hidden = names.length < 2;
  }

  /** Per drawn run: {run, color, steps, values (of the metric; null = NaN/Inf), spikes, nonfinite}. */
  lines(runs) {
    const allRuns = this.app.index.runs;
    return runs.map((run) => {
      const d = this.data[run];
      const column = d.names.indexOf(this.metric);
      return {
        run, color: runColor(run, allRuns), steps: d.steps,
        values: d.steps.map((_, i) => (column < 0 ? null : d.values[i][column])),
        spikes: this.metric === "loss" ? d.spikes.filter((s) => s.factor !== null) : [],
        nonfinite: d.steps.filter((_, i) => d.nonfinite[i] !== null),
      };
    });
  }

  draw() {
    const runs = this.runs();
    this.node.hidden = !runs.length;
    if (!runs.length) return;
    this.fillMetrics(runs);
    const lines = this.lines(runs);
    const sliderSteps = this.app.steps || [];
    const steps = [...lines.flatMap((l) => l.steps), ...sliderSteps];
    const x0 = Math.min(...steps);
    const x1 = Math.max(...steps);
    const width = Math.max(320, (this.app.panels.clientWidth || window.innerWidth) - 4);
    const plotW = width - CHART_PLOT_X - CHART_RIGHT;
    const range = yRange(lines.flatMap((l) => l.values.filter((v) => v !== null)));
    const layout = { plotX: CHART_PLOT_X, plotW, top: TOP, h: PLOT_H, x0, x1, range };
    this.layout = layout;
    this.drawn = lines;
    this.marks = [];
    delete this.canvas.dataset.selected;
    const c = setupCanvas(this.canvas, width, TOP + PLOT_H + BOTTOM);
    const colors = canvasColors();
    if (range) drawYTicks(c, colors, layout.plotX, yTicks(range, PLOT_H), TOP, PLOT_H, plotW);
    this.drawXAxis(c, colors, layout);
    for (const line of lines) this.drawLine(c, line, layout);
    this.drawSelected(c, colors, layout);
    this.canvas.dataset.layout = JSON.stringify({ plotX: layout.plotX, plotW, x0, x1, log: range ? range.log : false });
    this.canvas.dataset.runs = JSON.stringify(lines.map((l) => l.run));
    // Where each spike's triangle is ([run, step, x, y] in CSS pixels): read by tests.
    this.canvas.dataset.spikes = JSON.stringify(this.marks);
    this.canvas.dataset.nonfinite = JSON.stringify(lines.flatMap((l) => l.nonfinite.map((s) => [l.run, s])));
    this.canvas.dataset.metric = this.metric;
    this.showLegend(lines, range);
  }

  x(layout, step) {
    return layout.plotX + (layout.x1 > layout.x0 ? (step - layout.x0) / (layout.x1 - layout.x0) : 0.5) * layout.plotW;
  }

  y(layout, value) {
    return layout.top + layout.h * (1 - yPos(layout.range, value));
  }

  drawXAxis(c, colors, layout) {
    const y = layout.top + layout.h + 0.5;
    c.strokeStyle = colors.axis;
    c.beginPath();
    c.moveTo(layout.plotX, y);
    c.lineTo(layout.plotX + layout.plotW, y);
    c.stroke();
    // The step slider's steps (those the view can show): short ticks under the axis.
    c.strokeStyle = colors.muted;
    c.beginPath();
    for (const s of this.app.steps || []) {
      const x = Math.round(this.x(layout, s)) + 0.5;
      c.moveTo(x, y);
      c.lineTo(x, y + 3);
    }
    c.stroke();
    c.font = FONT;
    c.fillStyle = colors.text;
    c.textBaseline = "top";
    const count = Math.max(1, Math.floor(layout.plotW / 80));
    const step = layout.x1 > layout.x0 ? Math.max(1, niceStep((layout.x1 - layout.x0) / count)) : 1;
    for (let s = Math.ceil(layout.x0 / step) * step; s <= layout.x1; s += step) {
      const x = this.x(layout, s);
      c.textAlign = "center";
      c.fillText(String(s), x, y + 5);
    }
    c.textAlign = "right";
    c.fillText("step", layout.plotX - 6, y + 5);
  }

  drawLine(c, line, layout) {
    c.strokeStyle = line.color;
    c.fillStyle = line.color;
    c.lineWidth = 1.75;
    if (layout.range) {
      const points = line.steps.map((s, i) => [this.x(layout, s), line.values[i] === null ? null : this.y(layout, line.values[i])]);
      strokeGappedLine(c, points);
    }
    c.lineWidth = 1;
    // NaN/Inf: a magenta band over the plot's height at that step, solid at its top.
    for (const step of line.nonfinite) {
      const x = this.x(layout, step);
      c.fillStyle = NAN_CSS;
      c.fillRect(x - 2, layout.top, 4, 12);
      c.globalAlpha = 0.3;
      c.fillRect(x - 2, layout.top + 12, 4, layout.h - 12);
      c.globalAlpha = 1;
    }
    // Spikes: a triangle above the point, in the run's colour, outlined.
    for (const spike of line.spikes) {
      const i = line.steps.indexOf(spike.step);
      if (i < 0 || line.values[i] === null || !layout.range) continue;
      const x = this.x(layout, spike.step);
      const y = Math.max(layout.top + 9, this.y(layout, line.values[i]) - 4);
      c.beginPath();
      c.moveTo(x, y);
      c.lineTo(x - 6, y - 10);
      c.lineTo(x + 6, y - 10);
      c.closePath();
      c.fillStyle = line.color;
      c.fill();
      c.strokeStyle = "#000";
      c.stroke();
      this.marks.push([line.run, spike.step, Math.round(x), Math.round(y - 6)]);
      c.font = FONT;
      c.fillStyle = line.color;
      c.textAlign = "left";
      c.textBaseline = "middle";
      c.fillText(`\u00d7${spike.factor.toFixed(1)}`, x + 8, y - 5);
    }
  }

  drawSelected(c, colors, layout) {
    const step = this.app.state.step;
    if (step === null || step === undefined || step < layout.x0 || step > layout.x1) return;
    const x = Math.round(this.x(layout, step)) + 0.5;
    c.strokeStyle = colors.text;
    c.setLineDash([3, 3]);
    c.beginPath();
    c.moveTo(x, layout.top);
    c.lineTo(x, layout.top + layout.h);
    c.stroke();
    c.setLineDash([]);
    this.canvas.dataset.selected = String(step);
  }

  showLegend(lines, range) {
    const parts = lines.map((l) => el("span", { class: "rnn-loss-run" }, [
      el("span", { class: "rnn-run-swatch", style: { background: l.color } }),
      el("span", { text: l.run }),
    ]));
    const notes = [];
    if (range && range.log) notes.push("log scale");
    if (lines.some((l) => l.spikes.length)) notes.push("\u25bc spike: \u2265 3\u00d7 the median of the last 5 logged values");
    if (lines.some((l) => l.nonfinite.length)) notes.push("magenta: NaN/Inf loss");
    notes.push("click: select the step");
    this.legend.replaceChildren(...parts, el("span", { class: "rnn-muted", text: notes.join(" \u00b7 ") }));
  }

  /** The logged step nearest the pointer (over every drawn run's steps). */
  stepAt(event) {
    const layout = this.layout;
    if (!layout) return null;
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const step = layout.x0 + ((x - layout.plotX) / layout.plotW) * (layout.x1 - layout.x0);
    return nearestStep([...new Set(this.drawn.flatMap((l) => l.steps))].sort((a, b) => a - b), step);
  }

  hover(event) {
    const step = this.stepAt(event);
    if (step === null) return;
    const rows = [["step", String(step)]];
    for (const line of this.drawn) {
      const i = line.steps.indexOf(step);
      if (i < 0) continue;
      const value = line.values[i];
      const nonfinite = this.data[line.run].nonfinite[i];
      rows.push([line.run, value === null ? NONFINITE_TEXT[nonfinite] || "NaN" : fmt(value, 4)]);
      const spike = line.spikes.find((s) => s.step === step);
      if (spike) rows.push(["", `spike \u00d7${spike.factor.toFixed(1)}`]);
    }
    this.app.readout.textContent = rows.map(([k, v]) => (k ? `${k} ${v}` : v)).join(" \u00b7 ");
    this.app.tooltip.show(rows, event);
  }

  /** A click selects the nearest logged step, as the step slider does. */
  select(event) {
    const step = this.stepAt(event);
    if (step === null) return;
    this.app.toLastStep = false;
    this.app.store.set({ step });
    this.app.update();
  }
}
