#pragma once
// Max-pooled copies of long attention matrices. A view of a whole long head needs one value
// per screen pixel, the largest of the block of cells that pixel covers (so that a single
// strong cell stays visible); a recording of many tokens therefore carries each head pooled
// by 4, 16, 64, … (docs/recording-format.md, `attention_max{f}.layer{l}`), and a view reads
// the coarsest level that is still as fine as the screen instead of N² values.
#include <vector>

#include "model/tensor_types.h"

namespace attn {

// Recordings shorter than this carry no pyramid: their heads are small enough to read whole.
inline constexpr int kPyramidMinTokens = 1024;
// The coarsest level keeps at least this many rows.
inline constexpr int kPyramidMinSide = 64;

// Max-pools the block rows [r0, r1) × cols [c0, c1) of `m` by `factor` in both directions
// into (ceil(rows / factor), ceil(cols / factor)): a single strong cell stays visible.
RowMatrix max_pool(const Eigen::Ref<const RowMatrix>& m, int r0, int r1, int c0, int c1, int factor);

// The pooling factors a recording of `tokens` carries: 4, 16, 64, … while the level keeps
// kPyramidMinSide rows; none below kPyramidMinTokens.
std::vector<int> pyramid_factors(int tokens);

// Rows (and columns) of the level pooled by `factor` of an N × N head.
inline int pyramid_side(int tokens, int factor) { return (tokens + factor - 1) / factor; }

// Every level of one N × N head, each pooled from the one before (max of maxima is exact).
std::vector<RowMatrix> pyramid_levels(const Eigen::Ref<const RowMatrix>& head, const std::vector<int>& factors);

}  // namespace attn
