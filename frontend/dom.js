// Small DOM helpers. Text always goes in through textContent, never
// innerHTML: run, tag and layer names come from users' logs.

/**
 * Creates an element.
 * @param {string} tag
 * @param {Object<string, *>} [props] `class`, `text`, `style` (object),
 *     `dataset` (object), `attrs` (object), anything else set as a property.
 * @param {Array<Node|string|null>} [children] strings become text nodes.
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && v !== null) node.dataset[k] = String(v);
      }
    } else if (key === "attrs") {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
      }
    } else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** Formats a number for labels: short, sign kept, exponent when needed. */
export function fmt(value, digits = 3) {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e4 || abs < 1e-3) return value.toExponential(Math.max(0, digits - 1));
  return String(Number(value.toPrecision(digits)));
}
