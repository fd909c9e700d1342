// Every view of the tab, behind one contract, in View-menu order. A new
// view is a new file exporting such an object, and one line here.
//
// A view: {
//   id, label          its value and text in the View menu
//   appliesTo(meta)    whether it draws a series with this /tags metadata
//   perSample          it draws one sample (or a mean) of the probe batch:
//                      the Sample control applies; otherwise it is off
//   usesTabScales      the tab's colour range and scale controls apply
//   options            its own persisted choices: {key: {initial, valid(v)}}
//                      (read as ctx.state[key], set with ctx.setOption)
//   controls?(state, onChange) -> {node, sync()}  its inputs among the tab's
//                      controls, shown while it is the view
//   load(ctx) -> Promise<data, or null when stale>
//   render(data, ctx) -> {nodes, errors?, errorsSay?, sampled?, samples?, ...}
// }
// ctx (shell/app.js viewContext): api, index, groups ([{run, panels:
// [{series}]}] per shown run), state, allRuns, width, isStale(),
// chooseStep(steps, stepSeries) -> the step to draw (sets the slider; a
// view over all steps at once does not call it), onStep(step),
// onHover(rows, event), onLeave(), setOption(key, value), samplesKnown(n),
// rangeBadInput. See data/loaders.js for the two ways views load.

import { heatmapView } from "./heatmap.js";
import { linesView } from "./lines.js";
import { flowView, profileView } from "./profile.js";
import { samplesView } from "./samples.js";
import { weightsView } from "./weights.js";
import { distributionsView } from "./distributions.js";
import { normsView } from "./norms.js";
import { horizonView } from "./horizon.js";
import { horizonTrainingView } from "./horizon_training.js";
import { textView } from "./text.js";
import { inputDependencyView } from "./input_dependency.js";
import { lastStepView } from "./last_step.js";

export const VIEWS = [
  heatmapView,
  linesView,
  profileView,
  flowView,
  samplesView,
  weightsView,
  distributionsView,
  normsView,
  horizonView,
  horizonTrainingView,
  textView,
  inputDependencyView,
  lastStepView,
];

/** The views that draw any of `seriesList` (their metadata), in menu order. */
export function viewsFor(seriesList) {
  return VIEWS.filter((view) => seriesList.some((s) => view.appliesTo(s.meta)));
}

/** The view with this id, or null. */
export function viewById(id) {
  return VIEWS.find((view) => view.id === id) || null;
}

/** Whether some view draws this series (for the index: runs and menus). */
export function drawnByAView(series) {
  return VIEWS.some((view) => view.appliesTo(series.meta));
}
