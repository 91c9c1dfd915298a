#include "image/picture.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QPainter>
#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/attention_grid.h"
#include "picture_file.h"
#include "qt_convert.h"

namespace attn::ui {

namespace {

// "HxW" → (H, W); (0, 0) when absent or malformed.
std::pair<int, int> size_of(const RecordingMeta& meta, const char* key) {
  const auto it = meta.extra.find(key);
  if (it == meta.extra.end()) return {0, 0};
  const QStringList parts = QString::fromStdString(it->second).split(QLatin1Char('x'));
  if (parts.size() != 2) return {0, 0};
  bool ok_h = false, ok_w = false;
  const int h = parts[0].toInt(&ok_h), w = parts[1].toInt(&ok_w);
  return ok_h && ok_w && h > 0 && w > 0 ? std::pair{h, w} : std::pair{0, 0};
}

PicturePtr missing(const QString& path, const QString& note) {
  auto p = std::make_shared<RecordingPicture>();
  p->path = path;
  p->note = note;
  return p;
}

}  // namespace

double PatchLayout::aspect() const {
  if (input_width > 0 && input_height > 0) return double(input_width) / input_height;
  return rows > 0 ? double(cols) / rows : 1.0;
}

bool PatchLayout::patch_of(int token, int* r, int* c) const {
  const int i = token - first_patch;
  if (i < 0 || i >= rows * cols) return false;
  *r = i / cols;
  *c = i % cols;
  return true;
}

std::optional<PatchLayout> patch_layout(const RecordingMeta& meta) {
  std::optional<ImagePatchGrid> grid;
  try {
    grid = image_patch_grid(meta);
  } catch (const std::exception&) {
    return std::nullopt;  // malformed image_grid: shown as a text recording
  }
  if (!grid) return std::nullopt;
  PatchLayout l;
  l.rows = grid->height;
  l.cols = grid->width;
  l.first_patch = grid->first_patch;
  const auto [h, w] = size_of(meta, "image_input_size");
  l.input_height = h;
  l.input_width = w;
  if (const auto it = meta.extra.find("image_patch_size"); it != meta.extra.end()) l.patch_size = std::max(0, QString::fromStdString(it->second).toInt());
  if (l.patch_size > 0 && w > 0 && h > 0) {
    l.cover_w = std::min(1.0, double(l.cols * l.patch_size) / w);
    l.cover_h = std::min(1.0, double(l.rows * l.patch_size) / h);
  }
  return l;
}

RowMatrix patch_row(const RowMatrix& m, const PatchLayout& l, int query) {
  RowMatrix out(l.rows, l.cols);
  for (int i = 0; i < l.rows * l.cols; ++i) out.data()[i] = m(query, l.first_patch + i);
  return out;
}

QString image_token_name(const RecordingMeta& meta, const PatchLayout& l, int token) {
  int r, c;
  if (l.patch_of(token, &r, &c)) return QStringLiteral("patch (%1, %2)").arg(r).arg(c);
  if (token >= 0 && token < int(meta.tokens.size())) return qstr(meta.tokens[size_t(token)]);
  return QStringLiteral("token %1").arg(token);
}

QImage to_qimage(const Rgb8View& px) {
  QImage out(px.width, px.height, QImage::Format_RGB32);
  for (int y = 0; y < px.height; ++y) {
    const uint8_t* src = px.row(y);
    auto* dst = reinterpret_cast<QRgb*>(out.scanLine(y));
    for (int x = 0; x < px.width; ++x) dst[x] = qRgb(src[3 * x], src[3 * x + 1], src[3 * x + 2]);
  }
  return out;
}

PicturePtr make_recording_picture(const Rgb8View& source, const RecordingMeta& meta) {
  auto p = std::make_shared<RecordingPicture>();
  if (const auto it = meta.extra.find("image_path"); it != meta.extra.end()) p->path = qstr(it->second);
  if (source.width <= 0 || source.height <= 0) {
    p->note = QStringLiteral("empty picture");
    return p;
  }
  // The crop box in source pixels (the whole picture when not recorded); it may reach past
  // the picture, where the model saw black.
  QRectF crop(0, 0, source.width, source.height);
  if (const auto it = meta.extra.find("image_crop"); it != meta.extra.end()) {
    const QJsonArray a = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).array();
    if (a.size() == 4 && a[2].toDouble() > a[0].toDouble() && a[3].toDouble() > a[1].toDouble())
      crop = QRectF(QPointF(a[0].toDouble(), a[1].toDouble()), QPointF(a[2].toDouble(), a[3].toDouble()));
  }
  const QImage full = to_qimage(source);
  const double reduce = std::min(1.0, kMaxPictureSide / std::max(crop.width(), crop.height()));
  const QSize size(std::max(1, int(std::lround(crop.width() * reduce))), std::max(1, int(std::lround(crop.height() * reduce))));
  p->original = QImage(size, QImage::Format_RGB32);
  p->original.fill(Qt::black);
  {
    QPainter painter(&p->original);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, reduce < 1.0);
    painter.scale(reduce, reduce);
    painter.translate(-crop.topLeft());
    painter.drawImage(QPointF(0, 0), full);
  }
  const auto [h, w] = size_of(meta, "image_input_size");
  p->input = w > 0 && h > 0 ? p->original.scaled(w, h, Qt::IgnoreAspectRatio, Qt::SmoothTransformation) : p->original;
  return p;
}

namespace {

// The picture when only the recording's own input image is left: the model's input, drawn
// in the crop region's shape (the source picture's proportions).
PicturePtr stored_input_picture(const AttentionRecording& rec, const QString& path, const QString& why) {
  const auto rgb = recorded_input_image(rec);
  if (!rgb) return missing(path, why);
  auto p = std::make_shared<RecordingPicture>();
  p->path = path;
  p->note = why + QStringLiteral("; showing the model's input stored in the recording");
  p->input = to_qimage(rgb->view());
  QSizeF shape(p->input.size());
  if (const auto it = rec.meta().extra.find("image_crop"); it != rec.meta().extra.end()) {
    const QJsonArray a = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).array();
    if (a.size() == 4 && a[2].toDouble() > a[0].toDouble() && a[3].toDouble() > a[1].toDouble())
      shape = QSizeF(a[2].toDouble() - a[0].toDouble(), a[3].toDouble() - a[1].toDouble());
  }
  // At least the input's resolution along each side, in the crop's proportions.
  const double k = std::max(p->input.width() / shape.width(), p->input.height() / shape.height());
  const QSize size(std::clamp(int(std::lround(shape.width() * k)), 1, kMaxPictureSide), std::clamp(int(std::lround(shape.height() * k)), 1, kMaxPictureSide));
  p->original = p->input.scaled(size, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
  return p;
}

}  // namespace

PicturePtr load_recording_picture(const AttentionRecording& rec, const QString& fallback_dir) {
  const RecordingMeta& meta = rec.meta();
  const auto it = meta.extra.find("image_path");
  if (it == meta.extra.end() || it->second.empty()) return stored_input_picture(rec, {}, QStringLiteral("no picture recorded"));
  QString path = qstr(it->second);
  if (!QFileInfo(path).isFile() && !fallback_dir.isEmpty()) {
    const QString beside = QDir(fallback_dir).filePath(QFileInfo(path).fileName());
    if (QFileInfo(beside).isFile()) path = beside;
  }
  if (!QFileInfo(path).isFile()) return stored_input_picture(rec, qstr(it->second), QStringLiteral("picture not found: %1").arg(qstr(it->second)));
  try {
    const Rgb8Image rgb = imageio::decode_image_file(fspath(path));
    auto p = make_recording_picture(rgb.view(), meta);
    auto copy = std::make_shared<RecordingPicture>(*p);
    copy->path = path;
    return copy;
  } catch (const std::exception& e) {
    return stored_input_picture(rec, path, QStringLiteral("picture unreadable: %1").arg(QString::fromStdString(e.what())));
  }
}

}  // namespace attn::ui
