#include "analysis/attention_lines.h"

#include <algorithm>
#include <tuple>

namespace attn {

bool head_chosen(const std::vector<bool>& heads, int h) { return h >= int(heads.size()) || heads[size_t(h)]; }

namespace {

using Part = AttentionRecording::Part;

// The k-th largest of `values` (k ≤ size), which it reorders.
float kth_largest(std::vector<float>& values, size_t k) {
  const auto nth = values.begin() + std::ptrdiff_t(values.size() - k);
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

// The cutoff for weights of which `found` holds every one ≥ some bound (≥ min_weight); `all`:
// the bound is min_weight, so `found` is every weight that counts.
float cutoff_of(const std::vector<AttentionLine>& found, bool all, size_t budget, float min_weight) {
  if (all && found.size() <= budget) return min_weight;
  std::vector<float> w;
  w.reserve(found.size());
  for (const AttentionLine& l : found) w.push_back(l.weight);
  return std::max(min_weight, kth_largest(w, std::min(budget, w.size())));
}

void keep_from(std::vector<AttentionLine>& lines, float cutoff) {
  std::erase_if(lines, [cutoff](const AttentionLine& l) { return l.weight < cutoff; });
  std::sort(lines.begin(), lines.end(),
            [](const AttentionLine& a, const AttentionLine& b) { return std::tie(a.head, a.query, a.key) < std::tie(b.head, b.query, b.key); });
}

}  // namespace

std::vector<AttentionLine> token_lines(const AttentionRecording& rec, int layer, const std::vector<bool>& heads, int token, int side,
                                       float min_weight) {
  std::vector<AttentionLine> lines;
  const int N = rec.num_tokens();
  if (token < 0 || token >= N) return lines;
  for (int h = 0; h < rec.num_heads(); ++h) {
    if (!head_chosen(heads, h)) continue;
    const RowMatrix v = side == 0 ? rec.block(Part::Attention, layer, h, token, token + 1, 0, N)
                                  : rec.block(Part::Attention, layer, h, 0, N, token, token + 1);
    for (int t = 0; t < N; ++t) {
      const float w = side == 0 ? v(0, t) : v(t, 0);
      if (w >= min_weight) lines.push_back(side == 0 ? AttentionLine{h, token, t, w} : AttentionLine{h, t, token, w});
    }
  }
  return lines;
}

StrongestLines strongest_lines(const AttentionRecording& rec, int layer, const std::vector<bool>& heads, int budget, float min_weight) {
  StrongestLines out;
  const int N = rec.num_tokens();
  const size_t k = size_t(std::max(1, budget));
  if (rec.pyramid().empty()) {  // short or in memory: every weight
    for (int h = 0; h < rec.num_heads(); ++h) {
      if (!head_chosen(heads, h)) continue;
      const ConstMatrixMap a = rec.head(layer, h);
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j)
          if (a(i, j) >= min_weight) out.lines.push_back({h, i, j, a(i, j)});
    }
    out.cutoff = cutoff_of(out.lines, true, k, min_weight);
    keep_from(out.lines, out.cutoff);
    return out;
  }
  // The finest level's block maxima, and the bound they give.
  const int f = rec.pyramid().front();
  std::vector<std::pair<int, RowMatrix>> maxima;
  std::vector<float> block_max;
  for (int h = 0; h < rec.num_heads(); ++h) {
    if (!head_chosen(heads, h)) continue;
    RowMatrix m = rec.pyramid_level(layer, h, 0);
    for (Eigen::Index i = 0; i < m.size(); ++i)
      if (m.data()[i] >= min_weight) block_max.push_back(m.data()[i]);
    maxima.emplace_back(h, std::move(m));
  }
  const bool all = block_max.size() <= k;
  const float bound = all ? min_weight : std::max(min_weight, kth_largest(block_max, k));
  block_max = {};
  // Every weight ≥ bound: in the blocks whose maximum reaches it, read a band of rows at a time.
  for (const auto& [h, m] : maxima) {
    for (Eigen::Index br = 0; br < m.rows(); ++br) {
      if (m.row(br).maxCoeff() < bound) continue;
      const int r0 = int(br) * f, r1 = std::min(N, r0 + f);
      const RowMatrix band = rec.block(Part::Attention, layer, h, r0, r1, 0, N);
      for (Eigen::Index bc = 0; bc < m.cols(); ++bc) {
        if (m(br, bc) < bound) continue;
        const int c0 = int(bc) * f, c1 = std::min(N, c0 + f);
        for (int i = r0; i < r1; ++i)
          for (int j = c0; j < c1; ++j)
            if (const float w = band(i - r0, j); w >= bound) out.lines.push_back({h, i, j, w});
      }
    }
  }
  out.cutoff = cutoff_of(out.lines, all, k, min_weight);
  keep_from(out.lines, out.cutoff);
  return out;
}

}  // namespace attn
