#pragma once
// Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"; their
// samiraabnar/attention_flow computes it with networkx's maximum_flow). The layers' rollout
// steps (heads fused, + I for the residual, rows renormalised: rollout.h) are the capacities
// of a layered graph with a node per (layer boundary, token): the edge from token j at
// boundary l to token i at boundary l + 1 holds A_l[i, j]. The flow from input j to output i
// is the maximum flow from node (0, j) to node (L, i). The values are the max-flow values
// themselves; the reference repository further divides each output's row by its sum.
//
// Cost: one max flow (Dinic's algorithm on the dense layered graph, in double) per pair of
// tokens, each O(phases · L · N²); causal capacities (no weight above the diagonal) keep to
// the tokens between j and i. Rows run in parallel (OpenMP). bench/bench_flow.cpp measures it.
#include <vector>

#include "analysis/rollout.h"
#include "model/tensor_types.h"
#include "util/progress.h"

namespace attn {

// The max-flow value from token `source` before the first capacity matrix to token `sink`
// after the last one. capacities: L × (N, N), [l](i, j) = capacity of the edge j → i from
// boundary l to l + 1, all ≥ 0. Throws attn::Error for no layers, non-square or mismatched
// matrices, negative or non-finite capacities, or tokens out of range.
double max_flow(const std::vector<RowMatrix>& capacities, int source, int sink);

// (N, N): [i, j] = max_flow(capacities, j, i), rows = output tokens, as attention_rollout.
// progress gets the share of rows done (0 first, 1 last; called on the caller's thread only);
// a false answer throws attn::Cancelled.
RowMatrix attention_flow(const std::vector<RowMatrix>& capacities, const ProgressFn& progress = {});

// The flow of a recording under the rollout options (fusion, discard, layer range).
RowMatrix attention_flow(const AttentionRecording& recording, const RolloutOptions& options = {}, const ProgressFn& progress = {});

// attention_rollout or attention_flow, as options.method says.
RowMatrix attention_attribution(const AttentionRecording& recording, const RolloutOptions& options, const ProgressFn& progress = {});

}  // namespace attn
