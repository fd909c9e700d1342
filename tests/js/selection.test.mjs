// The run selector, the kept state (hash and storage), the panel grid and
// the step slider's times: pure functions behind the tab's selection.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  compileRunFilter, defaultRunCount, drawnRuns, filterRuns, notLoggedText, reconcileRuns, selectAll, selectNone,
  selectionSummary,
} from "../../frontend/shell/run_list.js";
import {
  decodeState, encodeState, hashWithState, pickState, splitHash, stateFromHash, StateStore,
  storageKey,
} from "../../frontend/shell/persist.js";
import { gridLayout, MIN_PANEL_W } from "../../frontend/draw/layout.js";
import { formatDuration, stepTime } from "../../frontend/data/step_time.js";
import { declareViewOptions } from "../../frontend/shell/tab_state.js";
import { VIEWS } from "../../frontend/views/registry.js";

// The kept keys are declared by their owners: the controls' on import of
// tab_state.js, the views' options as the App declares them.
declareViewOptions(VIEWS);

const RUNS = ["run_a", "run_b", "lr_0.1", "lr_0.01", "Big_Run"];

test("the run filter is a case-insensitive regex; an invalid one says why", () => {
  assert.deepEqual(compileRunFilter(""), { regex: null, error: null });
  const lr = compileRunFilter("^lr_0\\.0");
  assert.equal(lr.error, null);
  assert.deepEqual(filterRuns(RUNS, lr), ["lr_0.01"]);
  assert.deepEqual(filterRuns(RUNS, compileRunFilter("big")), ["Big_Run"]);
  const bad = compileRunFilter("run_(");
  assert.equal(bad.regex, null);
  assert.match(bad.error, /Invalid regular expression|Unterminated group/);
  // Invalid: the list is not filtered (and the field says why).
  assert.deepEqual(filterRuns(RUNS, bad), RUNS);
});

test("all and none act on the runs the filter shows, in the index's order", () => {
  const shown = filterRuns(RUNS, compileRunFilter("lr"));
  assert.deepEqual(selectAll(RUNS, ["Big_Run", "run_a"], shown), ["run_a", "lr_0.1", "lr_0.01", "Big_Run"]);
  assert.deepEqual(selectNone(RUNS, ["run_a", "lr_0.1"], shown), ["run_a"]);
  assert.deepEqual(selectAll(RUNS, [], RUNS), RUNS);
  assert.deepEqual(selectNone(RUNS, RUNS, RUNS), []);
});

test("drawn runs: selected and shown by the filter", () => {
  assert.deepEqual(drawnRuns(RUNS, ["run_a", "lr_0.1"], compileRunFilter("lr")), ["lr_0.1"]);
  assert.deepEqual(drawnRuns(RUNS, ["lr_0.1", "run_a"], compileRunFilter("(")), ["run_a", "lr_0.1"]);
  assert.match(selectionSummary(RUNS, ["run_a", "lr_0.1"], compileRunFilter("lr")),
    /2 of 5 selected, 2 match the filter \(1 selected but filtered out/);
});

test("a kept selection falls back to the first runs that fit when none of it exists", () => {
  assert.deepEqual(reconcileRuns(RUNS, ["lr_0.1", "gone"], true), { runs: ["lr_0.1"], chosen: true });
  assert.deepEqual(reconcileRuns(RUNS, ["gone"], true, 4), { runs: RUNS.slice(0, 4), chosen: false });
  assert.deepEqual(reconcileRuns(RUNS, [], true), { runs: [], chosen: true });
  assert.deepEqual(reconcileRuns(RUNS, [], false, 2), { runs: RUNS.slice(0, 2), chosen: false });
  // Not chosen: every run up to the count, and an earlier default selection stays.
  assert.deepEqual(reconcileRuns(RUNS, [RUNS[4]], false, 2), { runs: [RUNS[0], RUNS[1], RUNS[4]], chosen: false });
  // Two rows of the panel grid (300 px panels, 16 px gaps), at least 4.
  assert.deepEqual([600, 1000, 1300, 1600].map(defaultRunCount), [4, 6, 8, 10]);
  assert.equal(notLoggedText(["run_c", "run_d"]), "not logged in: run_c, run_d");
  assert.equal(notLoggedText([]), "");
});

const STATE = {
  runs: ["run a", "r&b=#c"], runsChosen: true, runFilter: "^r", layer: "bi/gru", kind: "state_gradient",
  step: 20, lastStep: false, sample: 1, rangeMode: "fixed", rangeValue: "0.5", shared: false,
  view: "lines", scale: "symlog",
};

test("the state round-trips through its encoding; junk decodes to nothing", () => {
  const encoded = encodeState({ ...STATE, zoom: { t0: 1 }, other: 3 });
  assert.doesNotMatch(encoded, /[&#=\s]/);
  assert.deepEqual(decodeState(encoded), STATE);
  assert.deepEqual(decodeState("%7Bnot json"), {});
  assert.deepEqual(decodeState(""), {});
  assert.deepEqual(decodeState(encodeURIComponent(JSON.stringify([1, 2]))), {});
  // Fields of the wrong type are dropped, the rest kept.
  assert.deepEqual(pickState({ runs: "run_a", step: -1, sample: 2, shared: "yes", layer: "x" }),
    { sample: 2, layer: "x" });
  // The lines view's and Sample choices are kept too.
  assert.deepEqual(pickState({ sampleMode: "meanAbs", topK: 3, channels: "2, 5-6", zoom: {} }),
    { sampleMode: "meanAbs", topK: 3, channels: "2, 5-6" });
  assert.deepEqual(pickState({ topK: 0 }), {});
});

test("the hash keeps TensorBoard's '#plugin&key=value' parts and ours", () => {
  assert.deepEqual(splitHash("#rnn&a=1&b"), ["rnn", [["a", "1"], ["b", ""]]]);
  assert.equal(hashWithState("#rnn", "X"), "#rnn&rnn=X");
  assert.equal(hashWithState("#rnn&a=1&rnn=old", "X"), "#rnn&a=1&rnn=X");
  assert.equal(hashWithState("#timeseries", "X"), null);
  assert.equal(hashWithState("", "X"), null);
  assert.equal(stateFromHash("#rnn&a=1&rnn=X"), "X");
  assert.equal(stateFromHash("#scalars&rnn=X"), null);
  assert.equal(stateFromHash("#rnn"), null);
});

function fakeTop(href) {
  const url = new URL(href);
  const top = {
    location: {
      get origin() { return url.origin; }, get pathname() { return url.pathname; },
      get search() { return url.search; }, get hash() { return url.hash; }, get href() { return url.href; },
    },
    history: {
      state: { tb: 1 },
      replaceState(state, title, next) {
        assert.deepEqual(state, { tb: 1 });
        const u = new URL(next, url);
        url.pathname = u.pathname; url.search = u.search; url.hash = u.hash;
      },
    },
  };
  return top;
}

function fakeStorage() {
  const map = new Map();
  return { getItem: (k) => (map.has(k) ? map.get(k) : null), setItem: (k, v) => map.set(k, String(v)), map };
}

test("the store writes the hash and storage; a link's state wins over storage", () => {
  const top = fakeTop("http://127.0.0.1:6006/?x=1#rnn");
  const storage = fakeStorage();
  const key = storageKey("http://127.0.0.1:6006", "/", "/logs");
  const store = new StateStore({ top, storage, key });
  assert.deepEqual(store.load(), { state: {}, source: "none" });
  store.save(STATE);
  assert.match(top.location.href, /^http:\/\/127\.0\.0\.1:6006\/\?x=1#rnn&rnn=/);
  assert.deepEqual(store.load(), { state: STATE, source: "link" });
  assert.equal(store.link(STATE), top.location.href);
  // Another tab shown: the hash is left alone, storage still kept.
  const other = fakeTop("http://127.0.0.1:6006/#timeseries");
  const store2 = new StateStore({ top: other, storage, key });
  assert.deepEqual(store2.load(), { state: STATE, source: "storage" });
  store2.save({ ...STATE, step: 30 });
  assert.equal(other.location.hash, "#timeseries");
  assert.equal(decodeState(storage.map.get(key)).step, 30);
  // Another logdir: another key.
  assert.notEqual(storageKey("http://127.0.0.1:6006", "/", "/other"), key);
});

test("a store without a readable top or storage keeps what it can, never throws", () => {
  const throwing = { get location() { throw new Error("cross-origin"); } };
  const blocked = { getItem() { throw new Error("blocked"); }, setItem() { throw new Error("blocked"); } };
  const store = new StateStore({ top: throwing, storage: blocked, key: "k" });
  assert.deepEqual(store.load(), { state: {}, source: "none" });
  assert.doesNotThrow(() => store.save(STATE));
  assert.equal(store.link(STATE), null);
});

test("the grid: one run gets the whole width; runs wrap rather than squeeze", () => {
  const one = gridLayout(1400, 1, 1);
  assert.equal(one.groupsPerRow, 1);
  assert.equal(one.columnWidth, 1400);
  assert.equal(one.panelWidth, 1400);
  // A bidirectional run: forward and backward side by side.
  const bidi = gridLayout(1400, 1, 2);
  assert.equal(bidi.sideBySide, true);
  assert.equal(bidi.panelWidth, 695);
  // ... stacked when two do not fit.
  const narrow = gridLayout(500, 1, 2);
  assert.equal(narrow.sideBySide, false);
  assert.equal(narrow.panelWidth, 500);
  // 10 runs at 1000 px: as many columns as min-width panels fit, in rows.
  const ten = gridLayout(1000, 10, 1);
  assert.equal(ten.groupsPerRow, 3);
  assert.equal(ten.rows, 4);
  assert.ok(ten.columnWidth >= MIN_PANEL_W);
  assert.ok(3 * ten.columnWidth + 2 * 16 <= 1000);
  // Never wider than what is available (down to one min-width column).
  const tiny = gridLayout(200, 3, 1);
  assert.equal(tiny.groupsPerRow, 1);
  assert.ok(tiny.maxPlotW > 0);
});

test("durations and a step's wall and relative time", () => {
  assert.equal(formatDuration(0), "0 s");
  assert.equal(formatDuration(45.4), "45 s");
  assert.equal(formatDuration(65), "1 min 5 s");
  assert.equal(formatDuration(120), "2 min");
  assert.equal(formatDuration(3725), "1 h 2 min");
  assert.equal(formatDuration(2 * 86400 + 3 * 3600 + 5), "2 d 3 h");
  const series = [
    { run: "a", steps: [10, 20], wall_times: [1000, 1065] },
    { run: "b", steps: [0, 15], wall_times: [500, 4225] },
  ];
  const at15 = stepTime(series, 15);
  assert.equal(at15.run, "b");
  assert.equal(at15.relative, 3725);
  assert.match(at15.text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d · \+1 h 2 min since first step$/);
  assert.equal(stepTime(series, 20).relative, 65);
  assert.equal(stepTime(series, 99), null);
});

test("with a delay, the hash is written once, after the last change", async () => {
  const top = fakeTop("http://127.0.0.1:6006/#rnn");
  let writes = 0;
  const replace = top.history.replaceState;
  top.history.replaceState = (...args) => {
    writes += 1;
    replace(...args);
  };
  const store = new StateStore({ top, storage: fakeStorage(), key: "k", hashDelay: 20 });
  for (let step = 0; step < 50; step++) store.save({ ...STATE, step });
  assert.equal(writes, 0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(writes, 1);
  assert.equal(decodeState(stateFromHash(top.location.hash)).step, 49);
});
