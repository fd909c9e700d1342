// What a series' /tags metadata says about its kind: whether /profile
// serves it, its cell's gates (order, labels, the memory gate) and the
// order of its weight matrices. tb_rnn_plugin/kinds.py declares these per
// kind and the backend adds them to every series it serves (also to logs
// written before they existed); the tab reads them here and nowhere else.
// A field that is absent means the kind has no such fact.

const listOr = (value, empty) => (Array.isArray(value) ? value : empty);

/** Whether GET /profile serves the series (profile and flow views). */
export function hasProfile(meta) {
  return Boolean(meta) && meta.has_profile === true;
}

/** The rank of `gate` in its cell's gate order (unknown gates last). */
export function gateRank(gate, meta) {
  const order = listOr(meta && meta.gate_order, []);
  const i = order.indexOf(gate);
  return i < 0 ? order.length : i;
}

/** How a gate is named on screen ("forget gate f"); "" for a series of no gate. */
export function gateLabel(gate, meta = null) {
  if (gate === null || gate === undefined) return "";
  const labels = meta && meta.gate_labels;
  return (labels && labels[gate]) || `gate ${gate}`;
}

/** The gate that keeps the old state (LSTM f, GRU z): [] for none. */
export function memoryGates(meta) {
  return meta && meta.memory_gate ? [meta.memory_gate] : [];
}

/** Compares matrix names in their kind's order (listed ones first, others after by name). */
export function compareMatrices(a, b, meta = null) {
  const order = listOr(meta && meta.matrix_order, []);
  const rank = (name) => (order.indexOf(name) < 0 ? order.length : order.indexOf(name));
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
