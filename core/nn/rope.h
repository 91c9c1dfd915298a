#pragma once
// Rotary position embeddings (RoPE), exactly as Hugging Face's modeling_rope_utils.py and the
// Llama-kind modeling files compute them: the inverse frequencies of the rope type (default,
// linear, llama3, yarn, longrope) in float32, angles position · inv_freq in float32, and the
// "rotate_half" pairing (channel c turns with channel c + r/2, not with its neighbour), over the
// first r = rotary_dim channels of each head (all of them unless partial_rotary_factor < 1).
#include <vector>

#include "model/model_config.h"
#include "model/tensor_types.h"

namespace attn {

// cos and sin (N, r/2) of positions first..tokens-1 for heads of `head_dim` channels, r of which
// turn, scaled by the rope type's attention factor (yarn, longrope). `tokens` is the sequence's
// whole length (longrope's factors depend on it); `first` > 0 for the new positions of a cached
// pass. `max_positions` is config.json's max_position_embeddings (yarn uses it). Throws
// attn::Error for an odd rotary dimension.
class RopeTable {
 public:
  RopeTable(const RopeConfig& rope, int head_dim, int max_positions, int tokens, int first = 0);

  // The inverse frequencies (r/2) for a run of `tokens` (longrope's long factors apply beyond
  // original_max_positions), for tests and the teaching mode.
  static std::vector<float> inverse_frequencies(const RopeConfig& rope, int head_dim, int max_positions,
                                                float* attention_factor = nullptr, int tokens = 0);

  // Rotates each head (head_dim channels side by side) of every row of `x` (tokens - first, heads · d)
  // in place: row i is position first + i.
  void apply(Eigen::Ref<RowMatrix> x) const;

 private:
  int head_dim_, half_;
  RowMatrix cos_, sin_;  // (N, r/2)
};

}  // namespace attn
