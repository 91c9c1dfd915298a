#pragma once
// Multi-head scaled dot-product attention, computed eagerly so that every head's scores and
// probabilities can be seen (and changed) through the run's LayerHook.
#include "model/tensor_types.h"
#include "nn/layer_hook.h"

namespace attn {

// q, k, v: (N, H·d) projections with heads side by side. Returns the context (N, H·d).
// For each head calls `hook` with Q/K/V and the scores (pre-mask Q·Kᵀ/√d) when it wants
// them, and with the probabilities, which it may change before they weight the values.
// `causal` masks keys after each query (masked weights are exactly zero).
RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, int num_heads, bool causal, LayerHook& hook, int layer);

}  // namespace attn
