#include "views/matrix_ticks.h"

#include <algorithm>
#include <cmath>

namespace attn::ui {

int nice_step(double min_step) {
  if (!(min_step > 1.0)) return 1;
  for (long base = 1; base < (1L << 30); base *= 10)
    for (int m : {1, 2, 5})
      if (double(base * m) >= min_step) return int(base * m);
  return 1 << 30;
}

QMap<double, QString> thinned_ticks(const QStringList& labels, double lo, double hi, double pixels, double label_pixels) {
  QMap<double, QString> ticks;
  const int n = int(labels.size());
  if (n == 0 || pixels <= 0) return ticks;
  const double per_token = pixels / std::max(1e-9, hi - lo);
  const int step = nice_step(label_pixels / per_token);
  const int first = std::max(0, int(std::ceil(lo / step)) * step);
  const int last = std::min(n - 1, int(std::floor(hi)));
  for (int i = first; i <= last; i += step) ticks.insert(double(i), labels[i]);
  return ticks;
}

}  // namespace attn::ui
