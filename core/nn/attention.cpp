#include "nn/attention.h"

#include <cmath>

#include "nn/ops.h"

namespace attn {

RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, int num_heads, bool causal, LayerHook& hook, int layer) {
  const Eigen::Index N = q.rows();
  const int d = int(q.cols()) / num_heads;
  const float scale = 1.0f / std::sqrt(float(d));
  const bool scores = hook.wants_scores(layer), qkv = hook.wants_qkv(layer);
  RowMatrix context(N, q.cols());

#pragma omp parallel for schedule(dynamic)
  for (int h = 0; h < num_heads; ++h) {
    const auto qh = q.middleCols(h * d, d);
    const auto kh = k.middleCols(h * d, d);
    const auto vh = v.middleCols(h * d, d);
    // Computed in the hook's own memory when it offers some (an F32 recording), else in a scratch.
    float* buffer = hook.attention_buffer(layer, h);
    RowMatrix scratch;
    if (!buffer) {
      scratch.resize(N, N);
      buffer = scratch.data();
    }
    MatrixMap probs(buffer, N, N);
    probs.noalias() = (scale * qh) * kh.transpose();  // (N, N); the scale folded into the GEMM
    if (qkv) hook.on_qkv(layer, h, qh, kh, vh);
    if (scores) hook.on_scores(layer, h, probs);
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
    hook.on_attention(layer, h, probs);
    context.middleCols(h * d, d).noalias() = probs * vh;
  }
  return context;
}

}  // namespace attn
