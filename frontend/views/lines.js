// The lines view: one line per channel over timesteps on a linear or
// symlog y axis, fitted to the width; the top-k channels by max |v| (or the
// picked ones), each in its channel's colour (the same in every panel and
// run); NaN / +Inf / -Inf marked at their timesteps; the line under the
// cursor is drawn thick on an overlay and read out in the tooltip.

import { el } from "../draw/dom.js";
import {
  channelColor, DEFAULT_TOP_K, formatChannelList, parseChannelList, parseTopK, selectChannels, shownStats,
} from "../draw/channels.js";
import { NAN_RGB, NEG_INF_RGB, POS_INF_RGB } from "../draw/colormap.js";
import { ROBUST_PERCENTILE } from "../data/stats.js";
import { panelCanvas } from "../draw/heatmap.js";
import { drawLineHighlight, drawLines, linesLayout, linesPointAt } from "../draw/lines.js";
import { fmt } from "../draw/format.js";
import { hoverRows } from "../draw/tooltip.js";
import { timestepView } from "./timestep_panels.js";
import { isString } from "../shell/persist.js";


const CLIP_NOTES = {
  fixed: " (fixed; lines beyond it are clipped)",
  robust: ` (robust, ${ROBUST_PERCENTILE}th percentile of |v|; lines beyond it are clipped)`,
};

/**
 * The lines view's controls: "top [k] channels by max |v|" and a channel
 * picker that overrides it. Writes state.topK (number) and state.channels
 * (the picker's last valid text; "" = top-k) and calls onChange; an
 * invalid input is marked with its reason and changes nothing.
 * Returns { node, sync() } (sync: the inputs from state).
 */
export function linesControls(state, onChange) {
  if (state.topK === undefined) state.topK = DEFAULT_TOP_K;
  if (state.channels === undefined) state.channels = "";
  const topK = el("input", {
    id: "rnn-top-k", type: "number", min: "1", step: "1", value: String(state.topK),
    attrs: { "aria-label": "how many channels (largest max |v|)" },
  });
  const topKError = el("span", { id: "rnn-top-k-error", class: "rnn-input-error", attrs: { "aria-live": "polite" } });
  const pick = el("input", {
    id: "rnn-channels", type: "text", value: state.channels, placeholder: "e.g. 3, 17, 40-45",
    attrs: { "aria-label": "channels to draw (overrides top-k)" },
  });
  const pickError = el("span", { id: "rnn-channels-error", class: "rnn-input-error", attrs: { "aria-live": "polite" } });
  const mark = (input, errorNode, error) => {
    input.classList.toggle("rnn-invalid", Boolean(error));
    input.title = error || "";
    errorNode.textContent = error || "";
    errorNode.hidden = !error;
  };
  mark(topK, topKError, "");
  mark(pick, pickError, "");
  topK.addEventListener("input", () => {
    const parsed = parseTopK(topK.value);
    mark(topK, topKError, parsed.error ? `${parsed.error}; showing ${state.topK}` : "");
    if (parsed.error || parsed.value === state.topK) return;
    state.topK = parsed.value;
    onChange();
  });
  pick.addEventListener("input", () => {
    const parsed = parseChannelList(pick.value);
    const was = state.channels;
    mark(pick, pickError, parsed.error
      ? `${parsed.error}; showing ${was ? `channels ${was}` : `the top ${state.topK}`}` : "");
    if (parsed.error) return;
    state.channels = parsed.channels ? pick.value.trim() : "";
    if (state.channels !== was) onChange();
  });
  const node = el("div", { id: "rnn-lines-controls", class: "rnn-field rnn-lines-controls" }, [
    el("span", { class: "rnn-field-label", text: "Channels" }),
    el("span", { class: "rnn-lines-control" }, [
      el("span", { text: "top " }), topK, el("span", { text: " by max |v|" }), topKError,
    ]),
    el("span", { class: "rnn-lines-control" }, [el("span", { text: "or pick " }), pick, pickError]),
  ]);
  return {
    node,
    sync() {
      topK.value = String(state.topK);
      pick.value = state.channels;
      mark(topK, topKError, "");
      mark(pick, pickError, "");
    },
  };
}

/** The channels a panel draws for the state's top-k / picker. */
export function panelChannels(view, opts) {
  const parsed = parseChannelList(opts.channels || "");
  return selectChannels(view, { k: opts.topK || DEFAULT_TOP_K, picked: parsed.channels || null });
}

/**
 * A lines panel's stats for its y range: max |v| of the channels it draws
 * (opts: topK, channels as in the state), counts of every channel.
 */
export function linesStats(view, stats, opts) {
  return shownStats(view, stats, panelChannels(view, opts).channels);
}

/** The legend: what was chosen, and one swatch per shown channel. */
function legend(view, selection, steps, width) {
  const { channels, mode, missing } = selection;
  const caption = mode === "picked"
    ? `picked: ${channels.length} of ${view.C} channels`
    : channels.length < view.C
      ? `top ${channels.length} of ${view.C} channels by max |v| over unmasked timesteps (NaN/\u00b1Inf first), largest first`
      : `all ${view.C} channel${view.C === 1 ? "" : "s"}, largest max |v| first`;
  const items = channels.map((c) => el("span", {
    class: "rnn-swatch-item rnn-channel-item", dataset: { channel: c, color: channelColor(c) },
  }, [
    el("span", { class: "rnn-swatch rnn-swatch-line", style: { background: channelColor(c) } }),
    `ch ${c}`,
  ]));
  const marker = (rgb, symbol, text) => el("span", { class: "rnn-swatch-item rnn-marker-item" }, [
    el("span", { class: "rnn-marker-symbol", style: { color: `rgb(${rgb.join(",")})` }, text: symbol }), text,
  ]);
  const markers = [];
  if (steps.nan) markers.push(marker(NAN_RGB, "\u25c6", "NaN (on the 0 line)"));
  if (steps.posInf) markers.push(marker(POS_INF_RGB, "\u25b2", "+Inf (top edge)"));
  if (steps.negInf) markers.push(marker(NEG_INF_RGB, "\u25bc", "\u2212Inf (bottom edge)"));
  const nodes = [
    el("div", { class: "rnn-lines-legend-caption", text: caption }),
    el("div", { class: "rnn-colorbar-legend rnn-lines-legend", style: { maxWidth: `${width}px` } }, items),
  ];
  if (markers.length) {
    nodes.push(el("div", { class: "rnn-colorbar-legend rnn-lines-markers", style: { maxWidth: `${width}px` } }, [
      el("span", { class: "rnn-muted", text: "markers, any channel:" }), ...markers,
    ]));
  }
  if (missing.length) {
    nodes.push(el("div", {
      class: "rnn-note rnn-note-warn rnn-missing-channels",
      text: `Not in this panel (channels 0\u2013${view.C - 1}): ${formatChannelList(missing)}.`,
    }));
  }
  return el("div", { class: "rnn-lines-legend-box", dataset: { mode } }, nodes);
}

/**
 * The panel's plot and legend nodes. opts: maxPlotW, range, sample, topK,
 * channels (picker text), onHover, onLeave.
 */
export function linesBody(p, series, opts) {
  const view = p.view;
  const selection = panelChannels(view, opts);
  const shown = selection.channels;
  const canvas = panelCanvas(p, series, opts, "lines");
  const overlay = el("canvas", { class: "rnn-line-highlight" });
  const wrap = el("div", { class: "rnn-canvas-wrap" }, [canvas, overlay]);
  const layout = drawLines(canvas, view, p.scale, linesLayout(view.T, opts.maxPlotW), shown);
  drawLineHighlight(overlay, view, p.scale, layout, null);
  canvas.addEventListener("mousemove", (event) => {
    const hit = linesPointAt(canvas, layout, view, p.scale, event, shown);
    drawLineHighlight(overlay, view, p.scale, layout, hit ? hit.c : null);
    opts.onHover(hoverRows(series, view, hit), event);
  });
  canvas.addEventListener("mouseleave", () => {
    drawLineHighlight(overlay, view, p.scale, layout, null);
    opts.onLeave();
  });
  const axis = p.scale.kind === "symlog"
    ? `y axis symlog \u00b1${fmt(p.scale.vmax)} (linear below ${fmt(p.scale.linthresh)})`
    : `y axis \u00b1${fmt(p.scale.vmax)}`;
  const steps = {
    nan: canvas.dataset.nanSteps !== "", posInf: canvas.dataset.posInfSteps !== "",
    negInf: canvas.dataset.negInfSteps !== "",
  };
  const nodes = [wrap, legend(view, selection, steps, layout.plotW)];
  if (p.stats.maxAbs === 0 && !p.stats.nan && !p.stats.inf) {
    nodes.push(el("div", { class: "rnn-note rnn-all-zero", text: "All values are 0." }));
  }
  nodes.push(el("div", {
    class: "rnn-note",
    text: `${shown.length} of ${view.C} channel(s), one line each; ${axis}${CLIP_NOTES[opts.range] || ""}. ` +
      "Hover for values (the nearest line is highlighted).",
  }));
  return nodes;
}

export const linesView = timestepView({
  id: "lines",
  label: "lines (one per channel)",
  body: linesBody,
  perSample: true,
  // The y range fits the drawn channels (top-k or picked).
  stats: linesStats,
  controls: linesControls,
  options: {
    topK: { initial: DEFAULT_TOP_K, valid: (v) => Number.isInteger(v) && v > 0 && v <= 100000 },
    channels: { initial: "", valid: isString },
  },
});
