#include "picture_file.h"

#include <cstring>
#include <string>

#include "util/error.h"

#if ATTN_WITH_QT_GUI
#include <QImage>
#include <QImageReader>
#include <QString>
#endif

namespace attn::imageio {

Rgb8Image decode_image_file(const std::filesystem::path& path, int64_t max_pixels) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(name + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(name + ": is a folder, not an image file");
#if ATTN_WITH_QT_GUI
  QImageReader::setAllocationLimit(int(max_pixels * 8 / (1024 * 1024)) + 1);  // MB; room for 64-bit formats
  QImageReader reader(QString::fromStdString(name));
  reader.setAutoTransform(true);  // EXIF orientation, as transformers' load_image
  if (!reader.canRead())
    throw Error(name + ": not an image AttnScope can read (PNG, JPEG or BMP expected): " + reader.errorString().toStdString());
  const QSize size = reader.size();
  if (size.isValid()) {
    if (size.width() == 0 || size.height() == 0) throw Error(name + ": the image is empty (0 pixels)");
    if (int64_t(size.width()) * size.height() > max_pixels)
      throw Error(name + ": " + std::to_string(size.width()) + "x" + std::to_string(size.height()) + " pixels is too large (at most " +
                  std::to_string(max_pixels / 1000000) + " megapixels); scale it down first");
  }
  QImage image = reader.read();
  if (image.isNull()) throw Error(name + ": cannot decode the image: " + reader.errorString().toStdString());
  if (image.width() == 0 || image.height() == 0) throw Error(name + ": the image is empty (0 pixels)");
  if (int64_t(image.width()) * image.height() > max_pixels) throw Error(name + ": the image is too large");
  if (image.hasAlphaChannel()) image = image.convertToFormat(QImage::Format_ARGB32);  // drop alpha, do not premultiply
  image = image.convertToFormat(QImage::Format_RGB888);
  Rgb8Image out(image.width(), image.height());
  for (int y = 0; y < image.height(); ++y) std::memcpy(out.row(y), image.constScanLine(y), size_t(image.width()) * 3);
  return out;
#else
  throw Error(name + ": this attnscope was built without Qt 6 Gui, so it cannot decode image files");
#endif
}

}  // namespace attn::imageio
