// The state the tab's controls own: initial values and the kept keys with
// their checks. Views declare their own (their `options`).

import { declarePersisted, isString } from "./persist.js";

export const CONTROL_STATE = {
  runs: [],
  layer: null,
  kind: null,
  step: null,
  sample: 0,
  // "sample" (the sample number), "mean" or "meanAbs" over samples.
  sampleMode: "sample",
  rangeMode: "auto",
  rangeValue: "",
  // "shared across runs": null until the user chooses (the view then picks:
  // scales.defaultSharing), true or false once chosen (kept, in links too).
  shared: null,
  view: "heatmap",
  scale: "linear",
  // The run list's regex filter (runs it hides are not drawn).
  runFilter: "",
  // Heatmap zoom window { t0, t1, c0, c1 } or null (everything); not kept.
  zoom: null,
};

declarePersisted({
  runs: (v) => Array.isArray(v) && v.length <= 10000 && v.every(isString),
  runsChosen: (v) => typeof v === "boolean",
  runFilter: isString,
  layer: isString,
  kind: isString,
  step: (v) => Number.isInteger(v) && v >= 0,
  lastStep: (v) => typeof v === "boolean",
  sample: (v) => (Number.isInteger(v) && v >= 0) || (isString(v) && v.length <= 40),
  rangeMode: isString,
  rangeValue: isString,
  shared: (v) => typeof v === "boolean",
  view: isString,
  scale: isString,
  sampleMode: isString,
});

/** A view's options as initial state ({key: initial}) and kept keys ({key: valid}). */
export function declareViewOptions(views) {
  const initial = {};
  for (const view of views) {
    for (const [key, option] of Object.entries(view.options || {})) {
      initial[key] = option.initial;
      declarePersisted({ [key]: option.valid });
    }
  }
  return initial;
}
