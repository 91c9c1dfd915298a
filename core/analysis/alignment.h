#pragma once
// The source × target alignment of a translation: an encoder-decoder recording's
// cross-attention (target tokens attending to source tokens) for one head, a layer's mean or
// max over heads, or the mean over every layer; optionally with sub-word pieces merged into
// words — a source word's weight is the sum over its pieces (how much the target token looked
// at the word), a target word's row the mean over its pieces (each piece is one distribution).
// A target token's row is the cross-attention that chose it: decoder row t (the query of the
// token before) for target token t + 1, as an alignment of translation means it; the decoder's
// start token is no target token, and the last token's row (which chose nothing) is left out.
#include <string>
#include <utility>
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

inline constexpr int kAllLayers = -1;  // an alignment's layer: the mean over every layer

struct Alignment {
  std::vector<std::string> source, target;  // the axes' tokens (or words); target: the chosen tokens
  RowMatrix weights;                        // (target, source): row t is decoder row t
  bool words = false;
};

// The cross-attention of `layer` (or kAllLayers) and `head`, one row per decoder token (a head, kHeadMean, kHeadMax; with
// kAllLayers the heads' mean or max in each layer, then their mean). Throws attn::Error for a
// recording without cross-attention or a layer or head out of range.
RowMatrix cross_attention(const AttentionRecording& recording, int layer, int head);

// Where the words of `tokens` (display strings) begin and end, [first, last) pieces: a word
// starts at the first token, at a token starting with a space (" the": SentencePiece's ▁, BPE's
// Ġ), at a special token and right after one.
std::vector<std::pair<int, int>> word_spans(const std::vector<std::string>& tokens, const std::vector<uint8_t>& special);

// The alignment as `recording` holds it, pieces or words.
Alignment alignment(const AttentionRecording& recording, int layer, int head, bool words);

}  // namespace attn
