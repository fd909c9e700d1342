// Diverging colour map centred on zero: blue = negative, white = 0,
// red = positive (ColorBrewer RdBu, reversed). Values beyond the range clip
// to the end colours. Non-finite values and masked timesteps get colours
// that are not on the map.

import { VIRIDIS_HEX } from "../vendor/viridis.js";

const STOPS = [
  [-1.0, [5, 48, 97]],
  [-2 / 3, [33, 102, 172]],
  [-1 / 3, [146, 197, 222]],
  [0.0, [247, 247, 247]],
  [1 / 3, [244, 165, 130]],
  [2 / 3, [178, 24, 43]],
  [1.0, [103, 0, 31]],
];

export const NAN_RGB = [255, 0, 255]; // magenta
export const POS_INF_RGB = [0, 0, 0]; // black
// Green is on no colour map the tab uses for signed values.
export const NEG_INF_RGB = [0, 160, 60];
export const MASK_RGB = [185, 185, 185]; // grey, hatched darker on top
export const MASK_HATCH = "rgba(90, 90, 90, 0.9)";
export const NEGATIVE_NAME = "blue";
export const POSITIVE_NAME = "red";

/** The map's colour at x in [-1, 1], interpolated between the stops. */
function interpolate(x, out, at) {
  let i = 0;
  while (i < STOPS.length - 2 && x > STOPS[i + 1][0]) i++;
  const [x0, c0] = STOPS[i];
  const [x1, c1] = STOPS[i + 1];
  const f = (x - x0) / (x1 - x0);
  out[at] = Math.round(c0[0] + f * (c1[0] - c0[0]));
  out[at + 1] = Math.round(c0[1] + f * (c1[1] - c0[1]));
  out[at + 2] = Math.round(c0[2] + f * (c1[2] - c0[2]));
}

// The map tabulated at LUT_STEPS + 1 points over [-1, 1]: a heatmap colours
// up to a few hundred thousand pixels per draw, and a lookup is several
// times cheaper than interpolating. Neighbours differ by < 0.5 colour units.
const LUT_STEPS = 2048;
const LUT = new Uint8ClampedArray((LUT_STEPS + 1) * 3);
for (let k = 0; k <= LUT_STEPS; k++) interpolate((2 * k) / LUT_STEPS - 1, LUT, 3 * k);

/**
 * Writes the colour of `value` on the range [-vmax, vmax] into out[at..at+2].
 */
export function divergingInto(value, vmax, out, at) {
  let c;
  if (value !== value) c = NAN_RGB;
  else if (value === Infinity) c = POS_INF_RGB;
  else if (value === -Infinity) c = NEG_INF_RGB;
  if (c) {
    out[at] = c[0]; out[at + 1] = c[1]; out[at + 2] = c[2];
    return;
  }
  let x = vmax > 0 ? value / vmax : 0;
  if (x < -1) x = -1;
  else if (x > 1) x = 1;
  const k = 3 * Math.round((x + 1) * (LUT_STEPS / 2));
  out[at] = LUT[k]; out[at + 1] = LUT[k + 1]; out[at + 2] = LUT[k + 2];
}

/**
 * RGBA pixels of rows x cols values already normalised to [-1, 1] (NaN and
 * +-Inf kept), row-major; a column whose colMasked is 1 is grey. The
 * per-pixel loop of a heatmap draw, kept free of calls.
 */
export function divergingPixels(normed, colMasked, cols, px) {
  const half = LUT_STEPS / 2;
  for (let k = 0, at = 0; k < normed.length; k++, at += 4) {
    const x = normed[k];
    let c = null;
    if (colMasked[k % cols]) c = MASK_RGB;
    else if (x !== x) c = NAN_RGB;
    else if (x === Infinity) c = POS_INF_RGB;
    else if (x === -Infinity) c = NEG_INF_RGB;
    if (c === null) {
      const l = 3 * Math.round(((x < -1 ? -1 : x > 1 ? 1 : x) + 1) * half);
      px[at] = LUT[l]; px[at + 1] = LUT[l + 1]; px[at + 2] = LUT[l + 2];
    } else {
      px[at] = c[0]; px[at + 1] = c[1]; px[at + 2] = c[2];
    }
    px[at + 3] = 255;
  }
}

/**
 * RGBA pixels of values already normalised to [0, 1] on viridis (NaN and
 * +-Inf kept, drawn as in divergingPixels; a masked column grey).
 */
export function sequentialPixels(normed, colMasked, cols, px) {
  for (let k = 0, at = 0; k < normed.length; k++, at += 4) {
    const x = normed[k];
    let c = null;
    if (colMasked[k % cols]) c = MASK_RGB;
    else if (x !== x) c = NAN_RGB;
    else if (x === Infinity) c = POS_INF_RGB;
    else if (x === -Infinity) c = NEG_INF_RGB;
    if (c === null) viridisInto(x, px, at);
    else {
      px[at] = c[0]; px[at + 1] = c[1]; px[at + 2] = c[2];
    }
    px[at + 3] = 255;
  }
}

/** CSS colour string for `value` on [-vmax, vmax]. */
export function divergingCss(value, vmax) {
  const rgb = [0, 0, 0];
  divergingInto(value, vmax, rgb, 0);
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

// viridis' 256 colours as bytes (r, g, b, ...), decoded once from the vendored hex.
const VIRIDIS_BYTES = (() => {
  const out = new Uint8Array(VIRIDIS_HEX.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(VIRIDIS_HEX.slice(2 * i, 2 * i + 2), 16);
  return out;
})();
const VIRIDIS_COUNT = VIRIDIS_BYTES.length / 3;

/** Writes viridis' colour at position f (0..1, clamped) into out[at..at+2]. */
export function viridisInto(f, out, at) {
  const k = Math.max(0, Math.min(VIRIDIS_COUNT - 1, Math.floor(f * VIRIDIS_COUNT)));
  out[at] = VIRIDIS_BYTES[3 * k];
  out[at + 1] = VIRIDIS_BYTES[3 * k + 1];
  out[at + 2] = VIRIDIS_BYTES[3 * k + 2];
}
