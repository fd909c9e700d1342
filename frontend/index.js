// The RNN tab. TensorBoard loads this module in a same-origin iframe on an
// empty document (with <base href> at the plugin's routes) and calls render().

import { Api } from "./data/api.js";
import { el } from "./draw/dom.js";
import { connectHost, DATA_RELOADED, RUNS_CHANGED } from "./shell/host.js";
import {
  directionLabel, gateLabel, indexFingerprint, indexTags, KEEP_ALL_FLAG, kindsOf, layersOf, maskSeriesOf,
  nearestIndex, ownView, pickStep, quantityLabel, sampledRuns, samplingNote, seriesFor,
  skippedEntries, TIMESTEP_VIEWS, unionSteps, viewsFor,
} from "./data/index_model.js";
// Registers the views drawn by their own modules (weights, horizon, ...).
import "./views/registry.js";
import { concatValues, countAbove, finiteAbsValues, percentile, ROBUST_PERCENTILE, summarize } from "./data/stats.js";
import { makeScale, parseRangeMax } from "./draw/scales.js";
import { exportControls } from "./draw/export.js";
import { followHostTheme } from "./shell/theme.js";
import { hoverText, Tooltip } from "./draw/tooltip.js";
import { heatmapBody } from "./views/heatmap.js";
import { runColor } from "./draw/run_colors.js";
import {
  compileRunFilter, drawnRuns, filterRuns, notLoggedText, reconcileRuns, selectAll, selectNone,
  selectionSummary,
} from "./shell/run_list.js";
import { StateStore, storageKey } from "./shell/persist.js";
import { gridLayout, GRID_GAP, PANEL_GAP } from "./draw/layout.js";
import { stepTime } from "./data/step_time.js";
import {
  loadMasks, loadProfiles, PROFILE_VIEWS, profileSamples, profileSteps, profileViewNodes,
} from "./views/profile.js";
import { linesBody, linesControls, linesStats } from "./views/lines.js";
import { samplesBody } from "./views/samples.js";
import { HealthOverview } from "./shell/health.js";
import {
  NAN_RULE, panelView, parseSampleNumber, SAMPLE_MODES, sampleLabel, sampleRangeError,
} from "./data/samples.js";
import { errorText, settle } from "./data/results.js";

// The views by name: each draws one panel's plot and legend.
const VIEWS = { heatmap: heatmapBody, lines: linesBody, samples: samplesBody };

// How often the tab checks its index for new data while it is visible. It
// also checks when TensorBoard reloads (its reload button; its auto-reload
// when turned on in its settings) and when the page becomes visible again.
const POLL_MS = 10000;

const HOW_TO_LOG =
  "Log some with tb_rnn_plugin.RNNTensorBoard (a Keras " +
  "callback: model.fit(..., callbacks=[tb_rnn_plugin.RNNTensorBoard(log_dir)])) " +
  "or with the summary ops tb_rnn_plugin.activation / output_gradient / " +
  `state_gradient. This tab looks for new data every ${POLL_MS / 1000} s; ` +
  "Reload looks now.";
const EMPTY_MESSAGE = `No RNN data found. ${HOW_TO_LOG}`;
const HOVER_HINT = "Hover over a plot to read values.";

/** Entry point called by TensorBoard. */
export async function render() {
  const stylesheet = loadStylesheet();
  const app = new App(document.body, new Api());
  // TensorBoard's dark mode, followed live: canvases redraw in the new colours.
  followHostTheme(() => {
    if (app.index.runs.length) app.update();
  });
  await stylesheet;
  await app.start();
}

function loadStylesheet() {
  const link = el("link", { rel: "stylesheet", href: new URL("./style.css", import.meta.url).href });
  document.head.append(link);
  return new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true });
    setTimeout(resolve, 2000);
  });
}

/**
 * The series drawn for one run: seriesFor's, and with the cell state c_t
 * the layer's output h_t beside each (same direction and cell), so the two
 * read side by side.
 */
function panelSeries(index, run, layer, kind) {
  const series = seriesFor(index, run, layer, kind);
  if (kind !== "cell_state") return series;
  const outputs = seriesFor(index, run, layer, "activation");
  return series.flatMap((c) => [c, ...outputs.filter((h) =>
    h.direction === c.direction && (h.cellIndex ?? null) === (c.cellIndex ?? null))]);
}

/** Per quantity (series kind) of the drawn panels: {max, min, robust} of |v| over them. */
function sharedRanges(drawn, robust) {
  const byKind = new Map();
  for (const p of drawn) {
    if (!byKind.has(p.series.kind)) byKind.set(p.series.kind, []);
    byKind.get(p.series.kind).push(p);
  }
  return new Map([...byKind].map(([kind, panels]) => [kind, {
    max: Math.max(0, ...panels.map((p) => p.stats.maxAbs)),
    min: Math.min(Infinity, ...panels.map((p) => p.stats.minAbs)),
    robust: robust ? robustRanges(panels) : 0,
  }]));
}

/**
 * For the robust colour range: sets each drawn panel's absValues (finite,
 * unmasked |v|) and robustMax (their ROBUST_PERCENTILE-th percentile), and
 * returns the percentile over all panels' values together (shared scale).
 */
function robustRanges(drawn) {
  for (const p of drawn) {
    p.absValues = finiteAbsValues(p.view);
    p.robustMax = percentile(p.absValues, ROBUST_PERCENTILE);
  }
  return percentile(concatValues(drawn.map((p) => p.absValues)), ROBUST_PERCENTILE);
}


// Identity of cached tensors, for telling whether a redraw would change anything.
const objectIds = new WeakMap();
let nextObjectId = 1;
function objectId(object) {
  if (!object || typeof object !== "object") return 0;
  if (!objectIds.has(object)) objectIds.set(object, nextObjectId++);
  return objectIds.get(object);
}

/**
 * Sets a select's options and value; leaves the options alone when they
 * are the same (an open menu stays open through a refresh).
 * @param {Array<{value: string, text: string}>} options
 */
function setOptions(select, options, value) {
  const same = select.options.length === options.length &&
    options.every((o, i) => select.options[i].value === o.value && select.options[i].text === o.text);
  if (!same) select.replaceChildren(...options.map((o) => el("option", o)));
  select.value = value;
}


class App {
  constructor(root, api) {
    this.api = api;
    this.index = { runs: [], series: [] };
    this.steps = [];
    this.generation = 0;
    // Index loads (start, Reload, checks for new data): the newest one wins.
    this.indexGeneration = 0;
    this.fingerprint = null;
    this.checks = 0;
    this.checking = null;
    this.checkAgain = false;
    this.pollTimer = null;
    // Set when new data arrives while the user is on the last step.
    this.toLastStep = false;
    // Whether the user has checked or unchecked a run (else: default runs).
    this.runsChosen = false;
    this.drawSignature = null;
    this.drawnStatus = ["", ""];
    this.drawnState = "ready";
    // Where the selection is kept across reloads (set up in start()).
    this.store = null;
    this.runFilter = compileRunFilter("");
    // {run, steps, wall_times} of the drawn series, for the slider's times.
    this.stepSeries = [];
    this.state = {
      runs: [],
      layer: null,
      kind: null,
      step: null,
      sample: 0,
      // "sample" (the sample number), "mean" or "meanAbs" over samples.
      sampleMode: "sample",
      // Lines view: the top-k channels, or the picked ones (text; "" = top-k).
      topK: 10,
      channels: "",
      rangeMode: "auto",
      rangeValue: "",
      shared: true,
      view: "heatmap",
      scale: "linear",
      // The run list's regex filter (runs it hides are not drawn).
      runFilter: "",
      // Heatmap zoom window { t0, t1, c0, c1 } or null (everything).
      zoom: null,
    };
    this.buildDom(root);
  }

  // ---- DOM ---------------------------------------------------------------

  buildDom(root) {
    const labelled = (text, control, extra = null) =>
      el("label", { class: "rnn-field" }, [el("span", { class: "rnn-field-label", text }), control, extra]);

    this.runsBox = el("div", { id: "rnn-runs", class: "rnn-runs", attrs: { role: "group", "aria-label": "Runs" } });
    this.runFilterInput = el("input", {
      id: "rnn-run-filter", type: "text", class: "rnn-run-filter", placeholder: "Filter runs (regex)",
      spellcheck: false, attrs: { "aria-label": "Filter runs by regular expression" },
    });
    this.runFilterError = el("div", { id: "rnn-run-filter-error", class: "rnn-run-filter-error", hidden: true, attrs: { role: "alert" } });
    this.runsAll = el("button", { id: "rnn-runs-all", type: "button", class: "rnn-small-button", text: "all", title: "Select every run the filter shows" });
    this.runsNone = el("button", { id: "rnn-runs-none", type: "button", class: "rnn-small-button", text: "none", title: "Deselect every run the filter shows" });
    this.runsSummary = el("div", { id: "rnn-runs-summary", class: "rnn-runs-summary" });
    this.stepTime = el("span", { id: "rnn-step-time", class: "rnn-step-time" });
    this.layerSelect = el("select", { id: "rnn-layer" });
    this.kindSelect = el("select", { id: "rnn-quantity" });
    this.stepSlider = el("input", { id: "rnn-step", type: "range", min: "0", max: "0", step: "1", value: "0" });
    this.stepValue = el("span", { id: "rnn-step-value", class: "rnn-step-value", text: "\u2013" });
    this.sampleInput = el("input", { id: "rnn-sample", type: "number", min: "0", max: "0", step: "1", value: "0" });
    this.sampleCount = el("span", { class: "rnn-muted", text: "" });
    this.sampleMode = el("select", { id: "rnn-sample-mode", attrs: { "aria-label": "sample or reduction over samples" } },
      SAMPLE_MODES.map((m) => el("option", m)));
    // Why the sample number is not used (not a number, out of range).
    this.sampleError = el("span", { id: "rnn-sample-error", class: "rnn-input-error", hidden: true });
    this.sampleSyntaxError = "";
    this.rangeMode = el("select", { id: "rnn-range-mode" }, [
      el("option", { value: "auto", text: "auto, symmetric (max |v| shown)" }),
      el("option", { value: "fixed", text: "fixed \u00b1" }),
      el("option", { value: "robust", text: `auto, robust (${ROBUST_PERCENTILE}th percentile of |v|)` }),
    ]);
    this.rangeValue = el("input", {
      id: "rnn-range-value", type: "number", min: "0", step: "any", placeholder: "e.g. 0.5",
      disabled: true, attrs: { "aria-label": "fixed colour range (max |v|)", "aria-describedby": "rnn-range-error" },
    });
    // Why the fixed range typed is not used (never silently replaced).
    this.rangeError = el("div", { id: "rnn-range-error", class: "rnn-field-error", hidden: true, attrs: { role: "alert" } });
    this.sharedToggle = el("input", { id: "rnn-shared", type: "checkbox", checked: true });
    this.scaleSelect = el("select", { id: "rnn-scale" }, [
      el("option", { value: "linear", text: "linear" }),
      el("option", { value: "symlog", text: "log magnitude (symlog, sign kept)" }),
    ]);
    // Options follow the quantity (fillViews).
    this.viewSelect = el("select", { id: "rnn-view" },
      TIMESTEP_VIEWS.map((v) => el("option", { value: v.value, text: v.text })));
    this.linesControls = linesControls(this.state, () => this.update());
    this.linesControls.node.hidden = true;
    this.reloadButton = el("button", {
      id: "rnn-reload", type: "button", text: "Reload",
      title: `Looks for new data now (the tab also looks every ${POLL_MS / 1000} s and when TensorBoard reloads)`,
    });
    // A link to this view (the same as the address bar's).
    this.linkButton = el("button", {
      id: "rnn-copy-link", type: "button", text: "Copy link",
      title: "Copies a link to this view: runs, layer, quantity, step, sample, scales (also in the address bar)",
    });
    this.linkText = el("input", { id: "rnn-link", type: "text", readOnly: true, class: "rnn-link", attrs: { "aria-label": "Link to this view" } });
    this.linkNote = el("span", { id: "rnn-link-note", class: "rnn-link-note" });
    this.linkBox = el("div", { class: "rnn-link-box", hidden: true }, [this.linkText, this.linkNote]);
    // Where TensorBoard kept only a sample of the logged steps.
    this.sampling = el("div", { id: "rnn-sampling", class: "rnn-sampling", hidden: true });

    this.controls = el("div", { id: "rnn-controls", class: "rnn-controls" }, [
      el("fieldset", { class: "rnn-runs-box" }, [
        el("legend", { text: "Runs" }),
        this.runFilterInput, this.runFilterError,
        el("div", { class: "rnn-runs-buttons" }, [this.runsAll, this.runsNone, this.runsSummary]),
        this.runsBox,
      ]),
      el("div", { class: "rnn-control-column" }, [
        labelled("Layer", this.layerSelect),
        labelled("Quantity", this.kindSelect),
        labelled("Step", this.stepSlider, this.stepValue),
        el("div", { class: "rnn-step-time-row" }, [this.stepTime]),
        this.sampling,
        labelled("Sample", this.sampleMode,
          el("span", { class: "rnn-sample-number" }, [this.sampleInput, this.sampleCount, this.sampleError])),
      ]),
      el("div", { class: "rnn-control-column" }, [
        labelled("Colour range", this.rangeMode, this.rangeValue),
        this.rangeError,
        el("label", { class: "rnn-field" }, [
          el("span", { class: "rnn-field-label", text: "Scale" }),
          this.sharedToggle,
          el("span", { text: "shared across runs (off: each panel its own)" }),
        ]),
        labelled("Scale type", this.scaleSelect),
        labelled("View", this.viewSelect),
        this.linesControls.node,
        el("div", { class: "rnn-field" }, [el("span", { class: "rnn-field-label" }), this.reloadButton, this.linkButton]),
        this.linkBox,
      ]),
    ]);
    // Series or runs the server could not read: a collapsed notice.
    this.skipped = el("details", { id: "rnn-skipped", class: "rnn-skipped", hidden: true });
    // A failed check for new data: said here, what is drawn stays.
    this.refreshNote = el("div", { id: "rnn-refresh", class: "rnn-refresh", hidden: true, attrs: { role: "status" } });
    this.status = el("div", { id: "rnn-status", class: "rnn-status", attrs: { role: "status", "aria-live": "polite" } });
    this.message = el("div", { id: "rnn-message", class: "rnn-message", hidden: true });
    this.readout = el("div", { id: "rnn-readout", class: "rnn-readout", text: HOVER_HINT });
    this.panels = el("div", { id: "rnn-panels", class: "rnn-panels", style: { gap: `${GRID_GAP}px` } });
    // Per run and layer: first NaN/Inf, dead/saturated/exploding units,
    // vanishing gradient; a click opens what shows it (health_view.js).
    this.health = new HealthOverview({ onOpen: (target) => this.openHealthTarget(target), viewsFor });
    this.app = el("div", { id: "rnn-app", class: "rnn-app", dataset: { state: "loading", checks: 0 } }, [
      this.health.node, this.controls, this.skipped, this.refreshNote, this.status, this.message, this.readout, this.panels,
    ]);
    root.replaceChildren(this.app);
    this.tooltip = new Tooltip(document.body);

    this.layerSelect.addEventListener("change", () => {
      this.state.layer = this.layerSelect.value;
      this.state.zoom = null;
      this.fillKinds();
      this.update();
    });
    this.kindSelect.addEventListener("change", () => {
      this.state.kind = this.kindSelect.value;
      this.state.zoom = null;
      this.fillViews();
      this.update();
    });
    this.stepSlider.addEventListener("input", () => {
      const step = this.steps[Number(this.stepSlider.value)];
      if (step === undefined) return;
      this.state.step = step;
      this.toLastStep = false;
      this.stepValue.textContent = String(step);
      this.showStepTime();
      this.update();
    });
    this.sampleInput.addEventListener("input", () => {
      // Not a sample number: said next to the input; the last one stays drawn.
      const parsed = parseSampleNumber(this.sampleInput.value);
      // The last sample number stays chosen (it may itself be one no run has).
      this.sampleSyntaxError = parsed.error ? `${parsed.error}; sample ${this.state.sample} stays chosen` : "";
      this.showSampleError(this.sampleSyntaxError);
      if (parsed.error) return;
      this.state.sample = parsed.value;
      this.restoredSample = false;
      this.update();
    });
    this.sampleMode.addEventListener("change", () => {
      this.state.sampleMode = this.sampleMode.value;
      this.syncSampleControls();
      this.update();
    });
    this.rangeMode.addEventListener("change", () => {
      this.state.rangeMode = this.rangeMode.value;
      this.rangeValue.disabled = this.state.rangeMode !== "fixed";
      // A fixed range is the same for every panel: sharing is moot.
      this.sharedToggle.disabled = this.state.rangeMode === "fixed";
      if (this.state.rangeMode === "fixed" && !this.rangeValue.value && this.lastVmax) {
        this.rangeValue.value = String(Number(this.lastVmax.toPrecision(3)));
      }
      this.state.rangeValue = this.rangeValue.value;
      this.update();
    });
    this.rangeValue.addEventListener("input", () => {
      this.state.rangeValue = this.rangeValue.value;
      this.update();
    });
    this.sharedToggle.addEventListener("change", () => {
      this.state.shared = this.sharedToggle.checked;
      this.update();
    });
    this.scaleSelect.addEventListener("change", () => {
      this.state.scale = this.scaleSelect.value;
      this.update();
    });
    this.viewSelect.addEventListener("change", () => {
      this.state.view = this.viewSelect.value;
      this.linesControls.node.hidden = this.state.view !== "lines";
      this.syncSampleControls();
      this.update();
    });
    this.reloadButton.addEventListener("click", () => this.reload());
    this.linkButton.addEventListener("click", () => this.copyLink());
    this.runFilterInput.addEventListener("input", () => {
      this.state.runFilter = this.runFilterInput.value;
      this.applyRunFilter();
      this.fillLayers();
      this.update();
    });
    const chooseRuns = (pick) => {
      const shown = filterRuns(this.index.runs, this.runFilter);
      this.runsChosen = true;
      this.state.runs = pick(this.index.runs, this.state.runs, shown);
      this.fillRuns();
      this.fillLayers();
      this.update();
    };
    this.runsAll.addEventListener("click", () => chooseRuns(selectAll));
    this.runsNone.addEventListener("click", () => chooseRuns(selectNone));
    // Panels are sized to the frame's width: redraw (from cache) on resize.
    let resizeTimer = null;
    let lastWidth = window.innerWidth;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (window.innerWidth === lastWidth || this.app.dataset.state === "empty") return;
        lastWidth = window.innerWidth;
        if (this.index.runs.length) this.update();
      }, 200);
    });
  }

  /**
   * The Sample control from the state; unused parts disabled (all samples,
   * or a view of its own that draws no sample: all of it).
   */
  syncSampleControls() {
    const own = ownView(this.state.kind, this.state.view);
    const none = this.state.view === "samples" || Boolean(own && !own.perSample);
    this.sampleMode.value = this.state.sampleMode;
    this.sampleMode.disabled = none;
    this.sampleInput.disabled = none || this.state.sampleMode !== "sample";
  }

  /** Marks the sample number input with why it is not used ("" clears). */
  showSampleError(text) {
    this.sampleInput.classList.toggle("rnn-invalid", Boolean(text));
    this.sampleError.textContent = text;
    this.sampleError.hidden = !text;
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

  /** A failed check for new data (null: clear). What is drawn stays. */
  showRefreshError(error) {
    this.refreshNote.hidden = !error;
    this.refreshNote.textContent = error
      ? `Could not check for new data at ${new Date().toLocaleTimeString()} ` +
        `(${errorText(error)}). Showing what was loaded before; trying again every ${POLL_MS / 1000} s.`
      : "";
  }

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
  }

  // ---- index and controls --------------------------------------------------

  async start() {
    await this.restoreState();
    await this.loadIndex({ force: true });
    this.watchForNewData();
  }

  // ---- the selection across reloads and as a link (frontend/persist.js) ----

  /** Sets up where the state is kept and applies what was kept. */
  async restoreState() {
    let logdir = "";
    try {
      // TensorBoard's /data/environment: the logdir, so each logdir keeps its own state.
      const response = await fetch(new URL("../../environment", document.baseURI), { credentials: "same-origin" });
      if (response.ok) logdir = String((await response.json()).data_location || "");
    } catch (e) {
      logdir = "";
    }
    let top = null;
    try {
      top = window.top;
      void top.location.href; // throws when not same origin
    } catch (e) {
      top = null;
    }
    let storage = null;
    try {
      storage = window.localStorage;
    } catch (e) {
      storage = null;
    }
    const where = top ? top.location : window.location;
    this.store = new StateStore({
      top, storage, key: storageKey(where.origin, where.pathname, logdir), hashDelay: 250,
    });
    this.applySavedState(this.store.load().state);
    if (top && top !== window) {
      // Back on this tab (TensorBoard set the hash to "#rnn"): write the
      // state again; a pasted link with another state: show it.
      top.addEventListener("hashchange", () => {
        const linked = this.store.linkChange();
        if (!linked) {
          this.saveState();
          return;
        }
        this.applySavedState(linked);
        if (!this.index.runs.length) return;
        this.fillRuns();
        this.fillLayers();
        this.update();
      });
    }
  }

  /** Puts kept values into the state and controls; the index drops what is gone. */
  applySavedState(saved) {
    const st = this.state;
    const hasOption = (select, value) => [...select.options].some((o) => o.value === value);
    if (saved.runs) {
      st.runs = saved.runs;
      this.runsChosen = saved.runsChosen === true;
    }
    if (saved.runFilter !== undefined) st.runFilter = saved.runFilter;
    this.runFilterInput.value = st.runFilter;
    if (saved.layer !== undefined) st.layer = saved.layer;
    if (saved.kind !== undefined) st.kind = saved.kind;
    // On the last step: the newest one, whatever came in since.
    if (saved.lastStep) st.step = null;
    else if (saved.step !== undefined) st.step = saved.step;
    if (Number.isInteger(saved.sample)) {
      st.sample = saved.sample;
      this.sampleInput.value = String(saved.sample);
      this.restoredSample = true;
    }
    if (saved.rangeMode !== undefined && hasOption(this.rangeMode, saved.rangeMode)) {
      st.rangeMode = saved.rangeMode;
      this.rangeMode.value = st.rangeMode;
      this.rangeValue.disabled = st.rangeMode !== "fixed";
      this.sharedToggle.disabled = st.rangeMode === "fixed";
    }
    if (saved.rangeValue !== undefined) {
      st.rangeValue = saved.rangeValue;
      this.rangeValue.value = st.rangeValue;
    }
    if (saved.shared !== undefined) {
      st.shared = saved.shared;
      this.sharedToggle.checked = st.shared;
    }
    if (saved.scale !== undefined && hasOption(this.scaleSelect, saved.scale)) {
      st.scale = saved.scale;
      this.scaleSelect.value = st.scale;
    }
    // Checked against the quantity's views once the index is read (fillViews).
    if (typeof saved.view === "string") st.view = saved.view;
    if (saved.sampleMode !== undefined && hasOption(this.sampleMode, saved.sampleMode)) {
      st.sampleMode = saved.sampleMode;
    }
    if (saved.topK !== undefined) st.topK = saved.topK;
    if (saved.channels !== undefined) st.channels = saved.channels;
    this.syncSampleControls();
    this.linesControls.sync();
    this.linesControls.node.hidden = st.view !== "lines";
    st.zoom = null;
  }

  /** Shows the link to this view, selected, and copies it where allowed. */
  async copyLink() {
    this.saveState();
    const st = this.state;
    const last = this.steps[this.steps.length - 1];
    const link = this.store && this.store.link({
      ...st, runsChosen: this.runsChosen, lastStep: this.steps.length > 0 && st.step === last,
    });
    this.linkBox.hidden = false;
    if (!link) {
      this.linkText.value = "";
      this.linkNote.textContent = "No link: TensorBoard's page is not readable from this tab.";
      return;
    }
    this.linkText.value = link;
    this.linkText.select();
    try {
      await navigator.clipboard.writeText(link);
      this.linkNote.textContent = "Copied.";
    } catch (e) {
      this.linkNote.textContent = "Press Ctrl+C (Cmd+C) to copy.";
    }
  }

  /** Keeps the state (localStorage and the top-level URL's hash). */
  saveState() {
    if (!this.store) return;
    const st = this.state;
    const last = this.steps[this.steps.length - 1];
    this.store.save({
      ...st,
      runsChosen: this.runsChosen,
      lastStep: this.steps.length > 0 && st.step === last,
    });
  }

  /** The tab's Reload: reads the index again and redraws, now. */
  async reload() {
    await this.loadIndex({ force: true });
  }

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
  }

  schedulePoll() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (document.visibilityState !== "visible") return;
    this.pollTimer = setTimeout(() => this.check(), POLL_MS);
  }

  /** Checks the index for new data; one check at a time, then polls on. */
  check() {
    if (this.checking) {
      this.checkAgain = true;
      return this.checking;
    }
    this.checking = (async () => {
      try {
        do {
          this.checkAgain = false;
          await this.loadIndex({ force: false });
        } while (this.checkAgain);
      } catch (error) {
        console.error(error);
      } finally {
        this.checking = null;
        this.schedulePoll();
      }
    })();
    return this.checking;
  }

  /**
   * Reads the index. Forced (start, Reload): shows that it loads and always
   * redraws. Not forced (checks for new data): quiet, and redraws only when
   * the index changed. A failure keeps what is drawn, except on a forced
   * load with nothing drawn yet, which shows the error instead.
   */
  async loadIndex({ force }) {
    const gen = ++this.indexGeneration;
    try {
      if (force) {
        this.setAppState("loading");
        this.showStatus("Loading list of runs\u2026", "loading");
      }
      let json;
      try {
        json = await this.api.tags();
      } catch (error) {
        if (gen === this.indexGeneration) this.indexFailed(error, force);
        return;
      }
      if (gen !== this.indexGeneration) return;
      this.showRefreshError(null);
      const fingerprint = indexFingerprint(json);
      if (!force && fingerprint === this.fingerprint) return;
      this.fingerprint = fingerprint;
      await this.applyIndex(json, { quiet: !force });
    } finally {
      if (gen === this.indexGeneration) this.app.dataset.checks = String(++this.checks);
    }
  }

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
  }

  /** Shows a (new) index, keeping the user's choices where they still exist. */
  async applyIndex(json, { quiet }) {
    // On the last step: go on to the newest one.
    const last = this.steps[this.steps.length - 1];
    if (this.steps.length && this.state.step === last) this.toLastStep = true;
    this.api.forgetSteps();
    this.index = indexTags(json);
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
  }

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
  }

  fillRuns() {
    const runs = this.index.runs;
    // The user's choice stands (even none checked) while any of it exists;
    // until they choose, the first two runs.
    const { runs: selected, chosen } = reconcileRuns(runs, this.state.runs, this.runsChosen);
    this.state.runs = selected;
    this.runsChosen = chosen;
    const boxes = [...this.runsBox.querySelectorAll("input[data-run]")];
    const same = boxes.length === runs.length && boxes.every((box, i) => box.dataset.run === runs[i]);
    if (same) {
      for (const box of boxes) box.checked = this.state.runs.includes(box.dataset.run);
    } else {
      const items = runs.map((run) => {
        const box = el("input", { type: "checkbox", checked: this.state.runs.includes(run), dataset: { run } });
        box.addEventListener("change", () => {
          this.runsChosen = true;
          this.state.runs = this.index.runs.filter((r) =>
            this.runsBox.querySelector(`input[data-run="${CSS.escape(r)}"]`).checked);
          this.applyRunFilter();
          this.fillLayers();
          this.update();
        });
        const color = runColor(run, runs);
        const swatch = el("span", { class: "rnn-run-swatch", style: { background: color }, dataset: { color } });
        return el("label", { class: "rnn-run", title: run, dataset: { run } }, [
          box, swatch, el("span", { class: "rnn-run-name", text: run }),
        ]);
      });
      this.runsBox.replaceChildren(...items);
    }
    this.applyRunFilter();
  }

  /** Shows the runs the filter matches (an invalid pattern: all, and why). */
  applyRunFilter() {
    this.runFilter = compileRunFilter(this.state.runFilter);
    if (this.runFilterInput.value !== this.state.runFilter) this.runFilterInput.value = this.state.runFilter;
    const error = this.runFilter.error;
    this.runFilterInput.classList.toggle("rnn-invalid", Boolean(error));
    this.runFilterInput.setAttribute("aria-invalid", error ? "true" : "false");
    this.runFilterError.hidden = !error;
    this.runFilterError.textContent = error ? `Invalid regex, not applied: ${error}` : "";
    const shown = new Set(filterRuns(this.index.runs, this.runFilter));
    for (const label of this.runsBox.querySelectorAll("label[data-run]")) {
      label.hidden = !shown.has(label.dataset.run);
    }
    this.runsSummary.textContent = selectionSummary(this.index.runs, this.state.runs, this.runFilter);
  }

  /** The runs drawn: selected and shown by the filter. */
  shownRuns() {
    return drawnRuns(this.index.runs, this.state.runs, this.runFilter);
  }

  fillLayers() {
    const shown = this.shownRuns();
    const runs = shown.length ? shown : null;
    let layers = layersOf(this.index, runs);
    if (!layers.length) layers = layersOf(this.index);
    if (!layers.includes(this.state.layer)) this.state.layer = layers[0] || null;
    setOptions(this.layerSelect, layers.map((layer) => {
      const cells = [...new Set(this.index.series.filter((s) => s.layer === layer && s.cell).map((s) => s.cell))];
      const bidi = this.index.series.some((s) => s.layer === layer && s.direction);
      const info = [cells.join("/"), bidi ? "forward + backward" : ""].filter(Boolean).join(", ");
      return { value: layer, text: info ? `${layer} \u2014 ${info}` : layer };
    }), this.state.layer);
    this.fillKinds();
  }

  fillKinds() {
    const shown = this.shownRuns();
    const runs = shown.length ? shown : null;
    let kinds = kindsOf(this.index, this.state.layer, runs);
    if (!kinds.length) kinds = kindsOf(this.index, this.state.layer);
    if (!kinds.includes(this.state.kind)) this.state.kind = kinds[0] || null;
    setOptions(this.kindSelect, kinds.map((kind) => ({ value: kind, text: quantityLabel(kind) })), this.state.kind);
    this.fillViews();
  }

  /** The View menu of the chosen quantity; keeps the view where it has it. */
  fillViews() {
    const views = viewsFor(this.state.kind);
    if (!views.some((v) => v.value === this.state.view)) this.state.view = views.length ? views[0].value : "heatmap";
    setOptions(this.viewSelect, views.map(({ value, text }) => ({ value, text })), this.state.view);
    this.linesControls.node.hidden = this.state.view !== "lines";
    this.syncSampleControls();
  }

  setSteps(steps, series = []) {
    this.steps = steps;
    this.stepSeries = series;
    if (!steps.length) {
      this.state.step = null;
      this.stepSlider.max = "0";
      this.stepSlider.value = "0";
      this.stepSlider.disabled = true;
      this.stepValue.textContent = "\u2013";
      this.showStepTime();
      this.saveState();
      return;
    }
    if (this.state.step === null || !steps.includes(this.state.step)) {
      this.state.step = this.state.step === null
        ? steps[steps.length - 1]
        : steps[nearestIndex(steps, this.state.step)];
    }
    this.stepSlider.disabled = steps.length < 2;
    this.stepSlider.max = String(steps.length - 1);
    this.stepSlider.value = String(steps.indexOf(this.state.step));
    this.stepValue.textContent = String(this.state.step);
    this.stepSlider.title = `logged steps: ${steps[0]} \u2026 ${steps[steps.length - 1]} (${steps.length})`;
    this.showStepTime();
    this.saveState();
  }

  /** The step's wall time and time since its run's first logged step. */
  showStepTime() {
    const time = this.state.step === null ? null : stepTime(this.stepSeries, this.state.step);
    this.stepTime.textContent = time
      ? (new Set(this.stepSeries.map((s) => s.run)).size > 1 ? `${time.text} (${time.run})` : time.text)
      : "";
    this.stepTime.title = time ? `wall time of step ${time.step} in ${time.run}` : "";
    const data = this.stepTime.dataset;
    if (time) {
      data.run = time.run;
      data.wallTime = String(time.wallTime);
      data.relative = String(time.relative);
    } else {
      delete data.run;
      delete data.wallTime;
      delete data.relative;
    }
  }

  // ---- data and drawing ----------------------------------------------------

  /**
   * Fetches what the controls ask for and redraws. Stale results are
   * dropped. Quiet (new data came in): no redraw when the panels would show
   * the same tensors as now.
   */
  async update({ quiet = false } = {}) {
    const gen = ++this.generation;
    const st = this.state;
    const runs = this.shownRuns();
    if (!runs.length || st.layer === null || st.kind === null) {
      const hidden = st.runs.length && !runs.length;
      this.panels.replaceChildren(el("div", {
        class: "rnn-message",
        text: hidden ? "No selected run matches the run filter." : "Select at least one run.",
      }));
      this.drawSignature = null;
      this.showSampling([]);
      this.setSteps([]);
      this.showStatus("");
      this.setAppState("ready");
      return;
    }
    this.setAppState("loading");
    const loadingTimer = setTimeout(() => {
      if (gen === this.generation) this.showStatus("Loading\u2026", "loading");
    }, 120);
    try {
      const groups = runs.map((run) => ({
        run,
        panels: panelSeries(this.index, run, st.layer, st.kind).map((series) => ({ series })),
      }));
      const panels = groups.flatMap((g) => g.panels);
      // The profile views and the module-drawn ones have their own scale choices.
      const own = ownView(st.kind, st.view);
      this.scaleSelect.disabled = this.rangeMode.disabled = PROFILE_VIEWS.includes(st.view) || Boolean(own);
      if (own) {
        await this.updateOwnView(gen, groups, own);
        return;
      }
      if (PROFILE_VIEWS.includes(st.view)) {
        await this.updateProfiles(gen, groups);
        return;
      }

      await Promise.all(panels.map(async (p) => {
        p.stepsResult = await settle(this.api.steps(p.series.run, p.series.tag));
      }));
      if (gen !== this.generation) return;
      const listed = panels.filter((p) => p.stepsResult.value);
      const steps = unionSteps(listed.map((p) => p.stepsResult.value.steps));
      if (this.toLastStep && steps.length) st.step = steps[steps.length - 1];
      this.toLastStep = false;
      this.setSteps(steps, listed.map((p) => ({ run: p.series.run, ...p.stepsResult.value })));
      this.showSampling(sampledRuns(listed.map((p) => ({
        run: p.series.run,
        shown: p.stepsResult.value.steps.length,
        logged: p.stepsResult.value.logged_steps,
      }))));

      await Promise.all(panels.map(async (p) => {
        if (p.stepsResult.error) return;
        p.step = pickStep(p.stepsResult.value.steps, st.step);
        if (p.step === null) return;
        const maskSeries = maskSeriesOf(this.index, p.series);
        const [tensor, mask] = await Promise.all([
          settle(this.api.tensor(p.series.run, p.series.tag, p.step)),
          maskSeries ? settle(this.api.tensor(maskSeries.run, maskSeries.tag, p.step)) : null,
        ]);
        p.tensorResult = tensor;
        p.maskResult = mask;
      }));
      if (gen !== this.generation) return;
      if (quiet && this.signature(panels) === this.drawSignature) {
        // Nothing that is drawn changed: leave it, and what it said.
        this.showStatus(...this.drawnStatus);
        this.setAppState(this.drawnState);
        return;
      }
      const drawStart = performance.now();
      this.draw(groups, panels);
      // Read by benchmarks/bench_draw.py: the whole redraw, all panels.
      this.app.dataset.drawMs = (performance.now() - drawStart).toFixed(3);
      this.drawSignature = this.signature(panels);
      const errors = panels.filter((p) => p.error).length;
      this.drawnStatus = errors
        ? [`${errors} panel(s) could not be drawn; see the messages below.`, "error"]
        : ["", ""];
      this.drawnState = errors ? "error" : "ready";
      this.showStatus(...this.drawnStatus);
      this.setAppState(this.drawnState);
    } catch (error) {
      if (gen !== this.generation) return;
      this.drawSignature = null;
      this.showStatus(`Something went wrong: ${errorText(error)}`, "error");
      this.setAppState("error");
      console.error(error);
    } finally {
      clearTimeout(loadingTimer);
    }
  }

  /**
   * The profile and flow views (profile_view.js): one /profile request per
   * series gives every logged step, so the step slider lists them all.
   */
  async updateProfiles(gen, groups) {
    const st = this.state;
    const loaded = await loadProfiles(this.api, groups);
    if (gen !== this.generation) return;
    const steps = profileSteps(loaded);
    if (this.toLastStep && steps.length) st.step = steps[steps.length - 1];
    this.toLastStep = false;
    // Wall times come with the profiles: the slider shows them as for tensors.
    this.setSteps(steps, loaded.items.filter((i) => i.result.value).map((i) => ({
      run: i.run, steps: i.result.value.steps, wall_times: Array.from(i.result.value.wallTimes),
    })));
    this.showSampling([]);
    if (st.view === "profile") await loadMasks(this.api, loaded, st.step, (s) => maskSeriesOf(this.index, s));
    if (gen !== this.generation) return;
    this.showSampleCount(profileSamples(loaded));
    const { nodes, errors } = profileViewNodes(st.view, loaded, {
      step: st.step, sample: st.sample, shared: st.shared, allRuns: this.index.runs,
      width: this.panels.clientWidth || window.innerWidth, layer: st.layer, kind: st.kind,
      ...this.viewCallbacks(),
    });
    this.panels.replaceChildren(...nodes);
    this.hideHover();
    this.drawSignature = null;
    this.drawnStatus = errors ? [`${errors} profile(s) could not be loaded; see the messages below.`, "error"] : ["", ""];
    this.drawnState = errors ? "error" : "ready";
    this.showStatus(...this.drawnStatus);
    this.setAppState(this.drawnState);
  }

  /** What a view module may call: the shared tooltip, step choice and redraw. */
  viewCallbacks() {
    return {
      onHover: (rows, event) => {
        this.readout.textContent = hoverText(rows);
        this.tooltip.show(rows, event);
      },
      onLeave: () => this.hideHover(),
      onStep: (step) => {
        this.state.step = step;
        this.toLastStep = false;
        this.update();
      },
      redraw: () => this.update(),
    };
  }

  hideHover() {
    this.readout.textContent = HOVER_HINT;
    this.tooltip.hide();
  }

  /**
   * A view drawn by its own module (views.js): it fetches what it needs,
   * may set the step slider through chooseStep, and returns its nodes.
   */
  async updateOwnView(gen, groups, view) {
    const st = this.state;
    let stepsChosen = false;
    const result = await view.render({
      api: this.api, index: this.index, groups, state: st, allRuns: this.index.runs,
      width: this.panels.clientWidth || window.innerWidth,
      isStale: () => gen !== this.generation,
      chooseStep: (steps, stepSeries = []) => {
        if (gen !== this.generation) return st.step;
        if (this.toLastStep && steps.length) st.step = steps[steps.length - 1];
        this.toLastStep = false;
        this.setSteps(steps, stepSeries);
        stepsChosen = true;
        return st.step;
      },
      ...this.viewCallbacks(),
    });
    if (gen !== this.generation) return;
    // A view over all steps at once has no step to choose; the readout
    // still names the selected one (a click in such a view selects it).
    if (!stepsChosen) {
      this.stepSlider.disabled = true;
      this.stepValue.textContent = st.step === null ? "\u2013" : String(st.step);
      this.showStepTime();
    }
    this.showSampling(result.sampled || []);
    this.showSampleCount(result.samples || 0);
    // A view with samples marks a sample number no run has, as draw() does.
    const perSample = st.sampleMode === "sample" && result.samples > 0;
    this.showSampleError(this.sampleSyntaxError || (perSample ? sampleRangeError(st.sample, result.samples) : ""));
    this.panels.replaceChildren(...result.nodes);
    this.hideHover();
    this.drawSignature = null;
    const errors = result.errors || 0;
    this.drawnStatus = errors ? [`${errors} chart(s) could not be drawn; see the messages below.`, "error"] : ["", ""];
    this.drawnState = errors ? "error" : "ready";
    this.showStatus(...this.drawnStatus);
    this.setAppState(this.drawnState);
  }

  /** What a draw of these panels depends on: the state, width and data. */
  signature(panels) {
    return JSON.stringify([
      this.state, this.panels.clientWidth, window.innerWidth,
      panels.map((p) => [
        p.series.run, p.series.tag, p.step,
        p.stepsResult.error ? errorText(p.stepsResult.error) : null,
        p.tensorResult ? objectId(p.tensorResult.value) || errorText(p.tensorResult.error) : null,
        p.maskResult ? objectId(p.maskResult.value) || errorText(p.maskResult.error) : null,
      ]),
    ]);
  }

  /** "of 0-N" by the Sample control (nothing for views without samples). */
  showSampleCount(samples) {
    this.sampleInput.max = String(Math.max(0, samples - 1));
    this.sampleCount.textContent = samples ? `of 0\u2013${samples - 1}` : "";
  }

  /** Says by the step slider where TensorBoard kept a sample of the steps. */
  showSampling(sampled) {
    const text = samplingNote(sampled);
    this.sampling.hidden = !text;
    // The flag in code type, kept on one line.
    const [before, ...after] = text.split(KEEP_ALL_FLAG);
    this.sampling.replaceChildren(before, ...(after.length
      ? [el("code", { class: "rnn-flag", text: KEEP_ALL_FLAG }), after.join(KEEP_ALL_FLAG)] : []));
  }

  /** Turns fetched tensors into views, picks colour ranges, builds panels. */
  draw(groups, panels) {
    const st = this.state;
    let maxSamples = 0;
    for (const p of panels) {
      const tensor = p.tensorResult && p.tensorResult.value;
      if (tensor && tensor.shape.length === 3) maxSamples = Math.max(maxSamples, tensor.shape[0]);
    }
    // A sample number restored from a link or the last visit that no run
    // has (any more) falls back quietly to the last sample, like a gone run;
    // one the user types is marked, not replaced.
    if (this.restoredSample && maxSamples) {
      this.restoredSample = false;
      if (st.sample > maxSamples - 1) {
        st.sample = maxSamples - 1;
        this.sampleInput.value = String(st.sample);
      }
    }
    const perSample = st.sampleMode === "sample" && st.view !== "samples";
    this.showSampleError(this.sampleSyntaxError ||
      (perSample ? sampleRangeError(st.sample, maxSamples) : ""));
    for (const p of panels) {
      p.notes = [];
      if (p.stepsResult.error) {
        p.error = `Could not load steps: ${errorText(p.stepsResult.error)}`;
        continue;
      }
      if (p.step === null) {
        p.error = "No steps logged for this series.";
        continue;
      }
      if (p.tensorResult.error) {
        p.error = `Could not load tensor: ${errorText(p.tensorResult.error)}`;
        continue;
      }
      const tensor = p.tensorResult.value;
      if (tensor.shape.length !== 3) {
        p.error = `Expected a [samples, timesteps, channels] tensor, got shape [${tensor.shape.join(", ")}].`;
        continue;
      }
      // The slice (one sample), reduction over samples, or every sample.
      const made = panelView(tensor, this.maskFor(p, tensor), perSample ? "sample" : this.sampleModeFor(), st.sample);
      if (made.error) {
        p.error = made.error;
        continue;
      }
      p.view = made.view;
      p.samples = tensor.shape[0];
      p.stats = summarize(p.view);
      // Lines: the y range fits the drawn channels (top-k or picked).
      if (st.view === "lines") p.stats = linesStats(p.view, p.stats, st);
      if (made.view.nanCells) {
        p.notes.push({ text: `Mean over samples: ${NAN_RULE}; ${made.view.nanCells} cell(s) had NaN left out.`, kind: "warn" });
      }
    }

    this.showSampleCount(maxSamples);

    // Colour range (heatmap) / y range (lines).
    const drawn = panels.filter((p) => p.view);
    const fixedInput = st.rangeMode === "fixed" ? parseRangeMax(st.rangeValue, this.rangeValue.validity.badInput) : null;
    const fixed = fixedInput && !fixedInput.error ? fixedInput.value : NaN;
    const useFixed = st.rangeMode === "fixed" && Number.isFinite(fixed) && fixed > 0;
    const range = useFixed ? "fixed" : st.rangeMode === "robust" ? "robust" : "auto";
    // Shared per quantity: the cell state's panels and h_t's beside them
    // each get their own range.
    const sharedOf = sharedRanges(drawn, range === "robust");
    for (const p of drawn) {
      const { max: sharedMax, min: sharedMin, robust: sharedRobust } = sharedOf.get(p.series.kind);
      let vmax;
      if (range === "fixed") vmax = fixed;
      else if (range === "robust") vmax = st.shared ? sharedRobust : p.robustMax;
      else vmax = st.shared ? sharedMax : p.stats.maxAbs;
      // A robust range of 0 (over 99% zeros) falls back to max |v|.
      if (range === "robust" && !(vmax > 0)) vmax = st.shared ? sharedMax : p.stats.maxAbs;
      if (!(vmax > 0)) vmax = 0; // all values 0: said so, no made-up range
      p.vmax = vmax;
      p.scale = makeScale(st.scale, vmax, st.shared ? sharedMin : p.stats.minAbs);
      p.clipped = range === "robust" ? countAbove(p.absValues, vmax) : null;
    }
    const main = sharedOf.get(st.kind) || { max: 0, robust: 0 };
    this.lastVmax = (range === "robust" ? main.robust : main.max) || null;
    this.showRangeError(fixedInput && fixedInput.error);

    // Runs with panels in a grid sized to the width; runs without the
    // chosen layer/quantity in one line above it.
    const withPanels = groups.filter((g) => g.panels.length);
    const missing = groups.filter((g) => !g.panels.length).map((g) => g.run);
    const available = (this.panels.clientWidth || window.innerWidth) - 2;
    const grid = gridLayout(available, withPanels.length, Math.max(1, ...withPanels.map((g) => g.panels.length)));
    const columns = withPanels.map((g) => this.groupElement(g, grid, range));
    Object.assign(this.panels.dataset, {
      columns: grid.groupsPerRow, rows: grid.rows, sideBySide: grid.sideBySide,
    });
    this.panels.replaceChildren(...(missing.length ? [this.notLoggedElement(missing)] : []), ...columns);
    this.readout.textContent = HOVER_HINT;
  }

  /** Marks the fixed range field invalid with its reason (null: valid). */
  showRangeError(error) {
    this.rangeValue.classList.toggle("rnn-invalid", Boolean(error));
    if (error) this.rangeValue.setAttribute("aria-invalid", "true");
    else this.rangeValue.removeAttribute("aria-invalid");
    this.rangeError.hidden = !error;
    this.rangeError.textContent = error ? `${error[0].toUpperCase()}${error.slice(1)}; auto range shown.` : "";
  }

  maskFor(panel, tensor) {
    const result = panel.maskResult;
    if (!result) return null;
    const [samples, T] = tensor.shape;
    if (result.error) {
      panel.notes.push({ text: `Mask not loaded (${errorText(result.error)}); padding not shown.`, kind: "warn" });
      return null;
    }
    const m = result.value;
    if (m.shape.length !== 2 || m.shape[0] !== samples || m.shape[1] !== T) {
      panel.notes.push({ text: `Mask shape [${m.shape.join(", ")}] does not match; padding not shown.`, kind: "warn" });
      return null;
    }
    return m;
  }

  /** What the panels show of the probe batch: "sample", "mean", "meanAbs" or "all". */
  sampleModeFor() {
    return this.state.view === "samples" ? "all" : this.state.sampleMode;
  }

  /** One run's column of the grid: its title in the run's colour, its panels. */
  groupElement(group, grid, range) {
    const color = runColor(group.run, this.index.runs);
    const title = el("h3", {
      class: "rnn-run-title", title: group.run, style: { color, borderLeftColor: color }, dataset: { color },
    }, [group.run]);
    const panels = group.panels.map((p) => {
      const panel = this.panelElement(p, grid.maxPlotW, range);
      panel.style.width = `${grid.panelWidth}px`;
      return panel;
    });
    const box = el("div", {
      class: `rnn-run-panels ${grid.sideBySide ? "rnn-side-by-side" : ""}`,
      style: { gap: `${PANEL_GAP}px` },
    }, panels);
    // Long notes wrap inside the column instead of widening it past its share.
    return el("section", {
      class: "rnn-run-column", dataset: { run: group.run }, style: { width: `${grid.columnWidth}px` },
    }, [title, box]);
  }

  /** "<quantity> of layer <layer> not logged in: run_c, run_d", names in their colours. */
  notLoggedElement(runs) {
    const names = [];
    runs.forEach((run, i) => {
      if (i) names.push(", ");
      const color = runColor(run, this.index.runs);
      names.push(el("span", { class: "rnn-not-logged-run", text: run, style: { color }, dataset: { run, color } }));
    });
    return el("div", {
      id: "rnn-not-logged", class: "rnn-not-logged", title: notLoggedText(runs), dataset: { runs: JSON.stringify(runs) },
    }, [
      el("span", { class: "rnn-muted", text: `${quantityLabel(this.state.kind)} of layer ${this.state.layer} ` }),
      "not logged in: ", ...names,
    ]);
  }

  panelElement(p, maxPlotW, range) {
    const st = this.state;
    const s = p.series;
    const direction = s.direction || "none";
    const heading = [];
    if (s.direction) heading.push(el("span", { class: "rnn-direction", text: directionLabel(s.direction) }));
    if (s.cellIndex !== null && s.cellIndex !== undefined) {
      heading.push(el("span", { class: "rnn-direction", text: `cell ${s.cellIndex}` }));
    }
    if (s.gate) heading.push(el("span", { class: "rnn-gate", text: gateLabel(s.gate) }));
    if (p.step !== undefined && p.step !== null) {
      heading.push(el("span", { class: "rnn-drawn-step", text: `step ${p.step}` }));
      if (p.step !== st.step) {
        const why = p.step < st.step ? `nearest logged \u2264 ${st.step}` : `none logged \u2264 ${st.step}; nearest`;
        heading.push(el("span", { class: "rnn-muted", text: `(${why})` }));
      }
    }
    const shows = sampleLabel(this.sampleModeFor(), st.sample, p.samples);
    const info = [s.cell, `layer ${s.layer}`, quantityLabel(s.kind), shows].filter(Boolean).join(" \u00b7 ");
    const panel = el("div", {
      class: "rnn-panel",
      dataset: { run: s.run, direction, gate: s.gate, tag: s.tag, step: p.step, vmax: p.vmax, range: p.vmax ? range : null },
      title: s.description || null,
    }, [
      el("div", { class: "rnn-panel-heading" }, heading),
      el("div", { class: "rnn-panel-info", text: info }),
    ]);
    if (p.error) {
      panel.append(el("div", { class: "rnn-note rnn-note-error", text: p.error }));
      return panel;
    }
    const view = p.view;
    panel.append(...(VIEWS[st.view] || VIEWS.heatmap)(p, s, {
      maxPlotW, range, zoom: st.zoom, topK: st.topK, channels: st.channels,
      sample: this.sampleModeFor() === "sample" ? st.sample : this.sampleModeFor(),
      onZoom: (win) => {
        st.zoom = win;
        this.update();
      },
      onHover: (rows, event) => {
        const mode = this.sampleModeFor();
        if (rows.length && (mode === "mean" || mode === "meanAbs")) {
          rows.splice(s.direction ? 2 : 1, 0, ["sample", mode === "mean" ? "mean" : "mean |v|"]);
        }
        this.readout.textContent = rows.length ? hoverText(rows) : HOVER_HINT;
        this.tooltip.show(rows, event);
      },
      onLeave: () => {
        this.readout.textContent = HOVER_HINT;
        this.tooltip.hide();
      },
    }));
    // PNG / CSV / .npy of this panel (export.js).
    panel.querySelector(".rnn-panel-heading").append(exportControls(panel, {
      tensor: p.tensorResult.value, sample: st.sample, step: p.step, series: s,
    }));

    const { nan, posInf, negInf, maskedSteps } = p.stats;
    if (nan || posInf || negInf) {
      const parts = [];
      if (nan) parts.push(`${nan} NaN (magenta)`);
      if (posInf) parts.push(`${posInf} +Inf (black)`);
      if (negInf) parts.push(`${negInf} \u2212Inf (green)`);
      p.notes.push({ text: `Non-finite values: ${parts.join(", ")}.`, kind: "warn" });
    }
    if (maskedSteps) {
      p.notes.push({
        text: view.samples && view.steps
          ? `${maskedSteps} of ${view.samples} \u00d7 ${view.steps} sample timesteps masked (padding, grey).`
          : `${maskedSteps} of ${view.T} timesteps masked (padding, grey hatch).`,
      });
    }
    for (const note of p.notes) {
      panel.append(el("div", { class: `rnn-note ${note.kind ? `rnn-note-${note.kind}` : ""}`, text: note.text }));
    }
    return panel;
  }
}
