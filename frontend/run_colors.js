// One colour per run, used by every chart and the run list: a run keeps its
// colour whatever else is selected, as in TensorBoard's run selector.

/** TensorBoard-like categorical palette for runs (distinct from channels'). */
export const RUN_COLORS = [
  "#ff7043", "#0077bb", "#cc3311", "#33bbee", "#ee3377",
  "#009988", "#aa5500", "#7e57c2", "#558b2f", "#455a64",
];

/**
 * The colour of `run` among `allRuns` (every run in the index, in the
 * index's order). Runs past the palette cycle through it.
 */
export function runColor(run, allRuns) {
  const i = allRuns.indexOf(run);
  return RUN_COLORS[(i < 0 ? 0 : i) % RUN_COLORS.length];
}
