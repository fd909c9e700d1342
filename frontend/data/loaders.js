// The two ways views load data, written once: "a tensor at a step" (list
// the series' steps, set the step slider, pick each series' nearest logged
// step, fetch) and "kept series over all steps" (one request per series
// and companion). Both stop when a newer update started (ctx.isStale()).

import { pickStep, sampledRuns, unionSteps } from "./index_model.js";
import { settle } from "./results.js";

/** [{run, series}] of every panel of ctx.groups, in their order. */
export function itemsOf(groups) {
  return groups.flatMap((g) => g.panels.map((p) => ({ run: g.run, series: p.series })));
}

/** The runs shown that have no series of the chosen layer and quantity. */
export function missingRuns(groups) {
  return groups.filter((g) => !g.panels.length).map((g) => g.run);
}

/**
 * Loads each item's tensor at the step chosen on the slider: lists the
 * steps of every series, lets ctx.chooseStep set the slider to their union
 * (it returns the step to draw), then fetches each series at its nearest
 * logged step not above it, together with `alongside(item)` (more fetches
 * at item.step: a mask, kept statistics, labels; null for none).
 * Sets item.steps ({value}|{error}), item.step (null: none logged) and
 * item.tensor ({value}|{error}). Returns {listed, step, sampled} (sampled:
 * where TensorBoard kept a sample of the steps), or null when stale.
 */
export async function loadAtStep(ctx, items, alongside = null) {
  await Promise.all(items.map(async (item) => {
    item.steps = await settle(ctx.api.steps(item.series.run, item.series.tag));
  }));
  if (ctx.isStale()) return null;
  const listed = items.filter((i) => i.steps.value);
  const step = ctx.chooseStep(unionSteps(listed.map((i) => i.steps.value.steps)),
    listed.map((i) => ({ run: i.run, ...i.steps.value })));
  await Promise.all(listed.map(async (item) => {
    item.step = step === null ? null : pickStep(item.steps.value.steps, step);
    if (item.step === null) return;
    const [tensor] = await Promise.all([
      settle(ctx.api.tensor(item.series.run, item.series.tag, item.step)),
      alongside ? alongside(item) : null,
    ]);
    item.tensor = tensor;
  }));
  if (ctx.isStale()) return null;
  const sampled = sampledRuns(listed.map((i) => ({
    run: i.run, shown: i.steps.value.steps.length, logged: i.steps.value.logged_steps,
  })));
  return { listed, step, sampled };
}

/**
 * The whole kept series `kind` of `series` over every logged step:
 * "profile" (the per-timestep norms) or a kept companion (gate_stats,
 * gate_histogram, horizon_stats, memory_timescale, ...). {value}|{error}.
 */
export function loadKept(api, series, kind) {
  if (kind === "profile") {
    // Version-1 logs predate profiles: no request (it would only 404).
    if (series.version === 1) {
      return Promise.resolve({ error: { status: 404, message: "logged with metadata version 1, before profiles" } });
    }
    return settle(api.profile(series.run, series.tag));
  }
  return settle(api.kept(series.run, series.tag, kind));
}

/**
 * Loads the kept series `kinds` of every item: item.kept[kind] is
 * {value}|{error}. Returns the items, or null when stale.
 */
export async function loadOverSteps(ctx, items, kinds) {
  await Promise.all(items.map(async (item) => {
    const results = await Promise.all(kinds.map((kind) => loadKept(ctx.api, item.series, kind)));
    item.kept = Object.fromEntries(kinds.map((kind, i) => [kind, results[i]]));
  }));
  return ctx.isStale() ? null : items;
}
