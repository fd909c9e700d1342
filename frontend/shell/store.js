// The tab's one state store: what the controls and views chose, changed
// through set(patch), watched through subscribe(). Its generation counts
// updates: an update that finds a newer one started drops its results.

export class Store {
  constructor(initial = {}) {
    this.state = { ...initial };
    this.generation = 0;
    this._listeners = new Set();
  }

  /** Merges `patch` into the state and tells the listeners what changed. */
  set(patch) {
    Object.assign(this.state, patch);
    for (const listener of this._listeners) listener(patch, this.state);
  }

  /** Calls listener(patch, state) after every set(); returns a function that stops it. */
  subscribe(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Starts an update: its generation number. */
  nextGeneration() {
    return ++this.generation;
  }

  /** Whether an update of generation `gen` has been overtaken by a newer one. */
  isStale(gen) {
    return gen !== this.generation;
  }
}
