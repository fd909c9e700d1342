// The readout where the eye is: one floating box at the cursor (run,
// direction, timestep, channel, value), shared by every view, plus the
// words the readout line above the panels shows.

import { el } from "./dom.js";
import { fmt } from "./format.js";
import { sampleOfView, tokenRows } from "../data/tokens.js";

/**
 * What a hovered cell is, as [label, value] rows: run, direction,
 * timestep, then channel and value, or "masked (padding)". hit is
 * { t, c } (c null: no channel, e.g. a masked timestep) or null.
 */
export function hoverRows(series, view, hit) {
  if (!hit) return [];
  const rows = [["run", series.run]];
  if (series.direction) rows.push(["direction", series.direction]);
  rows.push(["timestep", String(hit.t)]);
  rows.push(...tokenRows(series, sampleOfView(view), hit.t));
  if (view.mask && view.mask[hit.t] === 0) {
    rows.push(["", "masked (padding)"]);
  } else if (hit.c !== null && hit.c !== undefined) {
    rows.push(["channel", String(hit.c)]);
    rows.push(["value", fmt(view.data[view.offset + hit.t * view.C + hit.c], 4)]);
  }
  return rows;
}

/** The one-line readout text of hoverRows: "run_a · timestep 3 · ...". */
export function hoverText(rows) {
  return rows.map(([k, v]) => (k && k !== "run" && k !== "direction" ? `${k} ${v}` : v)).join(" \u00b7 ");
}

/** A floating box next to the cursor, kept inside the window. */
export class Tooltip {
  constructor(parent = document.body) {
    this.node = el("div", { id: "rnn-tooltip", class: "rnn-tooltip", hidden: true, attrs: { role: "tooltip" } });
    parent.append(this.node);
  }

  /** Shows rows at the event's client position (hides on no rows). */
  show(rows, event) {
    if (!rows.length) {
      this.hide();
      return;
    }
    this.node.replaceChildren(...rows.map(([k, v]) => el("div", {}, [
      k ? el("span", { class: "rnn-muted", text: `${k} ` }) : null,
      el("span", { class: k === "value" ? "rnn-tooltip-value" : "", text: v }),
    ])));
    this.node.dataset.value = rows.find(([k]) => k === "value")?.[1] ?? "";
    this.node.hidden = false;
    const gap = 12;
    const { width, height } = this.node.getBoundingClientRect();
    let x = event.clientX + gap;
    let y = event.clientY + gap;
    if (x + width > window.innerWidth - 2) x = event.clientX - gap - width;
    if (y + height > window.innerHeight - 2) y = event.clientY - gap - height;
    this.node.style.left = `${Math.max(0, x)}px`;
    this.node.style.top = `${Math.max(0, y)}px`;
  }

  hide() {
    this.node.hidden = true;
  }
}
