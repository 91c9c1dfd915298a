#pragma once
// Light and dark themes: the application palette (Fusion style) and the colours the custom
// painted views and QCustomPlot plots use, so both render alike.
#include <QColor>

namespace attn::ui {

struct Theme {
  bool dark = false;
  QColor background;  // plot and view background
  QColor foreground;  // text, axes
  QColor muted;       // secondary text, grid
  QColor grid;
  QColor accent;      // selection
  QColor hover;
  QColor band;       // outline drawn over a heatmap (a sliding window), on a darker halo
  QColor band_halo;
  QColor ablated;    // heads switched off, mean-ablated or patched
  // The query/key space's two sets: Okabe & Ito's colour-blind-safe blue and vermillion
  // (lighter blue and orange on the dark theme).
  QColor query;
  QColor key;
};

const Theme& theme(bool dark);
// Sets the Fusion style and the light or dark palette on the running QApplication.
void apply_app_theme(bool dark);
// A distinct colour for head `h` of `count` (the head view's lines, the statistics' points).
QColor head_color(int h, int count);

}  // namespace attn::ui
