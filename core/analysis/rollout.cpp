#include "analysis/rollout.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "util/error.h"

namespace attn {

RowMatrix rollout_step(const RowMatrix& fused, float discard_ratio) {
  RowMatrix a = fused;
  const Eigen::Index n = a.size();
  const auto discard = Eigen::Index(float(n) * discard_ratio);
  if (discard > 0) {
    std::vector<Eigen::Index> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::nth_element(order.begin(), order.begin() + discard, order.end(),
                     [&](auto x, auto y) { return a.data()[x] < a.data()[y]; });
    for (Eigen::Index i = 0; i < discard; ++i)
      if (order[i] % a.cols() != 0) a.data()[order[i]] = 0.0f;  // keep attention to the first token
  }
  a += RowMatrix::Identity(a.rows(), a.cols());
  for (Eigen::Index i = 0; i < a.rows(); ++i) a.row(i) /= a.row(i).sum();
  return a;
}

std::vector<RowMatrix> rollout_steps(const AttentionRecording& rec, const RolloutOptions& opt) {
  const int L = rec.num_layers(), H = rec.num_heads();
  const int first = opt.first_layer, last = opt.last_layer < 0 ? L - 1 : opt.last_layer;
  if (first < 0 || last >= L || first > last) throw Error("rollout: layer range " + std::to_string(first) + "–" + std::to_string(last) + " is invalid");
  if (opt.discard_ratio < 0.0f || opt.discard_ratio >= 1.0f) throw Error("rollout: discard ratio must be in [0, 1)");
  std::vector<RowMatrix> steps;
  for (int l = first; l <= last; ++l) {
    RowMatrix scratch;
    RowMatrix fused = rec.head_for_sweep(l, 0, scratch);
    for (int h = 1; h < H; ++h) {
      const ConstMatrixMap a = rec.head_for_sweep(l, h, scratch);
      switch (opt.fusion) {
        case HeadFusion::Mean: fused += a; break;
        case HeadFusion::Max: fused = fused.cwiseMax(a); break;
        case HeadFusion::Min: fused = fused.cwiseMin(a); break;
      }
    }
    if (opt.fusion == HeadFusion::Mean) fused /= float(H);
    steps.push_back(rollout_step(fused, opt.discard_ratio));
  }
  return steps;
}

RowMatrix attention_rollout(const AttentionRecording& rec, const RolloutOptions& opt) {
  const int N = rec.num_tokens();
  RowMatrix result = RowMatrix::Identity(N, N);
  for (const RowMatrix& step : rollout_steps(rec, opt)) result = step * result;
  return result;
}

}  // namespace attn
