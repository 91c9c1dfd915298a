// kernels::gemm against a float64 product, for each instruction set this build and CPU have.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "util/error.h"

namespace attn::kernels {
namespace {

struct Case {
  int64_t m, n, k;
  bool b_transposed, accumulate;
  float alpha;
  int64_t pad;  // extra floats at the end of each row (leading dimension > width)
};

// The float64 product the kernel must reproduce, and the largest |a|·|b| sum per cell (its
// rounding scale).
void reference(const Gemm& g, const std::vector<float>& c_before, std::vector<double>& expected, std::vector<double>& scale) {
  expected.assign(size_t(g.m * g.n), 0);
  scale.assign(size_t(g.m * g.n), 0);
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t p = 0; p < g.k; ++p) {
        const double a = g.a[i * g.lda + p], b = g.b_transposed ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        sum += a * b;
        magnitude += std::abs(a * b);
      }
      const double before = g.accumulate ? c_before[size_t(i * g.ldc + j)] : 0;
      expected[size_t(i * g.n + j)] = before + g.alpha * sum;
      scale[size_t(i * g.n + j)] = std::abs(before) + std::abs(g.alpha) * magnitude;
    }
}

// With `packed`, B goes through PackedMatrix (packed once, then multiplied twice: both
// products must match).
void check(Isa isa, const Case& t, std::mt19937& rng, bool packed = false) {
  std::normal_distribution<float> normal(0, 1);
  const int64_t lda = t.k + t.pad, b_rows = t.b_transposed ? t.n : t.k, b_cols = t.b_transposed ? t.k : t.n;
  const int64_t ldb = b_cols + t.pad, ldc = t.n + t.pad;
  std::vector<float> a(size_t(t.m * lda)), b(size_t(b_rows * ldb)), c(size_t(t.m * ldc));
  for (auto* v : {&a, &b, &c})
    for (float& x : *v) x = normal(rng);
  const std::vector<float> c_before = c;
  const Gemm g{.m = t.m, .n = t.n, .k = t.k, .a = a.data(), .lda = lda, .b = b.data(), .ldb = ldb, .b_transposed = t.b_transposed,
               .c = c.data(), .ldc = ldc, .alpha = t.alpha, .accumulate = t.accumulate};
  std::vector<double> expected, scale;
  reference(g, c_before, expected, scale);
  if (packed) {
    const PackedMatrix p(b.data(), ldb, t.n, t.k, t.b_transposed, isa);
    EXPECT_EQ(p.n(), t.n);
    EXPECT_EQ(p.k(), t.k);
    EXPECT_EQ(p.isa(), isa);
    std::vector<float> again = c;
    p.multiply(t.m, a.data(), lda, c.data(), ldc, t.alpha, t.accumulate);
    p.multiply(t.m, a.data(), lda, again.data(), ldc, t.alpha, t.accumulate);
    EXPECT_EQ(again, c) << "a second product with the same packed matrix differs";
  } else {
    gemm_with(isa, g);
  }
  const std::string where = std::string(isa_name(isa)) + (packed ? " packed " : " ") + std::to_string(t.m) + "x" + std::to_string(t.n) + "x" +
                            std::to_string(t.k) + (t.b_transposed ? " Bt" : " B") + (t.accumulate ? " +=" : " =");
  for (int64_t i = 0; i < t.m; ++i) {
    for (int64_t j = 0; j < t.n; ++j) {
      const double want = expected[size_t(i * t.n + j)], tolerance = 1e-6 * (1 + scale[size_t(i * t.n + j)]);
      ASSERT_NEAR(c[size_t(i * ldc + j)], want, tolerance) << where << " at (" << i << ", " << j << ")";
    }
    for (int64_t j = t.n; j < ldc; ++j) ASSERT_EQ(c[size_t(i * ldc + j)], c_before[size_t(i * ldc + j)]) << where << ": wrote past the row";
  }
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {1, 1, 1, false, false, 1, 0},      {1, 768, 768, true, false, 1, 0},   {7, 5, 3, false, true, -0.5f, 2},
      {33, 65, 17, true, true, 0.125f, 3}, {128, 64, 128, false, false, 1, 0}, {129, 97, 300, true, false, 0.7f, 5},
      {64, 64, 64, true, false, 0.125f, 64}, {300, 17, 1, false, false, 2, 1}, {5, 1000, 3, true, true, 1, 0},
      {200, 200, 0, false, false, 1, 0},  {0, 10, 10, false, false, 1, 0},
  };
  return all;
}

// Packed products: fewer rows than packing pays for (B used as given), n off the kernel's
// panels, A wider than one block of rows, k deeper than one block, threads splitting n.
const std::vector<Case>& packed_cases() {
  static const std::vector<Case> all = {
      {1, 768, 768, true, false, 1, 0},      {7, 5, 3, false, true, -0.5f, 2},     {8, 1, 1, false, false, 1, 0},
      {33, 65, 17, true, true, 0.125f, 3},   {128, 300, 200, false, false, 1, 0}, {129, 97, 300, true, false, 0.7f, 5},
      {700, 50, 300, false, true, 1, 1},     {20, 100, 2500, true, false, 1, 0},  {16, 1001, 64, false, false, 2, 0},
      {200, 200, 0, false, false, 1, 0},     {0, 10, 10, false, false, 1, 0},     {40, 0, 10, true, false, 1, 0},
  };
  return all;
}

TEST(Gemm, BaselineMatchesAFloat64Product) {
  std::mt19937 rng(7);
  for (const Case& t : cases()) check(Isa::Baseline, t, rng);
}

TEST(Gemm, Avx512MatchesAFloat64Product) {
  if (!isa_available(Isa::Avx512)) GTEST_SKIP() << "this build or CPU has no AVX-512 kernel";
  std::mt19937 rng(7);
  for (const Case& t : cases()) check(Isa::Avx512, t, rng);
}

TEST(Gemm, PackedBaselineMatchesAFloat64Product) {
  std::mt19937 rng(11);
  for (const Case& t : packed_cases()) check(Isa::Baseline, t, rng, /*packed=*/true);
}

TEST(Gemm, PackedAvx512MatchesAFloat64Product) {
  if (!isa_available(Isa::Avx512)) GTEST_SKIP() << "this build or CPU has no AVX-512 kernel";
  std::mt19937 rng(11);
  for (const Case& t : packed_cases()) check(Isa::Avx512, t, rng, /*packed=*/true);
}

TEST(Gemm, PackedIntoCallersStorage) {
  const int64_t m = 64, n = 130, k = 90;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> a(size_t(m * k)), b(size_t(n * k));
  for (auto* v : {&a, &b})
    for (float& x : *v) x = normal(rng);
  const size_t floats = PackedMatrix::storage_floats(n, k);
  ASSERT_GE(floats, size_t(n * k));
  std::vector<float> storage(floats + 16);
  float* aligned = storage.data() + (16 - reinterpret_cast<uintptr_t>(storage.data()) / sizeof(float) % 16) % 16;
  const PackedMatrix inside(b.data(), k, n, k, /*b_transposed=*/true, active_isa(), aligned);
  const PackedMatrix owning(b.data(), k, n, k, /*b_transposed=*/true);
  std::vector<float> c1(size_t(m * n)), c2(size_t(m * n)), c3(size_t(m * n));
  inside.multiply(m, a.data(), k, c1.data(), n);
  owning.multiply(m, a.data(), k, c2.data(), n);
  gemm({.m = m, .n = n, .k = k, .a = a.data(), .lda = k, .b = b.data(), .ldb = k, .b_transposed = true, .c = c3.data(), .ldc = n});
  EXPECT_EQ(c1, c2);
  for (size_t i = 0; i < c1.size(); ++i) ASSERT_NEAR(c1[i], c3[i], 1e-4) << i;
}

TEST(Gemm, KZeroClearsOrKeepsC) {
  std::vector<float> c = {1, 2, 3, 4};
  gemm({.m = 2, .n = 2, .k = 0, .c = c.data(), .ldc = 2, .accumulate = true});
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  gemm({.m = 2, .n = 2, .k = 0, .c = c.data(), .ldc = 2});
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
}

TEST(Gemm, ActiveIsaIsAvailableAndNamed) {
  EXPECT_TRUE(isa_available(active_isa()));
  EXPECT_TRUE(isa_available(Isa::Baseline));
  EXPECT_FALSE(std::string(isa_name(active_isa())).empty());
  if (!isa_available(Isa::Avx512)) {
    std::vector<float> c(1);
    EXPECT_THROW(gemm_with(Isa::Avx512, {.m = 1, .n = 1, .k = 0, .c = c.data(), .ldc = 1}), Error);
  }
}

}  // namespace
}  // namespace attn::kernels
