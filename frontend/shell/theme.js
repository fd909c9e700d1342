// The tab follows TensorBoard's light or dark theme, live.
//
// How TensorBoard 2.21 signals it (read in its webfiles.zip, index.js):
// its header has a theme menu (button "Menu for changing light or dark
// theme": Browser default / Light / Dark), stored in localStorage
// "_tb_global_settings" as {theme: ...}; its "dark-mode-supporter" component
// then runs document.body.classList.toggle("dark-mode", isDark) on ITS page.
// "Browser default" resolves prefers-color-scheme into that same class. The
// plugin's iframe is same-origin, so the parent's body class is the one
// signal to follow: observed with a MutationObserver, so a change applies
// at once, without a reload. Outside TensorBoard (no readable parent), the
// browser's prefers-color-scheme is followed instead.
//
// The theme is applied as class "rnn-dark" on this document's <html>; the
// stylesheet's custom properties do the rest. Canvases read their colours at
// draw time, so the caller redraws them on change.

export const DARK_CLASS = "rnn-dark";
// The class TensorBoard toggles on its own <body>.
export const HOST_DARK_CLASS = "dark-mode";

/** TensorBoard's <body> when this document is its same-origin iframe, else null. */
function hostBody(win) {
  try {
    if (!win.parent || win.parent === win) return null;
    return win.parent.document.body || null;
  } catch (e) {
    return null; // cross-origin: not inside TensorBoard's page
  }
}

/**
 * Follows the host's theme: sets DARK_CLASS now, and on every change calls
 * onChange(dark) after setting it. Returns { dark(), stop() }.
 * @param {function(boolean): void} onChange
 */
export function followHostTheme(onChange = () => {}, win = window) {
  const root = win.document.documentElement;
  const body = hostBody(win);
  const media = !body && win.matchMedia ? win.matchMedia("(prefers-color-scheme: dark)") : null;
  const isDark = () => (body ? body.classList.contains(HOST_DARK_CLASS) : Boolean(media && media.matches));
  let current = isDark();
  const apply = () => {
    root.classList.toggle(DARK_CLASS, current);
    root.dataset.theme = current ? "dark" : "light";
  };
  apply();
  const check = () => {
    const dark = isDark();
    if (dark === current) return;
    current = dark;
    apply();
    onChange(dark);
  };
  let observer = null;
  if (body && win.MutationObserver) {
    observer = new win.MutationObserver(check);
    observer.observe(body, { attributes: true, attributeFilter: ["class"] });
  }
  if (media) media.addEventListener("change", check);
  const stop = () => {
    if (observer) observer.disconnect();
    if (media) media.removeEventListener("change", check);
  };
  // The observer watches the parent's page: let go of it with this document.
  if (win.addEventListener) win.addEventListener("pagehide", stop, { once: true });
  return { dark: () => current, stop };
}
