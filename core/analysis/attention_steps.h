#pragma once
// Scaled dot-product attention taken apart step by step, for teaching:
//   dots = q·k_j  →  scaled = dots · (1/√d) / T  →  masked (−∞ after the query when causal)
//   →  probs = softmax(masked)  →  output = Σ_j probs_j · v_j
// The plain reference the engine's multi_head_attention (nn/attention.cpp) must equal: with
// scaling on and temperature 1, `scaled` is the recording's Scores and `probs` its Attention.
// Sums are accumulated in double and stored as float. Pure functions; thread-safe.
#include <limits>

#include "model/tensor_types.h"

namespace attn {

struct StepOptions {
  bool scale = true;         // multiply by 1/√d (d = the query's length)
  bool causal = false;       // query i may only see keys 0..i
  float temperature = 1.0f;  // scores are divided by it: < 1 sharper, > 1 flatter; must be > 0
};

inline constexpr float kMasked = -std::numeric_limits<float>::infinity();

// One query's walk through the steps. N keys, d = query/key length, dv = value length.
struct QuerySteps {
  int query = 0;       // the query's position (for the causal mask)
  float factor = 1;    // what the dot products were multiplied by: (1/√d or 1) / T
  Vector dots;         // (N)  q·k_j
  Vector scaled;       // (N)  dots · factor
  Vector masked;       // (N)  scaled, kMasked for j > query when causal
  Vector probs;        // (N)  softmax(masked); exactly 0 where masked
  Vector output;       // (dv) Σ_j probs_j v_j
};

// q: (d), keys: (N, d), values: (N, dv); `query` is q's position among the N tokens (only
// used for the causal mask; keys after it are masked). Throws attn::Error when the shapes
// disagree, N is 0, the query is outside [0, N) or the temperature is not > 0.
QuerySteps query_steps(const Eigen::Ref<const Vector>& q, const Eigen::Ref<const RowMatrix>& keys,
                       const Eigen::Ref<const RowMatrix>& values, int query, const StepOptions& options = {});

// Every query of one head at once (the toy mode). Q: (Nq, d), K: (N, d), V: (N, dv); with
// `causal`, Nq must equal N.
struct HeadSteps {
  float factor = 1;
  RowMatrix dots;    // (Nq, N)
  RowMatrix scaled;  // (Nq, N)
  RowMatrix masked;  // (Nq, N)
  RowMatrix probs;   // (Nq, N), rows sum to 1
  RowMatrix output;  // (Nq, dv)
};
HeadSteps head_steps(const Eigen::Ref<const RowMatrix>& queries, const Eigen::Ref<const RowMatrix>& keys,
                     const Eigen::Ref<const RowMatrix>& values, const StepOptions& options = {});

// Softmax of a vector that may hold kMasked entries (they get exactly 0). All masked: uniform,
// as the engine does.
Vector masked_softmax(const Eigen::Ref<const Vector>& x);

}  // namespace attn
