// theme.js: the tab follows TensorBoard's body.dark-mode class, live, and
// prefers-color-scheme outside TensorBoard. Fake windows stand in for the
// browser. Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { DARK_CLASS, followHostTheme, HOST_DARK_CLASS } from "../../frontend/shell/theme.js";

class ClassList {
  constructor() { this.set = new Set(); }
  contains(c) { return this.set.has(c); }
  toggle(c, on) { if (on) this.set.add(c); else this.set.delete(c); }
}

function fakeWindow({ parentBody = null, prefersDark = false } = {}) {
  const observers = [];
  const media = { matches: prefersDark, listeners: [], addEventListener(_, f) { this.listeners.push(f); }, removeEventListener() {} };
  const win = {
    document: { documentElement: { classList: new ClassList(), dataset: {} } },
    matchMedia: () => media,
    addEventListener() {},
    MutationObserver: class {
      constructor(callback) { this.callback = callback; observers.push(this); }
      observe(node, options) { this.node = node; this.options = options; }
      disconnect() { this.node = null; }
    },
  };
  win.parent = parentBody ? { document: { body: parentBody } } : win;
  return { win, observers, media };
}

test("inside TensorBoard: follows its body class dark-mode, live", () => {
  const body = { classList: new ClassList() };
  const { win, observers } = fakeWindow({ parentBody: body, prefersDark: true });
  const changes = [];
  const theme = followHostTheme((dark) => changes.push(dark), win);
  // TensorBoard light wins over the browser's preference.
  assert.equal(theme.dark(), false);
  assert.equal(win.document.documentElement.classList.contains(DARK_CLASS), false);
  assert.equal(observers.length, 1);
  assert.equal(observers[0].node, body);
  assert.deepEqual(observers[0].options.attributeFilter, ["class"]);
  body.classList.toggle(HOST_DARK_CLASS, true);
  observers[0].callback([]);
  assert.deepEqual(changes, [true]);
  assert.equal(win.document.documentElement.classList.contains(DARK_CLASS), true);
  assert.equal(win.document.documentElement.dataset.theme, "dark");
  observers[0].callback([]); // other class changes: no call
  assert.deepEqual(changes, [true]);
  body.classList.toggle(HOST_DARK_CLASS, false);
  observers[0].callback([]);
  assert.deepEqual(changes, [true, false]);
  theme.stop();
  assert.equal(observers[0].node, null);
});

test("outside TensorBoard: follows prefers-color-scheme", () => {
  const { win, observers, media } = fakeWindow({ prefersDark: true });
  const changes = [];
  const theme = followHostTheme((dark) => changes.push(dark), win);
  assert.equal(theme.dark(), true);
  assert.equal(observers.length, 0);
  media.matches = false;
  media.listeners.forEach((f) => f());
  assert.deepEqual(changes, [false]);
  assert.equal(win.document.documentElement.classList.contains(DARK_CLASS), false);
});

test("a parent that cannot be read (cross-origin) counts as outside", () => {
  const { win } = fakeWindow({ prefersDark: false });
  win.parent = { get document() { throw new Error("SecurityError"); } };
  assert.equal(followHostTheme(() => {}, win).dark(), false);
});
