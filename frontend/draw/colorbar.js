// Colour bars: the diverging bar of the heatmaps (numbers, range caption,
// swatches for masked / NaN / Inf) and the gradient strip other views use.

import { el } from "./dom.js";
import { fmt, multiplierText } from "./format.js";
import { scaleName, scaleTicks } from "./scales.js";
import {
  divergingCss, divergingInto, MASK_RGB, viridisInto, NAN_RGB, NEG_INF_RGB, NEGATIVE_NAME, POS_INF_RGB, POSITIVE_NAME,
} from "./colormap.js";
import { ROBUST_PERCENTILE } from "../data/stats.js";

const RANGE_CAPTIONS = {
  auto: "auto range",
  fixed: "fixed range",
  robust: `robust range (${ROBUST_PERCENTILE}th pct)`,
};

/**
 * Colour bar: the gradient from -vmax (blue) through 0 (white) to +vmax
 * (red), its numbers, and swatches for masked / NaN / Inf. `range` is
 * "auto", "fixed" or "robust"; the last two say that values beyond +-vmax
 * are clipped (`clipped`: how many cells are, when known).
 */
export function colorBar(scale, width, { showMasked = false, range = "auto", clipped = null, aggregated = null } = {}) {
  if (scale.sequential) return unitColorBar(width, { showMasked, aggregated });
  const vmax = scale.vmax;
  const barWidth = Math.max(200, Math.min(width, 480));
  // Position along the bar is the scale's norm; the colour is that of norm.
  const canvas = gradientBar(barWidth, (f, out, at) => divergingInto(2 * f - 1, 1, out, at));

  // Ticks at their scale positions (symlog: decades), labels centred.
  // Linear: the ends and 0 (the gradient between is even).
  const ticks = scale.kind === "linear" || !(vmax > 0)
    ? scaleTicks(scale, barWidth, barWidth)
    : scaleTicks(scale, barWidth, 44);
  const multiplier = multiplierText(ticks[0].exponent);
  const exponentLine = multiplier ? el("div", {
    class: "rnn-colorbar-multiplier", style: { width: `${barWidth}px` }, text: multiplier,
    title: `tick values are multiplied by 10^${ticks[0].exponent}`,
  }) : null;
  const numbers = el("div", { class: "rnn-colorbar-numbers rnn-colorbar-ticks", style: { width: `${barWidth}px` } },
    ticks.map((tick) => el("span", {
      class: "rnn-colorbar-tick",
      text: tick.short,
      dataset: { value: tick.value },
      style: { left: `${((tick.pos + 1) / 2) * 100}%` },
    })));
  const caption = el("div", { class: "rnn-colorbar-caption", style: { width: `${barWidth}px` } }, [
    el("span", { text: `${NEGATIVE_NAME} = negative` }),
    el("span", { class: "rnn-colorbar-range", text: RANGE_CAPTIONS[range] || RANGE_CAPTIONS.auto }),
    el("span", { text: `${POSITIVE_NAME} = positive` }),
  ]);
  const scaleLine = el("div", {
    class: "rnn-colorbar-scale", style: { maxWidth: `${barWidth}px` },
    text: `colour scale: ${scaleName(scale)}`,
  });
  const swatch = (rgb, text, cls) => el("span", { class: "rnn-swatch-item" }, [
    el("span", { class: `rnn-swatch ${cls || ""}`, style: { background: `rgb(${rgb.join(",")})` } }),
    text,
  ]);
  let clipNote = null;
  if (range === "fixed") clipNote = `beyond \u00b1${fmt(vmax)}: clipped`;
  if (range === "robust") {
    const cells = clipped === null ? "" : ` (${clipped} cell${clipped === 1 ? "" : "s"})`;
    clipNote = `beyond \u00b1${fmt(vmax)}: clipped to the end colours${cells}`;
  }
  const legend = el("div", { class: "rnn-colorbar-legend", style: { maxWidth: `${barWidth}px` } }, [
    showMasked ? swatch(MASK_RGB, "masked (padding)", "rnn-swatch-masked") : null,
    swatch(NAN_RGB, "NaN"),
    swatch(POS_INF_RGB, "+Inf"),
    swatch(NEG_INF_RGB, "\u2212Inf"),
    clipNote ? el("span", { class: "rnn-swatch-item rnn-clip-note", text: clipNote }) : null,
  ]);
  return el("div", {
    class: "rnn-colorbar",
    dataset: {
      vmax: String(vmax), range, scale: scale.kind,
      linthresh: scale.linthresh === null ? null : String(scale.linthresh),
      clipped: clipped === null ? null : String(clipped),
      multiplier,
      negativeColor: divergingCss(-1, 1), positiveColor: divergingCss(1, 1),
    },
  }, [exponentLine, canvas, numbers, caption, scaleLine, aggregated, legend]);
}

/** The masked / NaN / Inf swatches under a colour bar. */
function specialSwatches(showMasked, barWidth) {
  const swatch = (rgb, text, cls) => el("span", { class: "rnn-swatch-item" }, [
    el("span", { class: `rnn-swatch ${cls || ""}`, style: { background: `rgb(${rgb.join(",")})` } }),
    text,
  ]);
  return el("div", { class: "rnn-colorbar-legend", style: { maxWidth: `${barWidth}px` } }, [
    showMasked ? swatch(MASK_RGB, "masked (padding)", "rnn-swatch-masked") : null,
    swatch(NAN_RGB, "NaN"),
    swatch(POS_INF_RGB, "+Inf"),
    swatch(NEG_INF_RGB, "\u2212Inf"),
  ]);
}

/**
 * The colour bar of a [0, 1] scale (scales.makeUnitScale, gate
 * activations): viridis from 0 (dark) to 1 (yellow), ticks every 0.25.
 */
export function unitColorBar(width, { showMasked = false, aggregated = null } = {}) {
  const barWidth = Math.max(200, Math.min(width, 480));
  const canvas = gradientBar(barWidth, viridisInto);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const numbers = el("div", { class: "rnn-colorbar-numbers rnn-colorbar-ticks", style: { width: `${barWidth}px` } },
    ticks.map((v) => el("span", {
      class: "rnn-colorbar-tick", text: String(v), dataset: { value: v }, style: { left: `${v * 100}%` },
    })));
  const caption = el("div", { class: "rnn-colorbar-caption", style: { width: `${barWidth}px` } }, [
    el("span", { text: "0 = shut" }),
    el("span", { class: "rnn-colorbar-range", text: "gate range 0 to 1" }),
    el("span", { text: "1 = open" }),
  ]);
  const scaleLine = el("div", {
    class: "rnn-colorbar-scale", style: { maxWidth: `${barWidth}px` },
    text: "colour scale: sequential 0 to 1 (viridis): a gate's activation lies in [0, 1]",
  });
  const rgb = (f) => {
    const out = [0, 0, 0];
    viridisInto(f, out, 0);
    return `rgb(${out.join(", ")})`;
  };
  return el("div", {
    class: "rnn-colorbar",
    dataset: { vmax: "1", vmin: "0", range: "unit", scale: "unit", colormap: "viridis", lowColor: rgb(0), highColor: rgb(1) },
  }, [canvas, numbers, caption, scaleLine, aggregated, specialSwatches(showMasked, barWidth)]);
}

/**
 * A colour bar's gradient: a canvas `width` px wide and 10 px high whose
 * column at fraction f (0..1, left to right) is colourInto(f, rgba, at)'s
 * colour (it writes r, g, b; alpha is set opaque).
 */
export function gradientBar(width, colourInto) {
  const canvas = el("canvas", { class: "rnn-colorbar-gradient" });
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(10 * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = "10px";
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, 1);
  for (let i = 0; i < canvas.width; i++) {
    colourInto((i + 0.5) / canvas.width, image.data, 4 * i);
    image.data[4 * i + 3] = 255;
  }
  for (let row = 0; row < canvas.height; row++) ctx.putImageData(image, 0, row);
  return canvas;
}
