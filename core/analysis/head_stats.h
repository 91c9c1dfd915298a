#pragma once
// Per-head summary statistics of an attention pattern, each averaged over query rows.
#include <cstdint>
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

struct HeadStats {
  float entropy = 0;         // nats: −Σ p log p (0 = one key, log N = uniform)
  float mean_distance = 0;   // Σ p_ij |i − j|, in tokens
  float special_share = 0;   // attention to special tokens ([CLS], [SEP]; the first token if none)
  float previous_share = 0;  // p_{i, i−1}, over rows i ≥ 1
  float self_share = 0;      // p_{i, i}
  float max_weight = 0;      // mean of each row's largest weight
  float first_share = 0;     // p_{i, 0}: attention to the first token (the usual sink)
};

// Statistics of one (N, N) attention matrix; `special` flags special tokens (may be empty).
HeadStats head_stats(const Eigen::Ref<const RowMatrix>& attention, const std::vector<uint8_t>& special);
// All heads: index layer * num_heads + head.
std::vector<HeadStats> all_head_stats(const AttentionRecording& recording);

}  // namespace attn
