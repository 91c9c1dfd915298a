#include "model/stored_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "util/error.h"
#include "util/half.h"

namespace attn {

namespace {

constexpr int64_t kBlockRows = 128;  // rows converted at a time: 128 × 8192 floats = 4 MB

}  // namespace

StoredMatrix::StoredMatrix(const std::byte* data, DType dtype, int64_t rows, int64_t cols)
    : data_(data), dtype_(dtype), rows_(rows), cols_(cols) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16) throw Error("StoredMatrix holds F32, F16 or BF16 values");
  if (dtype == DType::F32 && reinterpret_cast<uintptr_t>(data) % alignof(float) != 0)
    throw Error("StoredMatrix: F32 values must be aligned");
}

void StoredMatrix::rows_to(int64_t first, int64_t count, float* out) const {
  const size_t n = size_t(count * cols_);
  if (dtype_ == DType::F32) {
    std::memcpy(out, data_ + size_t(first * cols_) * 4, n * 4);
    return;
  }
  const std::byte* p = data_ + size_t(first * cols_) * 2;
  for (size_t i = 0; i < n; ++i) {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    out[i] = dtype_ == DType::BF16 ? bf16_to_float(v) : half_to_float(v);
  }
}

StoredMatrix StoredMatrix::middle_rows(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows_)
    throw Error("StoredMatrix: rows " + std::to_string(first) + " + " + std::to_string(count) + " lie outside its " + std::to_string(rows_));
  const size_t bytes = dtype_ == DType::F32 ? 4 : 2;
  return StoredMatrix(data_ + size_t(first * cols_) * bytes, dtype_, count, cols_);
}

void StoredMatrix::row(int64_t r, float* out) const { rows_to(r, 1, out); }

RowMatrix StoredMatrix::times_transposed(const Eigen::Ref<const RowMatrix>& x) const {
  if (x.cols() != cols_) throw Error("StoredMatrix: a product of " + std::to_string(x.cols()) + " by " + std::to_string(cols_) + " columns");
  RowMatrix y(x.rows(), rows_);
  const kernels::Gemm product{.m = x.rows(), .n = rows_, .k = cols_, .a = x.data(), .lda = x.outerStride(), .b_transposed = true,
                              .c = y.data(), .ldc = y.cols()};
  if (dtype_ == DType::F32) {
    kernels::Gemm whole = product;
    whole.b = reinterpret_cast<const float*>(data_);
    whole.ldb = cols_;
    kernels::gemm(whole);
    return y;
  }
  // ATTNSCOPE_BF16=dot: as stored, AVX-512 BF16. Not for a few rows (a generation step, one
  // row's logits), where packing the weights for the kernel costs more than it saves.
  if (dtype_ == DType::BF16 && x.rows() >= kernels::kBf16DotMinRows && kernels::bf16_dot_chosen()) {
    kernels::gemm_bf16(x.rows(), rows_, cols_, x.data(), x.outerStride(), data_, y.data(), y.cols());
    return y;
  }
  const int64_t blocks = (rows_ + kBlockRows - 1) / kBlockRows;
#pragma omp parallel
  {
    std::vector<float> buffer(size_t(std::min(kBlockRows, rows_) * cols_));
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * kBlockRows, count = std::min(kBlockRows, rows_ - first);
      rows_to(first, count, buffer.data());
      kernels::Gemm part = product;
      part.n = count;
      part.b = buffer.data();
      part.ldb = cols_;
      part.c = y.data() + first;
      kernels::gemm(part);
    }
  }
  return y;
}

int64_t StoredMatrix::count_non_finite() const {
  int64_t bad = 0;
  std::vector<float> buffer(size_t(std::min(kBlockRows, rows_) * cols_));
  for (int64_t first = 0; first < rows_; first += kBlockRows) {
    const int64_t count = std::min(kBlockRows, rows_ - first);
    rows_to(first, count, buffer.data());
    for (int64_t i = 0; i < count * cols_; ++i) bad += !std::isfinite(buffer[size_t(i)]);
  }
  return bad;
}

}  // namespace attn
