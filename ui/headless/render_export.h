#pragma once
// Draws a Renderable view into a PNG (exact pixel size; DPI scales text and lines and is
// stored in the file), an SVG or a PDF (vector; size in 1/96-inch units). The GUI's export
// dialog and `attnscope export` both come here.
#include <QSize>
#include <QString>
#include <optional>

namespace attn::ui {

class Renderable;

enum class ImageFormat { Png, Svg, Pdf };

struct ImageOptions {
  QSize size;        // pixels for PNG, 1/96 inch for SVG and PDF; empty: the view's default
  double dpi = 96;   // PNG only
};

// The image format a file name asks for (by suffix), if any.
std::optional<ImageFormat> image_format_for(const QString& path);

// Writes `view` to `path`. Throws attn::Error naming the file when it cannot be written.
void export_image(Renderable& view, const QString& path, const ImageOptions& options);

}  // namespace attn::ui
