#pragma once
// The head view's lines (one per head, query and key, its opacity the weight), read from where
// the values are. A focused token's lines are one row or column of each head. Without a focus
// the view shows the strongest weights of the layer's heads; on a long recording they are found
// through its pyramid (record/pyramid.h): the block maxima are weights of distinct cells, so the
// budget-th largest of them bounds the budget-th strongest weight from below, and only the rows
// of blocks that reach that bound are read. No head is converted whole, and the lines are the
// ones a scan of every weight would give.
#include <vector>

#include "record/recording.h"

namespace attn {

struct AttentionLine {
  int head = 0, query = 0, key = 0;
  float weight = 0;
  bool operator==(const AttentionLine&) const = default;
};

// Whether head h is among `heads` as the functions below read it: heads[h], or true past the
// vector's end.
bool head_chosen(const std::vector<bool>& heads, int h);

// Every weight ≥ min_weight in row `token` (side 0: the token as a query) or column `token`
// (side 1: as a key) of the layer's chosen heads (`heads[h]` false leaves head h out; heads
// past the vector's end are in), ordered by head, query and key.
std::vector<AttentionLine> token_lines(const AttentionRecording& rec, int layer, const std::vector<bool>& heads, int token, int side,
                                       float min_weight);

struct StrongestLines {
  // The budget-th strongest weight of the chosen heads, at least min_weight (min_weight when
  // fewer weights reach it); ties at it may add lines.
  float cutoff = 0;
  std::vector<AttentionLine> lines;  // every weight ≥ cutoff, ordered by head, query and key
};
StrongestLines strongest_lines(const AttentionRecording& rec, int layer, const std::vector<bool>& heads, int budget, float min_weight);

}  // namespace attn
