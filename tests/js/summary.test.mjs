// The summary strip's text and click targets (frontend/shell/summary.js),
// on sentences shaped as GET /summary answers them (tests/test_verdicts.py
// checks the server's side). Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  fetchSummary, headText, sentenceTarget, shownSentences, targetTitle, whereLabel,
} from "../../frontend/shell/summary.js";

const said = (run, severity, topic, overrides = {}) => ({
  run, layer: "rnn", direction: null, cell_index: null, topic, severity, text: `${run} ${topic}`,
  remedy: null, view: { view: "profile", kind: "state_gradient", tag: "rnn/state_gradient", step: 40 },
  ...overrides,
});

test("problems come first, then notes, then ok, each in the server's order", () => {
  const sentences = [said("a", "ok", "ok"), said("b", "info", "reach"), said("b", "problem", "vanishing"),
    said("c", "problem", "nonfinite"), said("c", "info", "dominant")];
  const order = shownSentences(sentences).map((s) => `${s.run} ${s.topic}`);
  assert.deepEqual(order, ["b vanishing", "c nonfinite", "b reach", "c dominant", "a ok"]);
  assert.deepEqual(shownSentences(sentences, ["a", "c"]).map((s) => s.run), ["c", "c", "a"]);
});

test("the head line counts problems and notes of the shown sentences", () => {
  const sentences = [said("a", "problem", "vanishing"), said("a", "info", "reach"), said("b", "ok", "ok")];
  assert.equal(headText(sentences), "Summary: 1 problem, 1 note in 2 runs");
  assert.equal(headText([said("b", "ok", "ok")]), "Summary: no problem found in 1 run");
  assert.equal(headText([]), "Summary: nothing to say yet for the runs shown.");
});

test("a click opens the sentence's view; what it leaves open stays", () => {
  const current = { layer: "other", kind: "activation", view: "heatmap", step: 7 };
  assert.deepEqual(sentenceTarget(said("a", "problem", "vanishing"), current),
    { run: "a", layer: "rnn", kind: "state_gradient", view: "profile", step: 40 });
  const loss = said("a", "problem", "loss", { layer: null, view: { view: "loss", kind: "probe_loss", tag: "probe/loss", step: 420 } });
  assert.deepEqual(sentenceTarget(loss, current), { run: "a", layer: "other", kind: "activation", view: "heatmap", step: 420 });
  assert.equal(targetTitle(sentenceTarget(said("a", "problem", "vanishing"))),
    "Open the state gradient profile view of a, step 40");
});

test("where a sentence is: layer, direction and stacked cell", () => {
  assert.equal(whereLabel(said("a", "ok", "ok", { direction: "backward", cell_index: 1 })), "rnn \u00b7 backward \u00b7 cell 1");
  assert.equal(whereLabel(said("a", "ok", "ok", { layer: null })), "(run)");
  assert.equal(whereLabel(said("a", "ok", "loss", { layer: null })), "probe loss");
});

test("fetchSummary rejects with the server's text", async () => {
  const fetchFn = async () => ({ ok: false, status: 404, statusText: "Not Found", text: async () => "no run 'x'" });
  await assert.rejects(fetchSummary(fetchFn), /404 Not Found: no run 'x'/);
  const ok = async (url) => ({ ok: true, json: async () => ({ url }) });
  assert.deepEqual(await fetchSummary(ok), { url: "./summary" });
});
