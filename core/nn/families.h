#pragma once
// What the model families' files share (internal to the engine): named views of common layer
// shapes, bound and shape-checked from the weight store. Each family's file ends in its row
// of the family table (model/family_table.h).
#include "kernels/gemm.h"
#include "nn/model.h"

namespace attn {

// Named views of common layer shapes.
struct Linear {
  const kernels::PackedMatrix* w = nullptr;  // (out, in) for nn.Linear, (in, out) for Conv1D; packed
  ConstVectorMap b;

  // x · Wᵀ + b (Conv1D: x · W + b): (N, out) for x (N, in).
  RowMatrix operator()(const ConstMatrixRef& x) const;
};
struct Norm {
  ConstVectorMap gamma, beta;
};

// `name`.weight (out, in) + `name`.bias (out).
Linear bind_linear(WeightStore& w, const std::string& name, int out, int in);
// GPT-2 Conv1D: `name`.weight (in, out) + `name`.bias (out).
Linear bind_conv1d(WeightStore& w, const std::string& name, int in, int out);
// `name`.weight/.bias, or the old `name`.gamma/.beta.
Norm bind_norm(WeightStore& w, const std::string& name, int n);

}  // namespace attn
