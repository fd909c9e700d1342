// The health overview above the panels: per run and layer (direction,
// stacked cell) one row from GET /health (tb_rnn_plugin/health.py): the
// first NaN/Inf and where, dead, saturated and gate-saturated units,
// dominant units (information: memory looks like that), and the gradient
// through time (the median per-sample ratio with its spread: exploding when
// it grows, vanishing when it fades), each with the step it began.
// Problems are highlighted; a click on a cell opens the view and step that
// show it. Folded to its one line (red when something is wrong) until
// the user opens it: the summary strip above says what is wrong in words.
//
// The text and click targets are pure functions (tests/js/health.test.mjs);
// HealthOverview owns the DOM.

import { el } from "../draw/dom.js";
import { fmt } from "../draw/format.js";
import { runColor } from "../draw/run_colors.js";

export const COLUMNS = [
  { key: "nonfinite", label: "first NaN/Inf", title: "The first logged step with a NaN or \u00b1Inf in any series of the layer, and where" },
  { key: "dead", label: "dead units", title: "Units whose activation and state gradient are both ~0 over the probe batch (latest step)" },
  { key: "saturated", label: "saturated units", title: "Units whose |h| is at its bound (tanh: 1) almost everywhere (latest step)" },
  { key: "gate_saturated", label: "saturated gates", title: "Units whose input/forget (GRU: update) gates are stuck near 0 or 1 (latest step)" },
  { key: "dominant", label: "dominant units", title: "Units whose state gradient is \u2265 10\u00d7 the layer's median unit (latest step): the units that carry the gradient back, as memory does. Information, not a problem" },
  { key: "exploding", label: "exploding", title: "Growth: ||dL/dh|| at the first timestep the layer processes over the last, per sample, median over the probe batch (latest step; p10\u2013p90 below), a problem above 1e3; or the state gradient's norm jumping \u2265 10\u00d7 its recent history" },
  { key: "vanishing", label: "vanishing", title: "||dL/dh|| at the first timestep the layer processes over the last, per sample, median over the probe batch (latest step; p10\u2013p90 below), a problem below 1e-3" },
];
// The cells computed from the gradient through time (health.py through_time_cell).
const THROUGH_TIME = ["vanishing", "exploding"];

const KIND_LABELS = {
  weight: "weight", weight_gradient: "weight gradient", activation: "activation",
  output_gradient: "output gradient", state_gradient: "state gradient",
  gate_activation: "gate", cell_state: "cell state",
};
const WEIGHT_KINDS = ["weight", "weight_gradient"];

/** "bi · backward · cell 1" */
export function layerLabel(row) {
  const parts = [row.layer];
  if (row.direction) parts.push(row.direction);
  if (row.cell_index !== null && row.cell_index !== undefined) parts.push(`cell ${row.cell_index}`);
  return parts.join(" \u00b7 ");
}

function percent(share) {
  const p = 100 * share;
  return `${p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)} %`;
}

function counts(cell) {
  const parts = [];
  if (cell.nan) parts.push(`${cell.nan} NaN`);
  if (cell.posinf) parts.push(`${cell.posinf} +Inf`);
  if (cell.neginf) parts.push(`${cell.neginf} \u2212Inf`);
  return parts.join(", ");
}

/** Where a non-finite value first was: "weight recurrent_kernel, gate f". */
export function whereText(cell) {
  const what = KIND_LABELS[cell.kind] || cell.kind;
  const parts = [];
  if (WEIGHT_KINDS.includes(cell.kind)) {
    parts.push(`${what} ${cell.matrix || "(matrix)"}`);
    const gates = (cell.gates || []).map((g) => g.name).filter((g) => g !== null && g !== undefined);
    if (gates.length) parts.push(`gate${gates.length > 1 ? "s" : ""} ${gates.join(", ")}`);
  } else {
    parts.push(cell.gate ? `${what} ${cell.gate}` : what);
    if (Number.isInteger(cell.timestep)) {
      const span = cell.last_timestep > cell.timestep ? `\u2013${cell.last_timestep}` : "";
      parts.push(`timestep ${cell.timestep}${span}`);
      parts.push(cell.samples > 1 ? `sample ${cell.sample} (+${cell.samples - 1})` : `sample ${cell.sample}`);
    }
  }
  if (cell.direction) parts.push(cell.direction);
  return parts.join(", ");
}

/**
 * What one cell of the table says: {text, detail, title, problem, step}.
 * `step` is where a click goes (null: nothing to open).
 */
export function cellText(row, key, levels = {}) {
  const cell = row[key];
  if (key === "nonfinite") {
    if (!cell) {
      return { text: "none", detail: "", title: `No NaN or Inf in ${row.steps ?? 0} logged steps`, problem: false, step: null };
    }
    return {
      text: `step ${cell.step}`,
      detail: whereText(cell),
      title: `First NaN/Inf at step ${cell.step}: ${whereText(cell)}; ${counts(cell)} (${cell.tag})`,
      problem: true,
      step: cell.step,
    };
  }
  if (!cell) {
    const why = THROUGH_TIME.includes(key) ? "no state gradient profile logged" : "no unit health logged";
    return { text: "\u2013", detail: "", title: why, problem: false, step: null };
  }
  const began = cell.since !== null && cell.since !== undefined;
  const since = began ? `since step ${cell.since}` : "";
  const ever = !began && cell.first_step !== null && cell.first_step !== undefined
    ? `(earlier, from step ${cell.first_step})` : "";
  if (THROUGH_TIME.includes(key)) return throughTimeText(cell, key, since || ever, began);
  if (cell.value === null && cell.over_nonfinite) {
    return {
      text: "n/a", detail: "over NaN/Inf",
      title: `At step ${cell.step} the layer's activations or gradients hold NaN/Inf: no ${key.replace("_", " ")} share`,
      problem: false, step: cell.step,
    };
  }
  const value = cell.value === null ? "no value" : percent(cell.value);
  const level = levels[key] ?? cell.level;
  const of = cell.units !== null && cell.units !== undefined ? `${cell.units} of ${cell.of} units` : `${cell.of} units`;
  const when = cell.first_step !== null && cell.first_step !== undefined ? `; first at step ${cell.first_step}` : "";
  if (key === "dominant") {
    return {
      text: value,
      detail: since || ever,
      title: `${of} at step ${cell.step} carry \u2265 ${fmt(cell.ratio_level ?? 10)}\u00d7 the median unit's gradient` +
        `${when}: the units that hold memory do; information, not a problem`,
      problem: false,
      info: true,
      step: began ? cell.since : (cell.first_step ?? cell.step),
    };
  }
  return {
    text: value,
    detail: since || ever,
    title: `${of} at step ${cell.step}; a problem from ${percent(level)}${when}`,
    problem: Boolean(cell.problem),
    step: began ? cell.since : (cell.first_step ?? cell.step),
  };
}

const known = (v) => v !== null && v !== undefined;

/** "p10\u2013p90 1e-5\u20132.3" of a through-time cell, or "". */
export function spreadText(cell) {
  return known(cell.p10) && known(cell.p90) ? `p10\u2013p90 ${fmt(cell.p10)}\u2013${fmt(cell.p90)}` : "";
}

/** The vanishing or exploding cell: the median per-sample ratio, its
 * spread, and (exploding) a jump of the norm over training. */
function throughTimeText(cell, key, when, began) {
  const value = cell.value === null ? "n/a" : fmt(cell.value);
  const vanishing = key === "vanishing";
  const past = vanishing ? cell.below : cell.above;
  const jump = !vanishing && cell.jump ? `norm \u00d7${fmt(cell.jump.factor)} at step ${cell.jump.step}` : "";
  // No ratio: a norm at either end is NaN/Inf, or the last one is 0.
  const detail = [when, jump, spreadText(cell)].filter(Boolean).join("; ") ||
    (cell.value === null ? "NaN/Inf or 0 at an end" : "");
  const samples = cell.samples > 0
    ? `; ${past ?? 0} of ${cell.samples} samples ${vanishing ? "below" : "above"}, min\u2013max ${fmt(cell.min)}\u2013${fmt(cell.max)}`
    : "";
  return {
    text: vanishing ? value : explodingText(cell, value),
    // Both cells hold one ratio: the exploding one repeats it only when it grows.
    detail: vanishing || cell.problem ? detail : "",
    title: `${cell.order}${cell.masked ? " (each sample's first and last real timestep)" : ""}` +
      `, median over samples = ${value} at step ${cell.step}${samples}; a problem ${vanishing ? "below" : "above"} ${fmt(cell.level)}` +
      (jump ? `, or a norm \u2265 10\u00d7 its recent history (${jump})` : "") +
      (began ? `, since step ${cell.since}` : "") +
      (known(cell.first_step) ? `; first at step ${cell.first_step}` : ""),
    problem: Boolean(cell.problem),
    step: began ? cell.since : (cell.first_step ?? cell.step),
  };
}

/** The exploding cell's word: the ratio when it grows through time, the
 * norm's jump when it grew over training, else "no" (the ratio is the
 * vanishing cell's, beside it; the title still gives it). */
function explodingText(cell, value) {
  if (cell.through_time || (cell.problem && !cell.jump)) return value;
  if (cell.jump) return `norm \u00d7${fmt(cell.jump.factor)}`;
  return "no";
}

/**
 * Where a click on a cell goes: {run, layer, kind, view, step, sample?}, or
 * null. `viewsFor(kind)`: the View menu of a quantity (views/registry.js, as [{value}]).
 * NaN/Inf: its series' quantity at that step (per-timestep kinds: heatmap
 * of the sample holding it; weights: their own view where there is one,
 * else the activation heatmap); dead / saturated: the activation heatmap;
 * saturated gates: the gate heatmaps; dominant: the state gradient
 * heatmap; exploding and vanishing: the state gradient's profile over
 * timesteps.
 */
export function healthTarget(row, key, viewsFor = () => []) {
  const shown = cellText(row, key);
  if (shown.step === null || shown.step === undefined) return null;
  const target = { run: row.run, layer: row.layer, step: shown.step, kind: "activation", view: "heatmap" };
  if (key === "nonfinite") {
    const cell = row.nonfinite;
    if (WEIGHT_KINDS.includes(cell.kind)) {
      const views = viewsFor(cell.kind).map((v) => v.value);
      if (views.length) {
        target.kind = cell.kind;
        target.view = views.includes("weights") ? "weights" : views[0];
      }
    } else {
      target.kind = cell.kind;
      if (Number.isInteger(cell.sample)) target.sample = cell.sample;
    }
  } else if (key === "gate_saturated") {
    target.kind = "gate_activation";
  } else if (key === "dominant") {
    target.kind = "state_gradient";
  } else if (THROUGH_TIME.includes(key)) {
    target.kind = "state_gradient";
    target.view = "profile";
  }
  return target;
}

/** How many rows have a problem in any column. */
export function problemRows(rows) {
  return rows.filter((row) => COLUMNS.some((c) => cellText(row, c.key).problem)).length;
}

/** The summary line: "all healthy" or what is wrong, first NaN named. */
export function summaryText(rows) {
  if (!rows.length) return "Health: nothing to check yet (no layer logged with statistics).";
  const runs = new Set(rows.map((r) => r.run)).size;
  const where = `${rows.length} layer${rows.length > 1 ? "s" : ""} in ${runs} run${runs > 1 ? "s" : ""}`;
  const bad = problemRows(rows);
  if (!bad) {
    return `Health: all healthy \u2014 ${where}: no NaN/Inf, no dead or saturated units, no exploding or vanishing gradient.`;
  }
  const nan = rows.filter((r) => r.nonfinite).sort((a, b) => a.nonfinite.step - b.nonfinite.step);
  const first = nan.length
    ? ` First NaN/Inf: ${nan[0].run} \u00b7 ${layerLabel(nan[0])} at step ${nan[0].nonfinite.step} (${whereText(nan[0].nonfinite)}).`
    : "";
  return `Health: ${bad} of ${where.replace(/ in .*/, "")} with a problem.${first}`;
}

/** Fetches /health; rejects with the server's text on a non-2xx answer. */
export async function fetchHealth(fetchFn = (url) => fetch(url, { credentials: "same-origin" })) {
  const response = await fetchFn("./health");
  if (!response.ok) {
    const body = (await response.text()).trim().slice(0, 300);
    throw new Error(`${response.status} ${response.statusText || ""}${body ? `: ${body}` : ""}`.trim());
  }
  return response.json();
}

/**
 * The overview's DOM: a <details> (folded until the user opens it) with
 * the summary line and the table.
 * opts: {onOpen(target), viewsFor, fetchFn}
 */
export class HealthOverview {
  constructor({ onOpen, viewsFor, fetchFn } = {}) {
    this.onOpen = onOpen || (() => {});
    this.viewsFor = viewsFor || (() => []);
    this.fetchFn = fetchFn;
    this.generation = 0;
    this.userToggled = false;
    this.summary = el("summary", { class: "rnn-health-summary" });
    this.body = el("div", { class: "rnn-health-body" });
    this.node = el("details", { id: "rnn-health", class: "rnn-health", hidden: true, dataset: { state: "empty" } },
      [this.summary, this.body]);
    this.summary.addEventListener("click", () => {
      this.userToggled = true;
    });
  }

  /** Reads /health again and redraws (the newest call wins). */
  async refresh(allRuns) {
    const gen = ++this.generation;
    this.showChecking();
    let json;
    try {
      json = await fetchHealth(this.fetchFn);
    } catch (error) {
      if (gen !== this.generation) return;
      this.showError(error);
      return;
    }
    if (gen !== this.generation) return;
    this.render(Array.isArray(json.rows) ? json.rows : [], allRuns, json.levels || {});
  }

  /** Says it is checking; shows one line at once the first time, so the
   * controls do not jump down when the overview arrives. */
  showChecking() {
    this.node.dataset.state = "loading";
    if (!this.node.hidden) return;
    this.node.hidden = false;
    this.summary.replaceChildren(el("span", {
      class: "rnn-health-line rnn-health-loading", text: "Health: checking every logged step\u2026",
    }));
  }

  clear() {
    this.generation++;
    this.node.hidden = true;
    this.node.dataset.state = "empty";
  }

  showError(error) {
    this.node.hidden = false;
    this.node.dataset.state = "error";
    this.summary.replaceChildren(el("span", {
      class: "rnn-health-error", text: `Health overview not loaded: ${String((error && error.message) || error)}`,
    }));
    this.body.replaceChildren();
  }

  render(rows, allRuns, levels = {}) {
    const bad = problemRows(rows);
    this.node.hidden = false;
    this.node.dataset.state = "ready";
    this.node.dataset.problems = String(bad);
    // Folded until the user opens it: the summary strip above already says
    // what is wrong, and an open table pushes the views below the fold.
    if (!this.userToggled) this.node.open = false;
    this.summary.replaceChildren(el("span", {
      class: bad ? "rnn-health-line rnn-health-line-bad" : "rnn-health-line", text: summaryText(rows),
    }));
    const unitLevels = levels.units || {};
    const head = el("tr", {}, [
      el("th", { text: "run" }), el("th", { text: "layer" }),
      ...COLUMNS.map((c) => el("th", { text: c.label, title: c.title })),
    ]);
    const body = rows.map((row) => this.rowElement(row, allRuns, unitLevels));
    this.body.replaceChildren(
      el("table", { class: "rnn-health-table" }, [el("thead", {}, [head]), el("tbody", {}, body)]),
      el("div", { class: "rnn-health-note", text:
        "Shares of units and median per-sample gradient ratios (p10\u2013p90 of the samples) at the latest logged step; " +
        "dominant units are information, not a problem; \u201csince\u201d: the step the current spell began. " +
        "Click a cell to open the view and step that show it." }),
    );
  }

  rowElement(row, allRuns, levels) {
    const color = runColor(row.run, allRuns);
    const cells = COLUMNS.map((column) => {
      const shown = cellText(row, column.key, levels);
      const target = healthTarget(row, column.key, this.viewsFor);
      const td = el("td", {
        class: `rnn-health-cell${shown.problem ? " rnn-health-problem" : ""}${shown.info ? " rnn-health-info" : ""}` +
          `${target ? " rnn-health-link" : ""}`,
        title: shown.title + (target ? ` \u2014 click: ${target.kind.replace("_", " ")} ${target.view}, step ${target.step}` : ""),
        dataset: { column: column.key, problem: shown.problem ? "true" : "false", step: shown.step },
        attrs: target ? { role: "button", tabindex: "0" } : {},
      }, [
        el("span", { class: "rnn-health-value", text: shown.text }),
        shown.detail ? el("span", { class: "rnn-health-detail", text: shown.detail }) : null,
      ]);
      if (target) {
        const open = () => this.onOpen(target);
        td.addEventListener("click", open);
        td.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
          }
        });
      }
      return td;
    });
    return el("tr", { dataset: { run: row.run, layer: row.layer, direction: row.direction || "none" } }, [
      el("td", { class: "rnn-health-run", title: row.run }, [
        el("span", { class: "rnn-run-swatch", style: { background: color } }),
        el("span", { text: row.run, style: { color } }),
      ]),
      el("td", { class: "rnn-health-layer", text: layerLabel(row) + (row.cell ? ` (${row.cell})` : "") }),
      ...cells,
    ]);
  }
}
