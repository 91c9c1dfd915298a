#pragma once
// A weight matrix as its safetensors file stores it: F32 (a view of the mapped file), or F16 /
// BF16 left in the file and converted block by block as a product consumes it, so that a
// model of a few billion parameters stays near its file size in memory instead of doubling.
#include <cstddef>
#include <cstdint>

#include "model/tensor_types.h"
#include "io/safetensors.h"

namespace attn {

class StoredMatrix {
 public:
  StoredMatrix() = default;
  // `data` holds rows · cols values of `dtype` (F32, F16 or BF16), row-major, little-endian.
  StoredMatrix(const std::byte* data, DType dtype, int64_t rows, int64_t cols);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  DType dtype() const { return dtype_; }

  // Rows [first, first + count) as a matrix of their own, still in the file (one part of a
  // fused projection, such as Phi-3's qkv_proj). Throws attn::Error outside the matrix.
  StoredMatrix middle_rows(int64_t first, int64_t count) const;

  // Row `r` as floats into out[0, cols).
  void row(int64_t r, float* out) const;
  // x · Wᵀ for x (N, cols): (N, rows). F32 is one GEMM; F16/BF16 convert a block of rows at a
  // time (per thread), so no full F32 copy of the matrix ever exists. With ATTNSCOPE_BF16=dot
  // on a CPU with AVX-512 BF16, BF16 is multiplied as stored instead (kernels/gemm_bf16.h:
  // faster, a little less exact).
  RowMatrix times_transposed(const Eigen::Ref<const RowMatrix>& x) const;
  // How many values are NaN or infinite.
  int64_t count_non_finite() const;

 private:
  void rows_to(int64_t first, int64_t count, float* out) const;

  const std::byte* data_ = nullptr;
  DType dtype_ = DType::F32;
  int64_t rows_ = 0, cols_ = 0;
};

}  // namespace attn
