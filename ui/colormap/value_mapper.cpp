#include "colormap/value_mapper.h"

#include <algorithm>
#include <cmath>

namespace attn::ui {

ValueRange attention_range(double matrix_max, double shared_max, bool shared) {
  const double hi = shared ? shared_max : matrix_max;
  if (!(hi > 0.0) || !std::isfinite(hi)) return {0.0, 1.0};
  return {0.0, hi};
}

ValueMapper::ValueMapper(const ColorSettings& settings, ValueRange range)
    : table_(colormap_table(settings.map)), scaling_(settings.scaling), gamma_(settings.gamma), range_(range) {
  if (!(range_.hi > range_.lo)) range_.hi = range_.lo + 1.0;
  floor_ = std::max(range_.hi * kLogFloorRatio, range_.lo);
  if (!(floor_ > 0.0)) floor_ = range_.hi * kLogFloorRatio;
}

double ValueMapper::position(double v) const {
  if (!std::isfinite(v)) return 0.0;
  double t;
  switch (scaling_) {
    case Scaling::Log:
      t = std::log(std::max(v, floor_) / floor_) / std::log(range_.hi / floor_);
      break;
    case Scaling::Power:
      t = std::pow(std::clamp((v - range_.lo) / (range_.hi - range_.lo), 0.0, 1.0), gamma_);
      break;
    case Scaling::Linear:
    default:
      t = (v - range_.lo) / (range_.hi - range_.lo);
      break;
  }
  return std::clamp(t, 0.0, 1.0);
}

}  // namespace attn::ui
