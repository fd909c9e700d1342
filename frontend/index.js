// The RNN tab. TensorBoard loads this module in a same-origin iframe on an
// empty document (with <base href> at the plugin's routes) and calls render().

import { Api } from "./data/api.js";
import { el } from "./draw/dom.js";
import { App } from "./shell/app.js";
import { followHostTheme } from "./shell/theme.js";

// The stylesheets, in cascade order: base and theme, the shell's parts, the views'.
const STYLESHEETS = ["./style.css", "./shell/shell.css", "./views/views.css"];

/** Entry point called by TensorBoard. */
export async function render() {
  const stylesheets = Promise.all(STYLESHEETS.map(loadStylesheet));
  const app = new App(document.body, new Api());
  // TensorBoard's dark mode, followed live: canvases redraw in the new colours.
  followHostTheme(() => {
    if (app.index.runs.length) app.update();
  });
  await stylesheets;
  await app.start();
}

function loadStylesheet(path) {
  const link = el("link", { rel: "stylesheet", href: new URL(path, import.meta.url).href });
  document.head.append(link);
  return new Promise((resolve) => {
    link.addEventListener("load", resolve, { once: true });
    link.addEventListener("error", resolve, { once: true });
    setTimeout(resolve, 2000);
  });
}
