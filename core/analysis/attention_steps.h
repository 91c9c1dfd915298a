#pragma once
// Scaled dot-product attention taken apart step by step, for teaching. Rotary models (the
// Llama kind) first make q and k from each head's raw projection (rotary_steps):
//   raw  →  RMSNorm per head (Qwen3, Gemma 3)  →  rotated by the token's position
// then, for every model:
//   dots = q·k_j  →  scaled = dots · (1/√d) / T  (then Gemma 2's soft cap tanh(s/c)·c)
//   →  masked (−∞ after the query when causal, and before its sliding window)
//   →  probs = softmax(masked)  →  output = Σ_j probs_j · v_j
// The plain reference the engine's multi_head_attention (nn/attention.cpp) must equal: with
// scaling on and temperature 1, `scaled` is the recording's Scores and `probs` its Attention.
// Sums are accumulated in double and stored as float. Pure functions; thread-safe.
#include <limits>

#include "model/tensor_types.h"

namespace attn {

struct RecordingMeta;

struct StepOptions {
  bool scale = true;         // multiply by 1/√d (d = the query's length), or by scale_factor
  bool causal = false;       // query i may only see keys 0..i
  float temperature = 1.0f;  // scores are divided by it: < 1 sharper, > 1 flatter; must be > 0
  float scale_factor = 0.0f; // the model's own scale when it is not 1/√d (Gemma); 0 = 1/√d
  float softcap = 0.0f;      // Gemma 2: scaled = tanh(s / cap) · cap; 0 = none
  int window = 0;            // sliding window: query i sees keys i-window+1 .. i; 0 = none
};

// The options that reproduce the engine for recorded layer `layer` of a recording (its scale,
// soft cap, causal mask and window, from the metadata).
StepOptions step_options_for(const RecordingMeta& meta, int layer);

inline constexpr float kMasked = -std::numeric_limits<float>::infinity();

// One query's walk through the steps. N keys, d = query/key length, dv = value length.
struct QuerySteps {
  int query = 0;       // the query's position (for the causal mask)
  float factor = 1;    // what the dot products were multiplied by: (1/√d or 1) / T
  Vector dots;         // (N)  q·k_j
  Vector uncapped;     // (N)  dots · factor
  Vector scaled;       // (N)  uncapped, soft-capped when the model caps (= the recording's scores)
  Vector masked;       // (N)  scaled, kMasked for keys the query may not see
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

// A rotary model's query or key vector made from its head's raw projection as the engine makes
// it (RecordingMeta::rotary): RMSNorm per head when the model has q/k norm, then the rotation
// by the token's position. `rotated` is the recording's Query (Key) row. Sums in double.
struct RotarySteps {
  int position = 0;
  Vector raw;      // (d) the head's projection x·W
  float rms = 0;   // √(mean raw² + eps); 0 without q/k norm
  Vector gain;     // (d) the learned gain per channel (1 + w for Gemma); empty without q/k norm
  Vector normed;   // (d) raw / rms · gain; raw itself without q/k norm
  Vector angles;   // (r/2) position · inv_freq (float32, as the model): channels c and c + r/2
                   // turn together by angles[c]; r = d unless the model turns only part of a head
  Vector rotated;  // (d) [a, b] → [a cos − b sin, b cos + a sin] · attention_factor; channels
                   // from r on as they were
};
// `layer` is the recording's layer (its window picks Gemma 3's local frequencies); `key` uses
// k's norm. Throws attn::Error when the recording is not of a rotary model or sizes disagree.
RotarySteps rotary_steps(const RecordingMeta& meta, int layer, bool key, const Eigen::Ref<const Vector>& raw, int position);

// Softmax of a vector that may hold kMasked entries (they get exactly 0). All masked: uniform,
// as the engine does.
Vector masked_softmax(const Eigen::Ref<const Vector>& x);

}  // namespace attn
