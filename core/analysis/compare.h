#pragma once
// Two recordings compared: A − B, for two inputs to one model, one input to two models with
// the same tokenizer, or a run before and after an ablation. The difference needs the same
// layers, heads and number of tokens; token strings may still differ by position (another
// input of the same length), which the check names. Synchronous and Qt-free; reading both
// recordings from several threads is safe.
#include <memory>
#include <string>
#include <vector>

#include "analysis/recording_analysis.h"  // Thumbnails
#include "model/tensor_types.h"
#include "record/recording.h"
#include "util/progress.h"

namespace attn {

struct CompareCheck {
  bool comparable = false;
  // Why A − B cannot be shown ("A has 7 tokens, B has 9: …"); empty when comparable.
  std::string reason;
  // Comparable recordings: the positions whose token strings differ (empty: the same tokens).
  std::vector<int> differing_tokens;
  // "the same tokens" / "tokens differ at positions 2, 5 (of 9)".
  std::string describe_tokens() const;
};

// Whether A − B can be computed, from the metadata alone.
CompareCheck check_comparable(const RecordingMeta& a, const RecordingMeta& b);

// A − B (N, N) of one head, or of the layer's mean (kHeadMean) or max (kHeadMax) over heads.
// Throws attn::Error with the check's reason when the recordings are not comparable, or
// naming the layer / head when out of range.
RowMatrix attention_difference(const AttentionRecording& a, const AttentionRecording& b, int layer, int head);

struct Comparison {
  int num_layers = 0, num_heads = 0, num_tokens = 0;
  CompareCheck check;
  std::vector<float> head_max_abs;   // (L, H): max |A − B| of each head
  std::vector<float> head_mean_abs;  // (L, H): mean |A − B| of each head
  std::vector<float> layer_mean_max_abs;  // (L): max |mean_h A − mean_h B| of each layer
  float max_abs = 0;                 // the largest |A − B| of any head
  int worst_layer = 0, worst_head = 0;  // the head where it is
  // (L, H) thumbnails of A − B, each pooled block keeping its value of largest magnitude
  // (signed), at the model view's sizes (analysis/recording_analysis.h).
  Thumbnails thumbs;
  float max_of(int layer, int head) const { return head_max_abs[size_t(layer) * num_heads + head]; }
  float mean_of(int layer, int head) const { return head_mean_abs[size_t(layer) * num_heads + head]; }
};
using ComparisonPtr = std::shared_ptr<const Comparison>;

// Every head's difference, layer by layer (progress per layer; cancellable through it).
// Throws attn::Error with the check's reason when the recordings are not comparable.
Comparison compare_recordings(const AttentionRecording& a, const AttentionRecording& b, const ProgressFn& progress = {});

// Blocks of `m` pooled by `factor`, each keeping its value of largest magnitude (signed).
RowMatrix signed_max_pool(const Eigen::Ref<const RowMatrix>& m, int factor);

}  // namespace attn
