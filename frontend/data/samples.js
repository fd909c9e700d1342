// The Sample control's choices, as pure functions (no DOM) from a
// [samples, timesteps, channels] tensor (and its [samples, timesteps] mask)
// to the view one panel draws: one sample, the mean or the mean |v| over
// the probe batch, or every sample at once for the small-multiples grid.
//
// A view is { data, offset, T, C, mask } with value(t, c) =
// data[offset + t * C + c] and mask[t] === 0 for a masked timestep.

export const SAMPLE_MODES = [
  { value: "sample", text: "sample #" },
  { value: "mean", text: "mean over samples" },
  { value: "meanAbs", text: "mean |v| over samples" },
  { value: "medianAbs", text: "median |v| over samples" },
];

/** The modes that reduce the batch to one [T, C] view (not one sample, not all). */
export const REDUCING_MODES = ["mean", "meanAbs", "medianAbs"];

/** How NaN is treated by the means, for notes and the README. */
export const NAN_RULE =
  "NaN values are left out of the mean (a cell NaN in every sample stays NaN); " +
  "\u00b1Inf propagate (+Inf and \u2212Inf together give NaN)";

/**
 * The sample number input: a whole number >= 0. { value } or { error }.
 * (The range is checked against the data: sampleRangeError.)
 */
export function parseSampleNumber(text) {
  const s = String(text ?? "").trim();
  if (s === "") return { error: "enter a sample number (0, 1, \u2026)" };
  const n = Number(s);
  if (!Number.isFinite(n)) return { error: `"${s}" is not a number` };
  if (!Number.isInteger(n)) return { error: `${s} is not a whole number` };
  if (n < 0) return { error: "samples are numbered from 0" };
  return { value: n };
}

/** The reason sample is not in a probe batch of `count` samples, or "". */
export function sampleRangeError(sample, count) {
  if (!count || sample < count) return "";
  return count === 1
    ? `out of range: only sample 0 is logged`
    : `out of range: samples 0\u2013${count - 1} are logged`;
}

/** Which timesteps of one sample are unmasked, from the [S, T] mask tensor. */
export function sampleMask(maskTensor, sample, T) {
  if (!maskTensor) return null;
  const mask = new Uint8Array(T);
  const offset = sample * T;
  for (let t = 0; t < T; t++) mask[t] = maskTensor.data[offset + t] > 0.5 ? 1 : 0;
  return mask;
}

/** One sample's [T, C] view (no copy). */
export function sampleView(tensor, maskTensor, sample) {
  const [, T, C] = tensor.shape;
  return { data: tensor.data, offset: sample * T * C, T, C, mask: sampleMask(maskTensor, sample, T) };
}

/**
 * The mean (abs: of |v|) over samples, per (timestep, channel), as a view
 * with its own Float64Array. At timestep t only the samples unmasked at t
 * are averaged; t is masked in the result when it is masked in every
 * sample. NaN values are left out (nanmean); a cell with no non-NaN value
 * is NaN; +-Inf propagate. nanCells: how many cells had a NaN left out.
 */
export function meanOverSamples(tensor, maskTensor, abs = false) {
  const [S, T, C] = tensor.shape;
  const src = tensor.data;
  const data = new Float64Array(T * C);
  const mask = maskTensor ? new Uint8Array(T) : null;
  const sums = new Float64Array(C);
  const counts = new Uint32Array(C);
  const nans = new Uint32Array(C);
  let nanCells = 0;
  for (let t = 0; t < T; t++) {
    sums.fill(0);
    counts.fill(0);
    nans.fill(0);
    let unmasked = 0;
    for (let s = 0; s < S; s++) {
      if (maskTensor && !(maskTensor.data[s * T + t] > 0.5)) continue;
      unmasked++;
      const row = (s * T + t) * C;
      for (let c = 0; c < C; c++) {
        const v = src[row + c];
        if (Number.isNaN(v)) nans[c]++;
        else {
          sums[c] += abs ? Math.abs(v) : v;
          counts[c]++;
        }
      }
    }
    if (mask) mask[t] = unmasked ? 1 : 0;
    if (!unmasked) continue;
    const out = t * C;
    for (let c = 0; c < C; c++) {
      data[out + c] = counts[c] ? sums[c] / counts[c] : NaN;
      if (nans[c] && counts[c]) nanCells++;
    }
  }
  return { data, offset: 0, T, C, mask, samples: S, nanCells };
}

/**
 * The median of |v| over samples, per (timestep, channel), with
 * meanOverSamples' rules for the mask (only samples unmasked at t) and NaN
 * (left out; none left: NaN). One sample far larger than the others moves
 * the mean |v|, not the median: the batch's typical magnitude.
 */
export function medianAbsOverSamples(tensor, maskTensor) {
  const [S, T, C] = tensor.shape;
  const src = tensor.data;
  const data = new Float64Array(T * C);
  const mask = maskTensor ? new Uint8Array(T) : null;
  const column = new Float64Array(S);
  let nanCells = 0;
  for (let t = 0; t < T; t++) {
    const rows = [];
    for (let s = 0; s < S; s++) if (!maskTensor || maskTensor.data[s * T + t] > 0.5) rows.push((s * T + t) * C);
    if (mask) mask[t] = rows.length ? 1 : 0;
    if (!rows.length) continue;
    for (let c = 0; c < C; c++) {
      let n = 0;
      for (const row of rows) {
        const v = src[row + c];
        if (!Number.isNaN(v)) column[n++] = Math.abs(v);
      }
      if (n && n < rows.length) nanCells++;
      data[t * C + c] = n ? medianOf(column.subarray(0, n).sort()) : NaN;
    }
  }
  return { data, offset: 0, T, C, mask, samples: S, nanCells };
}

/** The median of sorted values (the mean of the middle two for an even count). */
function medianOf(sorted) {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Every sample stacked as one [S * T, C] view (no copy), for a colour
 * range over the whole probe batch; samples and steps say how to split it.
 */
export function allSamplesView(tensor, maskTensor) {
  const [S, T, C] = tensor.shape;
  let mask = null;
  if (maskTensor) {
    mask = new Uint8Array(S * T);
    for (let i = 0; i < S * T; i++) mask[i] = maskTensor.data[i] > 0.5 ? 1 : 0;
  }
  return { data: tensor.data, offset: 0, T: S * T, C, mask, samples: S, steps: T };
}

/** Sample s of an allSamplesView, as an ordinary [T, C] view (no copy). */
export function splitSample(all, s) {
  const T = all.steps;
  return {
    data: all.data, offset: all.offset + s * T * all.C, T, C: all.C,
    mask: all.mask ? all.mask.subarray(s * T, (s + 1) * T) : null,
  };
}

/**
 * The view a panel draws for mode "sample" | "mean" | "meanAbs" | "medianAbs" | "all".
 * { view } or { error } (the sample is not in this tensor).
 */
export function panelView(tensor, maskTensor, mode, sample) {
  const S = tensor.shape[0];
  if (mode === "mean" || mode === "meanAbs") return { view: meanOverSamples(tensor, maskTensor, mode === "meanAbs") };
  if (mode === "medianAbs") return { view: medianAbsOverSamples(tensor, maskTensor) };
  if (mode === "all") return { view: allSamplesView(tensor, maskTensor) };
  if (sample >= S) return { error: `This run has ${S} sample(s); sample ${sample} is not logged.` };
  return { view: sampleView(tensor, maskTensor, sample) };
}

/** What a panel shows, for its info line: "sample 2", "mean over 8 samples". */
export function sampleLabel(mode, sample, count) {
  const n = count ? `${count} sample${count === 1 ? "" : "s"}` : "samples";
  if (mode === "mean") return `mean over ${n}`;
  if (mode === "meanAbs") return `mean |v| over ${n}`;
  if (mode === "medianAbs") return `median |v| over ${n}`;
  if (mode === "all") return `all ${n}`;
  return `sample ${sample}`;
}
