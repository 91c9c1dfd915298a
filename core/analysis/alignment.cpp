#include "analysis/alignment.h"

#include <algorithm>

#include "util/error.h"

namespace attn {

namespace {

// One layer's heads fused: a head, or their mean / max.
RowMatrix fused(const AttentionRecording& rec, int layer, int head) {
  using Part = AttentionRecording::Part;
  if (head >= 0) return rec.head_copy(layer, head, Part::CrossAttention);
  RowMatrix out = rec.head_copy(layer, 0, Part::CrossAttention);
  for (int h = 1; h < rec.num_heads(); ++h) {
    const RowMatrix m = rec.head_copy(layer, h, Part::CrossAttention);
    if (head == kHeadMax) out = out.cwiseMax(m);
    else out += m;
  }
  if (head != kHeadMax) out /= float(rec.num_heads());
  return out;
}

// Joins a word's pieces for display: "▁trans" + "lation" -> " translation".
std::string joined(const std::vector<std::string>& tokens, std::pair<int, int> span) {
  std::string word;
  for (int i = span.first; i < span.second; ++i) word += tokens[size_t(i)];
  return word;
}

}  // namespace

RowMatrix cross_attention(const AttentionRecording& rec, int layer, int head) {
  if (!rec.meta().encoder_decoder())
    throw Error("the recording holds no cross-attention: record a translation with an encoder-decoder (BART, Marian, T5)");
  if (layer != kAllLayers && (layer < 0 || layer >= rec.num_layers()))
    throw Error("layer " + std::to_string(layer) + " is out of range: the recording has " + std::to_string(rec.num_layers()) + " layers");
  if (head >= rec.num_heads() || head < kHeadMax)
    throw Error("head " + std::to_string(head) + " is out of range: the recording has " + std::to_string(rec.num_heads()) + " heads");
  if (layer != kAllLayers) return fused(rec, layer, head);
  RowMatrix sum = fused(rec, 0, head);
  for (int l = 1; l < rec.num_layers(); ++l) sum += fused(rec, l, head);
  return sum / float(rec.num_layers());
}

std::vector<std::pair<int, int>> word_spans(const std::vector<std::string>& tokens, const std::vector<uint8_t>& special) {
  std::vector<std::pair<int, int>> spans;
  auto is_special = [&](size_t i) { return i < special.size() && special[i] != 0; };
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool starts = i == 0 || is_special(i) || is_special(i - 1) || (!tokens[i].empty() && (tokens[i][0] == ' ' || tokens[i][0] == '\n'));
    if (starts) spans.push_back({int(i), int(i) + 1});
    else spans.back().second = int(i) + 1;
  }
  return spans;
}

Alignment alignment(const AttentionRecording& rec, int layer, int head, bool words) {
  Alignment a;
  const RowMatrix m = cross_attention(rec, layer, head);
  const RecordingMeta& meta = rec.meta();
  // Target token t + 1 was chosen by decoder row t (whose query is the token before it).
  const int T = std::max(0, meta.num_tokens - 1);
  const std::vector<std::string> produced(meta.tokens.begin() + (meta.tokens.empty() ? 0 : 1), meta.tokens.end());
  std::vector<uint8_t> produced_special(size_t(T), 0);
  for (int t = 0; t < T; ++t) produced_special[size_t(t)] = size_t(t + 1) < meta.special.size() ? meta.special[size_t(t + 1)] : 0;
  if (!words) {
    a.source = meta.source_tokens;
    a.target = produced;
    a.weights = m.topRows(T);
    return a;
  }
  a.words = true;
  const auto src = word_spans(meta.source_tokens, meta.source_special), tgt = word_spans(produced, produced_special);
  a.weights = RowMatrix::Zero(Eigen::Index(tgt.size()), Eigen::Index(src.size()));
  for (size_t t = 0; t < tgt.size(); ++t) {
    a.target.push_back(joined(produced, tgt[t]));
    const auto [r0, r1] = tgt[t];
    for (size_t s = 0; s < src.size(); ++s) {
      const auto [c0, c1] = src[s];
      // sum over the source word's pieces, mean over the target word's
      a.weights(Eigen::Index(t), Eigen::Index(s)) = m.block(r0, c0, r1 - r0, c1 - c0).sum() / float(r1 - r0);
    }
  }
  for (const auto& span : src) a.source.push_back(joined(meta.source_tokens, span));
  return a;
}

}  // namespace attn
