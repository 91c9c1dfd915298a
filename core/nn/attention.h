#pragma once
// Multi-head scaled dot-product attention that records what it computes.
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

// Where one layer's attention goes: the recording and its layer index there (-1: the layer
// is computed but not recorded). Heads listed in `disabled_heads` have their probabilities
// multiplied by zero (Hugging Face's head_mask); the recording then shows zeros for them.
struct LayerCapture {
  AttentionRecording* recording = nullptr;
  int layer = 0;
  const std::vector<int>* disabled_heads = nullptr;
};

// The capture of model layer `layer` in a run that records the model layers `recorded`
// (ascending; empty = all) with `disabled_heads` per model layer.
LayerCapture capture_for(AttentionRecording* recording, int layer, const std::vector<int>& recorded,
                         const std::vector<std::vector<int>>& disabled_heads);

// q, k, v: (N, H·d) projections with heads side by side. Returns the context (N, H·d).
// Writes attention (H, N, N) and, when the recording has them, scores (pre-mask Q·Kᵀ/√d)
// and per-head Q/K/V (H, N, d). `causal` masks keys after each query.
RowMatrix multi_head_attention(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                               const Eigen::Ref<const RowMatrix>& v, int num_heads, bool causal, const LayerCapture& capture);

}  // namespace attn
