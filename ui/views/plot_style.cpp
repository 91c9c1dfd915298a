#include "views/plot_style.h"

#include <QPainter>

#include <qcustomplot.h>

#include "state/theme.h"

namespace attn::ui {

void style_axis(QCPAxis* axis, const Theme& t) {
  const QPen pen(t.foreground, 0);
  axis->setBasePen(pen);
  axis->setTickPen(pen);
  axis->setSubTickPen(pen);
  axis->setTickLabelColor(t.foreground);
  axis->setLabelColor(t.foreground);
  axis->grid()->setPen(QPen(t.grid, 0, Qt::DotLine));
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

void style_plot(QCustomPlot* plot, const Theme& t) {
  plot->setBackground(QBrush(t.background));
  for (QCPAxisRect* rect : plot->axisRects()) {
    rect->setBackground(QBrush(t.background));
    for (QCPAxis* axis : rect->axes()) style_axis(axis, t);
  }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {
    QCPLayoutElement* e = plot->plotLayout()->elementAt(i);
    if (auto* text = qobject_cast<QCPTextElement*>(e)) text->setTextColor(t.foreground);
    if (auto* scale = qobject_cast<QCPColorScale*>(e)) style_axis(scale->axis(), t);
  }
  if (plot->legend) {
    plot->legend->setBrush(QBrush(t.background));
    plot->legend->setTextColor(t.foreground);
  }
}

void paint_placeholder(QPainter& painter, const QRect& rect, const Theme& theme, const QString& why) {
  painter.fillRect(rect, theme.background);
  painter.setPen(theme.muted);
  painter.drawText(rect.adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap, why);
}

}  // namespace attn::ui
