// The views' registry: one contract, one list that merges, menus from the
// series' metadata. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { drawnByAView, viewById, VIEWS, viewsFor } from "../../frontend/views/registry.js";
import { served } from "./served_facts.mjs";

const AXES = ["sample", "timestep", "channel"];
const series = (meta) => ({ meta: served(meta) });
const ids = (views) => views.map((v) => v.id);

test("every view has the whole contract and its own id", () => {
  for (const view of VIEWS) {
    assert.equal(typeof view.id, "string");
    assert.equal(typeof view.label, "string");
    for (const fn of ["appliesTo", "load", "render"]) assert.equal(typeof view[fn], "function", `${view.id}.${fn}`);
    assert.equal(typeof view.perSample, "boolean", view.id);
    assert.equal(typeof view.options, "object", view.id);
    for (const [key, option] of Object.entries(view.options)) {
      assert.equal(option.valid(option.initial), true, `${view.id}: ${key}'s initial value is valid`);
    }
  }
  assert.equal(new Set(ids(VIEWS)).size, VIEWS.length);
  assert.equal(viewById("lines").label, "lines (one per channel)");
  assert.equal(viewById("nope"), null);
});

test("profile and flow views are offered only where /profile serves the series", () => {
  for (const kind of ["activation", "output_gradient", "state_gradient"]) {
    // The activation's text views (views/text.js, last_step.js) come after.
    const textViews = kind === "activation" ? ["text", "last_step"] : [];
    assert.deepEqual(ids(viewsFor([series({ kind, axes: AXES })])), ["heatmap", "lines", "profile", "flow", "samples", ...textViews]);
  }
  // Their profiles would 404 (and the cell state's panels include h_t's).
  for (const kind of ["gate_activation", "cell_state"]) {
    assert.deepEqual(ids(viewsFor([series({ kind, axes: AXES })])), ["heatmap", "lines", "samples"]);
  }
  // The metadata's has_profile decides over the kind.
  assert.deepEqual(ids(viewsFor([series({ kind: "activation", axes: AXES, has_profile: false })])),
    ["heatmap", "lines", "samples", "text", "last_step"]);
});

test("views of other kinds merge with the per-timestep ones instead of replacing them", () => {
  assert.deepEqual(ids(viewsFor([series({ kind: "weight", axes: ["row", "column"] })])), ["weights", "distributions", "norms"]);
  assert.deepEqual(ids(viewsFor([series({ kind: "gradient_horizon", axes: ["sample", "target", "timestep"] })])),
    ["horizon", "horizon_training"]);
  // A layer with both kinds of series offers both sets.
  assert.deepEqual(ids(viewsFor([
    series({ kind: "activation", axes: AXES }), series({ kind: "gradient_horizon", axes: ["sample", "target", "timestep"] }),
  ])), ["heatmap", "lines", "profile", "flow", "samples", "horizon", "horizon_training", "text", "last_step"]);
  assert.deepEqual(ids(viewsFor([series({ kind: "input_dependency", axes: ["sample", "target", "timestep"] })])),
    ["input_dependency"]);
  // The weights' views over training need the companions they read, where the metadata lists them.
  assert.deepEqual(ids(viewsFor([series({ kind: "weight", axes: ["row", "column"], companions: ["stats", "gate_stats"] })])),
    ["weights", "norms"]);
});

test("masks, labels and kinds this version does not know are drawn by no view", () => {
  for (const meta of [{ kind: "mask", axes: ["sample", "timestep"] }, { kind: "labels", axes: ["sample", "timestep"] },
    { kind: "profile", axes: AXES }]) {
    assert.equal(drawnByAView(series(meta)), false, meta.kind);
  }
  assert.equal(drawnByAView(series({ kind: "activation", axes: AXES })), true);
});
