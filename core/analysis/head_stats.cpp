#include "analysis/head_stats.h"

#include <cmath>
#include <cstdlib>

namespace attn {

HeadStats head_stats(const Eigen::Ref<const RowMatrix>& a, const std::vector<uint8_t>& special) {
  HeadStats s;
  const Eigen::Index N = a.rows();
  if (N == 0) return s;
  std::vector<uint8_t> sink(N, 0);
  bool any = false;
  for (Eigen::Index j = 0; j < N && j < Eigen::Index(special.size()); ++j) {
    sink[j] = special[j] != 0;
    any = any || sink[j];
  }
  if (!any) sink[0] = 1;
  double entropy = 0, distance = 0, special_share = 0, previous = 0, self = 0, max_weight = 0;
  for (Eigen::Index i = 0; i < N; ++i) {
    const auto row = a.row(i);
    for (Eigen::Index j = 0; j < N; ++j) {
      const double p = row[j];
      if (p > 0) entropy -= p * std::log(p);
      distance += p * double(std::abs(i - j));
      if (sink[j]) special_share += p;
    }
    if (i > 0) previous += row[i - 1];
    self += row[i];
    max_weight += row.maxCoeff();
  }
  s.entropy = float(entropy / N);
  s.mean_distance = float(distance / N);
  s.special_share = float(special_share / N);
  s.previous_share = N > 1 ? float(previous / (N - 1)) : 0.0f;
  s.self_share = float(self / N);
  s.max_weight = float(max_weight / N);
  return s;
}

std::vector<HeadStats> all_head_stats(const AttentionRecording& rec) {
  std::vector<HeadStats> out(size_t(rec.num_layers()) * rec.num_heads());
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < rec.num_heads(); ++h) {
      RowMatrix scratch;
      out[size_t(l) * rec.num_heads() + h] = head_stats(rec.head_for_sweep(l, h, scratch), rec.meta().special);
    }
  return out;
}

}  // namespace attn
