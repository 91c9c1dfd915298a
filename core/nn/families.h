#pragma once
// What the model families' files share (internal to the engine): named views of common layer
// shapes, bound and shape-checked from the weight store. Each family's file ends in its row
// of the family table (model/family_table.h).
#include <optional>

#include "kernels/gemm.h"
#include "model/stored_matrix.h"
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

// x · Wᵀ (+ b): an nn.Linear whose bias the family may leave out. The weight stays as stored
// (BF16 checkpoints are converted block by block in the product, never all at once); an F32
// one is packed for the GEMM kernel once, at load.
struct Projection {
  StoredMatrix w;  // (out, in)
  std::optional<ConstVectorMap> b;
  const kernels::PackedMatrix* packed = nullptr;  // w packed, when F32

  RowMatrix operator()(const ConstMatrixRef& x) const;
};

// `name`.weight (out, in), and `name`.bias (out) when `bias`.
Projection bind_projection(WeightStore& w, const std::string& name, int out, int in, bool bias);

// `name`.weight (out, in) + `name`.bias (out).
Linear bind_linear(WeightStore& w, const std::string& name, int out, int in);
// GPT-2 Conv1D: `name`.weight (in, out) + `name`.bias (out).
Linear bind_conv1d(WeightStore& w, const std::string& name, int in, int out);
// `name`.weight/.bias, or the old `name`.gamma/.beta.
Norm bind_norm(WeightStore& w, const std::string& name, int n);

}  // namespace attn
