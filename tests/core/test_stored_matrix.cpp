// StoredMatrix: weights left as F16/BF16 and converted block by block in products must give
// exactly what converting the whole matrix first gives. The AVX-512 BF16 product
// (kernels/gemm_bf16.h, ATTNSCOPE_BF16=dot) stays within its stated error of the exact product
// whatever the shape, alignment and threads.
#include <gtest/gtest.h>

#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "model/stored_matrix.h"
#include "util/half.h"

using namespace attn;

namespace {

// `rows` x `cols` random values, rounded to `dtype`, as stored bytes and as floats.
std::pair<std::vector<uint16_t>, RowMatrix> random_half(DType dtype, int rows, int cols) {
  std::mt19937 gen(11);
  std::normal_distribution<float> g;
  std::vector<uint16_t> raw(size_t(rows) * cols);
  RowMatrix wide(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const float v = g(gen);
      uint16_t h;
      if (dtype == DType::F16) {
        h = float_to_half(v);
        wide(r, c) = half_to_float(h);
      } else {
        h = uint16_t(std::bit_cast<uint32_t>(v) >> 16);  // truncation is a valid BF16 value
        wide(r, c) = bf16_to_float(h);
      }
      raw[size_t(r) * cols + c] = h;
    }
  return {raw, wide};
}

}  // namespace

TEST(StoredMatrix, HalfProductsEqualTheConvertedMatrix) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    const int rows = 300, cols = 24;  // 300 = two whole blocks of 128 and a partial one
    const auto [raw, wide] = random_half(dtype, rows, cols);
    const StoredMatrix m(reinterpret_cast<const std::byte*>(raw.data()), dtype, rows, cols);
    std::mt19937 gen(5);
    std::normal_distribution<float> g;
    for (int n : {1, 7}) {
      const RowMatrix x = RowMatrix::NullaryExpr(n, cols, [&] { return g(gen); });
      const RowMatrix want = x * wide.transpose();
      const RowMatrix got = m.times_transposed(x);
      ASSERT_EQ(got.rows(), n);
      ASSERT_EQ(got.cols(), rows);
      EXPECT_LE((got - want).cwiseAbs().maxCoeff(), 1e-5f) << dtype_name(dtype) << " N=" << n;
    }
    std::vector<float> row(cols);
    m.row(299, row.data());
    for (int c = 0; c < cols; ++c) EXPECT_EQ(row[size_t(c)], wide(299, c));
    EXPECT_EQ(m.count_non_finite(), 0);
  }
}

TEST(StoredMatrix, CountsNonFiniteValuesAndRefusesWrongShapes) {
  std::vector<uint16_t> raw = {0x3C00, 0x7C00, 0x7E00, 0x0000};  // F16: 1, +inf, NaN, 0
  const StoredMatrix m(reinterpret_cast<const std::byte*>(raw.data()), DType::F16, 2, 2);
  EXPECT_EQ(m.count_non_finite(), 2);
  EXPECT_THROW(m.times_transposed(RowMatrix::Zero(1, 3)), std::exception);
  EXPECT_THROW(StoredMatrix(reinterpret_cast<const std::byte*>(raw.data()), DType::I32, 1, 1), std::exception);
}

// The AVX-512 BF16 product against a double-precision one of the same F32 activations and BF16
// weights: every value within 1e-5 of Σ|a·w| (the two BF16 parts keep all but about 2⁻¹⁸ of
// each activation; a long sum averages that down to a few 10⁻⁷), for shapes with partial panels
// and row tiles, an odd k, weights at an odd address and rows of A with a leading dimension past
// k; and the same bits with one thread or two.
TEST(StoredMatrix, Bf16DotProductsStayWithinTheirError) {
  if (!kernels::bf16_dot_supported()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  std::mt19937 gen(3);
  std::normal_distribution<float> g;
  for (const auto& [m, n, k] : {std::tuple{1, 1, 1}, {7, 31, 17}, {9, 33, 16}, {8, 32, 2}, {33, 100, 130}, {130, 70, 301}, {64, 96, 2048}}) {
    const auto [raw, wide] = random_half(DType::BF16, n, k);
    std::vector<std::byte> shifted(raw.size() * 2 + 1);
    std::memcpy(shifted.data() + 1, raw.data(), raw.size() * 2);  // an odd address
    const int64_t lda = k + 3;
    const RowMatrix a = RowMatrix::NullaryExpr(m, lda, [&] { return g(gen); });
    RowMatrix c = RowMatrix::Constant(m, n, -7.0f);
    kernels::gemm_bf16(m, n, k, a.data(), lda, shifted.data() + 1, c.data(), n);
    double worst = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double exact = 0, scale = 0;
        for (int q = 0; q < k; ++q) {
          const double t = double(a(i, q)) * double(wide(j, q));
          exact += t;
          scale += std::abs(t);
        }
        worst = std::max(worst, std::abs(double(c(i, j)) - exact) / scale);
      }
    EXPECT_LE(worst, 1e-5) << m << " x " << n << " x " << k;
    if (k == 2048) {
      EXPECT_LE(worst, 1e-6) << "a long sum averages the parts' rounding";
    }
    const int threads = omp_get_max_threads();
    omp_set_num_threads(threads == 1 ? 2 : 1);
    RowMatrix other = RowMatrix::Constant(m, n, 3.0f);
    kernels::gemm_bf16(m, n, k, a.data(), lda, shifted.data() + 1, other.data(), n);
    omp_set_num_threads(threads);
    EXPECT_TRUE(other == c) << m << " x " << n << " x " << k;
  }
}
