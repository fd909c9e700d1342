// The one number format of the tab: labels, colour bars, the tooltip and
// notes all print numbers with it. Pure functions: tested with node --test
// (tests/js/scales.test.mjs).

// Plain decimals for |v| in [PLAIN_MIN, PLAIN_MAX); scientific notation
// ("2.5e-3") outside. A set of numbers shown together (the ticks of one
// axis or colour bar) is judged by its largest |v| and shares one exponent
// ("x1e-3" written once, ticks 0, 2.5, 5), never a mix of both notations.
export const PLAIN_MIN = 1e-2;
export const PLAIN_MAX = 1e4;

function special(value) {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (value === 0) return "0";
  return null;
}

/** Plain decimals, `digits` significant (more for large integers' digits). */
function plain(value, digits) {
  const whole = Math.floor(Math.log10(Math.abs(value))) + 1;
  return String(Number(value.toPrecision(Math.min(21, Math.max(digits, whole)))));
}

/** "1.23e-5": mantissa with `digits` significant digits, trailing zeros dropped. */
function scientific(value, digits) {
  const [m, e] = value.toExponential(Math.max(0, digits - 1)).split("e");
  return `${String(Number(m))}e${Number(e)}`;
}

/**
 * The one number format: NaN, +Inf, -Inf, 0; plain for moderate
 * magnitudes, scientific otherwise; `digits` significant digits.
 */
export function fmt(value, digits = 3) {
  // JSON has no NaN: the routes send null for a value that is not there.
  if (value === null || value === undefined) return "n/a";
  const s = special(value);
  if (s !== null) return s;
  const abs = Math.abs(value);
  // Decided on the rounded value, so 0.009996 is "0.01", not "1e-2".
  const rounded = Math.abs(Number(value.toPrecision(digits)));
  if ((abs >= PLAIN_MIN || rounded >= PLAIN_MIN) && abs < PLAIN_MAX) return plain(value, digits);
  return scientific(value, digits);
}

/**
 * Labels for numbers shown together: { labels, exponent }. exponent 0:
 * every label plain; else every finite label is its mantissa v / 10^exponent
 * (exponent that of the largest |v|), to be read with multiplierText(exponent).
 */
export function formatShared(values, digits = 3) {
  let maxAbs = 0;
  for (const v of values) if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
  const rounded = maxAbs > 0 ? Number(maxAbs.toPrecision(digits)) : 0;
  if (maxAbs === 0 || (rounded >= PLAIN_MIN && maxAbs < PLAIN_MAX)) {
    return { exponent: 0, labels: values.map((v) => special(v) ?? plain(v, digits)) };
  }
  let exponent = Math.floor(Math.log10(maxAbs));
  if (Number((maxAbs / 10 ** exponent).toPrecision(digits)) >= 10) exponent += 1;
  const scale = 10 ** exponent;
  return {
    exponent,
    labels: values.map((v) => special(v) ?? String(Number((v / scale).toPrecision(digits)))),
  };
}

/** What multiplies a shared set's labels: "\u00d71e-3", or "" for none. */
export function multiplierText(exponent) {
  return exponent ? `\u00d71e${exponent}` : "";
}

/** A tick label: a power of ten as "1e-7" (or plain when moderate), else fmt. */
export function fmtTick(value) {
  if (value === 0) return "0";
  const e = Math.log10(Math.abs(value));
  if (Math.abs(e - Math.round(e)) < 1e-9 && (Math.abs(value) < PLAIN_MIN || Math.abs(value) >= PLAIN_MAX)) {
    return `${value < 0 ? "-" : ""}1e${Math.round(e)}`;
  }
  return fmt(value, 2);
}
