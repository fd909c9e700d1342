// The tab's shell: one state store, the controls (shell/controls.js),
// refresh and persistence (shell/refresh.js, shell/saved_state.js) and the
// one path by which any view is drawn: the View menu's view (views/
// registry.js) loads with a context, then renders its nodes under the controls.

import { el } from "../draw/dom.js";
import { GRID_GAP } from "../draw/layout.js";
import { hoverText, Tooltip } from "../draw/tooltip.js";
import { panelSeries } from "../data/index_model.js";
import { errorText } from "../data/results.js";
import { useTokenSource } from "../data/tokens.js";
import { sampleRangeError } from "../data/samples.js";
import { viewById, VIEWS, viewsFor } from "../views/registry.js";
import { controlMethods } from "./controls.js";
import { HealthOverview } from "./health.js";
import { mountProbeNotice } from "./probe_notice.js";
import { LossStrip } from "./loss_strip.js";
import { refreshMethods } from "./refresh.js";
import { compileRunFilter } from "./run_list.js";
import { savedStateMethods } from "./saved_state.js";
import { Store } from "./store.js";
import { SummaryStrip } from "./summary.js";
import { CONTROL_STATE, declareViewOptions } from "./tab_state.js";

const HOVER_HINT = "Hover over a plot to read values.";

export class App {
  constructor(root, api) {
    this.api = api;
    this.index = { runs: [], series: [] };
    this.steps = [];
    // Index loads (start, Reload, checks for new data; shell/refresh.js):
    // the newest one (generation) wins; one check runs at a time.
    this.indexLoads = { generation: 0, fingerprint: null, checks: 0, checking: null, again: false, pollTimer: null };
    // Set when new data arrives while the user is on the last step.
    this.toLastStep = false;
    // Whether the user has checked or unchecked a run (else: default runs).
    this.runsChosen = false;
    this.drawSignature = null;
    this.drawnStatus = ["", ""];
    this.drawnState = "ready";
    // Where the selection is kept across reloads (set up in start()).
    this.keptState = null;
    this.runFilter = compileRunFilter("");
    // {run, steps, wall_times} of the drawn series, for the slider's times.
    this.stepSeries = [];
    this.store = new Store({ ...CONTROL_STATE, ...declareViewOptions(VIEWS) });
    // Every change is kept (the link and the next visit show it).
    this.store.subscribe(() => this.saveState());
    this.buildControls();
    this.buildLayout(root);
    mountProbeNotice(this);
    useTokenSource(() => ({ api: this.api, index: this.index }));
    this.wireControls();
  }

  /** The store's state: what the controls and views chose. */
  get state() {
    return this.store.state;
  }

  /** The page: health overview, controls, notices, readout and the view's panels. */
  buildLayout(root) {
    // Series or runs the server could not read: a collapsed notice.
    this.skipped = el("details", { id: "rnn-skipped", class: "rnn-skipped", hidden: true });
    // A failed check for new data: said here, what is drawn stays.
    this.refreshNote = el("div", { id: "rnn-refresh", class: "rnn-refresh", hidden: true, attrs: { role: "status" } });
    this.status = el("div", { id: "rnn-status", class: "rnn-status", attrs: { role: "status", "aria-live": "polite" } });
    this.message = el("div", { id: "rnn-message", class: "rnn-message", hidden: true });
    this.readout = el("div", { id: "rnn-readout", class: "rnn-readout", text: HOVER_HINT });
    this.panels = el("div", { id: "rnn-panels", class: "rnn-panels", style: { gap: `${GRID_GAP}px` } });
    // Per run and layer: first NaN/Inf, dead/saturated/exploding units,
    // vanishing gradient; a click opens what shows it (shell/health.js).
    this.health = new HealthOverview({
      onOpen: (target) => this.openHealthTarget(target),
      viewsFor: (kind) => viewsFor(this.index.series.filter((s) => s.kind === kind)).map((v) => ({ value: v.id })),
    });
    // Plain-language sentences per run and layer, above all (shell/summary.js).
    this.summary = new SummaryStrip({ onOpen: (target) => this.openHealthTarget(target),
      current: () => this.state, allRuns: () => this.index.runs }).follow(this.health.node);
    this.lossStrip = new LossStrip(this);
    this.app = el("div", { id: "rnn-app", class: "rnn-app", dataset: { state: "loading", checks: 0 } }, [
      this.summary.node, this.health.node, this.controls, this.skipped, this.refreshNote, this.status, this.message,
      this.lossStrip.node, this.readout, this.panels,
    ]);
    root.replaceChildren(this.app);
    this.tooltip = new Tooltip(document.body);
  }

  setAppState(state) {
    this.app.dataset.state = state;
  }

  showStatus(text, kind = "") {
    this.status.textContent = text;
    this.status.className = `rnn-status ${kind ? `rnn-status-${kind}` : ""}`;
  }

  /** A message instead of the plots (empty logdir, failed index), with Reload. */
  showMessage(text, kind) {
    this.message.hidden = !text;
    this.message.className = `rnn-message ${kind ? `rnn-message-${kind}` : ""}`;
    if (!text) {
      this.message.replaceChildren();
      return;
    }
    const button = el("button", { type: "button", class: "rnn-message-reload", text: "Reload" });
    button.addEventListener("click", () => this.reload());
    this.message.replaceChildren(el("p", { text }), button);
  }

  hideHover() {
    this.readout.textContent = HOVER_HINT;
    this.tooltip.hide();
  }

  /** Nothing to draw (no run shown, no layer or quantity): says why. */
  showNothing() {
    const hidden = this.state.runs.length && !this.shownRuns().length;
    this.panels.replaceChildren(el("div", {
      class: "rnn-message",
      text: hidden ? "No selected run matches the run filter." : "Select at least one run.",
    }));
    this.drawSignature = null;
    this.showSampling([]);
    this.setSteps([]);
    this.showStatus("");
    this.setAppState("ready");
  }

  /**
   * Draws the chosen view: it loads what the controls ask for, then
   * renders. Stale results are dropped. Quiet (new data came in): no
   * redraw when the view says its data is the same as drawn (signature).
   */
  async update({ quiet = false } = {}) {
    const gen = this.store.nextGeneration();
    this.lossStrip.sync();
    const st = this.state;
    const runs = this.shownRuns();
    this.summary.showRuns(runs);
    if (!runs.length || st.layer === null || st.kind === null) {
      this.showNothing();
      return;
    }
    this.setAppState("loading");
    const loadingTimer = setTimeout(() => {
      if (!this.store.isStale(gen)) this.showStatus("Loading\u2026", "loading");
    }, 120);
    try {
      const view = viewById(st.view) || VIEWS[0];
      const groups = runs.map((run) => ({
        run,
        panels: panelSeries(this.index, run, st.layer, st.kind).map((series) => ({ series })),
      }));
      // Views with their own scale choices leave the tab's off.
      this.scaleSelect.disabled = this.rangeMode.disabled = !view.usesTabScales;
      let stepsChosen = false;
      const ctx = this.viewContext(gen, groups, () => { stepsChosen = true; });
      const data = await view.load(ctx);
      if (this.store.isStale(gen) || data === null) return;
      // A view over all steps at once has no step to choose; the readout
      // still names the selected one (a click in such a view selects it).
      if (!stepsChosen) this.showStepWithoutSlider();
      if (quiet && data.signature && data.signature === this.drawSignature) {
        // Nothing that is drawn changed: leave it, and what it said.
        this.showStatus(...this.drawnStatus);
        this.setAppState(this.drawnState);
        return;
      }
      const drawStart = performance.now();
      this.showResult(view, view.render(data, ctx), data.signature);
      // Read by benchmarks/bench_draw.py: the whole redraw, all panels.
      this.app.dataset.drawMs = (performance.now() - drawStart).toFixed(3);
    } catch (error) {
      if (this.store.isStale(gen)) return;
      this.drawSignature = null;
      this.showStatus(`Something went wrong: ${errorText(error)}`, "error");
      this.setAppState("error");
      console.error(error);
    } finally {
      clearTimeout(loadingTimer);
      if (!this.store.isStale(gen)) this.lossStrip.sync();
    }
  }

  /** What a view may use and call (views/registry.js describes it). */
  viewContext(gen, groups, onStepsChosen) {
    const st = this.state;
    return {
      api: this.api, index: this.index, groups, state: st, allRuns: this.index.runs,
      width: this.panels.clientWidth || window.innerWidth,
      rangeBadInput: this.rangeValue.validity.badInput,
      isStale: () => this.store.isStale(gen),
      chooseStep: (steps, stepSeries = []) => {
        if (this.store.isStale(gen)) return st.step;
        if (this.toLastStep && steps.length) st.step = steps[steps.length - 1];
        this.toLastStep = false;
        this.setSteps(steps, stepSeries);
        onStepsChosen();
        return st.step;
      },
      samplesKnown: (count) => this.clampRestoredSample(count),
      onHover: (rows, event) => {
        this.readout.textContent = rows.length ? hoverText(rows) : HOVER_HINT;
        this.tooltip.show(rows, event);
      },
      onLeave: () => this.hideHover(),
      onStep: (step) => {
        this.toLastStep = false;
        this.store.set({ step });
        this.update();
      },
      setOption: (key, value) => {
        this.store.set({ [key]: value });
        this.update();
      },
      redraw: () => this.update(),
    };
  }

  /**
   * A sample number restored from a link or the last visit that no run
   * has (any more) falls back quietly to the last sample, like a gone run;
   * one the user types is marked, not replaced.
   */
  clampRestoredSample(count) {
    if (!this.restoredSample || !count) return;
    this.restoredSample = false;
    if (this.state.sample > count - 1) {
      this.state.sample = count - 1;
      this.sampleInput.value = String(this.state.sample);
    }
  }

  /** The step slider off, its readout naming the selected step. */
  showStepWithoutSlider() {
    this.stepSlider.disabled = true;
    this.stepValue.textContent = this.state.step === null ? "\u2013" : String(this.state.step);
    this.showStepTime();
  }

  /** Puts a view's rendered nodes in place, with what it says about samples, ranges and errors. */
  showResult(view, result, signature) {
    const st = this.state;
    const samples = result.samples || 0;
    this.showSampling(result.sampled || []);
    this.showSampleCount(samples);
    const perSample = view.perSample && st.sampleMode === "sample";
    this.showSampleError(this.sampleSyntaxError || (perSample ? sampleRangeError(st.sample, samples) : ""));
    if (view.usesTabScales) {
      this.lastVmax = result.lastVmax;
      this.showRangeError(result.rangeError);
    }
    if (result.panelsData) Object.assign(this.panels.dataset, result.panelsData);
    this.showSharedDefault(result.sharedDefault);
    this.panels.replaceChildren(...result.nodes);
    this.hideHover();
    this.drawSignature = signature || null;
    const errors = result.errors || 0;
    this.drawnStatus = errors
      ? [`${errors} ${result.errorsSay || "chart(s) could not be drawn"}; see the messages below.`, "error"]
      : ["", ""];
    this.drawnState = errors ? "error" : "ready";
    this.showStatus(...this.drawnStatus);
    this.setAppState(this.drawnState);
  }
}

// The App's methods by job, each in its own module.
Object.assign(App.prototype, controlMethods, refreshMethods, savedStateMethods);
