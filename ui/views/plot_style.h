#pragma once
// Colours and fonts of QCustomPlot plots, and of painted views, under a theme.
class QCustomPlot;
class QCPAxis;
class QPainter;
class QRect;
class QString;

namespace attn::ui {

struct Theme;

// Background, axes, tick labels, grid, title elements, legend and colour scales of `plot`.
void style_plot(QCustomPlot* plot, const Theme& theme);
void style_axis(QCPAxis* axis, const Theme& theme);
// A painted view with nothing to show: the background and why, centred and wrapped.
void paint_placeholder(QPainter& painter, const QRect& rect, const Theme& theme, const QString& why);

}  // namespace attn::ui
