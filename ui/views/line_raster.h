#pragma once
// Antialiased one-pixel lines drawn straight into a premultiplied ARGB32 image (Xiaolin Wu's
// method: each step along the line covers the two pixels beside it in proportion). The head
// view draws thousands of faint lines a frame; through QPainter each line is one rasterizer
// pass whose spans Qt hands to its thread pool, which costs far more than the pixels. Only
// the rows [row_begin, row_end) of the image are touched, so a tile can draw its part of a
// line that runs beyond it.
#include <QImage>
#include <QPointF>

namespace attn::ui {

// Blends `color` at `opacity` (0…1) along the line from `a` to `b` (device pixels, pixel
// centres at +0.5) into `image` (Format_ARGB32_Premultiplied).
void draw_line_aa(QImage& image, QPointF a, QPointF b, QColor color, float opacity, int row_begin, int row_end);

}  // namespace attn::ui
