#include "analysis/head_stats.h"

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <limits>

namespace attn {

HeadStats head_stats(const Eigen::Ref<const RowMatrix>& a, const std::vector<uint8_t>& special) {
  HeadStats s;
  const Eigen::Index N = a.rows();
  if (N == 0) return s;
  std::vector<Eigen::Index> sinks;
  for (Eigen::Index j = 0; j < N && j < Eigen::Index(special.size()); ++j)
    if (special[j]) sinks.push_back(j);
  if (sinks.empty()) sinks.push_back(0);
  // Each row in vectorised float passes (the row stays in cache), summed over rows in double.
  const Eigen::Array<float, 1, Eigen::Dynamic> position = Eigen::Array<float, 1, Eigen::Dynamic>::LinSpaced(N, 0.0f, float(N - 1));
  double entropy = 0, distance = 0, special_share = 0, previous = 0, self = 0, max_weight = 0, first = 0;
  for (Eigen::Index i = 0; i < N; ++i) {
    const auto row = a.row(i).array();
    // Keys after the query that are all exactly zero (a causal head) add nothing to the sums:
    // checking costs one cheap pass and spares the logarithms.
    const Eigen::Index end = i + 1 < N && row.tail(N - i - 1).abs().maxCoeff() == 0.0f ? i + 1 : N;
    const auto p = row.head(end);
    // p log p with 0 log 0 = 0, as packet operations (Eigen's select is not vectorised).
    const auto q = p.max(0.0f);
    entropy -= (q * q.max(std::numeric_limits<float>::min()).log()).sum();
    distance += (p * (position.head(end) - float(i)).abs()).sum();
    for (const Eigen::Index j : sinks) special_share += row[j];
    if (i > 0) previous += row[i - 1];
    self += row[i];
    first += row[0];
    max_weight += end < N ? std::max(p.maxCoeff(), 0.0f) : p.maxCoeff();
  }
  s.entropy = float(entropy / N);
  s.mean_distance = float(distance / N);
  s.special_share = float(special_share / N);
  s.previous_share = N > 1 ? float(previous / (N - 1)) : 0.0f;
  s.self_share = float(self / N);
  s.max_weight = float(max_weight / N);
  s.first_share = float(first / N);
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
