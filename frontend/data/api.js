// Talks to the plugin's routes. Every URL is relative to the plugin
// document's <base href> (TensorBoard sets it to /data/plugin/rnn/).

/** A response that was not 2xx, with the server's text. */
export class HttpError extends Error {
  constructor(url, status, statusText, body) {
    const text = body ? `: ${body}` : "";
    super(`${status} ${statusText || ""}`.trim() + text);
    this.name = "HttpError";
    this.url = url;
    this.status = status;
    this.body = body;
  }
}

async function get(url, fetchFn) {
  let response;
  try {
    response = await fetchFn(url);
  } catch (e) {
    throw new HttpError(url, 0, "network error", String(e && e.message || e));
  }
  if (!response.ok) {
    let body = "";
    try {
      body = (await response.text()).trim().slice(0, 500);
    } catch (e) {
      body = "";
    }
    throw new HttpError(url, response.status, response.statusText, body);
  }
  return response;
}

function withQuery(path, params) {
  return `${path}?${new URLSearchParams(params).toString()}`;
}

/** Parses an "X-Tensor-Shape" header ("4,50,32") into [4, 50, 32]. */
export function parseShape(header) {
  if (header === null || header === undefined) return null;
  const text = String(header).trim();
  if (text === "") return [];
  const dims = text.split(",").map((d) => Number(d.trim()));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) return null;
  return dims;
}

/**
 * Parses a /kept or /profile body (tb_rnn_plugin/reading.py kept_payload):
 * a uint32 header length, a JSON header, int64 steps, float64 wall times
 * and float32 [steps, rows, columns] values, little-endian.
 * @returns {{header: Object, steps: number[], wallTimes: Float64Array,
 *   rows: number, columns: number, data: Float32Array,
 *   shapes: Array<[number, number]>|null}}
 * @throws {Error} on a malformed body (the message says what is wrong).
 */
export function parseKeptBody(buffer) {
  const bytes = buffer.byteLength;
  if (bytes < 4) throw new Error(`kept-series body of ${bytes} bytes`);
  const view = new DataView(buffer);
  const length = view.getUint32(0, true);
  if (4 + length > bytes) throw new Error(`header of ${length} bytes in a ${bytes}-byte body`);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const n = header.steps;
  const rows = header.rows ?? header.samples;
  const columns = header.columns ?? header.timesteps;
  if (header.format !== 1 || header.dtype !== "float32" ||
      ![n, rows, columns].every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`unsupported header ${JSON.stringify(header).slice(0, 200)}`);
  }
  const at = 4 + length;
  const expected = at + 16 * n + 4 * n * rows * columns;
  if (bytes !== expected || at % 8 !== 0) {
    throw new Error(`body of ${bytes} bytes; its header needs ${expected}`);
  }
  const steps = [];
  for (let i = 0; i < n; i++) steps.push(Number(view.getBigInt64(at + 8 * i, true)));
  const wallTimes = new Float64Array(buffer.slice(at + 8 * n, at + 16 * n));
  const data = new Float32Array(buffer, at + 16 * n, n * rows * columns);
  return { header, steps, wallTimes, rows, columns, data, shapes: header.shapes || null };
}

/**
 * Parses a /profile body (parseKeptBody; rows are samples, columns timesteps).
 * @returns {{steps: number[], wallTimes: Float64Array, samples: number,
 *   timesteps: number, data: Float32Array, shapes: Array<[number, number]>|null}}
 */
export function parseProfileBody(buffer) {
  const { steps, wallTimes, rows, columns, data, shapes } = parseKeptBody(buffer);
  return { steps, wallTimes, samples: rows, timesteps: columns, data, shapes };
}

/** A non-negative integer, or null for anything else (absent, malformed). */
function countOrNull(value) {
  return Number.isInteger(value) && value >= 0 ? value : null;
}

/** Wall times differ by more than float-to-text round-off. */
function wallTimeChanged(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) > 1e-3;
}

/**
 * Fetches the index, step lists and tensors. Step lists are cached per
 * run/tag until forgetSteps() (on reload: runs grow); tensors per
 * run/tag/step until a fresh step list of their series no longer lists
 * their step (or lists it with another wall time: the run was rewritten).
 * Failed requests are not cached.
 */
export class Api {
  constructor(fetchFn = (url) => fetch(url, { credentials: "same-origin" })) {
    this._fetch = fetchFn;
    this._steps = new Map();
    this._profiles = new Map();
    this._kept = new Map();
    this._tensors = new Map();
    // Tensor cache key -> [run, tag, step, wall time or NaN] of what is cached.
    this._tensorInfo = new Map();
  }

  /**
   * {"runs": {run: {tag: {metadata, description, max_step}}},
   *  "skipped": [{run, tag, reason}] (optional)}
   */
  async tags() {
    const response = await get("./tags", this._fetch);
    return response.json();
  }

  /**
   * Promise of {steps: number[], wall_times: number[], logged_steps: number|null}.
   * logged_steps is how many steps were logged when TensorBoard kept a
   * sample of them (null when the server does not say).
   */
  steps(run, tag) {
    const key = JSON.stringify([run, tag]);
    return this._cached(this._steps, key, async () => {
      const response = await get(withQuery("./steps", { run, tag }), this._fetch);
      const json = await response.json();
      const steps = (json.steps || []).map(Number);
      const wallTimes = (json.wall_times || []).map(Number);
      this._pruneTensors(run, tag, steps, wallTimes);
      return { steps, wall_times: wallTimes, logged_steps: countOrNull(json.logged_steps) };
    });
  }

  /** Promise of {shape: number[], data: Float32Array} */
  tensor(run, tag, step) {
    const key = JSON.stringify([run, tag, step]);
    return this._cached(this._tensors, key, async () => {
      const url = withQuery("./tensor", { run, tag, step: String(step) });
      const response = await get(url, this._fetch);
      const dtype = response.headers.get("X-Tensor-Dtype");
      if (dtype && dtype !== "float32") {
        throw new HttpError(url, response.status, "unsupported dtype", dtype);
      }
      const shape = parseShape(response.headers.get("X-Tensor-Shape"));
      const buffer = await response.arrayBuffer();
      if (shape === null || buffer.byteLength % 4 !== 0) {
        throw new HttpError(url, response.status, "malformed tensor response",
          `shape header ${response.headers.get("X-Tensor-Shape")}, ${buffer.byteLength} bytes`);
      }
      const data = new Float32Array(buffer);
      const expected = shape.reduce((a, b) => a * b, 1);
      if (expected !== data.length) {
        throw new HttpError(url, response.status, "malformed tensor response",
          `shape ${shape.join("x")} needs ${expected} values, got ${data.length}`);
      }
      const wallTime = Number.parseFloat(response.headers.get("X-Tensor-Wall-Time"));
      this._tensorInfo.set(key, [run, tag, step, wallTime]);
      return { shape, data };
    });
  }

  /**
   * Promise of the whole profile series of run/tag (parseProfileBody), one
   * request; cached like step lists (forgotten with them: it grows).
   */
  profile(run, tag) {
    const key = JSON.stringify([run, tag]);
    return this._cached(this._profiles, key, async () => {
      const url = withQuery("./profile", { run, tag });
      const response = await get(url, this._fetch);
      const buffer = await response.arrayBuffer();
      try {
        return parseProfileBody(buffer);
      } catch (e) {
        throw new HttpError(url, response.status, "malformed profile response", e.message);
      }
    });
  }

  /**
   * Promise of the whole kept companion `kind` (gate_stats, gate_histogram,
   * unit_health, memory_timescale, horizon_stats, lag_profile, stats,
   * profile) of run/tag: parseKeptBody's result, whose `header` also holds
   * `kind`, `axes` and the companion's `metadata` (fields, gates,
   * bin_edges, thresholds...). One request; cached like step lists.
   * `value(i, row, column)` reads step index i.
   */
  kept(run, tag, kind) {
    const key = JSON.stringify([run, tag, kind]);
    return this._cached(this._kept, key, async () => {
      const url = withQuery("./kept", { run, tag, kind });
      const response = await get(url, this._fetch);
      const buffer = await response.arrayBuffer();
      let parsed;
      try {
        parsed = parseKeptBody(buffer);
      } catch (e) {
        throw new HttpError(url, response.status, `malformed ${kind} response`, e.message);
      }
      const { rows, columns, data } = parsed;
      parsed.value = (i, row, column) => data[(i * rows + row) * columns + column];
      return parsed;
    });
  }

  /** Forgets step lists and kept series (on reload: runs may have new steps). Tensors stay. */
  forgetSteps() {
    this._steps.clear();
    this._profiles.clear();
    this._kept.clear();
  }

  /** Forgets cached tensors of series for which `keep(run, tag)` is false. */
  keepSeries(keep) {
    for (const [key, [run, tag]] of this._tensorInfo) {
      if (!keep(run, tag)) this._forgetTensor(key);
    }
  }

  /** How many tensors are cached (for tests). */
  get cachedTensorCount() {
    return this._tensors.size;
  }

  _pruneTensors(run, tag, steps, wallTimes) {
    const wallAt = new Map(steps.map((step, i) => [step, wallTimes[i]]));
    for (const [key, [r, t, step, wallTime]] of this._tensorInfo) {
      if (r !== run || t !== tag) continue;
      if (!wallAt.has(step) || wallTimeChanged(wallTime, wallAt.get(step))) this._forgetTensor(key);
    }
  }

  _forgetTensor(key) {
    this._tensors.delete(key);
    this._tensorInfo.delete(key);
  }

  _cached(map, key, load) {
    if (map.has(key)) return map.get(key);
    const promise = load();
    map.set(key, promise);
    promise.catch(() => {
      if (map.get(key) === promise) map.delete(key);
    });
    return promise;
  }
}
