#include "analysis/recording_analysis.h"

#include <algorithm>

namespace attn {

AnalysisPtr analyze(const AttentionRecording& rec, const ProgressFn& progress, const PartialAnalysisFn& partial,
                    std::chrono::milliseconds partial_every) {
  using Clock = std::chrono::steady_clock;
  auto last_partial = Clock::time_point{};
  auto a = std::make_shared<Analysis>();
  const int L = rec.num_layers(), H = rec.num_heads(), N = rec.num_tokens();
  a->num_layers = L;
  a->num_heads = H;
  a->stats.resize(size_t(L) * H);
  a->head_max.resize(size_t(L) * H);
  Thumbnails& t = a->thumbs;
  t.factor = std::max(1, (N + kThumbnailMax - 1) / kThumbnailMax);
  t.size = (N + t.factor - 1) / t.factor;
  t.heads = H;
  t.values.resize(size_t(L) * H * t.size * t.size);
  for (int l = 0; l < L; ++l) {
    report_progress(progress, double(l) / L, "analysing layer " + std::to_string(l));
#pragma omp parallel for schedule(dynamic)
    for (int h = 0; h < H; ++h) {
      RowMatrix scratch;
      const ConstMatrixMap m = rec.head_for_sweep(l, h, scratch);
      a->stats[size_t(l) * H + h] = head_stats(m, rec.meta().special);
      const RowMatrix pooled = max_pool(m, 0, N, 0, N, t.factor);
      a->head_max[size_t(l) * H + h] = N > 0 ? pooled.maxCoeff() : 0.0f;  // the pooled maximum is the head's
      std::copy(pooled.data(), pooled.data() + pooled.size(), t.values.begin() + (size_t(l) * H + h) * t.size * t.size);
    }
    a->layers_done = l + 1;
    a->shared_max = a->head_max.empty() ? 0.0f : *std::max_element(a->head_max.begin(), a->head_max.end());
    if (partial && l + 1 < L && (l == 0 || Clock::now() - last_partial >= partial_every)) {
      partial(std::make_shared<const Analysis>(*a));
      last_partial = Clock::now();
    }
  }
  report_progress(progress, 1.0, "analysis done");
  return a;
}

}  // namespace attn
