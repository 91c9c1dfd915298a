#include "record/pyramid.h"

#include <algorithm>
#include <limits>

namespace attn {

RowMatrix max_pool(const Eigen::Ref<const RowMatrix>& m, int r0, int r1, int c0, int c1, int factor) {
  factor = std::max(1, factor);
  const int rows = (r1 - r0 + factor - 1) / factor, cols = (c1 - c0 + factor - 1) / factor;
  RowMatrix out = RowMatrix::Constant(rows, cols, -std::numeric_limits<float>::infinity());
  for (int i = r0; i < r1; ++i) {
    const auto src = m.row(i);
    auto dst = out.row((i - r0) / factor);
    for (int b = 0; b < cols; ++b) {  // one block of `factor` columns at a time (vectorised max)
      const int j = c0 + b * factor;
      dst[b] = std::max(dst[b], src.segment(j, std::min(factor, c1 - j)).maxCoeff());
    }
  }
  return out;
}

std::vector<int> pyramid_factors(int tokens) {
  std::vector<int> factors;
  if (tokens < kPyramidMinTokens) return factors;
  for (int f = 4; pyramid_side(tokens, f) >= kPyramidMinSide; f *= 4) factors.push_back(f);
  return factors;
}

std::vector<RowMatrix> pyramid_levels(const Eigen::Ref<const RowMatrix>& head, const std::vector<int>& factors) {
  std::vector<RowMatrix> levels;
  levels.reserve(factors.size());
  for (size_t k = 0; k < factors.size(); ++k) {
    if (k == 0) {
      levels.push_back(max_pool(head, 0, int(head.rows()), 0, int(head.cols()), factors[0]));
    } else {
      const RowMatrix& from = levels.back();
      RowMatrix next = max_pool(from, 0, int(from.rows()), 0, int(from.cols()), factors[k] / factors[k - 1]);
      levels.push_back(std::move(next));
    }
  }
  return levels;
}

}  // namespace attn
