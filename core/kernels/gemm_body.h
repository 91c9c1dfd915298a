#pragma once
// The body of attn::kernels::gemm, compiled once per instruction set: by gemm.cpp for the
// build's baseline and by gemm_avx512.cpp with AVX-512 enabled. Include it nowhere else: the
// AVX-512 object's symbols are renamed at build time (cmake/isolate_object.cmake) so that none
// of its Eigen or standard-library instantiations can stand in for the baseline's.
#include <Eigen/Core>

#include "kernels/gemm.h"

namespace attn::kernels::body {

inline void gemm(const Gemm& g) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using In = Eigen::Map<const Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  using Out = Eigen::Map<Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  const In a(g.a, g.m, g.k, Eigen::OuterStride<>(g.lda));
  Out c(g.c, g.m, g.n, Eigen::OuterStride<>(g.ldc));
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    if (!g.accumulate) c.setZero();
    return;
  }
  // The scalar folds into the GEMM as its alpha (no scaled copy of A).
  if (g.b_transposed) {
    const In b(g.b, g.n, g.k, Eigen::OuterStride<>(g.ldb));
    if (g.accumulate) c.noalias() += (g.alpha * a) * b.transpose();
    else c.noalias() = (g.alpha * a) * b.transpose();
  } else {
    const In b(g.b, g.k, g.n, Eigen::OuterStride<>(g.ldb));
    if (g.accumulate) c.noalias() += (g.alpha * a) * b;
    else c.noalias() = (g.alpha * a) * b;
  }
}

}  // namespace attn::kernels::body
