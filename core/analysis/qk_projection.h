#pragma once
// Query/key space (AttentionViz, Yeh et al. 2023, "AttentionViz: A Global View of Transformer
// Attention"): one head's query and key vectors projected together to 2-D, so that a query
// lies near the keys it attends to.
//
// Two changes leave every attention weight as it was, and AttentionViz makes both before
// projecting:
//  1. Scaling: queries × c and keys ÷ c leave every q·k unchanged. AttentionViz scales so
//     that the two sets have similar norms. We measure each set's spread about its own mean
//     (mean ‖q − q̄‖, mean ‖k − k̄‖) rather than the raw norms, and pick
//     c = √(spread(k) / spread(q)) so both spreads are equal: the raw norms include the
//     offset between the two means, which step 2 removes, and with it the keys of a real
//     model often shrink to a small cluster inside the queries. Optional (QkOptions::scale),
//     on by default.
//  2. Translation: keys + t adds q·t to every score of query q, the same for all of its keys,
//     which softmax ignores. t = mean(q) − mean(k) (after the scaling) puts the keys' mean on
//     the queries'.
// Then PCA of the union of the 2N vectors (each centred on the union's mean): the two axes
// of largest variance. Each axis's sign is fixed (its largest-magnitude loading positive, the
// first such channel on ties) so pictures do not flip between runs.
// Rotary models: the recorded (rotated) q and k, the vectors attention multiplied.
#include <array>
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

struct QkOptions {
  bool scale = true;  // equal spreads (step 1 above)
};

struct QkProjection {
  RowMatrix queries;                  // (N, 2): each query's coordinates on the two axes
  RowMatrix keys;                     // (N, 2)
  std::array<double, 2> explained{};  // share of the total variance on each axis, in [0, 1]
  double scale = 1.0;                 // c: queries were multiplied by it, keys divided
  Eigen::VectorXd key_shift;          // (d) t, added to every key after the scaling
  Eigen::MatrixXd axes;               // (d, 2) unit principal axes, columns in order
};

// The projection of `q` and `k` (N, d each; N ≥ 1, the same d). Throws attn::Error when the
// shapes disagree or are empty.
QkProjection project_qk(const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k, const QkOptions& options = {});

// One head of a recording with Q/K/V. Throws attn::Error naming the model when the recording
// holds no Q/K (with how to record them), or when layer / head are out of range.
QkProjection project_qk(const AttentionRecording& recording, int layer, int head, const QkOptions& options = {});

// Why `recording` cannot give a query/key projection ("" when it can).
std::string qk_missing(const AttentionRecording& recording);

struct AttendedKey {
  int key = 0;
  float weight = 0;
};
// The keys query `query` of (layer, head) gives at least `min_weight`, heaviest first.
std::vector<AttendedKey> attended_keys(const AttentionRecording& recording, int layer, int head, int query, float min_weight);

}  // namespace attn
