// Diverging colour map centred on zero: blue = negative, white = 0,
// red = positive (ColorBrewer RdBu, reversed). Values beyond the range clip
// to the end colours. Non-finite values and masked timesteps get colours
// that are not on the map.

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

/**
 * Writes the colour of `value` on the range [-vmax, vmax] into out[at..at+2].
 */
export function divergingInto(value, vmax, out, at) {
  if (Number.isNaN(value)) {
    out[at] = NAN_RGB[0]; out[at + 1] = NAN_RGB[1]; out[at + 2] = NAN_RGB[2];
    return;
  }
  if (value === Infinity || value === -Infinity) {
    const c = value > 0 ? POS_INF_RGB : NEG_INF_RGB;
    out[at] = c[0]; out[at + 1] = c[1]; out[at + 2] = c[2];
    return;
  }
  let x = vmax > 0 ? value / vmax : 0;
  if (x < -1) x = -1;
  else if (x > 1) x = 1;
  let i = 0;
  while (i < STOPS.length - 2 && x > STOPS[i + 1][0]) i++;
  const [x0, c0] = STOPS[i];
  const [x1, c1] = STOPS[i + 1];
  const f = (x - x0) / (x1 - x0);
  out[at] = Math.round(c0[0] + f * (c1[0] - c0[0]));
  out[at + 1] = Math.round(c0[1] + f * (c1[1] - c0[1]));
  out[at + 2] = Math.round(c0[2] + f * (c1[2] - c0[2]));
}

/** CSS colour string for `value` on [-vmax, vmax]. */
export function divergingCss(value, vmax) {
  const rgb = [0, 0, 0];
  divergingInto(value, vmax, rgb, 0);
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** Categorical colours for line plots (Tableau 10), cycled by channel. */
export const LINE_COLORS = [
  "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];
