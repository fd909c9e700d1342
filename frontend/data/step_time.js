// Wall time and time since the run's first logged step, for the step
// slider (TensorBoard's scalar charts show both on their x-axis choices).

/** "0 s", "45 s", "1 min 5 s", "1 h 2 min", "2 d 3 h" (seconds >= 0). */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const sign = seconds < 0 ? "\u2212" : "";
  let s = Math.round(Math.abs(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let text;
  if (d) text = h ? `${d} d ${h} h` : `${d} d`;
  else if (h) text = m ? `${h} h ${m} min` : `${h} h`;
  else if (m) text = s ? `${m} min ${s} s` : `${m} min`;
  else text = `${s} s`;
  return sign + text;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-23 23:10:05" in the browser's time zone. */
export function formatWallTime(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * The time of `step` in the first of `series` ({run, steps, wall_times})
 * that logged it: {run, step, wallTime, relative (s since that run's first
 * logged step), text}; null when none logged it or has no wall times.
 */
export function stepTime(series, step) {
  for (const s of series) {
    const i = s.steps.indexOf(step);
    if (i < 0) continue;
    const wall = s.wall_times[i];
    const first = Math.min(...s.wall_times.filter(Number.isFinite));
    if (!Number.isFinite(wall) || !Number.isFinite(first)) continue;
    const relative = wall - first;
    return {
      run: s.run, step, wallTime: wall, relative,
      text: `${formatWallTime(wall)} \u00b7 +${formatDuration(relative)} since first step`,
    };
  }
  return null;
}
