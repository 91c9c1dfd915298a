#include "views/overlay_paint.h"

#include <QFontMetricsF>
#include <QPainter>
#include <algorithm>
#include <cmath>
#include <deque>

#include "qt_convert.h"

namespace attn::ui {

QRectF fit_rect(const QRectF& area, double aspect) {
  if (area.width() <= 0 || area.height() <= 0 || !(aspect > 0)) return {};
  double w = area.width(), h = w / aspect;
  if (h > area.height()) {
    h = area.height();
    w = h * aspect;
  }
  return QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h);
}

QRectF patch_rect(const QRectF& pic, const PatchLayout& l, int r, int c) {
  const double pw = pic.width() * l.cover_w / l.cols, ph = pic.height() * l.cover_h / l.rows;
  return QRectF(pic.left() + c * pw, pic.top() + r * ph, pw, ph);
}

bool patch_at(const QRectF& pic, const PatchLayout& l, const QPointF& p, int* r, int* c) {
  if (l.rows <= 0 || l.cols <= 0 || pic.isEmpty()) return false;
  const double x = (p.x() - pic.left()) / (pic.width() * l.cover_w), y = (p.y() - pic.top()) / (pic.height() * l.cover_h);
  if (x < 0 || y < 0 || x >= 1 || y >= 1) return false;
  *c = std::min(l.cols - 1, int(x * l.cols));
  *r = std::min(l.rows - 1, int(y * l.rows));
  return true;
}

QImage display_scaled(const QImage& image, const QSize& size) {
  if (image.isNull() || size.isEmpty()) return {};
  if (image.size() == size) return image;
  struct Entry {
    qint64 key;
    QSize size;
    QImage scaled;
  };
  static std::deque<Entry> cache;  // GUI thread only (painting)
  for (const Entry& e : cache)
    if (e.key == image.cacheKey() && e.size == size) return e.scaled;
  const bool enlarge = size.width() >= image.width() && size.height() >= image.height();
  Entry e{image.cacheKey(), size, image.scaled(size, Qt::IgnoreAspectRatio, enlarge ? Qt::FastTransformation : Qt::SmoothTransformation)};
  cache.push_front(e);
  if (cache.size() > 48) cache.pop_back();
  return e.scaled;
}

namespace {

// The picture area in device pixels (for pre-scaling images to the pixels they cover), with
// the device's pixel ratio on high-DPI screens.
QSize device_size(const QPainter& painter, const QRectF& rect) {
  const QRectF d = painter.transform().mapRect(rect);
  const double ratio = painter.device() ? std::max(1.0, painter.device()->devicePixelRatioF()) : 1.0;
  return QSize(std::max(1, int(std::lround(d.width() * ratio))), std::max(1, int(std::lround(d.height() * ratio))));
}

// The weights bilinearly interpolated between patch centres (clamped at the borders), as
// vit-explain's cv2.resize of the mask, coloured: `size` pixels covering the patches.
QImage smooth_overlay(const RowMatrix& grid, const ValueMapper& mapper, double opacity, QSize size) {
  const int rows = int(grid.rows()), cols = int(grid.cols());
  const double limit = 1024;
  if (size.width() > limit || size.height() > limit) size = size.scaled(int(limit), int(limit), Qt::KeepAspectRatio);
  QImage out(size, QImage::Format_ARGB32_Premultiplied);
  const int alpha = std::clamp(int(std::lround(opacity * 255)), 0, 255);
  for (int y = 0; y < size.height(); ++y) {
    const double gy = std::clamp((y + 0.5) * rows / size.height() - 0.5, 0.0, rows - 1.0);
    const int r0 = int(gy), r1 = std::min(rows - 1, r0 + 1);
    const double fy = gy - r0;
    auto* line = reinterpret_cast<QRgb*>(out.scanLine(y));
    for (int x = 0; x < size.width(); ++x) {
      const double gx = std::clamp((x + 0.5) * cols / size.width() - 0.5, 0.0, cols - 1.0);
      const int c0 = int(gx), c1 = std::min(cols - 1, c0 + 1);
      const double fx = gx - c0;
      const double v = (1 - fy) * ((1 - fx) * grid(r0, c0) + fx * grid(r0, c1)) + fy * ((1 - fx) * grid(r1, c0) + fx * grid(r1, c1));
      const QRgb rgb = mapper.rgb(v);
      line[x] = qPremultiply(qRgba(qRed(rgb), qGreen(rgb), qBlue(rgb), alpha));
    }
  }
  return out;
}

}  // namespace

void paint_overlay(QPainter& painter, const QRectF& pic, const QImage& image, const PatchLayout& l, const RowMatrix& grid,
                   const OverlayStyle& style) {
  if (pic.isEmpty()) return;
  painter.save();
  if (image.isNull()) painter.fillRect(pic, QColor(128, 128, 128));
  else painter.drawImage(pic, display_scaled(image, device_size(painter, pic)));
  if (grid.rows() == l.rows && grid.cols() == l.cols && l.rows > 0 && style.opacity > 0) {
    const ValueMapper mapper(style.colors, style.range);
    const QRectF covered(pic.topLeft(), QSizeF(pic.width() * l.cover_w, pic.height() * l.cover_h));
    if (style.smooth) {
      painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
      painter.drawImage(covered, smooth_overlay(grid, mapper, style.opacity, device_size(painter, covered)));
    } else {
      painter.setPen(Qt::NoPen);
      painter.setRenderHint(QPainter::Antialiasing, false);
      const int alpha = std::clamp(int(std::lround(style.opacity * 255)), 0, 255);
      for (int r = 0; r < l.rows; ++r)
        for (int c = 0; c < l.cols; ++c) {
          QColor colour = QColor::fromRgb(mapper.rgb(grid(r, c)));
          colour.setAlpha(alpha);
          painter.fillRect(patch_rect(pic, l, r, c), colour);
        }
    }
  }
  if (style.mark_r >= 0 && style.mark_c >= 0 && style.mark_r < l.rows && style.mark_c < l.cols) {
    painter.setRenderHint(QPainter::Antialiasing, true);
    const QRectF box = patch_rect(pic, l, style.mark_r, style.mark_c);
    const double w = std::clamp(std::min(box.width(), box.height()) / 8, 1.5, 4.0);
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(QColor(0, 0, 0, 160), w + 2));
    painter.drawRect(box.adjusted(w / 2, w / 2, -w / 2, -w / 2));
    painter.setPen(QPen(style.mark, w));
    painter.drawRect(box.adjusted(w / 2, w / 2, -w / 2, -w / 2));
  }
  painter.restore();
}

double color_bar_width(double font_height) { return font_height * 5.2 + 14; }

void paint_color_bar(QPainter& painter, const QRectF& bar, const ColorSettings& colors, const ValueRange& range, const QColor& text,
                     const QString& label) {
  if (bar.height() < 4) return;
  painter.save();
  const ValueMapper mapper(colors, range);
  const QVector<QRgb>& table = colormap_table(colors.map);
  QImage strip(1, 256, QImage::Format_RGB32);
  for (int i = 0; i < 256; ++i) strip.setPixel(0, 255 - i, table[i]);
  painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
  painter.drawImage(bar, strip);
  painter.setPen(QPen(text, 0));
  painter.setBrush(Qt::NoBrush);
  painter.drawRect(bar);
  // Ticks at round values, placed where the colour map puts them.
  const QFontMetricsF fm(painter.font());
  std::vector<double> ticks;
  if (colors.scaling == Scaling::Log) {
    for (double v = std::pow(10.0, std::ceil(std::log10(mapper.log_floor()))); v <= range.hi * (1 + 1e-9); v *= 10) ticks.push_back(v);
  } else {
    const double span = range.hi - range.lo, raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = raw / mag >= 5 ? 5 * mag : raw / mag >= 2 ? 2 * mag : mag;
    for (double v = std::ceil(range.lo / step) * step; v <= range.hi + step * 1e-6; v += step) ticks.push_back(v);
  }
  double last_y = 1e9;
  for (double v : ticks) {
    const double y = bar.bottom() - mapper.position(v) * bar.height();
    if (std::abs(last_y - y) < fm.height() * 0.9) continue;
    last_y = y;
    painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y));
    painter.drawText(QRectF(bar.right() + 6, y - fm.height() / 2, fm.horizontalAdvance(QStringLiteral("0.0000e-00")), fm.height()),
                     Qt::AlignLeft | Qt::AlignVCenter, QString::number(v, 'g', 3));
  }
  if (!label.isEmpty()) {
    painter.translate(bar.right() + 6 + fm.horizontalAdvance(QStringLiteral("0.000")) + fm.height() * 1.2, bar.center().y());
    painter.rotate(90);
    painter.drawText(QRectF(-bar.height() / 2, -fm.height(), bar.height(), fm.height()), Qt::AlignCenter, label);
  }
  painter.restore();
}

}  // namespace attn::ui
