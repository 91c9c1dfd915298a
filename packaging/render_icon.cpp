// Renders the SVG icon to square PNGs, for the hicolor icon theme's fixed sizes.
//   attnscope_render_icon ICON.svg OUT_DIR SIZE...   writes OUT_DIR/SIZExSIZE/attnscope.png
// Exits 1 with a message when the SVG cannot be read or a PNG cannot be written.
#include <QDir>
#include <QImage>
#include <QPainter>
#include <QString>
#include <QSvgRenderer>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ICON.svg OUT_DIR SIZE...\n", argv[0]);
    return 2;
  }
  QSvgRenderer svg(QString::fromLocal8Bit(argv[1]));
  if (!svg.isValid()) {
    std::fprintf(stderr, "%s: cannot read the SVG '%s'\n", argv[0], argv[1]);
    return 1;
  }
  const QDir out(QString::fromLocal8Bit(argv[2]));
  for (int i = 3; i < argc; ++i) {
    const int size = QString::fromLatin1(argv[i]).toInt();
    if (size <= 0) {
      std::fprintf(stderr, "%s: '%s' is not a size in pixels\n", argv[0], argv[i]);
      return 2;
    }
    QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    svg.render(&painter);
    painter.end();
    const QString dir = QStringLiteral("%1x%1").arg(size);
    const QString path = out.filePath(dir + QStringLiteral("/attnscope.png"));
    if (!out.mkpath(dir) || !image.save(path, "PNG")) {
      std::fprintf(stderr, "%s: cannot write '%s'\n", argv[0], path.toLocal8Bit().constData());
      return 1;
    }
  }
  return 0;
}
