// Panel layout: how the runs' panels share the width they have. One run
// gets it all; a bidirectional layer's forward and backward panels sit side
// by side when both fit at their minimum width; several runs wrap into a
// grid of as many columns as fit, rather than squeezing.

/** The narrowest a panel is drawn (px), its border and padding, the gaps. */
export const MIN_PANEL_W = 300;
export const PANEL_CHROME_W = 22;
export const GRID_GAP = 16;
export const PANEL_GAP = 10;
// Room the plot leaves for its axis labels and margins (heatmapLayout's
// and linesLayout's left + right margins, 74 px, and a little slack).
export const PLOT_MARGIN_W = 76;

/**
 * @param {number} available width of the panels' container (px)
 * @param {number} groups how many runs have panels to draw
 * @param {number} perGroup the most panels one run draws (2: bidirectional)
 * @returns {{groupsPerRow, rows, columnWidth, sideBySide, panelWidth, maxPlotW}}
 */
export function gridLayout(available, groups, perGroup, opts = {}) {
  const minPanel = opts.minPanelW || MIN_PANEL_W;
  const gap = opts.gap === undefined ? GRID_GAP : opts.gap;
  const panelGap = opts.panelGap === undefined ? PANEL_GAP : opts.panelGap;
  const width = Math.max(minPanel, Math.floor(available));
  const n = Math.max(1, groups);
  const per = Math.max(1, perGroup);
  // How many minimum-width panels fit across.
  const fit = Math.max(1, Math.floor((width + gap) / (minPanel + gap)));
  const sideBySide = per > 1 && width >= per * minPanel + (per - 1) * panelGap;
  const groupW = sideBySide ? per * minPanel + (per - 1) * panelGap : minPanel;
  const groupsFit = Math.max(1, Math.floor((width + gap) / (groupW + gap)));
  const groupsPerRow = Math.min(n, sideBySide ? groupsFit : fit);
  const rows = Math.ceil(n / groupsPerRow);
  const columnWidth = Math.floor((width - gap * (groupsPerRow - 1)) / groupsPerRow);
  const panelWidth = sideBySide
    ? Math.floor((columnWidth - panelGap * (per - 1)) / per)
    : columnWidth;
  const maxPlotW = Math.max(60, panelWidth - PANEL_CHROME_W - PLOT_MARGIN_W);
  return { groupsPerRow, rows, columnWidth, sideBySide, panelWidth, maxPlotW };
}

// The horizon charts' plot inset: y labels and title on the left, a gap on
// the right; and the widest they get, px.
export const CHART_PLOT_X = 70;
export const CHART_RIGHT = 16;
export const MAX_CHART_W = 1600;
