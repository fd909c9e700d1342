// Which channels the lines view draws, and their colours. Pure functions
// (no DOM): the top-k channels by magnitude, the channel picker's parser,
// and one colour per channel index, the same in every panel and run.

export const DEFAULT_TOP_K = 10;
// The picker draws at most this many channels (a range like 0-100000 is
// a typo, not a wish for 100000 lines).
export const MAX_PICKED = 256;

// OKLCH lightness levels cycled with the index, so that channels whose hues
// land close together (c and c + 21, c + 34, ...) still differ in lightness.
const LIGHTNESS = [0.55, 0.72, 0.42];
const CHROMA = 0.16;

/** OKLCH (L 0..1, chroma, hue in degrees) to "#rrggbb", chroma reduced into sRGB. */
export function oklchHex(L, chroma, hue) {
  const h = (hue * Math.PI) / 180;
  for (let c = chroma; ; c *= 0.92) {
    const a = c * Math.cos(h);
    const b = c * Math.sin(h);
    const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
    const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
    const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
    const rgb = [
      4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
      -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
      -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
    ];
    if (c < 1e-3 || rgb.every((v) => v >= -1e-4 && v <= 1 + 1e-4)) {
      return `#${rgb.map((v) => {
        const x = Math.min(1, Math.max(0, v));
        const g = x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
        return Math.round(g * 255).toString(16).padStart(2, "0");
      }).join("")}`;
    }
  }
}

/**
 * The colour of channel c: depends only on c. Hues step by the golden
 * angle in OKLCH (a perceptually even hue circle, so neighbouring channels
 * look far apart), lightness cycles over three levels; "#rrggbb".
 */
export function channelColor(c) {
  return oklchHex(LIGHTNESS[c % LIGHTNESS.length], CHROMA, (30 + c * 137.508) % 360);
}

/**
 * Each channel's magnitude for ranking: max |v| over the view's unmasked
 * timesteps; a channel holding NaN or +-Inf anywhere ranks as Infinity
 * (the values that need looking at come first). Float64Array(C).
 */
export function channelMagnitudes(view) {
  const { data, offset, T, C, mask } = view;
  const out = new Float64Array(C);
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) continue;
    const row = offset + t * C;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      const a = Number.isNaN(v) ? Infinity : Math.abs(v);
      if (a > out[c]) out[c] = a;
    }
  }
  return out;
}

/** The k channels of largest magnitude, largest first (ties: lower index first). */
export function topChannels(magnitudes, k) {
  const order = Array.from(magnitudes.keys());
  order.sort((a, b) => (magnitudes[b] - magnitudes[a]) || (a - b));
  return order.slice(0, Math.max(0, k));
}

/**
 * The top-k input: a whole number >= 1. Returns { value } or { error }
 * (the reason, for next to the input).
 */
export function parseTopK(text) {
  const s = String(text ?? "").trim();
  if (s === "") return { error: "enter how many channels to show (1 or more)" };
  if (!/^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$|^[+-]?\.\d+$/.test(s)) return { error: `"${s}" is not a number` };
  const n = Number(s);
  if (!Number.isInteger(n)) return { error: `${s} is not a whole number` };
  if (n < 1) return { error: "must be 1 or more" };
  if (n > MAX_PICKED) return { error: `at most ${MAX_PICKED} lines` };
  return { value: n };
}

/**
 * The channel picker: comma- or space-separated channel numbers and
 * inclusive ranges, e.g. "3, 17, 40-45". Returns { channels } (sorted,
 * without repeats; null for an empty input, meaning "use top-k") or
 * { error } saying which item is wrong and why.
 */
export function parseChannelList(text) {
  const s = String(text ?? "").trim();
  if (s === "") return { channels: null };
  const items = s.split(/[\s,;]+/).filter(Boolean);
  const picked = new Set();
  for (const item of items) {
    let m = /^(\d+)$/.exec(item);
    if (m) {
      picked.add(Number(m[1]));
    } else if ((m = /^(\d+)(?:-|\u2013|\.\.)(\d+)$/.exec(item))) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (b < a) return { error: `range ${item} runs backwards (write ${b}-${a})` };
      if (b - a + 1 > MAX_PICKED) return { error: `range ${item} has ${b - a + 1} channels; at most ${MAX_PICKED}` };
      for (let c = a; c <= b; c++) picked.add(c);
    } else if (/^-\d+$/.test(item)) {
      return { error: `${item}: channels are numbered from 0` };
    } else if (/^\d*\.\d+$|^\d+\.$/.test(item)) {
      return { error: `${item} is not a whole number` };
    } else {
      return { error: `"${item}" is not a channel number or range (e.g. 3, 17, 40-45)` };
    }
    if (picked.size > MAX_PICKED) return { error: `more than ${MAX_PICKED} channels` };
  }
  return { channels: [...picked].sort((a, b) => a - b) };
}

/**
 * The channels a lines panel draws. picked (array, or null for top-k)
 * wins over k. Returns { channels, mode: "top" | "picked", missing
 * (picked channels the view does not have) }.
 */
export function selectChannels(view, { k = DEFAULT_TOP_K, picked = null } = {}) {
  if (picked) {
    return {
      mode: "picked",
      channels: picked.filter((c) => c < view.C),
      missing: picked.filter((c) => c >= view.C),
    };
  }
  return { mode: "top", channels: topChannels(channelMagnitudes(view), k), missing: [] };
}

/** "3, 17, 40–45": sorted channel numbers with runs of 3+ as ranges. */
export function formatChannelList(channels) {
  const sorted = [...channels].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}\u2013${sorted[j]}`);
    else for (let n = i; n <= j; n++) parts.push(String(sorted[n]));
    i = j + 1;
  }
  return parts.join(", ");
}

/**
 * stats (summarize's) with maxAbs and minAbs taken over `channels` only,
 * for a y range that fits the drawn lines; the NaN/Inf and masked counts
 * stay those of every channel (the markers show every channel).
 */
export function shownStats(view, stats, channels) {
  const { data, offset, T, C, mask } = view;
  let maxAbs = 0;
  let minAbs = Infinity;
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) continue;
    const row = offset + t * C;
    for (const c of channels) {
      const v = data[row + c];
      if (!Number.isFinite(v)) continue;
      const a = Math.abs(v);
      if (a > maxAbs) maxAbs = a;
      if (a > 0 && a < minAbs) minAbs = a;
    }
  }
  return { ...stats, maxAbs, minAbs };
}
