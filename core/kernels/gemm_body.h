#pragma once
// The body of attn::kernels (gemm.h), compiled once per instruction set: by gemm.cpp for the
// build's baseline and by gemm_avx512.cpp with AVX-512 enabled. Include it nowhere else: the
// AVX-512 object's symbols are renamed at build time (cmake/isolate_object.cmake) so that none
// of its Eigen or standard-library instantiations can stand in for the baseline's; its one
// entry point fills a KernelTable.
//
// Packed products use Eigen's own blocks (GeneralBlockPanelKernel.h, as Eigen's
// general_matrix_matrix_product::run drives them) with B as the left-hand side: row-major
// C = A · op(B) is column-major Cᵀ = op(B)ᵀ · Aᵀ. op(B)ᵀ is packed once, k block by k block,
// each block holding all n rows in the kernel's panels of `panel` rows; any range of rows
// starting on a panel boundary is then a packed block of its own, which lets each thread take
// a range of C's columns.
#include <algorithm>
#include <vector>

#include <Eigen/Core>

#include "kernels/gemm.h"

namespace attn::kernels {

// Block sizes of a packed B: kc along k, mc along n (a multiple of `panel`, the kernel's rows).
struct PackLayout {
  int64_t kc = 0, mc = 0, panel = 0;
};
// Packing rows [first, last) of op(B)ᵀ (n × k) into `out` laid out for `layout`.
struct PackJob {
  const float* b;
  int64_t ldb, n, k;
  bool b_transposed;
  PackLayout layout;
  float* out;
  int64_t first, last;
};
// C's columns [first, last) of C = alpha · A · B (+ C) with B packed: `first` on a panel boundary.
struct PackedProduct {
  const float* packed;
  int64_t n, k;
  PackLayout layout;
  int64_t m;
  const float* a;
  int64_t lda;
  float* c;
  int64_t ldc;
  float alpha;
  bool accumulate;
};

struct KernelTable {
  void (*gemm)(const Gemm&);
  PackLayout (*layout)(int64_t n, int64_t k);
  void (*pack)(const PackJob&);
  void (*multiply)(const PackedProduct&, int64_t first, int64_t last);
};

// Where k block `block` starts in a packed B, in floats (each block rounded to 64 bytes).
inline size_t packed_block_offset(int64_t n, int64_t kc, int64_t block) {
  return size_t(block) * ((size_t(n * kc) + 15) / 16 * 16);
}
inline size_t packed_floats(int64_t n, int64_t k, int64_t kc) {
  if (n == 0 || k == 0) return 0;
  const int64_t last = k - (k - 1) / kc * kc;  // the last block's depth
  return packed_block_offset(n, kc, (k - 1) / kc) + (size_t(n * last) + 15) / 16 * 16;
}

namespace body {

using Index = Eigen::Index;
using Traits = Eigen::internal::gebp_traits<float, float>;
using ResMapper = Eigen::internal::blas_data_mapper<float, Index, Eigen::ColMajor>;
template <int Order>
using InMapper = Eigen::internal::const_blas_data_mapper<float, Index, Order>;
template <int Order>
using PackLhs = Eigen::internal::gemm_pack_lhs<float, Index, InMapper<Order>, Traits::mr, Traits::LhsProgress,
                                               Traits::LhsPacket4Packing, Order>;
using PackRhs = Eigen::internal::gemm_pack_rhs<float, Index, InMapper<Eigen::ColMajor>, Traits::nr, Eigen::ColMajor>;
using Gebp = Eigen::internal::gebp_kernel<float, float, Index, ResMapper, Traits::mr, Traits::nr, false, false>;

// The packed rows of A kept in the second-level cache while a k block's panels go past them.
constexpr int64_t kPackedABytes = 384 << 10;
// The number of rows of A the block sizes are chosen for (a typical prompt's length).
constexpr Index kTypicalRows = 128;

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

// Eigen's block sizes for an n × k B times kTypicalRows rows, mc rounded to whole panels.
inline PackLayout layout(int64_t n, int64_t k) {
  Index kc = std::max<Index>(k, 1), mc = std::max<Index>(n, 1), nc = kTypicalRows;
  Eigen::internal::computeProductBlockingSizes<float, float, 1>(kc, mc, nc, Index(1));
  const int64_t panel = Traits::mr;
  return PackLayout{std::max<int64_t>(kc, 1), std::max<int64_t>(mc / panel * panel, panel), panel};
}

inline void pack(const PackJob& j) {
  const int64_t kc = j.layout.kc;
  for (int64_t k2 = 0, block = 0; k2 < j.k; k2 += kc, ++block) {
    const int64_t depth = std::min(kc, j.k - k2);
    float* out = j.out + packed_block_offset(j.n, kc, block) + size_t(j.first * depth);
    if (j.b_transposed) {  // B is n × k row-major: op(B)ᵀ(i, p) = b[i·ldb + p]
      const InMapper<Eigen::RowMajor> lhs(j.b, j.ldb);
      PackLhs<Eigen::RowMajor>()(out, lhs.getSubMapper(j.first, k2), depth, j.last - j.first);
    } else {  // B is k × n row-major: op(B)ᵀ(i, p) = b[p·ldb + i]
      const InMapper<Eigen::ColMajor> lhs(j.b, j.ldb);
      PackLhs<Eigen::ColMajor>()(out, lhs.getSubMapper(j.first, k2), depth, j.last - j.first);
    }
  }
}

inline void multiply(const PackedProduct& p, int64_t first, int64_t last) {
  if (first >= last || p.m == 0) return;
  if (!p.accumulate)
    for (int64_t r = 0; r < p.m; ++r) std::fill(p.c + r * p.ldc + first, p.c + r * p.ldc + last, 0.0f);
  if (p.k == 0) return;
  const int64_t kc = p.layout.kc, mc = p.layout.mc;
  const int64_t nc = std::max<int64_t>(Traits::nr, kPackedABytes / int64_t(sizeof(float)) / kc / Traits::nr * Traits::nr);
  std::vector<float, Eigen::aligned_allocator<float>> packed_a(size_t(std::min(kc, p.k) * std::min(nc, p.m)));
  const InMapper<Eigen::ColMajor> rhs(p.a, p.lda);  // Aᵀ (k × m): Aᵀ(q, r) = a[r·lda + q]
  const ResMapper res(p.c, p.ldc);                  // Cᵀ (n × m)
  Gebp gebp;
  for (int64_t j2 = 0; j2 < p.m; j2 += nc) {
    const int64_t cols = std::min(nc, p.m - j2);
    for (int64_t k2 = 0, block = 0; k2 < p.k; k2 += kc, ++block) {
      const int64_t depth = std::min(kc, p.k - k2);
      PackRhs()(packed_a.data(), rhs.getSubMapper(k2, j2), depth, cols);
      const float* packed_b = p.packed + packed_block_offset(p.n, kc, block);
      for (int64_t i2 = first; i2 < last; i2 += mc)
        gebp(res.getSubMapper(i2, j2), packed_b + size_t(i2 * depth), packed_a.data(), std::min(mc, last - i2), depth, cols, p.alpha);
    }
  }
}

inline KernelTable table() { return KernelTable{&gemm, &layout, &pack, &multiply}; }

}  // namespace body
}  // namespace attn::kernels
