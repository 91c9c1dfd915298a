#include "views/line_raster.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace attn::ui {

namespace {

// Source-over of a straight colour (r, g, b in 0…255) with alpha `a` (0…1) onto a
// premultiplied pixel.
inline void blend(uint32_t& px, float r, float g, float b, float a) {
  if (a <= 0.0f) return;
  const float keep = 1.0f - a;
  const auto channel = [&](int shift, float src) {
    return uint32_t(std::lround(src * a + float((px >> shift) & 0xFF) * keep)) << shift;
  };
  px = channel(24, 255.0f) | channel(16, r) | channel(8, g) | channel(0, b);
}

}  // namespace

void draw_line_aa(QImage& image, QPointF a, QPointF b, QColor color, float opacity, int row_begin, int row_end) {
  if (image.format() != QImage::Format_ARGB32_Premultiplied || opacity <= 0.0f) return;
  row_begin = std::max(row_begin, 0);
  row_end = std::min(row_end, image.height());
  const int width = image.width();
  if (row_begin >= row_end || width <= 0) return;
  const float r = float(color.red()), g = float(color.green()), bl = float(color.blue());
  const float alpha = std::min(1.0f, opacity) * float(color.alphaF());
  // Pixel (x, y) covers [x, x + 1) × [y, y + 1); work with centres at integers.
  double x0 = a.x() - 0.5, y0 = a.y() - 0.5, x1 = b.x() - 0.5, y1 = b.y() - 0.5;
  const auto plot = [&](int x, int y, float cover) {
    if (x < 0 || x >= width || y < row_begin || y >= row_end) return;
    blend(reinterpret_cast<uint32_t*>(image.scanLine(y))[x], r, g, bl, alpha * cover);
  };
  const bool steep = std::abs(y1 - y0) > std::abs(x1 - x0);
  if (steep) {  // walk along y, one row at a time: only the rows asked for
    if (y0 > y1) std::swap(x0, x1), std::swap(y0, y1);
    const double gradient = (x1 - x0) / std::max(1e-9, y1 - y0);
    const double from = std::max(std::ceil(y0), double(row_begin)), to = std::min(std::floor(y1), double(row_end - 1));
    if (!(from <= to)) return;
    const int first = int(from), last = int(to);
    for (int y = first; y <= last; ++y) {
      const double x = std::clamp(x0 + (y - y0) * gradient, -2.0, double(width) + 1);  // off-image columns stay off
      const int xi = int(std::floor(x));
      const float f = float(x - xi);
      plot(xi, y, 1.0f - f);
      plot(xi + 1, y, f);
    }
  } else {  // walk along x; rows outside the band are skipped by the columns they fall on
    if (x0 > x1) std::swap(x0, x1), std::swap(y0, y1);
    const double gradient = (y1 - y0) / std::max(1e-9, x1 - x0);
    double from = std::max(std::ceil(x0), 0.0), to = std::min(std::floor(x1), double(width - 1));
    if (gradient != 0.0) {  // the columns where the line is within the rows, give or take one
      const double xa = x0 + (row_begin - 1 - y0) / gradient, xb = x0 + (row_end + 1 - y0) / gradient;
      from = std::max(from, std::floor(std::min(xa, xb)));
      to = std::min(to, std::ceil(std::max(xa, xb)));
    } else if (y0 < row_begin - 1 || y0 > row_end + 1) {
      return;
    }
    if (!(from <= to)) return;  // (also NaN) nothing in the image: no int conversion of far-off columns
    const int first = int(from), last = int(to);
    for (int x = first; x <= last; ++x) {
      const double y = std::clamp(y0 + (x - x0) * gradient, double(row_begin) - 2, double(row_end) + 1);
      const int yi = int(std::floor(y));
      const float f = float(y - yi);
      plot(x, yi, 1.0f - f);
      plot(x, yi + 1, f);
    }
  }
}

}  // namespace attn::ui
