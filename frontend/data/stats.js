// Numbers about a panel's values: max |v|, non-finite counts, the robust
// range's percentile; kept with the tensor so that redraws do not walk it again.

// A panel's data is a view { data, offset, T, C, mask } (samples.js builds
// them): value(t, c) = data[offset + t * C + c]; mask[t] === 0 means masked.

// Results computed from a tensor's data, kept with it (a WeakMap: dropped
// when the data is) so that redrawing a cached step or changing the colour
// scale does not walk its 512 x 1000 values again. A few per tensor
// (views of other samples, zoom windows).
const derived = new WeakMap();
const DERIVED_PER_TENSOR = 12;

export function memoized(data, key, compute) {
  let entries = derived.get(data);
  if (!entries) {
    entries = new Map();
    derived.set(data, entries);
  }
  if (entries.has(key)) return entries.get(key);
  const value = compute();
  if (entries.size >= DERIVED_PER_TENSOR) entries.delete(entries.keys().next().value);
  entries.set(key, value);
  return value;
}

export function viewKey(view) {
  return `${view.offset}|${view.T}|${view.C}|${view.mask ? view.mask.join("") : "-"}`;
}

/** Max |v| over finite, unmasked values, and counts of NaN, +Inf, -Inf, masked. */
export function summarize(view) {
  return memoized(view.data, `summary|${viewKey(view)}`, () => computeSummary(view));
}

function computeSummary(view) {
  const { data, offset, T, C, mask } = view;
  let maxAbs = 0;
  let minAbs = Infinity; // smallest nonzero finite |v|
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let maskedSteps = 0;
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) {
      maskedSteps++;
      continue;
    }
    const row = offset + t * C;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      if (Number.isNaN(v)) nan++;
      else if (v === Infinity) posInf++;
      else if (v === -Infinity) negInf++;
      else {
        const a = Math.abs(v);
        if (a > maxAbs) maxAbs = a;
        if (a > 0 && a < minAbs) minAbs = a;
      }
    }
  }
  return { maxAbs, minAbs, nan, posInf, negInf, inf: posInf + negInf, maskedSteps };
}

/** The percentile the "robust" colour range is taken at. */
export const ROBUST_PERCENTILE = 99;

/**
 * |v| of every finite, unmasked value of a view (the values summarize's
 * maxAbs is taken over), as a Float64Array.
 */
export function finiteAbsValues(view) {
  const { data, offset, T, C, mask } = view;
  const out = new Float64Array(T * C);
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (mask && mask[t] === 0) continue;
    const row = offset + t * C;
    for (let c = 0; c < C; c++) {
      const v = data[row + c];
      if (Number.isFinite(v)) out[n++] = Math.abs(v);
    }
  }
  return out.subarray(0, n);
}

/** The arrays one after another, in one Float64Array. */
export function concatValues(arrays) {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/**
 * The q-th percentile (0..100) of `values`, interpolated linearly between
 * the two nearest ranks exactly as numpy.percentile's default ("linear")
 * method does. NaN for no values. `values` is not modified.
 */
export function percentile(values, q) {
  const n = values.length;
  if (!n) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (n - 1) * (Math.min(100, Math.max(0, q)) / 100);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, n - 1);
  const t = rank - lo;
  const a = sorted[lo];
  const diff = sorted[hi] - a;
  return t >= 0.5 ? sorted[hi] - diff * (1 - t) : a + diff * t;
}

/** How many of `values` are above `limit`. */
export function countAbove(values, limit) {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > limit) n++;
  return n;
}
