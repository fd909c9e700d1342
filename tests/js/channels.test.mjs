// The lines view's channel choice: top-k by magnitude, the picker's parser
// (valid lists, invalid ones with their reasons), colours by channel index.
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  channelColor, channelMagnitudes, formatChannelList, MAX_PICKED, oklchHex, parseChannelList, parseTopK,
  selectChannels, shownStats, topChannels,
} from "../../frontend/draw/channels.js";

/** A [T, C] view with value(t, c) = f(t, c). */
function viewOf(T, C, f, mask = null) {
  const data = new Float64Array(T * C);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) data[t * C + c] = f(t, c);
  return { data, offset: 0, T, C, mask };
}

test("top-k: the k channels of largest max |v|, largest first", () => {
  // Channel c peaks at |v| = (c * 37) % 64 (a permutation of 0..63), once negative.
  const view = viewOf(20, 64, (t, c) => (t === 5 ? -1 : 0.5) * ((c * 37) % 64) * (t === 5 || t === 9 ? 1 : 0.1));
  const mags = channelMagnitudes(view);
  assert.equal(mags[1], 37);
  const top = topChannels(mags, 10);
  const expected = Array.from({ length: 64 }, (_, c) => c)
    .sort((a, b) => ((b * 37) % 64) - ((a * 37) % 64)).slice(0, 10);
  assert.deepEqual(top, expected);
  assert.deepEqual(topChannels(mags, 3), expected.slice(0, 3));
  assert.equal(topChannels(mags, 100).length, 64);
  assert.deepEqual(selectChannels(view, { k: 3 }), { mode: "top", channels: expected.slice(0, 3), missing: [] });
});

test("top-k: masked timesteps do not count, NaN and Inf rank first, ties by index", () => {
  const mask = Uint8Array.from([1, 0, 1]);
  const view = viewOf(3, 5, (t, c) => {
    if (t === 1) return c === 0 ? 1000 : 0; // masked: ignored
    if (c === 3 && t === 2) return NaN;
    if (c === 4 && t === 0) return -Infinity;
    return c === 1 ? 2 : c === 2 ? 2 : 0.5;
  }, mask);
  const mags = channelMagnitudes(view);
  assert.equal(mags[0], 0.5);
  assert.deepEqual(topChannels(mags, 5), [3, 4, 1, 2, 0]);
});

test("channel list: numbers and ranges, sorted, without repeats", () => {
  assert.deepEqual(parseChannelList("3, 17, 40-45"), { channels: [3, 17, 40, 41, 42, 43, 44, 45] });
  assert.deepEqual(parseChannelList("2, 5-6"), { channels: [2, 5, 6] });
  assert.deepEqual(parseChannelList(" 6 5;2,,5 "), { channels: [2, 5, 6] });
  assert.deepEqual(parseChannelList("4\u20136"), { channels: [4, 5, 6] });
  assert.deepEqual(parseChannelList("7-7"), { channels: [7] });
  assert.deepEqual(parseChannelList(""), { channels: null });
  assert.deepEqual(parseChannelList("   "), { channels: null });
});

test("channel list: invalid input gets a reason naming the item", () => {
  const reason = (text) => parseChannelList(text).error;
  assert.match(reason("abc"), /"abc" is not a channel number or range/);
  assert.match(reason("3, x7"), /"x7"/);
  assert.match(reason("9-5"), /range 9-5 runs backwards/);
  assert.match(reason("-3"), /numbered from 0/);
  assert.match(reason("2.5"), /2\.5 is not a whole number/);
  assert.match(reason("0-100000"), new RegExp(`at most ${MAX_PICKED}`));
  assert.match(reason("1-3-5"), /"1-3-5"/);
  for (const text of ["abc", "9-5", "-3", "2.5"]) assert.equal(parseChannelList(text).channels, undefined);
});

test("picked channels override top-k; those the panel lacks are reported", () => {
  const view = viewOf(2, 8, (t, c) => c);
  assert.deepEqual(selectChannels(view, { k: 2, picked: [1, 7, 9, 12] }),
    { mode: "picked", channels: [1, 7], missing: [9, 12] });
});

test("top-k input: whole numbers from 1", () => {
  assert.deepEqual(parseTopK("10"), { value: 10 });
  assert.deepEqual(parseTopK(" 3 "), { value: 3 });
  assert.match(parseTopK("0").error, /1 or more/);
  assert.match(parseTopK("-2").error, /1 or more/);
  assert.match(parseTopK("2.5").error, /not a whole number/);
  assert.match(parseTopK("").error, /enter/);
  assert.match(parseTopK("ten").error, /not a number/);
  assert.match(parseTopK(String(MAX_PICKED + 1)).error, /at most/);
});

test("a channel's colour depends only on its index; neighbours differ", () => {
  assert.equal(channelColor(17), channelColor(17));
  const first = Array.from({ length: 64 }, (_, c) => channelColor(c));
  assert.equal(new Set(first).size, 64);
  assert.match(channelColor(3), /^#[0-9a-f]{6}$/);
});

test("OKLCH to sRGB: grey axis, a known red, out-of-gamut chroma reduced", () => {
  assert.equal(oklchHex(1, 0, 0), "#ffffff");
  assert.equal(oklchHex(0, 0, 0), "#000000");
  // oklch(0.628 0.2577 29.23) is sRGB red.
  assert.equal(oklchHex(0.62796, 0.25768, 29.2339), "#ff0000");
  assert.match(oklchHex(0.9, 0.4, 140), /^#[0-9a-f]{6}$/);
});

test("channel lists are written back compactly", () => {
  assert.equal(formatChannelList([45, 3, 17, 40, 41, 42, 43, 44]), "3, 17, 40\u201345");
  assert.equal(formatChannelList([5, 6]), "5, 6");
});

test("y range of the drawn channels: max |v| over them, counts of all kept", () => {
  const view = viewOf(3, 4, (t, c) => (c === 3 && t === 1 ? Infinity : (c + 1) * (t === 2 ? -1 : 0.5)), Uint8Array.from([1, 1, 0]));
  const stats = { maxAbs: 3, minAbs: 0.5, nan: 0, posInf: 1, negInf: 0, inf: 1, maskedSteps: 1 };
  const shown = shownStats(view, stats, [0, 1]);
  assert.equal(shown.maxAbs, 1);
  assert.equal(shown.minAbs, 0.5);
  assert.equal(shown.posInf, 1);
  assert.equal(shown.maskedSteps, 1);
  assert.equal(shownStats(view, stats, [3]).maxAbs, 2);
});
