#pragma once
// Plain reference implementations of the transformer building blocks. Inputs are row-major
// (tokens × features); weights are row-major as stored in safetensors.
#include <string>

#include "kernels/gemm.h"
#include "model/tensor_types.h"

namespace attn {

using ConstMatrixRef = Eigen::Ref<const RowMatrix>;

// a · b and a · bᵀ (b stored [out, in], as weights are), through kernels::gemm.
RowMatrix matmul(const ConstMatrixRef& a, const ConstMatrixRef& b);
RowMatrix matmul_transposed(const ConstMatrixRef& a, const ConstMatrixRef& b);
// a · B for a B packed by the GEMM kernel (a weight, as WeightStore::packed gives it).
RowMatrix matmul(const ConstMatrixRef& a, const kernels::PackedMatrix& b);

// y = x · Wᵀ + b for an nn.Linear weight W [out, in].
RowMatrix linear(const ConstMatrixRef& x, const ConstMatrixRef& w, const Eigen::Ref<const Vector>& b);

// Row-wise LayerNorm with biased variance, as torch.nn.LayerNorm.
RowMatrix layer_norm(const ConstMatrixRef& x, const Eigen::Ref<const Vector>& gamma, const Eigen::Ref<const Vector>& beta,
                     float eps);

// Row-wise RMSNorm: x / √(mean(x²) + eps) · w, or · (1 + w) for Gemma's zero-centred weights
// (`one_plus`); computed in float32 as Hugging Face's LlamaRMSNorm / Gemma2RMSNorm. Each
// row of `x` may hold several groups of w.size() channels (q/k norm per head).
RowMatrix rms_norm(const ConstMatrixRef& x, const Eigen::Ref<const Vector>& w, float eps, bool one_plus);

// Activations, in place. "gelu" is the exact erf form (BERT); "gelu_new" / "gelu_pytorch_tanh"
// the tanh approximation (GPT-2).
void gelu_erf(RowMatrix& x);
void gelu_tanh(RowMatrix& x);
void relu(RowMatrix& x);
void silu(RowMatrix& x);  // x · sigmoid(x) (SwiGLU's gate)
// Applies the activation named by a config ("gelu", "gelu_new", "relu", ...). Throws
// attn::Error for an unknown name.
void activate(RowMatrix& x, const std::string& name);
bool is_known_activation(const std::string& name);

// Numerically stable softmax of each row, in place.
void softmax_rows(Eigen::Ref<RowMatrix> x);

}  // namespace attn
