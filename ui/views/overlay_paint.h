#pragma once
// Drawing attention over a picture, shared by the overlay views, the head grid, the image
// rollout and their exports: the picture with crisp pixels when enlarged (a 28 × 28 image
// stays sharp) and smooth ones when reduced, the patch grid of weights over it — one flat
// block per patch, or bilinear between patch centres — in the current colour map, and a
// colour bar. Painter-agnostic (screen, PNG, SVG, PDF).
#include <QColor>
#include <QImage>
#include <QRectF>
#include <QString>

#include "colormap/colormap.h"
#include "colormap/value_mapper.h"
#include "image/picture.h"
#include "model/tensor_types.h"

class QPainter;

namespace attn::ui {

struct OverlayStyle {
  ColorSettings colors;
  ValueRange range;       // the weights' colour range
  bool smooth = false;    // bilinear between patch centres; else one block per patch
  double opacity = 0.6;   // of the attention over the picture: 0 picture only, 1 attention only
  int mark_r = -1, mark_c = -1;  // a patch outlined (the query patch), or -1
  QColor mark = QColor(255, 64, 64);
};

// The largest rectangle of `aspect` (width / height) centred in `area`.
QRectF fit_rect(const QRectF& area, double aspect);
// Patch (r, c) inside `picture`, the rectangle the whole model input is drawn in.
QRectF patch_rect(const QRectF& picture, const PatchLayout& layout, int r, int c);
// The patch under `point`; false outside the patches.
bool patch_at(const QRectF& picture, const PatchLayout& layout, const QPointF& point, int* r, int* c);

// Draws `image` (null: a neutral grey) into `picture`, then the (rows, cols) `grid` of
// weights over the patches, then the outline of the marked patch.
void paint_overlay(QPainter& painter, const QRectF& picture, const QImage& image, const PatchLayout& layout, const RowMatrix& grid,
                   const OverlayStyle& style);
// A vertical colour bar for `range` in `bar`, ticks and `label` to its right in `text`.
void paint_color_bar(QPainter& painter, const QRectF& bar, const ColorSettings& colors, const ValueRange& range, const QColor& text,
                     const QString& label);
// Room a colour bar with its ticks and label needs beside it, for `font_height` text.
double color_bar_width(double font_height);

// `image` resized to exactly `size` pixels: nearest neighbour when enlarging (crisp pixels),
// smooth when reducing. Recently used results are cached.
QImage display_scaled(const QImage& image, const QSize& size);

}  // namespace attn::ui
