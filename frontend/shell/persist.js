// The tab's selection across page reloads and as a link.
//
// TensorBoard 2.21 (measured in Chromium): the plugin's iframe is same
// origin, so it may read and rewrite the top-level URL. TensorBoard keeps
// unknown query parameters and the "&key=value" parts after "#rnn" across
// its reload button, its auto-reload and a page reload; switching to
// another tab rewrites the hash to "#<plugin>" (the iframe stays alive and
// writes its part back when the tab is shown again). So the state goes in
// the hash, in the "#plugin&key=value" form TensorBoard's own dashboards
// used (tf_storage), under one key, and in localStorage keyed by
// TensorBoard's origin, path and logdir (for a reload after visiting
// another tab, and for the next visit without a link). A link's state wins
// over the stored one.

/** The hash key ("#rnn&rnn=...") and the storage key's prefix. */
export const HASH_KEY = "rnn";
export const STORAGE_PREFIX = "tb-rnn-plugin.state.v1";

// What is kept, with a check of each value's type: declared by whoever owns
// the value (the controls: shell/tab_state.js; a view: its options). Values
// the index no longer has (a run, a layer) are dropped later, by the controls.
const FIELDS = new Map();

/** Strings the state may hold (bounded: a link must stay a usable URL). */
export const isString = (v) => typeof v === "string" && v.length <= 1000;

/** Declares kept fields: {key: valid(value) -> boolean}. */
export function declarePersisted(fields) {
  for (const [key, valid] of Object.entries(fields)) FIELDS.set(key, valid);
}

/** The names of the kept fields declared so far. */
export function persistedFields() {
  return [...FIELDS.keys()];
}

/** The kept fields of `state` that have a valid value. */
export function pickState(state) {
  const out = {};
  if (!state || typeof state !== "object") return out;
  for (const [key, valid] of FIELDS) {
    if (Object.prototype.hasOwnProperty.call(state, key) && valid(state[key])) out[key] = state[key];
  }
  return out;
}

/** The state as one URL-safe string. */
export function encodeState(state) {
  return encodeURIComponent(JSON.stringify(pickState(state)));
}

/** The kept fields of an encoded state; {} for anything malformed (never throws). */
export function decodeState(text) {
  if (typeof text !== "string" || !text) return {};
  let json;
  try {
    json = JSON.parse(decodeURIComponent(text));
  } catch (e) {
    try {
      json = JSON.parse(text);
    } catch (e2) {
      return {};
    }
  }
  return pickState(json);
}

/** Splits "#rnn&a=1&b=2" into ["rnn", [["a", "1"], ["b", "2"]]] (raw, not decoded). */
export function splitHash(hash) {
  const text = String(hash || "").replace(/^#/, "");
  if (!text) return ["", []];
  const [plugin, ...rest] = text.split("&");
  return [plugin, rest.filter(Boolean).map((part) => {
    const eq = part.indexOf("=");
    return eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
  })];
}

/** The encoded state in a top-level hash, or null. */
export function stateFromHash(hash) {
  const [plugin, parts] = splitHash(hash);
  if (plugin !== HASH_KEY) return null;
  const found = parts.find(([key]) => key === HASH_KEY);
  return found ? found[1] : null;
}

/**
 * The hash with the state put in (other "&key=value" parts kept), or null
 * when the hash is not this tab's (another tab is shown: leave it alone).
 */
export function hashWithState(hash, encoded) {
  const [plugin, parts] = splitHash(hash);
  if (plugin !== HASH_KEY) return null;
  const others = parts.filter(([key]) => key !== HASH_KEY).map(([k, v]) => (v ? `${k}=${v}` : k));
  return `#${[plugin, ...others, `${HASH_KEY}=${encoded}`].join("&")}`;
}

/** The localStorage key of one TensorBoard (origin and path) and logdir. */
export function storageKey(origin, path, logdir) {
  return `${STORAGE_PREFIX}|${origin || ""}${path || "/"}|${logdir || ""}`;
}

/**
 * Reads and writes the state where it is kept: the top-level URL's hash
 * (when readable) and localStorage. `env` = {top, storage, key, hashDelay},
 * every access guarded: a cross-origin top or blocked storage just keeps
 * less. The hash is written hashDelay ms after the last change (0: at once):
 * dragging the step slider must not call history.replaceState on every
 * step (Chromium throttles more than 100 calls in 10 s).
 */
export class StateStore {
  constructor({ top, storage, key, hashDelay = 0 }) {
    this.top = top;
    this.storage = storage;
    this.key = key;
    this.hashDelay = hashDelay;
    this._hashTimer = null;
    // The encoded state last written or read from the link.
    this.lastEncoded = null;
  }

  /** The state to restore: the link's, else the stored one, else {}. */
  load() {
    const fromLink = this._readHash();
    if (fromLink !== null) {
      const state = decodeState(fromLink);
      this.lastEncoded = fromLink;
      if (Object.keys(state).length) return { state, source: "link" };
    }
    try {
      const stored = this.storage && this.storage.getItem(this.key);
      if (stored) {
        const state = decodeState(stored);
        if (Object.keys(state).length) return { state, source: "storage" };
      }
    } catch (e) {
      // storage blocked: nothing stored
    }
    return { state: {}, source: "none" };
  }

  /** Keeps `state` in both places. */
  save(state) {
    const encoded = encodeState(state);
    const changed = encoded !== this.lastEncoded;
    this.lastEncoded = encoded;
    if (changed) {
      try {
        if (this.storage) this.storage.setItem(this.key, encoded);
      } catch (e) {
        // full or blocked storage: the link still carries it
      }
    }
    clearTimeout(this._hashTimer);
    if (this.hashDelay > 0) {
      this._hashTimer = setTimeout(() => this._writeHash(this.lastEncoded), this.hashDelay);
    } else {
      this._writeHash(encoded);
    }
    return encoded;
  }

  /** A link to this TensorBoard showing `state`, or null (top unreadable). */
  link(state) {
    try {
      const loc = this.top.location;
      const hash = hashWithState(`#${HASH_KEY}`, encodeState(state));
      return `${loc.origin}${loc.pathname}${loc.search}${hash}`;
    } catch (e) {
      return null;
    }
  }

  /**
   * The top-level hash changed: the state a link there carries when it is
   * not the one last written (a pasted link), else null.
   */
  linkChange() {
    const encoded = this._readHash();
    if (encoded === null || encoded === this.lastEncoded) return null;
    this.lastEncoded = encoded;
    return decodeState(encoded);
  }

  _readHash() {
    try {
      return stateFromHash(this.top.location.hash);
    } catch (e) {
      return null;
    }
  }

  _writeHash(encoded) {
    try {
      const loc = this.top.location;
      const hash = hashWithState(loc.hash, encoded);
      if (hash === null || hash === loc.hash) return;
      // replaceState: no history entry, no hashchange for TensorBoard's router.
      this.top.history.replaceState(this.top.history.state, "", `${loc.pathname}${loc.search}${hash}`);
    } catch (e) {
      // not same origin, or no top window: storage only
    }
  }
}
