// Export of one panel: its picture as PNG, the data it shows as CSV, the
// whole tensor it was drawn from as NumPy .npy. The encoders (csvOf, npyOf,
// exportName) are pure and tested with node --test
// (tests/js/export.test.mjs); the rest needs a DOM.
//
// - PNG: the panel as the user sees it (heading, plot with its axes, colour
//   bar or line legend, notes), composed onto one canvas at the screen's
//   pixel ratio: canvases are copied pixel for pixel, boxes, borders and
//   text are painted from their computed styles. The export buttons are
//   left out.
// - CSV: the selected sample, one row per timestep (first column
//   "timestep"), one column per channel (header: channel indices); every
//   value with 9 significant digits (enough to give back the exact float32),
//   NaN / +Inf / -Inf as nan / inf / -inf (what numpy.genfromtxt and pandas
//   read). Masked timesteps are written as logged; the zoom is not applied.
// - .npy: the tensor as /tensor served it, [samples, timesteps, channels]
//   float32, NumPy format 1.0, little endian ('<f4').

import { el } from "./dom.js";

/** One float32 value as CSV text: 9 significant digits, nan / inf / -inf. */
export function csvValue(v) {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return String(Number(v.toPrecision(9)));
}

/**
 * CSV of sample `sample` of a {shape: [S, T, C], data} tensor: header
 * "timestep,0,1,...", then one line per timestep. Lines end in "\n".
 */
export function csvOf(tensor, sample) {
  const [, T, C] = tensor.shape;
  const header = ["timestep"];
  for (let c = 0; c < C; c++) header.push(String(c));
  const lines = [header.join(",")];
  const offset = sample * T * C;
  for (let t = 0; t < T; t++) {
    const row = [String(t)];
    for (let c = 0; c < C; c++) row.push(csvValue(tensor.data[offset + t * C + c]));
    lines.push(row.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The .npy file (NumPy format version 1.0) of a float32 tensor
 * {shape, data}: magic, version, header length, a header dict padded with
 * spaces to a multiple of 64 bytes and ended by "\n", then the values,
 * little endian, C order.
 * @returns {Uint8Array}
 */
export function npyOf(tensor) {
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const preamble = 10; // magic (6), version (2), header length (2)
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = `${header}${" ".repeat(total - preamble - header.length - 1)}\n`;
  const n = tensor.data.length;
  const out = new Uint8Array(total + n * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  for (let i = 0; i < n; i++) view.setFloat32(total + i * 4, tensor.data[i], true);
  return out;
}

/**
 * A file name from its parts (run, layer, direction, quantity, step, sample),
 * empty parts left out, anything but letters, digits, ".", "_", "-" replaced.
 */
export function exportName(parts, extension) {
  const clean = parts
    .filter((p) => p !== null && p !== undefined && p !== "")
    .map((p) => String(p).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "") || "x");
  return `${clean.join("_")}.${extension}`;
}

// ---- DOM ------------------------------------------------------------------

/** Saves a Blob as a download named `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

const TRANSPARENT = /^(transparent|rgba\(\d+, \d+, \d+, 0\))$/;

function cssFont(style) {
  return `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
}

/** Paints an element's text node word by word where the browser laid it out. */
function paintText(ctx, node, style, origin) {
  const text = node.textContent;
  if (!text.trim()) return;
  ctx.font = cssFont(style);
  ctx.fillStyle = style.color;
  ctx.textBaseline = "alphabetic";
  ctx.textAlign = "left";
  const range = document.createRange();
  const re = /\S+/g;
  let match;
  while ((match = re.exec(text))) {
    range.setStart(node, match.index);
    range.setEnd(node, match.index + match[0].length);
    const rect = range.getClientRects()[0];
    if (!rect || !rect.width) continue;
    const m = ctx.measureText(match[0]);
    const ascent = m.fontBoundingBoxAscent ?? rect.height * 0.8;
    const descent = m.fontBoundingBoxDescent ?? rect.height * 0.2;
    const baseline = rect.top - origin.top + (rect.height - ascent - descent) / 2 + ascent;
    ctx.fillText(match[0], rect.left - origin.left, baseline);
  }
}

/** Paints an element (background, border, canvas or text) and its children. */
function paintElement(ctx, node, origin, skip) {
  if (skip(node)) return;
  const style = getComputedStyle(node);
  if (style.display === "none" || style.visibility === "hidden") return;
  const rect = node.getBoundingClientRect();
  const x = rect.left - origin.left;
  const y = rect.top - origin.top;
  if (!TRANSPARENT.test(style.backgroundColor)) {
    ctx.fillStyle = style.backgroundColor;
    ctx.fillRect(x, y, rect.width, rect.height);
  }
  const border = parseFloat(style.borderTopWidth) || 0;
  if (border > 0 && style.borderTopStyle !== "none" && !TRANSPARENT.test(style.borderTopColor)) {
    ctx.strokeStyle = style.borderTopColor;
    ctx.lineWidth = border;
    ctx.strokeRect(x + border / 2, y + border / 2, rect.width - border, rect.height - border);
  }
  if (node instanceof HTMLCanvasElement) {
    if (node.width && node.height) {
      ctx.drawImage(node, x + node.clientLeft, y + node.clientTop, node.clientWidth, node.clientHeight);
    }
    return;
  }
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) paintText(ctx, child, style, origin);
    else if (child.nodeType === Node.ELEMENT_NODE) paintElement(ctx, child, origin, skip);
  }
}

/**
 * The panel as a PNG Blob: everything in it but what `skip(element)` says
 * (the export buttons), at devicePixelRatio, on the panel's background.
 */
export function panelPng(panel, skip = () => false) {
  const dpr = window.devicePixelRatio || 1;
  const origin = panel.getBoundingClientRect();
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(origin.width * dpr);
  canvas.height = Math.round(origin.height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.imageSmoothingEnabled = false;
  const background = getComputedStyle(panel).backgroundColor;
  ctx.fillStyle = TRANSPARENT.test(background) ? getComputedStyle(document.body).backgroundColor : background;
  ctx.fillRect(0, 0, origin.width, origin.height);
  paintElement(ctx, panel, origin, skip);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))), "image/png");
  });
}

/**
 * The panel's export buttons: PNG (the panel), CSV (the sample shown),
 * .npy (the whole tensor). what: { tensor, sample, step, series }.
 */
export function exportControls(panel, { tensor, sample, step, series }) {
  const base = [series.run, series.layer, series.direction, series.kind, `step${step}`];
  const bar = el("span", { class: "rnn-export", attrs: { role: "group", "aria-label": "Export this panel" } });
  const button = (text, format, title, save) => {
    const b = el("button", { type: "button", class: "rnn-export-button", text, title, dataset: { format } });
    b.addEventListener("click", async () => {
      try {
        await save();
        b.classList.remove("rnn-export-failed");
      } catch (error) {
        b.classList.add("rnn-export-failed");
        b.title = `${title}\nFailed: ${(error && error.message) || error}`;
        console.warn("export failed", error);
      }
    });
    return b;
  };
  bar.append(
    button("PNG", "png", "Save this panel (plot, axes, colour bar or legend) as a PNG image", async () => {
      const blob = await panelPng(panel, (node) => node === bar);
      download(blob, exportName([...base, `sample${sample}`], "png"));
    }),
    button("CSV", "csv", `Save sample ${sample} as CSV: one row per timestep, one column per channel`, async () => {
      download(new Blob([csvOf(tensor, sample)], { type: "text/csv" }), exportName([...base, `sample${sample}`], "csv"));
    }),
    button(".npy", "npy", `Save the whole tensor [${tensor.shape.join(", ")}] (all samples) as a NumPy .npy file`, async () => {
      download(new Blob([npyOf(tensor)], { type: "application/octet-stream" }), exportName(base, "npy"));
    }),
  );
  return bar;
}
