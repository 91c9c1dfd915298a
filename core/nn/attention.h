#pragma once
// Multi-head scaled dot-product attention, computed eagerly so that every head's scores and
// probabilities can be seen (and changed) through the run's LayerHook.
#include <vector>

#include "model/tensor_types.h"
#include "nn/layer_hook.h"

namespace attn {

// The shape and masking of one layer's attention.
struct AttentionSpec {
  int num_heads = 0;
  int num_kv_heads = 0;  // grouped-query attention: query head h uses KV head h / (heads / kv); 0 = num_heads
  int head_dim = 0;      // 0: q.cols() / num_heads
  float scale = 0.0f;    // scores = Q·Kᵀ · scale; 0: 1/√head_dim
  float softcap = 0.0f;  // Gemma 2: scores = tanh(s / cap) · cap, before the mask; 0 = none
  bool causal = false;   // keys after each query are masked
  int window = 0;        // sliding window (causal): query i sees keys i-window+1 .. i; 0 = none
  // The position of the first query among the keys: queries are positions offset..offset+M-1
  // (a cached pass, whose keys include the earlier positions'); the masks count from it.
  int query_offset = 0;
  // Per query head, (M, N) added to the scaled scores before the mask (T5's relative position
  // bias); null for none.
  const std::vector<RowMatrix>* bias = nullptr;
};

// q: (M, H·d), k and v: (N, KV·d), heads side by side (M = N unless the keys include cached
// positions or belong to another sequence). Returns the context (M, H·d).
// For each query head calls `hook` with its Q and its group's K/V and the scores (M, N;
// scaled, soft-capped, before any mask) when it wants them, and with the probabilities,
// which it may change before they weight the values, and with the head's output (probabilities
// times values), which it may change too. Masked weights are exactly zero.
RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec, LayerHook& hook, int layer);

}  // namespace attn
