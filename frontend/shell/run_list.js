// The run selector's pure logic: the regex filter over run names (as in
// TensorBoard's run selector: case-insensitive, invalid patterns reported,
// never silently dropped), "all" / "none" over the runs the filter shows,
// the default selection, and the compact line for runs without the chosen
// series.

import { gridLayout } from "../draw/layout.js";

/** The fewest runs checked until the user chooses (when there are that many). */
export const MIN_DEFAULT_RUNS = 4;
/** How many rows of the panel grid the first selection may fill. */
export const DEFAULT_GRID_ROWS = 2;

/**
 * How many runs are checked until the user chooses, at a panels' width of
 * `width` px: as many as DEFAULT_GRID_ROWS rows of the panel grid hold
 * (gridLayout's columns of the narrowest panel), at least MIN_DEFAULT_RUNS.
 * 6 at 1000 px, 8 at 1300 px, 10 at 1600 px. Every run of a typical
 * comparison (a handful of runs) is shown at first.
 */
export function defaultRunCount(width) {
  const across = gridLayout(Math.max(0, width || 0), Infinity, 1).groupsPerRow;
  return Math.max(MIN_DEFAULT_RUNS, DEFAULT_GRID_ROWS * across);
}

/**
 * Compiles the filter text. Empty: no filter. Returns {regex, error}: regex
 * null when there is no (valid) filter; error the engine's reason when the
 * pattern is not a valid regular expression.
 */
export function compileRunFilter(text) {
  const source = String(text || "");
  if (!source) return { regex: null, error: null };
  try {
    return { regex: new RegExp(source, "i"), error: null };
  } catch (e) {
    return { regex: null, error: String((e && e.message) || e) };
  }
}

/** The runs the filter shows (all of them without a valid filter). */
export function filterRuns(runs, filter) {
  if (!filter || !filter.regex) return runs.slice();
  return runs.filter((run) => filter.regex.test(run));
}

/** The selection after "all": every shown run added, in the index's order. */
export function selectAll(allRuns, selected, shown) {
  const keep = new Set([...selected, ...shown]);
  return allRuns.filter((run) => keep.has(run));
}

/** The selection after "none": every shown run removed (hidden ones stay). */
export function selectNone(allRuns, selected, shown) {
  const drop = new Set(shown);
  return allRuns.filter((run) => selected.includes(run) && !drop.has(run));
}

/** What is drawn: selected runs the filter shows, in the index's order. */
export function drawnRuns(allRuns, selected, filter) {
  const shown = new Set(filterRuns(allRuns, filter));
  return allRuns.filter((run) => selected.includes(run) && shown.has(run));
}

/**
 * The selection for a (new) index: the user's choice where any of it still
 * exists (an explicit empty choice stands too), else the first `count`
 * runs (defaultRunCount of the panels' width). Until the user chooses, runs
 * that appear later join the selection while it has room.
 * Returns {runs, chosen}.
 */
export function reconcileRuns(allRuns, selected, chosen, count = MIN_DEFAULT_RUNS) {
  const kept = selected.filter((run) => allRuns.includes(run));
  if (chosen && (kept.length || !selected.length)) return { runs: kept, chosen: true };
  return { runs: allRuns.filter((run, i) => i < count || kept.includes(run)), chosen: false };
}

/** "not logged in: run_c, run_d" (or "" when every run has it). */
export function notLoggedText(runs) {
  return runs.length ? `not logged in: ${runs.join(", ")}` : "";
}

/** "2 of 10 runs selected" with what the filter hides, for the run box. */
export function selectionSummary(allRuns, selected, filter) {
  const shown = filterRuns(allRuns, filter);
  const hidden = selected.filter((run) => !shown.includes(run)).length;
  let text = `${selected.length} of ${allRuns.length} selected`;
  if (filter && filter.regex) text += `, ${shown.length} match the filter`;
  if (hidden) text += ` (${hidden} selected but filtered out: not drawn)`;
  return text;
}
