// Refresh: reading the index (/tags) at start, on Reload, when TensorBoard
// reloads, every POLL_MS while visible and when the page is shown again;
// applying a new index without losing the user's choices. Methods of the
// App (shell/app.js), kept here by job.

import { el } from "../draw/dom.js";
import { indexFingerprint, indexTags, skippedEntries } from "../data/index_model.js";
import { errorText } from "../data/results.js";
import { drawnByAView } from "../views/registry.js";
import { connectHost, DATA_RELOADED, RUNS_CHANGED } from "./host.js";
import { compileRunFilter, filterRuns } from "./run_list.js";

// How often the tab checks its index for new data while it is visible. It
// also checks when TensorBoard reloads (its reload button; its auto-reload
// when turned on in its settings) and when the page becomes visible again.
export const POLL_MS = 10000;

const HOW_TO_LOG =
  "Log some with tb_rnn_plugin.RNNTensorBoard (a Keras " +
  "callback: model.fit(..., callbacks=[tb_rnn_plugin.RNNTensorBoard(log_dir)])) " +
  "or with the summary ops tb_rnn_plugin.activation / output_gradient / " +
  `state_gradient. This tab looks for new data every ${POLL_MS / 1000} s; ` +
  "Reload looks now.";
const EMPTY_MESSAGE = `No RNN data found. ${HOW_TO_LOG}`;

export const refreshMethods = {
  async start() {
    await this.restoreState();
    await this.loadIndex({ force: true });
    this.watchForNewData();
  },

  /** The tab's Reload: reads the index again and redraws, now. */
  async reload() {
    await this.loadIndex({ force: true });
  },

  /**
   * Follows new data: TensorBoard's reload message, a poll every POLL_MS
   * while the page is visible, and a check when it becomes visible again.
   */
  watchForNewData() {
    const check = () => this.check();
    connectHost({ [DATA_RELOADED]: check, [RUNS_CHANGED]: check });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.check();
      else this.schedulePoll();
    });
    this.schedulePoll();
  },

  schedulePoll() {
    clearTimeout(this.indexLoads.pollTimer);
    this.indexLoads.pollTimer = null;
    if (document.visibilityState !== "visible") return;
    this.indexLoads.pollTimer = setTimeout(() => this.check(), POLL_MS);
  },

  /** Checks the index for new data; one check at a time, then polls on. */
  check() {
    if (this.indexLoads.checking) {
      this.indexLoads.again = true;
      return this.indexLoads.checking;
    }
    this.indexLoads.checking = (async () => {
      try {
        do {
          this.indexLoads.again = false;
          await this.loadIndex({ force: false });
        } while (this.indexLoads.again);
      } catch (error) {
        console.error(error);
      } finally {
        this.indexLoads.checking = null;
        this.schedulePoll();
      }
    })();
    return this.indexLoads.checking;
  },

  /**
   * Reads the index. Forced (start, Reload): shows that it loads and always
   * redraws. Not forced (checks for new data): quiet, and redraws only when
   * the index changed. A failure keeps what is drawn, except on a forced
   * load with nothing drawn yet, which shows the error instead.
   */
  async loadIndex({ force }) {
    const gen = ++this.indexLoads.generation;
    try {
      if (force) {
        this.setAppState("loading");
        this.showStatus("Loading list of runs\u2026", "loading");
      }
      let json;
      try {
        json = await this.api.tags();
      } catch (error) {
        if (gen === this.indexLoads.generation) this.indexFailed(error, force);
        return;
      }
      if (gen !== this.indexLoads.generation) return;
      this.showRefreshError(null);
      const fingerprint = indexFingerprint(json);
      if (!force && fingerprint === this.indexLoads.fingerprint) return;
      this.indexLoads.fingerprint = fingerprint;
      await this.applyIndex(json, { quiet: !force });
    } finally {
      if (gen === this.indexLoads.generation) this.app.dataset.checks = String(++this.indexLoads.checks);
    }
  },

  indexFailed(error, force) {
    const shown = this.index.runs.length > 0;
    if (force && !shown) {
      this.controls.hidden = true;
      this.readout.hidden = true;
      this.panels.replaceChildren();
      this.showStatus("");
      this.showMessage(`Could not load the list of RNN series: ${errorText(error)}`, "error");
      this.setAppState("error");
      return;
    }
    // The full-page error already says it; otherwise keep what is shown.
    if (this.app.dataset.state === "error" && !shown) return;
    if (force) {
      this.showStatus(...this.drawnStatus);
      this.setAppState(this.drawnState);
    }
    this.showRefreshError(error);
  },

  /** Shows a (new) index, keeping the user's choices where they still exist. */
  async applyIndex(json, { quiet }) {
    // On the last step: go on to the newest one.
    const last = this.steps[this.steps.length - 1];
    if (this.steps.length && this.state.step === last) this.toLastStep = true;
    this.api.forgetSteps();
    this.index = indexTags(json, drawnByAView);
    const listed = new Set(this.index.series.map((s) => JSON.stringify([s.run, s.tag])));
    this.api.keepSeries((run, tag) => listed.has(JSON.stringify([run, tag])));
    const skipped = skippedEntries(json);
    this.showSkipped(skipped);
    if (!this.index.runs.length) {
      this.health.clear();
      this.controls.hidden = true;
      this.readout.hidden = true;
      this.panels.replaceChildren();
      this.drawSignature = null;
      this.steps = [];
      this.showStatus("");
      this.showMessage(skipped.length
        ? `Nothing to show: the server could not read the RNN series it found ` +
          `(see \u201c${skipped.length} series skipped\u201d above). ${HOW_TO_LOG}`
        : EMPTY_MESSAGE, "empty");
      this.setAppState("empty");
      return;
    }
    this.controls.hidden = false;
    this.readout.hidden = false;
    this.showMessage("");
    this.health.showChecking();
    this.fillRuns();
    this.fillLayers();
    await this.update({ quiet });
    // After the panels: its first read of every kept step must not slow theirs.
    this.health.refresh(this.index.runs);
  },

  /** A click in the health overview: its run shown, its layer, quantity, view and step. */
  openHealthTarget(target) {
    const st = this.state;
    if (!st.runs.includes(target.run)) st.runs = this.index.runs.filter((r) => r === target.run || st.runs.includes(r));
    this.runsChosen = true;
    if (!filterRuns([target.run], compileRunFilter(st.runFilter)).length) st.runFilter = "";
    Object.assign(st, { layer: target.layer, kind: target.kind, view: target.view, step: target.step, zoom: null });
    if (Number.isInteger(target.sample)) {
      Object.assign(st, { sample: target.sample, sampleMode: "sample" });
      this.sampleInput.value = String(target.sample);
      this.sampleSyntaxError = "";
      this.showSampleError("");
    }
    this.toLastStep = false;
    this.fillRuns();
    this.fillLayers();
    this.update();
  },

  /** A failed check for new data (null: clear). What is drawn stays. */
  showRefreshError(error) {
    this.refreshNote.hidden = !error;
    this.refreshNote.textContent = error
      ? `Could not check for new data at ${new Date().toLocaleTimeString()} ` +
        `(${errorText(error)}). Showing what was loaded before; trying again every ${POLL_MS / 1000} s.`
      : "";
  },

  /** The index's list of series or runs the server could not read. */
  showSkipped(entries) {
    this.skipped.hidden = !entries.length;
    if (!entries.length) {
      this.skipped.replaceChildren();
      return;
    }
    const open = this.skipped.open;
    const items = entries.map((e) => el("li", {}, [
      el("span", { class: "rnn-skipped-where", text: e.tag === null ? `${e.run} (whole run)` : `${e.run} \u00b7 ${e.tag}` }),
      ": ",
      el("span", { class: "rnn-skipped-reason", text: e.reason }),
    ]));
    this.skipped.replaceChildren(
      el("summary", {}, [
        el("span", { class: "rnn-skipped-count", text: `${entries.length} series skipped` }),
        el("span", { class: "rnn-muted", text: " \u2014 could not be read; not shown" }),
      ]),
      el("ul", {}, items),
    );
    this.skipped.open = open;
  },
};
