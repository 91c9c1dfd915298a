#include "nn/ops.h"

#include <cmath>

#include <unsupported/Eigen/SpecialFunctions>

#include "kernels/gemm.h"
#include "util/error.h"

namespace attn {

namespace {

RowMatrix product(const ConstMatrixRef& a, const ConstMatrixRef& b, bool b_transposed) {
  const Eigen::Index inner = b_transposed ? b.cols() : b.rows();
  if (a.cols() != inner) throw Error("a product of " + std::to_string(a.cols()) + " by " + std::to_string(inner) + " columns");
  RowMatrix y(a.rows(), b_transposed ? b.rows() : b.cols());
  kernels::gemm({.m = y.rows(), .n = y.cols(), .k = a.cols(), .a = a.data(), .lda = a.outerStride(), .b = b.data(),
                 .ldb = b.outerStride(), .b_transposed = b_transposed, .c = y.data(), .ldc = y.cols()});
  return y;
}

}  // namespace

RowMatrix matmul(const ConstMatrixRef& a, const ConstMatrixRef& b) { return product(a, b, false); }

RowMatrix matmul_transposed(const ConstMatrixRef& a, const ConstMatrixRef& b) { return product(a, b, true); }

RowMatrix matmul(const ConstMatrixRef& a, const kernels::PackedMatrix& b) {
  if (a.cols() != b.k()) throw Error("a product of " + std::to_string(a.cols()) + " by " + std::to_string(b.k()) + " columns");
  RowMatrix y(a.rows(), b.n());
  b.multiply(y.rows(), a.data(), a.outerStride(), y.data(), y.cols());
  return y;
}

RowMatrix linear(const ConstMatrixRef& x, const ConstMatrixRef& w, const Eigen::Ref<const Vector>& b) {
  RowMatrix y = matmul_transposed(x, w);
  y.rowwise() += b.transpose();
  return y;
}

RowMatrix layer_norm(const ConstMatrixRef& x, const Eigen::Ref<const Vector>& gamma, const Eigen::Ref<const Vector>& beta,
                     float eps) {
  RowMatrix y(x.rows(), x.cols());
  const float inv_n = 1.0f / float(x.cols());
#pragma omp parallel for if (x.rows() > 64)
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const auto row = x.row(i);
    const float mean = row.sum() * inv_n;
    const float var = (row.array() - mean).square().sum() * inv_n;
    const float inv_std = 1.0f / std::sqrt(var + eps);
    y.row(i) = ((row.array() - mean) * inv_std * gamma.transpose().array() + beta.transpose().array()).matrix();
  }
  return y;
}

RowMatrix rms_norm(const ConstMatrixRef& x, const Eigen::Ref<const Vector>& w, float eps, bool one_plus) {
  const Eigen::Index n = w.size(), groups = n ? x.cols() / n : 0;
  if (n == 0 || groups * n != x.cols()) throw Error("rms_norm: " + std::to_string(x.cols()) + " channels are not groups of " + std::to_string(n));
  const Eigen::ArrayXf scale = one_plus ? (1.0f + w.array()).eval() : w.array().eval();
  RowMatrix y(x.rows(), x.cols());
#pragma omp parallel for if (x.rows() > 64)
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index g = 0; g < groups; ++g) {
      const auto seg = x.row(i).segment(g * n, n).array();
      const float inv_rms = 1.0f / std::sqrt(seg.square().sum() / float(n) + eps);
      y.row(i).segment(g * n, n) = ((seg * inv_rms) * scale.transpose()).matrix();
    }
  return y;
}

void gelu_erf(RowMatrix& x) {
  const float inv_sqrt2 = 0.70710678118654752f;
#pragma omp parallel for if (x.size() > 65536)
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto r = x.row(i).array();
    r = 0.5f * r * (1.0f + (r * inv_sqrt2).erf());
  }
}

void gelu_tanh(RowMatrix& x) {
  const float k = 0.79788456080286536f;  // sqrt(2 / pi)
#pragma omp parallel for if (x.size() > 65536)
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto r = x.row(i).array();
    r = 0.5f * r * (1.0f + (k * (r + 0.044715f * r.cube())).tanh());
  }
}

void relu(RowMatrix& x) { x = x.cwiseMax(0.0f); }

void silu(RowMatrix& x) {
#pragma omp parallel for if (x.size() > 65536)
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto r = x.row(i).array();
    r = r / (1.0f + (-r).exp());
  }
}

bool is_known_activation(const std::string& name) {
  return name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast" || name == "relu" || name == "silu" ||
         name == "swish";
}

void activate(RowMatrix& x, const std::string& name) {
  if (name == "gelu") return gelu_erf(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return gelu_tanh(x);
  if (name == "relu") return relu(x);
  if (name == "silu" || name == "swish") return silu(x);
  throw Error("unsupported activation function '" + name + "' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu)");
}

void softmax_rows(Eigen::Ref<RowMatrix> x) {
  // Each row is worked on in an aligned scratch: Eigen's vectorised exp and sum treat a row's
  // unaligned head with scalar code, so in place the result would depend on where the row lies
  // (a recording's buffer or a scratch), and identical runs would differ in the last bits.
  thread_local Eigen::RowVectorXf work;
  work.resize(x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    auto row = x.row(i);
    work = row;
    const float m = work.maxCoeff();
    if (!std::isfinite(m)) {  // every key masked: HF yields a uniform row; keep it defined
      row.setConstant(1.0f / float(x.cols()));
      continue;
    }
    work = (work.array() - m).exp().matrix();
    work /= work.sum();
    row = work;
  }
}

}  // namespace attn
