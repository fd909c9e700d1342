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
 * Fetches the index, step lists and tensors; caches step lists per run/tag
 * (until reload) and tensors per run/tag/step. Failed requests are not cached.
 */
export class Api {
  constructor(fetchFn = (url) => fetch(url, { credentials: "same-origin" })) {
    this._fetch = fetchFn;
    this._steps = new Map();
    this._tensors = new Map();
  }

  /** {"runs": {run: {tag: {metadata, description, max_step}}}} */
  async tags() {
    const response = await get("./tags", this._fetch);
    return response.json();
  }

  /** Promise of {steps: number[], wall_times: number[]} */
  steps(run, tag) {
    const key = JSON.stringify([run, tag]);
    return this._cached(this._steps, key, async () => {
      const response = await get(withQuery("./steps", { run, tag }), this._fetch);
      const json = await response.json();
      const steps = (json.steps || []).map(Number);
      return { steps, wall_times: json.wall_times || [] };
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
      return { shape, data };
    });
  }

  /** Forgets everything fetched (on reload: runs may have been rewritten). */
  forget() {
    this._steps.clear();
    this._tensors.clear();
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
