// The selection across page reloads and as a link (shell/persist.js keeps
// it in TensorBoard's URL hash and in localStorage). Methods of the App
// (shell/app.js), kept here by job.

import { VIEWS } from "../views/registry.js";
import { StateStore, storageKey } from "./persist.js";

/** The keys of every view's own options. */
function viewOptionKeys() {
  return VIEWS.flatMap((view) => Object.keys(view.options || {}));
}

export const savedStateMethods = {
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
    this.keptState = new StateStore({
      top, storage, key: storageKey(where.origin, where.pathname, logdir), hashDelay: 250,
    });
    this.applySavedState(this.keptState.load().state);
    if (top && top !== window) {
      // Back on this tab (TensorBoard set the hash to "#rnn"): write the
      // state again; a pasted link with another state: show it.
      top.addEventListener("hashchange", () => {
        const linked = this.keptState.linkChange();
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
  },

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
    // The views' own options (declared by each view, checked when read).
    for (const key of viewOptionKeys()) if (saved[key] !== undefined) st[key] = saved[key];
    this.syncSampleControls();
    for (const controls of this.viewControls) controls.sync();
    this.showViewControls();
    st.zoom = null;
  },

  /** Shows the link to this view, selected, and copies it where allowed. */
  async copyLink() {
    this.saveState();
    const st = this.state;
    const last = this.steps[this.steps.length - 1];
    const link = this.keptState && this.keptState.link({
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
  },

  /** Keeps the state (localStorage and the top-level URL's hash). */
  saveState() {
    if (!this.keptState) return;
    const st = this.state;
    const last = this.steps[this.steps.length - 1];
    this.keptState.save({
      ...st,
      runsChosen: this.runsChosen,
      lastStep: this.steps.length > 0 && st.step === last,
    });
  },
};
