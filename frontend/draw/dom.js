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
