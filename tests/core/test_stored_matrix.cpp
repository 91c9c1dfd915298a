// StoredMatrix: weights left as F16/BF16 and converted block by block in products must give
// exactly what converting the whole matrix first gives.
#include <gtest/gtest.h>

#include <random>
#include <vector>

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
