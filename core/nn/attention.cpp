#include "nn/attention.h"

#include <algorithm>
#include <cmath>

#include "nn/ops.h"

namespace attn {

LayerCapture capture_for(AttentionRecording* recording, int layer, const std::vector<int>& recorded,
                         const std::vector<std::vector<int>>& disabled_heads) {
  LayerCapture c{recording, layer, layer < int(disabled_heads.size()) ? &disabled_heads[size_t(layer)] : nullptr};
  if (!recorded.empty()) {
    const auto it = std::lower_bound(recorded.begin(), recorded.end(), layer);
    c.layer = it != recorded.end() && *it == layer ? int(it - recorded.begin()) : -1;
  }
  return c;
}

RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, int num_heads, bool causal, const LayerCapture& capture) {
  using Part = AttentionRecording::Part;
  const Eigen::Index N = q.rows();
  const int d = int(q.cols()) / num_heads;
  const float scale = 1.0f / std::sqrt(float(d));
  AttentionRecording& rec = *capture.recording;
  RowMatrix context(N, q.cols());

#pragma omp parallel for schedule(dynamic)
  for (int h = 0; h < num_heads; ++h) {
    const auto qh = q.middleCols(h * d, d);
    const auto kh = k.middleCols(h * d, d);
    const auto vh = v.middleCols(h * d, d);
    const bool keep = capture.layer >= 0;
    // F32 recordings are written in place; an unrecorded layer, or an F16 recording, goes
    // through a scratch matrix (stored, rounded, at the end).
    const bool in_place = keep && rec.storage() == DType::F32;
    RowMatrix scratch;
    if (!in_place) scratch.resize(N, N);
    MatrixMap probs = in_place ? rec.mutable_matrix(Part::Attention, capture.layer, h) : MatrixMap(scratch.data(), N, N);
    probs.noalias() = (scale * qh) * kh.transpose();  // (N, N); the scale folded into the GEMM
    if (keep && rec.has_scores()) rec.write_matrix(Part::Scores, capture.layer, h, probs);
    if (keep && rec.has_qkv()) {
      rec.write_matrix(Part::Query, capture.layer, h, qh);
      rec.write_matrix(Part::Key, capture.layer, h, kh);
      rec.write_matrix(Part::Value, capture.layer, h, vh);
    }
    if (causal) {
      // Softmax over the keys each query may see; masked keys get exactly zero (Eigen's
      // vectorised exp of -inf is a denormal, not 0, so masking by -inf is not exact).
      for (Eigen::Index i = 0; i < N; ++i) {
        softmax_rows(probs.row(i).head(i + 1));
        probs.row(i).tail(N - i - 1).setZero();
      }
    } else {
      softmax_rows(probs);
    }
    if (capture.disabled_heads &&
        std::find(capture.disabled_heads->begin(), capture.disabled_heads->end(), h) != capture.disabled_heads->end())
      probs.setZero();
    context.middleCols(h * d, d).noalias() = probs * vh;
    if (keep && !in_place) rec.write_matrix(Part::Attention, capture.layer, h, probs);
  }
  return context;
}

}  // namespace attn
