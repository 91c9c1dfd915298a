#pragma once
// Maps attention values to colours exactly as the heatmap does, for views drawn into QImages
// (thumbnails, head lines). Cheap to copy; safe to use from worker threads.
#include <QVector>
#include <QtGui/qrgb.h>

#include "colormap/colormap.h"

namespace attn::ui {

// A value range [lo, hi] with hi > lo.
struct ValueRange {
  double lo = 0.0;
  double hi = 1.0;
};

// The range one view shows: [0, max of the matrix], or [0, shared_max] with a shared range.
// Never empty (a zero matrix gets [0, 1]).
ValueRange attention_range(double matrix_max, double shared_max, bool shared);

class ValueMapper {
 public:
  ValueMapper(const ColorSettings& settings, ValueRange range);
  // Position of `v` on the colour map, in [0, 1].
  double position(double v) const;
  QRgb rgb(double v) const { return table_[int(position(v) * 255.0 + 0.5)]; }
  // The lowest value the logarithmic scale resolves (values below it share its colour).
  double log_floor() const { return floor_; }
  const ValueRange& range() const { return range_; }

 private:
  QVector<QRgb> table_;
  Scaling scaling_;
  double gamma_;
  ValueRange range_;
  double floor_;
};

}  // namespace attn::ui
