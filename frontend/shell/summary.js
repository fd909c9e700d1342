// The summary strip at the top of the tab: plain-language sentences per run
// and layer from GET /summary (tb_rnn_plugin/verdicts.py: one documented
// rule per sentence over the health overview's numbers), for the runs
// shown. Problems first; each sentence says its severity by an icon and a
// word as well as by colour, names the standard remedy where there is one,
// and is a button that opens the view it names (as the health overview's
// cells do). Open while something is wrong, with the first few problems
// and "show all"; folded to its head line when nothing is.
//
// It reads /summary each time the health overview has read /health again
// (the server computes both from the same cached rows): it follows the
// overview's data-state, so the refresh code needs no change.
//
// The text and targets are pure functions (tests/js/summary.test.mjs);
// SummaryStrip owns the DOM, and writes text only through textContent.

import { el } from "../draw/dom.js";
import { runColor } from "../draw/run_colors.js";

export const SEVERITIES = {
  problem: { icon: "\u26a0", word: "problem" },
  info: { icon: "\u2139", word: "note" },
  ok: { icon: "\u2713", word: "ok" },
};
const SEVERITY_ORDER = ["problem", "info", "ok"];
// Sentences shown while the strip is not expanded: the first problems stay
// in sight without pushing the views off a 1000 px screen.
export const COLLAPSED = 3;

/** "lstm · backward · cell 1"; "probe loss" or "(run)" for a sentence about the whole run. */
export function whereLabel(sentence) {
  if (sentence.layer === null || sentence.layer === undefined) return sentence.topic === "loss" ? "probe loss" : "(run)";
  const parts = [sentence.layer];
  if (sentence.direction) parts.push(sentence.direction);
  if (Number.isInteger(sentence.cell_index)) parts.push(`cell ${sentence.cell_index}`);
  return parts.join(" \u00b7 ");
}

/**
 * The sentences of the shown `runs` (all when null), problems first, then
 * notes, then ok; within one severity in the server's order (per run and
 * layer, layers with a problem first).
 */
export function shownSentences(sentences, runs = null) {
  const wanted = runs ? new Set(runs) : null;
  const rank = (s) => {
    const i = SEVERITY_ORDER.indexOf(s.severity);
    return i < 0 ? SEVERITY_ORDER.length : i;
  };
  return sentences
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !wanted || wanted.has(s.run))
    .sort((a, b) => rank(a.s) - rank(b.s) || a.i - b.i)
    .map(({ s }) => s);
}

/** The strip's head line: "Summary: 2 problems, 5 notes in 3 runs". */
export function headText(shown) {
  if (!shown.length) return "Summary: nothing to say yet for the runs shown.";
  const count = (severity) => shown.filter((s) => s.severity === severity).length;
  const runs = new Set(shown.map((s) => s.run)).size;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const problems = count("problem");
  const parts = [problems ? plural(problems, "problem") : "no problem found"];
  if (count("info")) parts.push(plural(count("info"), "note"));
  return `Summary: ${parts.join(", ")} in ${plural(runs, "run")}`;
}

/**
 * Where a click on a sentence goes: {run, layer, kind, view, step} for
 * the shell's openHealthTarget; what the sentence leaves open (null) stays
 * as `current` has it. A sentence about the whole run (the loss, drawn by
 * the loss strip, not a view) selects its step in the current view.
 */
export function sentenceTarget(sentence, current = {}) {
  const link = sentence.view || {};
  const pick = (value, fallback) => (value === null || value === undefined ? fallback : value);
  if (sentence.layer === null || sentence.layer === undefined) {
    // About the whole run (the loss): its step, in the view the tab is on.
    return { run: sentence.run, layer: current.layer ?? null, kind: current.kind ?? null,
      view: current.view ?? "heatmap", step: pick(link.step, current.step ?? null) };
  }
  return {
    run: sentence.run,
    layer: pick(sentence.layer, current.layer ?? null),
    kind: pick(link.kind, current.kind ?? null),
    view: pick(link.view, current.view ?? "heatmap"),
    step: pick(link.step, current.step ?? null),
  };
}

/** What a sentence's button says on hover: the view it opens. */
export function targetTitle(target) {
  const kind = target.kind ? `${String(target.kind).replace(/_/g, " ")} ` : "";
  const step = target.step !== null && target.step !== undefined ? `, step ${target.step}` : "";
  return `Open the ${kind}${target.view} view of ${target.run}${step}`;
}

/** Fetches /summary; rejects with the server's text on a non-2xx answer. */
export async function fetchSummary(fetchFn = (url) => fetch(url, { credentials: "same-origin" })) {
  const response = await fetchFn("./summary");
  if (!response.ok) {
    const body = (await response.text()).trim().slice(0, 300);
    throw new Error(`${response.status} ${response.statusText || ""}${body ? `: ${body}` : ""}`.trim());
  }
  return response.json();
}

/**
 * The strip's DOM: a <details> (open while something is wrong, until the
 * user folds or opens it) with the head line, the first COLLAPSED problems
 * (or sentences, when none is a problem) and "show all".
 * opts: {onOpen(target), current() -> the tab's state, allRuns() -> every run, fetchFn}
 */
export class SummaryStrip {
  constructor({ onOpen, current, allRuns, fetchFn } = {}) {
    this.onOpen = onOpen || (() => {});
    this.current = current || (() => ({}));
    this.allRuns = allRuns || (() => []);
    this.fetchFn = fetchFn;
    this.generation = 0;
    this.sentences = [];
    this.runs = null;
    this.expanded = false;
    this.head = el("summary", { class: "rnn-summary-head" });
    this.list = el("ul", { class: "rnn-summary-list" });
    this.more = el("button", { type: "button", class: "rnn-summary-more", hidden: true });
    this.more.addEventListener("click", () => {
      this.expanded = !this.expanded;
      this.render();
    });
    this.userToggled = false;
    this.node = el("details", { id: "rnn-summary", class: "rnn-summary", hidden: true,
      dataset: { state: "empty" } }, [this.head, this.list, this.more]);
    this.head.addEventListener("click", () => {
      this.userToggled = true;
    });
  }

  /** Reads /summary again whenever the health overview (its `node`) has read /health. */
  follow(healthNode) {
    const sync = () => {
      const state = healthNode.dataset.state;
      if (state === "ready" || state === "error") this.refresh();
      else if (state === "empty") this.clear();
    };
    new MutationObserver(sync).observe(healthNode, { attributes: true, attributeFilter: ["data-state"] });
    return this;
  }

  /** The runs shown (the sentences of others are left out); redraws without reading again. */
  showRuns(runs) {
    this.runs = runs ? [...runs] : null;
    if (this.node.dataset.state === "ready") this.render();
  }

  async refresh() {
    const gen = ++this.generation;
    let json;
    try {
      json = await fetchSummary(this.fetchFn);
    } catch (error) {
      if (gen !== this.generation) return;
      this.showError(error);
      return;
    }
    if (gen !== this.generation) return;
    this.sentences = Array.isArray(json.sentences) ? json.sentences : [];
    this.node.dataset.state = "ready";
    this.render();
  }

  clear() {
    this.generation++;
    this.sentences = [];
    this.node.hidden = true;
    this.node.dataset.state = "empty";
  }

  showError(error) {
    this.node.hidden = false;
    this.node.dataset.state = "error";
    this.head.replaceChildren(el("span", { class: "rnn-summary-error",
      text: `Summary not loaded: ${String((error && error.message) || error)}` }));
    this.list.replaceChildren();
    this.more.hidden = true;
  }

  render() {
    const shown = shownSentences(this.sentences, this.runs);
    const problems = shown.filter((s) => s.severity === "problem").length;
    this.node.hidden = false;
    this.node.dataset.problems = String(problems);
    // Open while something is wrong (until the user folds or opens it):
    // with nothing wrong the head line says so and the views stay up.
    if (!this.userToggled) this.node.open = problems > 0;
    this.head.replaceChildren(el("span", {
      class: problems ? "rnn-summary-line rnn-summary-line-bad" : "rnn-summary-line", text: headText(shown),
    }));
    // Not expanded: the first problems only (notes and ok behind "show all").
    const visible = this.expanded ? shown : shown.slice(0, Math.min(COLLAPSED, problems || COLLAPSED));
    this.list.replaceChildren(...visible.map((s) => this.item(s)));
    this.more.hidden = visible.length === shown.length && !this.expanded;
    this.more.textContent = this.expanded ? "show fewer" : `show all ${shown.length}`;
  }

  item(sentence) {
    const severity = SEVERITIES[sentence.severity] || { icon: "\u2022", word: sentence.severity };
    const color = runColor(sentence.run, this.allRuns());
    const target = () => sentenceTarget(sentence, this.current());
    const button = el("button", {
      type: "button", class: "rnn-summary-open", title: targetTitle(target()),
    }, [
      el("span", { class: "rnn-summary-badge", text: `${severity.icon} ${severity.word}` }),
      el("span", { class: "rnn-summary-where" }, [
        el("span", { class: "rnn-run-swatch", style: { background: color } }),
        el("span", { class: "rnn-summary-run", text: sentence.run, style: { color } }),
        el("span", { class: "rnn-summary-layer", text: ` \u00b7 ${whereLabel(sentence)}` }),
      ]),
      // The remedy follows the finding on the same line.
      el("span", { class: "rnn-summary-text" }, [
        sentence.text,
        sentence.remedy ? el("span", { class: "rnn-summary-remedy", text: ` — try: ${sentence.remedy}` }) : null,
      ]),
    ]);
    button.addEventListener("click", () => this.onOpen(target()));
    return el("li", {
      class: `rnn-summary-item rnn-summary-${sentence.severity}`,
      dataset: { run: sentence.run, layer: sentence.layer ?? "", topic: sentence.topic, severity: sentence.severity },
    }, [button]);
  }
}
