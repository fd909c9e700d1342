// The tab's controls: runs (with their filter), layer, quantity, step,
// sample, colour range and scale, view (and the view's own inputs), Reload
// and Copy link; how each changes the state; and the menus refilled from
// the index. Methods of the App (shell/app.js), kept here by job.

import { el } from "../draw/dom.js";
import { runColor } from "../draw/run_colors.js";
import { KEEP_ALL_FLAG, kindsOf, layersOf, nearestIndex, quantityLabel, samplingNote } from "../data/index_model.js";
import { ROBUST_PERCENTILE } from "../data/stats.js";
import { parseSampleNumber, SAMPLE_MODES } from "../data/samples.js";
import { stepTime } from "../data/step_time.js";
import { VIEWS, viewById, viewsFor } from "../views/registry.js";
import {
  compileRunFilter, defaultRunCount, drawnRuns, filterRuns, reconcileRuns, selectAll, selectNone, selectionSummary,
} from "./run_list.js";
import { POLL_MS } from "./refresh.js";

/** A labelled row of the controls: its label, the control, what follows it. */
function labelled(text, control, extra = null) {
  return el("label", { class: "rnn-field" }, [el("span", { class: "rnn-field-label", text }), control, extra]);
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

export const controlMethods = {
  /** The controls' elements (this.<name>) and their box, this.controls. */
  buildControls() {
    this.controls = el("div", { id: "rnn-controls", class: "rnn-controls" }, [
      this.buildRunsBox(), this.buildSelectionColumn(), this.buildDisplayColumn(),
    ]);
  },

  /** The run list with its regex filter, all/none buttons and summary. */
  buildRunsBox() {
    this.runsBox = el("div", { id: "rnn-runs", class: "rnn-runs", attrs: { role: "group", "aria-label": "Runs" } });
    this.runFilterInput = el("input", {
      id: "rnn-run-filter", type: "text", class: "rnn-run-filter", placeholder: "Filter runs (regex)",
      spellcheck: false, attrs: { "aria-label": "Filter runs by regular expression" },
    });
    this.runFilterError = el("div", { id: "rnn-run-filter-error", class: "rnn-run-filter-error", hidden: true, attrs: { role: "alert" } });
    this.runsAll = el("button", { id: "rnn-runs-all", type: "button", class: "rnn-small-button", text: "all", title: "Select every run the filter shows" });
    this.runsNone = el("button", { id: "rnn-runs-none", type: "button", class: "rnn-small-button", text: "none", title: "Deselect every run the filter shows" });
    this.runsSummary = el("div", { id: "rnn-runs-summary", class: "rnn-runs-summary" });
    return el("fieldset", { class: "rnn-runs-box" }, [
      el("legend", { text: "Runs" }),
      this.runFilterInput, this.runFilterError,
      el("div", { class: "rnn-runs-buttons" }, [this.runsAll, this.runsNone, this.runsSummary]),
      this.runsBox,
    ]);
  },

  /** Layer, quantity, step (with its wall time and sampling note) and sample. */
  buildSelectionColumn() {
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
    // Where TensorBoard kept only a sample of the logged steps.
    this.sampling = el("div", { id: "rnn-sampling", class: "rnn-sampling", hidden: true });

    return el("div", { class: "rnn-control-column" }, [
      labelled("Layer", this.layerSelect),
      labelled("Quantity", this.kindSelect),
      labelled("Step", this.stepSlider, this.stepValue),
      el("div", { class: "rnn-step-time-row" }, [this.stepTime]),
      this.sampling,
      labelled("Sample", this.sampleMode,
        el("span", { class: "rnn-sample-number" }, [this.sampleInput, this.sampleCount, this.sampleError])),
    ]);
  },

  /** Colour range and scale, the view (and its own inputs), Reload and Copy link. */
  buildDisplayColumn() {
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
    this.viewSelect = el("select", { id: "rnn-view" });
    // Views' own inputs (the lines' channels), shown while theirs is the view.
    this.viewControls = VIEWS.filter((view) => view.controls).map((view) => ({
      view, ...view.controls(this.state, () => this.update()),
    }));
    for (const controls of this.viewControls) controls.node.hidden = true;
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
    return el("div", { class: "rnn-control-column" }, [
      labelled("Colour range", this.rangeMode, this.rangeValue),
      this.rangeError,
      el("label", { class: "rnn-field" }, [
        el("span", { class: "rnn-field-label", text: "Scale" }),
        this.sharedToggle,
        el("span", { text: "shared across runs (off: each panel its own)" }),
      ]),
      labelled("Scale type", this.scaleSelect),
      labelled("View", this.viewSelect),
      ...this.viewControls.map((controls) => controls.node),
      el("div", { class: "rnn-field" }, [el("span", { class: "rnn-field-label" }), this.reloadButton, this.linkButton]),
      this.linkBox,
    ]);
  },

  /** Sets the state and redraws (a control changed it). */
  choose(patch) {
    this.store.set(patch);
    this.update();
  },

  /** What each control does: sets the state, then refills menus or redraws. */
  wireControls() {
    this.wireRunControls();
    this.wireSelectionControls();
    this.wireDisplayControls();
    this.redrawOnResize();
  },

  /** The run filter and the all / none buttons (each run's box: fillRuns). */
  wireRunControls() {
    this.runFilterInput.addEventListener("input", () => {
      this.store.set({ runFilter: this.runFilterInput.value });
      this.applyRunFilter();
      this.fillLayers();
      this.update();
    });
    const chooseRuns = (pick) => {
      const shown = filterRuns(this.index.runs, this.runFilter);
      this.runsChosen = true;
      this.store.set({ runs: pick(this.index.runs, this.state.runs, shown) });
      this.fillRuns();
      this.fillLayers();
      this.update();
    };
    this.runsAll.addEventListener("click", () => chooseRuns(selectAll));
    this.runsNone.addEventListener("click", () => chooseRuns(selectNone));
  },

  /** Layer, quantity, step and sample. */
  wireSelectionControls() {
    this.layerSelect.addEventListener("change", () => {
      this.store.set({ layer: this.layerSelect.value, zoom: null });
      this.fillKinds();
      this.update();
    });
    this.kindSelect.addEventListener("change", () => {
      this.store.set({ kind: this.kindSelect.value, zoom: null });
      this.fillViews();
      this.update();
    });
    this.stepSlider.addEventListener("input", () => {
      const step = this.steps[Number(this.stepSlider.value)];
      if (step === undefined) return;
      this.store.set({ step });
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
      this.store.set({ sample: parsed.value });
      this.restoredSample = false;
      this.update();
    });
    this.sampleMode.addEventListener("change", () => {
      this.store.set({ sampleMode: this.sampleMode.value });
      this.syncSampleControls();
      this.update();
    });
  },

  /** Colour range and scale, view, Reload and Copy link. */
  wireDisplayControls() {
    this.rangeMode.addEventListener("change", () => {
      this.store.set({ rangeMode: this.rangeMode.value });
      this.rangeValue.disabled = this.state.rangeMode !== "fixed";
      // A fixed range is the same for every panel: sharing is moot.
      this.sharedToggle.disabled = this.state.rangeMode === "fixed";
      if (this.state.rangeMode === "fixed" && !this.rangeValue.value && this.lastVmax) {
        this.rangeValue.value = String(Number(this.lastVmax.toPrecision(3)));
      }
      this.choose({ rangeValue: this.rangeValue.value });
    });
    this.rangeValue.addEventListener("input", () => {
      this.choose({ rangeValue: this.rangeValue.value });
    });
    this.sharedToggle.addEventListener("change", () => {
      this.choose({ shared: this.sharedToggle.checked });
    });
    this.scaleSelect.addEventListener("change", () => {
      this.choose({ scale: this.scaleSelect.value });
    });
    this.viewSelect.addEventListener("change", () => {
      this.store.set({ view: this.viewSelect.value });
      this.showViewControls();
      this.syncSampleControls();
      this.update();
    });
    this.reloadButton.addEventListener("click", () => this.reload());
    this.linkButton.addEventListener("click", () => this.copyLink());
  },

  redrawOnResize() {
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
  },


  /**
   * The Sample control from the state; unused parts disabled (all samples,
   * or a view that draws no one sample).
   */
  syncSampleControls() {
    const view = viewById(this.state.view);
    const none = !(view && view.perSample);
    this.sampleMode.value = this.state.sampleMode;
    this.sampleMode.disabled = none;
    this.sampleInput.disabled = none || this.state.sampleMode !== "sample";
  },

  /**
   * The "shared across runs" box shows what a view chose while the user has
   * not (sharedDefault: true/false from the view; null/undefined: leave it).
   */
  showSharedDefault(sharedDefault) {
    if (typeof this.state.shared === "boolean") return;
    if (typeof sharedDefault === "boolean") this.sharedToggle.checked = sharedDefault;
  },

  /** Marks the sample number input with why it is not used ("" clears). */
  showSampleError(text) {
    this.sampleInput.classList.toggle("rnn-invalid", Boolean(text));
    this.sampleError.textContent = text;
    this.sampleError.hidden = !text;
  },

  fillRuns() {
    const runs = this.index.runs;
    // The user's choice stands (even none checked) while any of it exists;
    // until they choose, as many runs as the panel grid holds (defaultRunCount).
    const width = this.panels.clientWidth || window.innerWidth;
    const { runs: selected, chosen } = reconcileRuns(runs, this.state.runs, this.runsChosen, defaultRunCount(width));
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
  },

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
  },

  /** The runs drawn: selected and shown by the filter. */
  shownRuns() {
    return drawnRuns(this.index.runs, this.state.runs, this.runFilter);
  },

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
  },

  fillKinds() {
    const shown = this.shownRuns();
    const runs = shown.length ? shown : null;
    let kinds = kindsOf(this.index, this.state.layer, runs);
    if (!kinds.length) kinds = kindsOf(this.index, this.state.layer);
    if (!kinds.includes(this.state.kind)) this.state.kind = kinds[0] || null;
    setOptions(this.kindSelect, kinds.map((kind) => ({ value: kind, text: quantityLabel(kind) })), this.state.kind);
    this.fillViews();
  },

  /** The series of the chosen layer and quantity in the shown runs (all runs when none): what the View menu offers views for. */
  menuSeries() {
    const shown = this.shownRuns();
    const of = (runs) => this.index.series.filter((s) => s.layer === this.state.layer && s.kind === this.state.kind &&
      (!runs || runs.includes(s.run)));
    const series = of(shown.length ? shown : null);
    return series.length ? series : of(null);
  },

  /** The View menu of the chosen quantity; keeps the view where it has it. */
  fillViews() {
    const views = viewsFor(this.menuSeries());
    if (!views.some((v) => v.id === this.state.view)) this.state.view = views.length ? views[0].id : "heatmap";
    setOptions(this.viewSelect, views.map((v) => ({ value: v.id, text: v.label })), this.state.view);
    this.showViewControls();
    this.syncSampleControls();
  },

  /** Shows the current view's own inputs, hides the others'. */
  showViewControls() {
    for (const controls of this.viewControls) controls.node.hidden = controls.view.id !== this.state.view;
  },

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
  },

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
  },

  /** "of 0-N" by the Sample control (nothing for views without samples). */
  showSampleCount(samples) {
    this.sampleInput.max = String(Math.max(0, samples - 1));
    this.sampleCount.textContent = samples ? `of 0\u2013${samples - 1}` : "";
  },

  /** Says by the step slider where TensorBoard kept a sample of the steps. */
  showSampling(sampled) {
    const text = samplingNote(sampled);
    this.sampling.hidden = !text;
    // The flag in code type, kept on one line.
    const [before, ...after] = text.split(KEEP_ALL_FLAG);
    this.sampling.replaceChildren(before, ...(after.length
      ? [el("code", { class: "rnn-flag", text: KEEP_ALL_FLAG }), after.join(KEEP_ALL_FLAG)] : []));
  },

  /** Marks the fixed range field invalid with its reason (null: valid). */
  showRangeError(error) {
    this.rangeValue.classList.toggle("rnn-invalid", Boolean(error));
    if (error) this.rangeValue.setAttribute("aria-invalid", "true");
    else this.rangeValue.removeAttribute("aria-invalid");
    this.rangeError.hidden = !error;
    this.rangeError.textContent = error ? `${error[0].toUpperCase()}${error.slice(1)}; auto range shown.` : "";
  },
};
