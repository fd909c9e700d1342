// What a series' /tags metadata says about its kind: whether /profile
// serves it, its cell's gates (order, labels, the memory gate) and the
// order of its weight matrices. tb_rnn_plugin/kinds.py declares these per
// kind; the tab reads them here and nowhere else.
//
// FALLBACK(kinds.py): a server from before kinds.py sends none of these
// fields; the tables below give the answers it would have. They go once
// every supported server sends has_profile, gate_order, gate_labels,
// memory_gate and matrix_order.

const FALLBACK_PROFILED = ["activation", "output_gradient", "state_gradient"];
const FALLBACK_GATE_ORDER = ["i", "f", "z", "r", "candidate", "o"];
// Weights name the candidate block c (LSTM) or h (GRU; a SimpleRNN's h is its whole cell).
const FALLBACK_GATE_LABELS = {
  i: "input gate i", f: "forget gate f", candidate: "candidate", o: "output gate o",
  z: "update gate z", r: "reset gate r", c: "candidate c", h: "candidate h",
};
const FALLBACK_MEMORY_GATES = ["f", "z"];
const FALLBACK_MATRIX_ORDER = ["kernel", "recurrent_kernel", "bias", "input_bias", "recurrent_bias"];

const known = (meta, key) => Boolean(meta) && meta[key] !== undefined;

/** Whether GET /profile serves the series (profile and flow views). */
export function hasProfile(meta) {
  if (known(meta, "has_profile")) return meta.has_profile === true;
  return Boolean(meta) && FALLBACK_PROFILED.includes(meta.kind);
}

/** The rank of `gate` in its cell's gate order (unknown gates last). */
export function gateRank(gate, meta) {
  const order = known(meta, "gate_order") && Array.isArray(meta.gate_order) ? meta.gate_order : FALLBACK_GATE_ORDER;
  const i = order.indexOf(gate);
  return i < 0 ? order.length : i;
}

/** How a gate is named on screen ("forget gate f"); "" for a series of no gate. */
export function gateLabel(gate, meta = null) {
  if (gate === null || gate === undefined) return "";
  if (known(meta, "gate_labels") && meta.gate_labels && meta.gate_labels[gate]) return meta.gate_labels[gate];
  if (gate === "h" && meta && meta.cell === "SimpleRNN") return "h (the whole cell)";
  return FALLBACK_GATE_LABELS[gate] || `gate ${gate}`;
}

/** The gate that keeps the old state (LSTM f, GRU z) as candidates to look for: [] for none. */
export function memoryGates(meta) {
  if (known(meta, "memory_gate")) return meta.memory_gate ? [meta.memory_gate] : [];
  return FALLBACK_MEMORY_GATES;
}

/** Compares matrix names in their kind's order (Keras' first, others after by name). */
export function compareMatrices(a, b, meta = null) {
  const order = known(meta, "matrix_order") && Array.isArray(meta.matrix_order) ? meta.matrix_order : FALLBACK_MATRIX_ORDER;
  const rank = (name) => (order.indexOf(name) < 0 ? order.length : order.indexOf(name));
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
