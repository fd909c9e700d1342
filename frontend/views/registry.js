// The views drawn by their own modules, for the quantities whose data is
// not a [sample, timestep, channel] tensor per panel (weights, gradient
// horizon). Each module calls series.registerView(kinds, {value, text,
// render, perSample?}) when imported; importing it here puts it in the
// View menu. perSample: the view draws one sample (or the mean) of the
// probe batch, so the tab's Sample control applies; otherwise it is off.
//
// render(ctx) -> Promise<{nodes: Node[], errors?: number, sampled?: Array,
//                          samples?: number (the most any run logged)}>
//   ctx.api        Api (api.js): tags, steps, tensor, profile, kept
//   ctx.index      indexTags() result; ctx.allRuns its runs (for runColor)
//   ctx.groups     [{run, panels: [{series}]}]: per shown run, the series of
//                  the chosen layer and quantity (seriesFor order)
//   ctx.state      the tab's state (step, sample, layer, kind, view, ...)
//   ctx.width      the width available, px
//   ctx.chooseStep(steps, stepSeries) -> the step to draw: sets the step
//                  slider (stepSeries: [{run, steps, wall_times}]) and
//                  honours "follow the newest step"; views over all steps
//                  at once do not call it (the slider is then disabled)
//   ctx.onStep(step)  select a step (e.g. a click on an overview bar)
//   ctx.onHover(rows, event), ctx.onLeave()  the shared tooltip/readout
//   ctx.redraw()   draw again (e.g. after a view-local control changed)
//   ctx.isStale()  true once a newer update started: stop and return
// errors: how many charts could not be drawn (each says why in its node).

import "./weights.js";
import "./gate_history_view.js";
import "./horizon.js";
import "./horizon_training.js";
