#pragma once
// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"):
// fuse each layer's heads, add the identity for the residual path, renormalise rows, and
// multiply through the layers: R = Â_last · … · Â_first. Options follow vit-explain
// (head fusion mean/max/min; discarding the lowest-attention fraction per layer, never
// the first token's column).
#include "model/tensor_types.h"
#include <vector>

#include "record/recording.h"

namespace attn {

enum class HeadFusion { Mean, Max, Min };
// Rollout multiplies the layers' matrices; Flow takes them as capacities of a layered graph
// and computes maximum flows (core/analysis/flow.h). Both read the same options.
enum class RolloutMethod { Rollout, Flow };

struct RolloutOptions {
  HeadFusion fusion = HeadFusion::Mean;
  float discard_ratio = 0.0f;  // in [0, 1): share of the smallest fused weights set to zero
  int first_layer = 0;
  int last_layer = -1;         // inclusive; -1 = the last layer
  RolloutMethod method = RolloutMethod::Rollout;  // read by attention_attribution (flow.h)
};

// (N, N): row i is how much each input token flows into position i at the last layer.
RowMatrix attention_rollout(const AttentionRecording& recording, const RolloutOptions& options = {});

// Each layer's step from first_layer to last_layer: its heads fused, then rollout_step: L × (N, N).
// Throws attn::Error for an invalid layer range or discard ratio.
std::vector<RowMatrix> rollout_steps(const AttentionRecording& recording, const RolloutOptions& options);

// One rollout step, exposed for tests: fused (N, N) → row-normalised (fused' + I).
RowMatrix rollout_step(const RowMatrix& fused, float discard_ratio);

}  // namespace attn
