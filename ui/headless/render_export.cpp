#include "headless/render_export.h"

#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <cmath>
#include <qcustomplot.h>

#include "views/renderable.h"
#include "util/error.h"

namespace attn::ui {

std::optional<ImageFormat> image_format_for(const QString& path) {
  const QString s = QFileInfo(path).suffix().toLower();
  if (s == QLatin1String("png")) return ImageFormat::Png;
  if (s == QLatin1String("svg")) return ImageFormat::Svg;
  if (s == QLatin1String("pdf")) return ImageFormat::Pdf;
  return std::nullopt;
}

namespace {

[[noreturn]] void fail(const QString& path, const QString& what) { throw Error(path.toStdString() + ": " + what.toStdString()); }

void write_png(Renderable& view, const QString& path, QSize size, double dpi) {
  QImage image(size, QImage::Format_ARGB32_Premultiplied);
  if (image.isNull()) fail(path, QStringLiteral("an image of %1×%2 pixels is too large").arg(size.width()).arg(size.height()));
  image.fill(Qt::white);
  const double scale = dpi / 96.0;
  const QSize logical(int(std::lround(size.width() / scale)), int(std::lround(size.height() / scale)));
  {
    QCPPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    painter.scale(double(size.width()) / logical.width(), double(size.height()) / logical.height());
    view.render(painter, logical);
  }
  const int dpm = int(std::lround(dpi / 0.0254));
  image.setDotsPerMeterX(dpm);
  image.setDotsPerMeterY(dpm);
  image.setText(QStringLiteral("Title"), view.render_title());
  image.setText(QStringLiteral("Software"), QStringLiteral("AttnScope"));
  if (!image.save(path, "PNG")) fail(path, QStringLiteral("cannot write the PNG (check the folder exists and is writable)"));
}

void write_svg(Renderable& view, const QString& path, QSize size) {
  QSvgGenerator svg;
  svg.setFileName(path);
  svg.setSize(size);
  svg.setViewBox(QRect(QPoint(0, 0), size));
  svg.setResolution(96);
  svg.setTitle(view.render_title());
  svg.setDescription(QStringLiteral("Made with AttnScope"));
  QCPPainter painter;
  if (!painter.begin(&svg)) fail(path, QStringLiteral("cannot write the SVG (check the folder exists and is writable)"));
  view.render(painter, size);
  painter.end();
}

void write_pdf(Renderable& view, const QString& path, QSize size) {
  QPdfWriter pdf(path);
  pdf.setResolution(96);
  pdf.setPageSize(QPageSize(QSizeF(size) * 72.0 / 96.0, QPageSize::Point, QString(), QPageSize::ExactMatch));
  pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
  pdf.setTitle(view.render_title());
  pdf.setCreator(QStringLiteral("AttnScope"));
  QCPPainter painter;
  if (!painter.begin(&pdf)) fail(path, QStringLiteral("cannot write the PDF (check the folder exists and is writable)"));
  view.render(painter, size);
  painter.end();
}

}  // namespace

void export_image(Renderable& view, const QString& path, const ImageOptions& options) {
  const auto format = image_format_for(path);
  if (!format) fail(path, QStringLiteral("unknown image type: use .png, .svg or .pdf"));
  const QSize size = options.size.isEmpty() ? view.render_size() : options.size;
  if (size.width() < 16 || size.height() < 16 || size.width() > 30000 || size.height() > 30000)
    fail(path, QStringLiteral("size %1×%2 is out of range (16 to 30000 per side)").arg(size.width()).arg(size.height()));
  if (!(options.dpi >= 24 && options.dpi <= 2400)) fail(path, QStringLiteral("DPI %1 is out of range (24 to 2400)").arg(options.dpi));
  switch (*format) {
    case ImageFormat::Png: write_png(view, path, size, options.dpi); break;
    case ImageFormat::Svg: write_svg(view, path, size); break;
    case ImageFormat::Pdf: write_pdf(view, path, size); break;
  }
  if (!QFileInfo(path).isFile() || QFileInfo(path).size() == 0) fail(path, QStringLiteral("nothing was written"));
}

}  // namespace attn::ui
