#include "views/overlay_grid.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>
#include <qcustomplot.h>

#include "state/theme.h"

namespace attn::ui {

OverlayGrid::OverlayGrid(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(200, 200);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void OverlayGrid::set_content(Content content) {
  content_ = std::move(content);
  hover_ = -1;
  update();
}

OverlayGrid::Layout OverlayGrid::layout_for(const QSizeF& size, const QFont& font) const {
  Layout g;
  QFont title_font = font;
  title_font.setPointSizeF(font.pointSizeF() + 2);
  title_font.setBold(true);
  const double fh = QFontMetricsF(font).height(), margin = std::max(8.0, fh * 0.6);
  g.title = QRectF(margin, margin, size.width() - 2 * margin, QFontMetricsF(title_font).height() * 1.4);
  const int n = int(content_.cells.size());
  if (n == 0 || content_.base.empty()) return g;
  const double bar_room = color_bar_width(fh) + margin;
  const QRectF area(margin, g.title.bottom() + margin / 2, size.width() - 2 * margin - bar_room, size.height() - g.title.bottom() - margin * 1.5);
  // The column count that makes the cells largest.
  const double aspect = overlay_aspect(content_.base), gap = margin, label_h = fh * 1.3;
  double best = 0;
  int best_cols = 1;
  for (int cols = 1; cols <= n; ++cols) {
    const int rows = (n + cols - 1) / cols;
    const double w = (area.width() - gap * (cols - 1)) / cols, h = (area.height() - gap * (rows - 1)) / rows - label_h;
    const double side = std::min(w, h * aspect);
    if (side > best) best = side, best_cols = cols;
  }
  const int cols = best_cols, rows = (n + cols - 1) / cols;
  const double cell_w = best, cell_h = best / aspect;
  const double total_w = cols * cell_w + (cols - 1) * gap, total_h = rows * (cell_h + label_h) + (rows - 1) * gap;
  const QPointF origin(area.left() + (area.width() - total_w) / 2, area.top() + (area.height() - total_h) / 2);
  for (int i = 0; i < n; ++i) {
    const int r = i / cols, c = i % cols;
    const QPointF at = origin + QPointF(c * (cell_w + gap), r * (cell_h + label_h + gap));
    g.labels.push_back(QRectF(at, QSizeF(cell_w, label_h)));
    g.pictures.push_back(QRectF(at + QPointF(0, label_h), QSizeF(cell_w, cell_h)));
  }
  const double bar_h = std::min(total_h, area.height()) * 0.7;
  g.bar = QRectF(origin.x() + total_w + margin * 1.5, area.center().y() - bar_h / 2, std::max(10.0, fh * 0.9), bar_h);
  return g;
}

QRectF OverlayGrid::cell_picture(int index) const {
  const Layout g = layout_for(QSizeF(size()), font());
  return index >= 0 && index < int(g.pictures.size()) ? g.pictures[size_t(index)] : QRectF();
}

bool OverlayGrid::hit(const QPointF& pos, int* index, int* r, int* c) const {
  const Layout g = layout_for(QSizeF(size()), font());
  for (size_t i = 0; i < g.pictures.size(); ++i)
    if (g.pictures[i].contains(pos) || g.labels[i].contains(pos)) {
      *index = int(i);
      if (!patch_at(g.pictures[i], content_.base.layout, pos, r, c)) *r = *c = -1;
      return true;
    }
  return false;
}

void OverlayGrid::paint(QPainter& p, const QSize& size, bool interactive) const {
  const Theme& t = theme(content_.base.dark);
  p.fillRect(QRect(QPoint(0, 0), size), t.background);
  const Layout g = layout_for(QSizeF(size), p.font());
  const QFont base = p.font();
  QFont title_font = base, bold = base;
  title_font.setPointSizeF(p.font().pointSizeF() + 2);
  title_font.setBold(true);
  bold.setBold(true);
  p.setFont(title_font);
  p.setPen(t.foreground);
  p.drawText(g.title, Qt::AlignCenter | Qt::TextSingleLine, QFontMetricsF(title_font).elidedText(content_.base.title, Qt::ElideMiddle, g.title.width()));
  p.setFont(base);
  const QImage image = overlay_image(content_.base);
  for (size_t i = 0; i < g.pictures.size(); ++i) {
    const Cell& cell = content_.cells[i];
    OverlayStyle style = content_.base.style;
    style.range = cell.range;
    paint_overlay(p, g.pictures[i], image, content_.base.layout, cell.grid, style);
    const bool selected = int(i) == content_.selected;
    p.setFont(selected ? bold : base);
    p.setPen(selected ? t.accent : t.foreground);
    p.drawText(g.labels[i], Qt::AlignCenter, cell.name);
    if (selected || (interactive && int(i) == hover_)) {
      p.save();
      p.setPen(QPen(selected ? t.accent : t.hover, selected ? 3 : 1.5));
      p.setBrush(Qt::NoBrush);
      p.drawRect(g.pictures[i].adjusted(-2, -2, 2, 2));
      p.restore();
    }
  }
  if (!content_.cells.empty()) {
    // One bar for all cells when they share a range; per-head ranges are stated instead.
    const ValueRange first = content_.cells.front().range;
    bool shared = true;
    for (const Cell& c : content_.cells) shared = shared && c.range.hi == first.hi && c.range.lo == first.lo;
    if (shared) paint_color_bar(p, g.bar, content_.base.style.colors, first, t.foreground, content_.base.value_name);
    else paint_color_bar(p, g.bar, content_.base.style.colors, ValueRange{0.0, 1.0}, t.foreground, tr("share of each head's maximum"));
  }
}

void OverlayGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paint(p, size(), true);
}

void OverlayGrid::render(QCPPainter& painter, const QSize& size) {
  painter.save();
  painter.setFont(font());
  paint(painter, size, false);
  painter.restore();
}

void OverlayGrid::mouseMoveEvent(QMouseEvent* event) {
  int index = -1, r = -1, c = -1;
  if (!hit(event->position(), &index, &r, &c)) index = -1;
  if (index != hover_) {
    hover_ = index;
    update();
  }
  QString text;
  if (index >= 0 && r >= 0) {
    const Cell& cell = content_.cells[size_t(index)];
    OverlayContent one = content_.base;
    one.grid = cell.grid;
    text = cell.name + QStringLiteral(": ") + patch_weight_text(one, r, c);
  } else if (index >= 0) {
    text = content_.cells[size_t(index)].name;
  }
  if (text.isEmpty()) QToolTip::hideText();
  else QToolTip::showText(event->globalPosition().toPoint(), text, this);
  Q_EMIT hovered(text);
}

void OverlayGrid::mousePressEvent(QMouseEvent* event) {
  int index, r, c;
  if (event->button() == Qt::LeftButton && hit(event->position(), &index, &r, &c)) Q_EMIT cell_clicked(index);
}

void OverlayGrid::leaveEvent(QEvent*) {
  hover_ = -1;
  update();
  Q_EMIT hovered(QString());
}

}  // namespace attn::ui
