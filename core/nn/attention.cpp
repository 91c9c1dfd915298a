#include "nn/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/gemm.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec, LayerHook& hook, int layer) {
  const Eigen::Index M = q.rows(), N = k.rows();
  const int H = spec.num_heads, KV = spec.num_kv_heads ? spec.num_kv_heads : H;
  const int d = spec.head_dim ? spec.head_dim : int(q.cols()) / H;
  if (H <= 0 || KV <= 0 || H % KV != 0 || q.cols() != Eigen::Index(H) * d || k.cols() != Eigen::Index(KV) * d || v.cols() != k.cols() ||
      v.rows() != N || spec.query_offset < 0 || ((spec.causal || spec.window > 0) && spec.query_offset + M > N) ||
      (spec.bias && (int(spec.bias->size()) != H || std::any_of(spec.bias->begin(), spec.bias->end(), [&](const RowMatrix& b) {
         return b.rows() != M || b.cols() != N;
       }))))
    throw Error("attention: inconsistent head shapes (" + std::to_string(H) + " query heads, " + std::to_string(KV) + " key/value heads of " +
                std::to_string(d) + ")");
  const int group = H / KV;
  const float scale = spec.scale > 0 ? spec.scale : 1.0f / std::sqrt(float(d));
  const bool scores = hook.wants_scores(layer), qkv = hook.wants_qkv(layer), output = hook.wants_head_output(layer);
  const Eigen::Index offset = spec.query_offset;
  RowMatrix context(M, q.cols());

#pragma omp parallel for schedule(dynamic)
  for (int h = 0; h < H; ++h) {
    const auto qh = q.middleCols(Eigen::Index(h) * d, d);
    const auto kh = k.middleCols(Eigen::Index(h / group) * d, d);
    const auto vh = v.middleCols(Eigen::Index(h / group) * d, d);
    // Computed in the hook's own (N, N) memory when it offers some (an F32 recording), else in a scratch.
    float* buffer = M == N ? hook.attention_buffer(layer, h) : nullptr;
    RowMatrix scratch;
    if (!buffer) {
      scratch.resize(M, N);
      buffer = scratch.data();
    }
    MatrixMap probs(buffer, M, N);
    // (M, N) = scale · Q·Kᵀ; the scale folded into the GEMM
    kernels::gemm({.m = M, .n = N, .k = d, .a = qh.data(), .lda = q.outerStride(), .b = kh.data(), .ldb = k.outerStride(),
                   .b_transposed = true, .c = buffer, .ldc = N, .alpha = scale});
    if (spec.softcap > 0) probs = ((probs.array() / spec.softcap).tanh() * spec.softcap).matrix();
    if (spec.bias) probs += (*spec.bias)[size_t(h)];
    if (qkv) hook.on_qkv(layer, h, qh, kh, vh);
    if (scores) hook.on_scores(layer, h, probs);
    if (spec.causal || spec.window > 0) {
      // Softmax over the keys each query may see; masked keys get exactly zero (Eigen's
      // vectorised exp of -inf is a denormal, not 0, so masking by -inf is not exact).
      for (Eigen::Index i = 0; i < M; ++i) {
        const Eigen::Index at = offset + i;  // the query's position among the keys
        const Eigen::Index last = spec.causal ? at : N - 1;
        const Eigen::Index first = spec.window > 0 ? std::max<Eigen::Index>(0, at - spec.window + 1) : 0;
        auto row = probs.row(i);
        softmax_rows(row.segment(first, last - first + 1));
        row.head(first).setZero();
        row.tail(N - last - 1).setZero();
      }
    } else {
      softmax_rows(probs);
    }
    hook.on_attention(layer, h, probs);
    kernels::gemm({.m = M, .n = d, .k = N, .a = buffer, .lda = N, .b = vh.data(), .ldb = v.outerStride(),
                   .c = context.data() + Eigen::Index(h) * d, .ldc = context.cols()});
    if (output) hook.on_head_output(layer, h, context.middleCols(Eigen::Index(h) * d, d));
  }
  return context;
}

}  // namespace attn
