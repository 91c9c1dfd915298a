#include "views/image_overlay.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <qcustomplot.h>

#include "qt_convert.h"
#include "state/theme.h"

namespace attn::ui {

QImage overlay_image(const OverlayContent& c) {
  if (!c.picture || !c.picture->valid()) return {};
  return c.input_resolution ? c.picture->input : c.picture->original;
}

double overlay_aspect(const OverlayContent& c) {
  if (!c.input_resolution && c.picture && c.picture->valid() && c.picture->original.height() > 0)
    return double(c.picture->original.width()) / c.picture->original.height();
  return c.layout.rows ? c.layout.aspect() : 1.0;
}

QString patch_weight_text(const OverlayContent& c, int r, int col) {
  if (r < 0 || col < 0 || r >= c.grid.rows() || col >= c.grid.cols()) return {};
  return QStringLiteral("%1 → patch (%2, %3): %4").arg(c.query_name).arg(r).arg(col).arg(format_weight(c.grid(r, col)));
}

ImageOverlay::ImageOverlay(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(200, 200);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void ImageOverlay::set_content(OverlayContent content) {
  content_ = std::move(content);
  if (hover_r_ >= content_.layout.rows || hover_c_ >= content_.layout.cols) hover_r_ = hover_c_ = -1;
  update();
}

ImageOverlay::Frame ImageOverlay::frame_for(const QSizeF& size, const QFont& font) const {
  Frame f;
  QFont title_font = font;
  title_font.setPointSizeF(font.pointSizeF() + 2);
  title_font.setBold(true);
  const double fh = QFontMetricsF(font).height(), th = QFontMetricsF(title_font).height();
  const double margin = std::max(8.0, fh * 0.6);
  f.title = QRectF(margin, margin, size.width() - 2 * margin, th * 1.4);
  const double bar_room = color_bar_width(fh);
  const QRectF area(margin, f.title.bottom() + margin / 2, size.width() - 2 * margin - bar_room - margin,
                    size.height() - f.title.bottom() - margin * 1.5);
  f.picture = fit_rect(area, overlay_aspect(content_));
  const double bar_h = f.picture.height() * 0.8;
  f.bar = QRectF(f.picture.right() + margin * 1.5, f.picture.center().y() - bar_h / 2, std::max(10.0, fh * 0.9), bar_h);
  return f;
}

QRectF ImageOverlay::picture_rect() const { return frame_for(QSizeF(size()), font()).picture; }

QPoint ImageOverlay::patch_center(int r, int c) const {
  return patch_rect(picture_rect(), content_.layout, r, c).center().toPoint();
}

bool ImageOverlay::patch_at(const QPointF& pos, int* r, int* c) const {
  if (content_.empty()) return false;
  return ui::patch_at(picture_rect(), content_.layout, pos, r, c);
}

QString ImageOverlay::hover_text(int r, int c) const { return patch_weight_text(content_, r, c); }

void ImageOverlay::paint(QPainter& p, const QSize& size, bool interactive) const {
  const Theme& t = theme(content_.dark);
  p.fillRect(QRect(QPoint(0, 0), size), t.background);
  const Frame f = frame_for(QSizeF(size), p.font());
  QFont title_font = p.font();
  title_font.setPointSizeF(p.font().pointSizeF() + 2);
  title_font.setBold(true);
  p.save();
  p.setFont(title_font);
  p.setPen(t.foreground);
  p.drawText(f.title, Qt::AlignCenter | Qt::TextSingleLine, QFontMetricsF(title_font).elidedText(content_.title, Qt::ElideMiddle, f.title.width()));
  p.restore();
  if (content_.empty()) {
    p.setPen(t.muted);
    p.drawText(QRectF(QPoint(0, 0), size), Qt::AlignCenter, tr("Run an image model (ViT, DeiT) or open an image recording"));
    return;
  }
  OverlayStyle style = content_.style;
  paint_overlay(p, f.picture, overlay_image(content_), content_.layout, content_.grid, style);
  if (interactive && hover_r_ >= 0) {
    p.save();
    p.setPen(QPen(t.hover, 1.5));
    p.setBrush(Qt::NoBrush);
    p.drawRect(patch_rect(f.picture, content_.layout, hover_r_, hover_c_));
    p.restore();
  }
  paint_color_bar(p, f.bar, style.colors, style.range, t.foreground, content_.value_name);
}

void ImageOverlay::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paint(p, size(), true);
}

void ImageOverlay::render(QCPPainter& painter, const QSize& size) {
  painter.save();
  painter.setFont(font());
  paint(painter, size, false);
  painter.restore();
}

void ImageOverlay::mouseMoveEvent(QMouseEvent* event) {
  int r = -1, c = -1;
  if (!patch_at(event->position(), &r, &c)) r = c = -1;
  if (r != hover_r_ || c != hover_c_) {
    hover_r_ = r;
    hover_c_ = c;
    update();
  }
  const QString text = r >= 0 ? hover_text(r, c) : QString();
  if (text.isEmpty()) QToolTip::hideText();
  else QToolTip::showText(event->globalPosition().toPoint(), text, this);
  Q_EMIT hovered(text);
}

void ImageOverlay::mousePressEvent(QMouseEvent* event) {
  int r, c;
  if (event->button() == Qt::LeftButton && patch_at(event->position(), &r, &c)) Q_EMIT patch_clicked(r, c);
}

void ImageOverlay::leaveEvent(QEvent*) {
  hover_r_ = hover_c_ = -1;
  update();
  Q_EMIT hovered(QString());
}

}  // namespace attn::ui
