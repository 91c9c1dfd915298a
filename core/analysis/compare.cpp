#include "analysis/compare.h"

#include <cmath>

#include "util/error.h"

namespace attn {

namespace {

std::string shape(const RecordingMeta& m) {
  return std::to_string(m.num_layers) + " layers × " + std::to_string(m.num_heads) + " heads × " + std::to_string(m.num_tokens) + " tokens";
}

void require_comparable(const AttentionRecording& a, const AttentionRecording& b) {
  const CompareCheck c = check_comparable(a.meta(), b.meta());
  if (!c.comparable) throw Error("cannot compute A − B: " + c.reason);
}

RowMatrix fused(const AttentionRecording& r, int layer, int head) {
  if (head == kHeadMean) return r.layer_mean(layer);
  if (head == kHeadMax) return r.layer_max(layer);
  return r.head_copy(layer, head);
}

}  // namespace

std::string CompareCheck::describe_tokens() const {
  if (!comparable) return reason;
  if (differing_tokens.empty()) return "the same tokens";
  std::string out = "tokens differ at position" + std::string(differing_tokens.size() > 1 ? "s " : " ");
  const size_t shown = std::min<size_t>(differing_tokens.size(), 12);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + std::to_string(differing_tokens[i]);
  if (shown < differing_tokens.size()) out += ", … (" + std::to_string(differing_tokens.size()) + " in all)";
  return out;
}

CompareCheck check_comparable(const RecordingMeta& a, const RecordingMeta& b) {
  CompareCheck c;
  if (a.num_layers != b.num_layers || a.num_heads != b.num_heads) {
    c.reason = "A (" + a.model + ") has " + shape(a) + ", B (" + b.model + ") has " + shape(b) +
               ": the difference needs the same layers and heads, so they are shown side by side only";
    return c;
  }
  if (a.num_tokens != b.num_tokens) {
    c.reason = "A has " + std::to_string(a.num_tokens) + " tokens, B has " + std::to_string(b.num_tokens) +
               ": the difference needs inputs of the same length (token i against token i), so they are shown side by side only";
    return c;
  }
  c.comparable = true;
  for (int i = 0; i < a.num_tokens; ++i) {
    const bool ka = size_t(i) < a.tokens.size(), kb = size_t(i) < b.tokens.size();
    if (ka != kb || (ka && a.tokens[size_t(i)] != b.tokens[size_t(i)])) c.differing_tokens.push_back(i);
  }
  return c;
}

RowMatrix attention_difference(const AttentionRecording& a, const AttentionRecording& b, int layer, int head) {
  require_comparable(a, b);
  if (layer < 0 || layer >= a.num_layers())
    throw Error("layer " + std::to_string(layer) + " is out of range: the recordings have " + std::to_string(a.num_layers()) + " layers");
  if (head >= a.num_heads() || head < kHeadMax)
    throw Error("head " + std::to_string(head) + " is out of range: the recordings have " + std::to_string(a.num_heads()) + " heads");
  return fused(a, layer, head) - fused(b, layer, head);
}

RowMatrix signed_max_pool(const Eigen::Ref<const RowMatrix>& m, int factor) {
  const int rows = int(m.rows()), cols = int(m.cols());
  const int pr = (rows + factor - 1) / factor, pc = (cols + factor - 1) / factor;
  RowMatrix out = RowMatrix::Zero(pr, pc);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      float& o = out(i / factor, j / factor);
      if (std::abs(m(i, j)) > std::abs(o)) o = m(i, j);
    }
  return out;
}

Comparison compare_recordings(const AttentionRecording& a, const AttentionRecording& b, const ProgressFn& progress) {
  require_comparable(a, b);
  Comparison c;
  const int L = a.num_layers(), H = a.num_heads(), N = a.num_tokens();
  c.num_layers = L;
  c.num_heads = H;
  c.num_tokens = N;
  c.check = check_comparable(a.meta(), b.meta());
  c.head_max_abs.assign(size_t(L) * H, 0.0f);
  c.head_mean_abs.assign(size_t(L) * H, 0.0f);
  c.layer_mean_max_abs.assign(size_t(L), 0.0f);
  Thumbnails& t = c.thumbs;
  t.factor = std::max(1, (N + kThumbnailMax - 1) / kThumbnailMax);
  t.size = (N + t.factor - 1) / t.factor;
  t.heads = H;
  t.values.assign(size_t(L) * H * t.size * t.size, 0.0f);
  for (int l = 0; l < L; ++l) {
    report_progress(progress, double(l) / std::max(1, L), "comparing layer " + std::to_string(l));
    RowMatrix mean_diff = RowMatrix::Zero(N, N);
    for (int h = 0; h < H; ++h) {
      RowMatrix sa, sb;
      const ConstMatrixMap ma = a.head_for_sweep(l, h, sa), mb = b.head_for_sweep(l, h, sb);
      const RowMatrix d = ma - mb;
      mean_diff += d;
      const size_t i = size_t(l) * H + h;
      c.head_max_abs[i] = N > 0 ? d.cwiseAbs().maxCoeff() : 0.0f;
      c.head_mean_abs[i] = N > 0 ? d.cwiseAbs().mean() : 0.0f;
      if (c.head_max_abs[i] > c.max_abs) {
        c.max_abs = c.head_max_abs[i];
        c.worst_layer = l;
        c.worst_head = h;
      }
      const RowMatrix pooled = signed_max_pool(d, t.factor);
      std::copy(pooled.data(), pooled.data() + pooled.size(), t.values.begin() + i * t.size * t.size);
    }
    c.layer_mean_max_abs[size_t(l)] = N > 0 && H > 0 ? (mean_diff / float(H)).cwiseAbs().maxCoeff() : 0.0f;
  }
  report_progress(progress, 1.0, "comparison done");
  return c;
}

}  // namespace attn
