#include "window/image_drop_area.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QImageReader>
#include <QMimeData>
#include <QPainter>

#include "views/overlay_paint.h"

namespace attn::ui {

bool is_picture_file(const QString& path) {
  const QFileInfo info(path);
  if (!info.isFile()) return false;
  static const QStringList suffixes = {"png", "jpg", "jpeg", "bmp", "gif", "webp", "ppm", "pgm", "tif", "tiff"};
  if (suffixes.contains(info.suffix().toLower())) return true;
  return !QImageReader::imageFormat(path).isEmpty();
}

ImageDropArea::ImageDropArea(QWidget* parent) : QWidget(parent) {
  setAcceptDrops(true);
  setMinimumHeight(140);
  setCursor(Qt::PointingHandCursor);
  setToolTip(tr("Drop a picture (PNG, JPEG, BMP) here, or click to open one"));
}

void ImageDropArea::set_path(const QString& path) {
  path_ = path;
  QImageReader reader(path);
  reader.setAutoTransform(true);
  const QSize size = reader.size();
  if (size.isValid() && (size.width() > 1024 || size.height() > 1024)) reader.setScaledSize(size.scaled(1024, 1024, Qt::KeepAspectRatio));
  thumbnail_ = reader.read();
  update();
}

void ImageDropArea::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QRectF r = QRectF(rect()).adjusted(2, 2, -2, -2);
  p.setPen(QPen(palette().color(QPalette::Mid), 1.5, Qt::DashLine));
  p.setBrush(palette().color(QPalette::Base));
  p.drawRoundedRect(r, 6, 6);
  const double fh = fontMetrics().height();
  const QRectF caption(r.left() + 6, r.bottom() - fh * 1.4, r.width() - 12, fh * 1.2);
  if (!thumbnail_.isNull()) {
    const QRectF area = r.adjusted(8, 8, -8, -fh * 1.6);
    const QRectF pic = fit_rect(area, double(thumbnail_.width()) / thumbnail_.height());
    const qreal dpr = devicePixelRatioF();
    p.drawImage(pic, display_scaled(thumbnail_, (pic.size() * dpr).toSize()));
    p.setPen(palette().color(QPalette::Text));
    p.drawText(caption, Qt::AlignCenter,
               fontMetrics().elidedText(QStringLiteral("%1  (%2×%3)").arg(QFileInfo(path_).fileName()).arg(thumbnail_.width()).arg(thumbnail_.height()),
                                        Qt::ElideMiddle, int(caption.width())));
  } else {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(r.adjusted(10, 10, -10, -10), Qt::AlignCenter | Qt::TextWordWrap,
               path_.isEmpty() ? tr("Drop a picture here\n(PNG, JPEG, BMP)\nor click to open one") : tr("%1\ncannot be shown").arg(QFileInfo(path_).fileName()));
  }
}

void ImageDropArea::dragEnterEvent(QDragEnterEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (!urls.isEmpty() && urls.first().isLocalFile() && is_picture_file(urls.first().toLocalFile())) event->acceptProposedAction();
}

void ImageDropArea::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  event->acceptProposedAction();
  Q_EMIT dropped(urls.first().toLocalFile());
}

void ImageDropArea::mouseReleaseEvent(QMouseEvent*) { Q_EMIT clicked(); }

}  // namespace attn::ui
