#pragma once
// Colours and fonts of QCustomPlot plots under a theme.
class QCustomPlot;
class QCPAxis;

namespace attn::ui {

struct Theme;

// Background, axes, tick labels, grid, title elements, legend and colour scales of `plot`.
void style_plot(QCustomPlot* plot, const Theme& theme);
void style_axis(QCPAxis* axis, const Theme& theme);

}  // namespace attn::ui
