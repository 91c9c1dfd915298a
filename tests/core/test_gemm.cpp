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

void check(Isa isa, const Case& t, std::mt19937& rng) {
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
  gemm_with(isa, g);
  const std::string where = std::string(isa_name(isa)) + " " + std::to_string(t.m) + "x" + std::to_string(t.n) + "x" + std::to_string(t.k) +
                            (t.b_transposed ? " Bt" : " B") + (t.accumulate ? " +=" : " =");
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

TEST(Gemm, BaselineMatchesAFloat64Product) {
  std::mt19937 rng(7);
  for (const Case& t : cases()) check(Isa::Baseline, t, rng);
}

TEST(Gemm, Avx512MatchesAFloat64Product) {
  if (!isa_available(Isa::Avx512)) GTEST_SKIP() << "this build or CPU has no AVX-512 kernel";
  std::mt19937 rng(7);
  for (const Case& t : cases()) check(Isa::Avx512, t, rng);
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
