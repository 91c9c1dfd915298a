#pragma once
// Rotary position embeddings (RoPE), exactly as Hugging Face's modeling_rope_utils.py and the
// Llama-kind modeling files compute them: the inverse frequencies of the rope type (default,
// linear, llama3, yarn) in float32, angles position · inv_freq in float32, and the
// "rotate_half" pairing (channel c turns with channel c + d/2, not with its neighbour).
#include <vector>

#include "model/model_config.h"
#include "model/tensor_types.h"

namespace attn {

// cos and sin (N, d/2) of positions 0..N-1 for heads of `head_dim` channels, scaled by the
// rope type's attention factor (yarn). `max_positions` is config.json's
// max_position_embeddings (yarn uses it). Throws attn::Error for an odd head_dim.
class RopeTable {
 public:
  RopeTable(const RopeConfig& rope, int head_dim, int max_positions, int tokens);

  // The inverse frequencies (d/2), for tests and the teaching mode.
  static std::vector<float> inverse_frequencies(const RopeConfig& rope, int head_dim, int max_positions, float* attention_factor = nullptr);

  // Rotates each head (head_dim channels side by side) of every row of `x` (N, heads · d) in place.
  void apply(Eigen::Ref<RowMatrix> x) const;

 private:
  int half_;
  RowMatrix cos_, sin_;  // (N, d/2)
};

}  // namespace attn
