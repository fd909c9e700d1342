// One colour per run, used by every chart and the run list: a run keeps its
// colour whatever else is selected, as in TensorBoard's run selector.

/**
 * TensorBoard-like categorical palette for runs (distinct from channels').
 * Neighbours differ in hue, so that the first few runs, the usual
 * comparison, never look alike (orange and red were 1st and 3rd).
 */
export const RUN_COLORS = [
  "#ff7043", "#0077bb", "#009988", "#ee3377", "#7e57c2",
  "#aa5500", "#33bbee", "#cc3311", "#558b2f", "#455a64",
];

/**
 * The colour of `run` among `allRuns` (every run in the index, in the
 * index's order). Runs past the palette cycle through it.
 */
export function runColor(run, allRuns) {
  const i = allRuns.indexOf(run);
  return RUN_COLORS[(i < 0 ? 0 : i) % RUN_COLORS.length];
}
