// Metadata as /tags serves it: the facts tb_rnn_plugin/kinds.py adds to a
// series (has_profile, gate_order, gate_labels, memory_gate, matrix_order,
// ...), read from the JSON tests/test_js.py writes from kinds.describe()
// and names in RNN_KIND_FACTS, so these tests use the backend's own table.
// Alone: RNN_KIND_FACTS=$(python tests/test_js.py --facts) node --test tests/js/*.test.mjs

import { readFileSync } from "node:fs";

const path = process.env.RNN_KIND_FACTS;
if (!path) {
  throw new Error("RNN_KIND_FACTS is not set: run these tests through python -m pytest tests/test_js.py");
}
const FACTS = JSON.parse(readFileSync(path, "utf8"));

/** `meta` with the facts /tags adds for its kind, cell and gate (its own fields win). */
export function served(meta) {
  const key = [meta.kind, meta.cell ?? "", meta.gate ?? ""].join("|");
  const facts = FACTS[key] ?? FACTS[[meta.kind, meta.cell ?? "", ""].join("|")] ?? FACTS[`${meta.kind}||`] ?? {};
  return { ...facts, ...meta };
}
