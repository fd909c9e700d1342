// The "different inputs" notice: each run probes its own batch unless told
// otherwise, so "sample 0" side by side may be different sequences. From
// GET /probes (each run's latest probe fingerprint), a notice above the
// panels names which runs shown probe which inputs; none when the shown
// runs' fingerprints all match (or fewer than two runs log one).

import { el } from "../draw/dom.js";
import { runColor } from "../draw/run_colors.js";

/**
 * The shown runs grouped by their latest probe fingerprint:
 * {groups: [{fingerprint, runs}] (first-seen order), unknown: [runs
 * without one]}. `probes` is GET /probes' body.
 */
export function probeGroups(probes, shownRuns) {
  const byRun = (probes && probes.runs && typeof probes.runs === "object") ? probes.runs : {};
  const groups = new Map();
  const unknown = [];
  for (const run of shownRuns) {
    const entry = Object.prototype.hasOwnProperty.call(byRun, run) ? byRun[run] : null;
    const fingerprint = entry && typeof entry.fingerprint === "string" ? entry.fingerprint : null;
    if (fingerprint === null) {
      unknown.push(run);
      continue;
    }
    if (!groups.has(fingerprint)) groups.set(fingerprint, []);
    groups.get(fingerprint).push(run);
  }
  return { groups: [...groups].map(([fingerprint, runs]) => ({ fingerprint, runs })), unknown };
}

/** Fetches GET /probes; {runs: {}} when the server has no such route or fails (no notice then). */
async function fetchProbes() {
  try {
    const response = await fetch("./probes", { credentials: "same-origin" });
    return response.ok ? await response.json() : { runs: {} };
  } catch {
    return { runs: {} };
  }
}

/** The notice's nodes for groups that differ: "run_a, run_b probe inputs 1a2b…; run_c probes …". */
function noticeNodes({ groups, unknown }, allRuns) {
  const runNames = (runs) => runs.flatMap((run, i) => [
    i ? ", " : null,
    el("span", { class: "rnn-probe-run", text: run, style: { color: runColor(run, allRuns) }, dataset: { run } }),
  ]).filter(Boolean);
  const parts = groups.map((g, i) => el("li", { dataset: { fingerprint: g.fingerprint } }, [
    ...runNames(g.runs), ` ${g.runs.length === 1 ? "probes" : "probe"} inputs ${String.fromCharCode(65 + (i % 26))} `,
    el("span", { class: "rnn-muted", text: `(fingerprint ${g.fingerprint.slice(0, 8)})` }),
  ]));
  if (unknown.length) parts.push(el("li", {}, [...runNames(unknown), " log no probe fingerprint"]));
  return [
    el("strong", { text: "The runs side by side probe different inputs: " }),
    el("span", { text: "sample k is not the same sequence in each (log them with one probe_data= to compare)." }),
    el("ul", {}, parts),
  ];
}

/**
 * Puts the notice above the app's panels and keeps it current: after every
 * draw of the panels (the shown runs may have changed) and when the index
 * changed (fetching /probes again then).
 */
export function mountProbeNotice(app) {
  const node = el("div", { id: "rnn-probe-notice", class: "rnn-probe-notice", hidden: true, attrs: { role: "note" } });
  app.panels.before(node);
  let fetched = { key: undefined, probes: null };
  let shownKey = null;
  const refresh = async () => {
    const key = app.indexLoads.fingerprint;
    if (fetched.key !== key) fetched = { key, probes: fetchProbes() };
    const probes = await fetched.probes;
    const shown = app.shownRuns();
    const grouped = probeGroups(probes, shown);
    const differ = grouped.groups.length > 1;
    const nextKey = JSON.stringify([differ, grouped]);
    if (nextKey === shownKey) return;
    shownKey = nextKey;
    node.hidden = !differ;
    node.dataset.groups = String(grouped.groups.length);
    node.replaceChildren(...(differ ? noticeNodes(grouped, app.index.runs) : []));
  };
  new MutationObserver(() => refresh()).observe(app.panels, { childList: true });
  return { node, refresh };
}
