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

/**
 * [lo, hi] when every value of the series is known to lie in it (a
 * sigmoid gate's activations: [0, 1]), else null.
 */
export function valueRange(meta) {
  const range = meta && meta.value_range;
  return Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] < range[1]
    ? [range[0], range[1]] : null;
}

/** Whether the series' values are known to lie in [0, 1] (drawn on a sequential 0..1 scale). */
export function isUnitInterval(meta) {
  const range = valueRange(meta);
  return Boolean(range) && range[0] === 0 && range[1] === 1;
}

/** Compares matrix names in their kind's order (listed ones first, others after by name). */
export function compareMatrices(a, b, meta = null) {
  const order = listOr(meta && meta.matrix_order, []);
  const rank = (name) => (order.indexOf(name) < 0 ? order.length : order.indexOf(name));
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
