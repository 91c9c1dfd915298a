// Reference: ATen's UpSampleKernel.cpp (compute_indices_weights_cubic) and UpSample.h
// (area_pixel_compute_source_index, get_cubic_upsample_coefficients, cubic_convolution1/2).
#include "image/bicubic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace attn {

namespace {

constexpr double kA = -0.75;

double cubic1(double x) { return ((kA + 2) * x - (kA + 3)) * x * x + 1; }           // |x| <= 1
double cubic2(double x) { return ((kA * x - 5 * kA) * x + 8 * kA) * x - 4 * kA; }  // 1 < |x| < 2

struct Taps {
  std::array<int, 4> index;
  std::array<double, 4> weight;
};

std::vector<Taps> taps(int in, int out) {
  const double scale = double(in) / out;
  std::vector<Taps> t(out);
  for (int i = 0; i < out; ++i) {
    const double real = scale * (i + 0.5) - 0.5;  // not clamped for cubic
    const int base = std::min(int(std::floor(real)), in - 1);
    const double f = std::clamp(real - base, 0.0, 1.0);
    t[i].weight = {cubic2(f + 1.0), cubic1(f), cubic1(1.0 - f), cubic2(2.0 - f)};
    for (int k = 0; k < 4; ++k) t[i].index[k] = std::clamp(base - 1 + k, 0, in - 1);
  }
  return t;
}

}  // namespace

RowMatrix torch_bicubic_resize(const Eigen::Ref<const RowMatrix>& grid, int in_h, int in_w, int out_h, int out_w) {
  const auto ty = taps(in_h, out_h), tx = taps(in_w, out_w);
  const Eigen::Index C = grid.cols();
  RowMatrix out(Eigen::Index(out_h) * out_w, C);
  Eigen::RowVectorXd row(C), acc(C);
  for (int oy = 0; oy < out_h; ++oy) {
    for (int ox = 0; ox < out_w; ++ox) {
      acc.setZero();
      for (int j = 0; j < 4; ++j) {
        row.setZero();
        for (int i = 0; i < 4; ++i)
          row += tx[ox].weight[i] * grid.row(Eigen::Index(ty[oy].index[j]) * in_w + tx[ox].index[i]).cast<double>();
        acc += ty[oy].weight[j] * row;
      }
      out.row(Eigen::Index(oy) * out_w + ox) = acc.cast<float>();
    }
  }
  return out;
}

}  // namespace attn
