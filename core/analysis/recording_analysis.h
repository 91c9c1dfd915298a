#pragma once
// What the views need beyond the raw recording, computed once per recording in the worker
// (the "details" stage after the recording itself): per-head statistics and maxima, and every
// head max-pooled into a small thumbnail for the model view. Immutable once made; shared.
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "analysis/head_stats.h"
#include "model/tensor_types.h"
#include "record/pyramid.h"  // max_pool
#include "record/recording.h"
#include "util/progress.h"

namespace attn {

struct Thumbnails {
  int size = 0;    // each head is (size, size)
  int factor = 1;  // tokens per thumbnail pixel
  int heads = 0;
  std::vector<float> values;  // (L, H, size, size), max-pooled attention
  const float* head(int layer, int head) const { return values.data() + (size_t(layer) * heads + head) * size * size; }
};

struct Analysis {
  int num_layers = 0, num_heads = 0;
  // Layers [0, layers_done) are analysed; a partial analysis (layers_done < num_layers) holds
  // zeros beyond them, and shared_max is the largest weight so far.
  int layers_done = 0;
  bool complete() const { return layers_done == num_layers; }
  std::vector<HeadStats> stats;  // (L, H)
  std::vector<float> head_max;   // (L, H): largest weight of each head
  float shared_max = 0;          // largest weight of the recording
  Thumbnails thumbs;
  const HeadStats& stat(int layer, int head) const { return stats[size_t(layer) * num_heads + head]; }
  float max_of(int layer, int head) const { return head_max[size_t(layer) * num_heads + head]; }
};
using AnalysisPtr = std::shared_ptr<const Analysis>;

// The largest thumbnail side (pixels) the model view uses.
constexpr int kThumbnailMax = 96;

// A partial analysis to show while the rest is computed (the model view's first thumbnails).
using PartialAnalysisFn = std::function<void(const AnalysisPtr& partial)>;

// Computes everything above; reports progress per layer (and may be cancelled through it).
// `partial`, when given, receives copies of the analysis so far: after the first layer, then
// at most every `partial_every` (never the complete one, which is returned).
AnalysisPtr analyze(const AttentionRecording& recording, const ProgressFn& progress = {}, const PartialAnalysisFn& partial = {},
                    std::chrono::milliseconds partial_every = std::chrono::milliseconds(250));

}  // namespace attn
