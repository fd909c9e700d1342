// Organises the /tags index by what the metadata says (layer, kind,
// direction). Nothing here reads meaning from tag strings.

import { gateRank } from "./kind_facts.js";

export { gateLabel } from "./kind_facts.js";

export const MASK = "mask";

/** The quantities a user can pick, in menu order. */
export const QUANTITIES = [
  { kind: "activation", label: "activation y_t" },
  { kind: "output_gradient", label: "output gradient dL/dy_t" },
  { kind: "state_gradient", label: "state gradient dL/dh_t" },
  { kind: "gate_activation", label: "gate activations (each gate of LSTM/GRU)" },
  { kind: "cell_state", label: "cell state c_t (LSTM)" },
  { kind: "weight", label: "weights (kernel | recurrent kernel | bias, by gate)" },
  { kind: "weight_gradient", label: "weight gradients dL/dW (by gate)" },
  { kind: "gradient_horizon", label: "gradient horizon ||dL_t/dh_j|| (RNNbow)" },
  { kind: "input_dependency", label: "input dependency ||dL_t/de_j|| (over the tokens)" },
];

export function quantityLabel(kind) {
  const q = QUANTITIES.find((x) => x.kind === kind);
  return q ? q.label : kind;
}

/** Panel heading for a direction (null for a unidirectional layer). */
export function directionLabel(direction) {
  if (direction === "forward") return "forward";
  if (direction === "backward") return "backward (input-time order)";
  return "";
}

const DIRECTION_ORDER = { forward: 0, backward: 1 };

function compareStrings(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Flattens {"runs": {run: {tag: {metadata, description, max_step}}}}.
 * Entries without usable metadata are skipped; kinds this tab does not
 * draw are kept but no run is listed for them alone: drawableSeries(series)
 * says which it draws (the views' registry does; by default the
 * per-timestep tensors).
 * @returns {{runs: string[], series: Array<Object>, drawable: Function}}
 */
export function indexTags(json, drawableSeries = (s) => isTimestepTensor(s.meta)) {
  const runsJson = (json && typeof json.runs === "object" && json.runs) || {};
  const series = [];
  const runs = Object.keys(runsJson).sort(compareStrings);
  for (const run of runs) {
    const tags = (runsJson[run] && typeof runsJson[run] === "object" && runsJson[run]) || {};
    for (const tag of Object.keys(tags).sort(compareStrings)) {
      const entry = tags[tag] || {};
      const meta = entry.metadata;
      if (!meta || typeof meta !== "object" || typeof meta.kind !== "string") continue;
      series.push({
        run,
        tag,
        kind: meta.kind,
        layer: meta.layer === null || meta.layer === undefined ? "(unnamed layer)" : String(meta.layer),
        cell: meta.cell || null,
        direction: meta.direction || null,
        maskTag: meta.mask_tag || null,
        cellIndex: Number.isInteger(meta.cell_index) ? meta.cell_index : null,
        gate: typeof meta.gate === "string" ? meta.gate : null,
        axes: Array.isArray(meta.axes) ? meta.axes.map(String) : null,
        // The whole metadata (weights' matrix and gates, horizon targets...).
        meta,
        description: entry.description || "",
        maxStep: entry.max_step,
        version: Number.isInteger(meta.version) ? meta.version : 0,
      });
    }
  }
  const index = { runs: [], series, drawable: drawableSeries };
  index.runs = runs.filter((run) => series.some((s) => s.run === run && drawable(index, s)));
  return index;
}

const TIMESTEP_AXES = ["sample", "timestep", "channel"];

/**
 * Whether a series' metadata is a [sample, timestep, channel] tensor of a
 * quantity this tab knows (what the per-timestep views draw). Masks, and
 * kinds this version does not know (a newer writer's), are not.
 */
export function isTimestepTensor(meta) {
  if (!meta || !QUANTITIES.some((q) => q.kind === meta.kind)) return false;
  if (!Array.isArray(meta.axes)) return true;
  return meta.axes.length === TIMESTEP_AXES.length && meta.axes.every((axis, i) => axis === TIMESTEP_AXES[i]);
}

/** Whether the tab draws a series: a known quantity some view applies to (index.drawable). */
function drawable(index, series) {
  return QUANTITIES.some((q) => q.kind === series.kind) && index.drawable(series);
}

/**
 * A string that changes when the index does: every run, tag, newest step
 * and metadata, and what was skipped. Equal strings: nothing to redraw.
 */
export function indexFingerprint(json) {
  const runsJson = (json && typeof json.runs === "object" && json.runs) || {};
  const parts = [];
  for (const run of Object.keys(runsJson).sort(compareStrings)) {
    const tags = (runsJson[run] && typeof runsJson[run] === "object" && runsJson[run]) || {};
    for (const tag of Object.keys(tags).sort(compareStrings)) {
      const entry = tags[tag] || {};
      parts.push([run, tag, entry.max_step ?? null, stableJson(entry.metadata ?? null),
        entry.description || ""]);
    }
  }
  return JSON.stringify([parts, skippedEntries(json)]);
}

/** JSON with object keys sorted, so equal content gives equal text. */
function stableJson(value) {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort(compareStrings)
      .map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

/**
 * The series or runs the server could not read, from the index's optional
 * "skipped" list: [{run, tag (null: the whole run), reason}], as strings.
 * Malformed entries are dropped; absent or empty gives [].
 */
export function skippedEntries(json) {
  const list = json && Array.isArray(json.skipped) ? json.skipped : [];
  const text = (v) => (v === null || v === undefined ? null : String(v));
  return list
    .filter((e) => e && typeof e === "object" && e.run !== undefined && e.run !== null)
    .map((e) => ({ run: String(e.run), tag: text(e.tag), reason: text(e.reason) || "no reason given" }));
}

/**
 * Where TensorBoard kept a sample of a series' steps: from
 * [{run, shown, logged}] (logged null or <= shown: not sampled), one entry
 * per run with its distinct "S of N" counts, runs in the order given.
 * @returns {Array<{run: string, counts: string[]}>}
 */
export function sampledRuns(items) {
  const byRun = new Map();
  for (const { run, shown, logged } of items) {
    if (!Number.isInteger(logged) || logged <= shown) continue;
    if (!byRun.has(run)) byRun.set(run, []);
    const counts = `${shown} of ${logged}`;
    if (!byRun.get(run).includes(counts)) byRun.get(run).push(counts);
  }
  return [...byRun].map(([run, counts]) => ({ run, counts }));
}

/** The TensorBoard flag that keeps every step of this plugin's series. */
export const KEEP_ALL_FLAG = "--samples_per_plugin rnn=0";
export const SAMPLING_ADVICE =
  `TensorBoard keeps a sample of large tensors; start it with ${KEEP_ALL_FLAG} ` +
  "to keep all (uses more memory)";

/** The note shown by the step slider when steps were sampled, or "". */
export function samplingNote(sampled) {
  if (!sampled.length) return "";
  const parts = sampled.map(({ run, counts }) => `${run}: showing ${counts.join(", ")} logged steps`);
  return `${parts.join("; ")} \u2014 ${SAMPLING_ADVICE}`;
}

/** Layer names that have a drawable (non-mask) series in any of `runs`. */
export function layersOf(index, runs = null) {
  const names = new Set();
  for (const s of index.series) {
    if (!drawable(index, s)) continue;
    if (runs && !runs.includes(s.run)) continue;
    names.add(s.layer);
  }
  return [...names].sort(compareStrings);
}

/** Kinds (in QUANTITIES order) that `layer` has in any of `runs`. */
export function kindsOf(index, layer, runs = null) {
  const kinds = new Set();
  for (const s of index.series) {
    if (s.layer !== layer || !drawable(index, s)) continue;
    if (runs && !runs.includes(s.run)) continue;
    kinds.add(s.kind);
  }
  const known = QUANTITIES.map((q) => q.kind).filter((k) => kinds.has(k));
  const unknown = [...kinds].filter((k) => !known.includes(k)).sort(compareStrings);
  return known.concat(unknown);
}

/**
 * The series drawn for one run: one for a unidirectional layer, forward and
 * backward for a Bidirectional one; per cell of a stack; per gate for gate
 * activations (in Keras' gate order).
 */
export function seriesFor(index, run, layer, kind) {
  return index.series
    .filter((s) => s.run === run && s.layer === layer && s.kind === kind)
    .sort((a, b) => {
      const da = a.direction in DIRECTION_ORDER ? DIRECTION_ORDER[a.direction] : -1;
      const db = b.direction in DIRECTION_ORDER ? DIRECTION_ORDER[b.direction] : -1;
      return da - db || (a.cellIndex ?? -1) - (b.cellIndex ?? -1) ||
        gateRank(a.gate, a.meta) - gateRank(b.gate, b.meta) || compareStrings(a.tag, b.tag);
    });
}

/**
 * The series drawn for one run: seriesFor's, and with the cell state c_t
 * the layer's output h_t beside each (same direction and cell), so the two
 * read side by side.
 */
export function panelSeries(index, run, layer, kind) {
  const series = seriesFor(index, run, layer, kind);
  if (kind !== "cell_state") return series;
  const outputs = seriesFor(index, run, layer, "activation");
  return series.flatMap((c) => [c, ...outputs.filter((h) =>
    h.direction === c.direction && (h.cellIndex ?? null) === (c.cellIndex ?? null))]);
}

/** The mask series a series points to, if the run has it. */
export function maskSeriesOf(index, series) {
  if (!series.maskTag) return null;
  return index.series.find((s) => s.run === series.run && s.tag === series.maskTag) || null;
}

/** Sorted union of step lists. */
export function unionSteps(lists) {
  const all = new Set();
  for (const list of lists) for (const step of list) all.add(step);
  return [...all].sort((a, b) => a - b);
}

/**
 * The logged step drawn for a chosen step: the nearest one not above it,
 * else (all logged steps are above) the nearest one. Null if none logged.
 * @param {number[]} steps sorted ascending
 */
export function pickStep(steps, chosen) {
  if (!steps.length) return null;
  let best = null;
  for (const step of steps) {
    if (step <= chosen) best = step;
    else break;
  }
  return best === null ? steps[0] : best;
}

/** Index into sorted `steps` of the entry nearest to `value`. */
export function nearestIndex(steps, value) {
  let best = 0;
  for (let i = 1; i < steps.length; i++) {
    if (Math.abs(steps[i] - value) < Math.abs(steps[best] - value)) best = i;
  }
  return best;
}
