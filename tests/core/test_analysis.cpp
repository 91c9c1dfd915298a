#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/head_stats.h"
#include "analysis/rollout.h"

using namespace attn;

namespace {

// A recording of row-stochastic random attention.
std::shared_ptr<AttentionRecording> stochastic_recording(int L, int H, int N, unsigned seed) {
  RecordingMeta m;
  m.num_layers = L, m.num_heads = H, m.num_tokens = N;
  m.tokens.assign(N, "t");
  auto r = AttentionRecording::create(m, false, false);
  std::mt19937 rng(seed);
  std::gamma_distribution<float> g(0.3f);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      auto a = r->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < N; ++i) {
        for (int j = 0; j < N; ++j) a(i, j) = g(rng) + 1e-6f;
        a.row(i) /= a.row(i).sum();
      }
    }
  return r;
}

// Rollout written independently, in double precision with explicit loops.
std::vector<std::vector<double>> naive_rollout(const AttentionRecording& r) {
  const int N = r.num_tokens();
  std::vector<std::vector<double>> R(N, std::vector<double>(N, 0.0));
  for (int i = 0; i < N; ++i) R[i][i] = 1.0;
  for (int l = 0; l < r.num_layers(); ++l) {
    std::vector<std::vector<double>> A(N, std::vector<double>(N, 0.0));
    for (int i = 0; i < N; ++i) {
      double sum = 0;
      for (int j = 0; j < N; ++j) {
        for (int h = 0; h < r.num_heads(); ++h) A[i][j] += r.head(l, h)(i, j) / r.num_heads();
        A[i][j] += (i == j);
        sum += A[i][j];
      }
      for (int j = 0; j < N; ++j) A[i][j] /= sum;
    }
    std::vector<std::vector<double>> next(N, std::vector<double>(N, 0.0));
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j)
        for (int k = 0; k < N; ++k) next[i][j] += A[i][k] * R[k][j];
    R = next;
  }
  return R;
}

}  // namespace

TEST(Rollout, EqualsAnIndependentComputation) {
  const auto r = stochastic_recording(4, 3, 9, 1);
  const RowMatrix got = attention_rollout(*r);
  const auto want = naive_rollout(*r);
  for (int i = 0; i < 9; ++i) {
    EXPECT_NEAR(got.row(i).sum(), 1.0f, 1e-5f);
    for (int j = 0; j < 9; ++j) EXPECT_NEAR(got(i, j), want[i][j], 1e-5) << i << "," << j;
  }
}

TEST(Rollout, IdentityAttentionRollsOutToIdentity) {
  RecordingMeta m;
  m.num_layers = 3, m.num_heads = 2, m.num_tokens = 4;
  m.tokens.assign(4, "t");
  auto r = AttentionRecording::create(m, false, false);
  for (int l = 0; l < 3; ++l)
    for (int h = 0; h < 2; ++h) r->mutable_matrix(AttentionRecording::Part::Attention, l, h).setIdentity();
  EXPECT_TRUE(attention_rollout(*r).isApprox(RowMatrix::Identity(4, 4)));
}

TEST(Rollout, DiscardZeroesTheSmallestButKeepsTheFirstColumn) {
  RowMatrix a(2, 2);
  a << 0.1f, 0.9f, 0.3f, 0.7f;
  // Discarding half: 0.1 (column 0, kept) and 0.3 (column 0, kept) are smallest → nothing dropped.
  EXPECT_TRUE(rollout_step(a, 0.5f).isApprox(rollout_step(a, 0.0f)));
  RowMatrix b(2, 2);
  b << 0.9f, 0.1f, 0.7f, 0.3f;
  const RowMatrix s = rollout_step(b, 0.5f);  // 0.1 and 0.3 dropped, then + I, normalised
  EXPECT_NEAR(s(0, 0), 1.0f, 1e-6f);
  EXPECT_NEAR(s(0, 1), 0.0f, 1e-6f);
  EXPECT_NEAR(s(1, 0), 0.7f / 1.7f, 1e-6f);
  EXPECT_NEAR(s(1, 1), 1.0f / 1.7f, 1e-6f);
}

TEST(HeadStats, MeasuresKnownPatterns) {
  const int N = 6;
  RowMatrix prev = RowMatrix::Zero(N, N);
  prev(0, 0) = 1;
  for (int i = 1; i < N; ++i) prev(i, i - 1) = 1;
  const auto p = head_stats(prev, {});
  EXPECT_NEAR(p.previous_share, 1.0f, 1e-6f);
  EXPECT_NEAR(p.entropy, 0.0f, 1e-6f);
  EXPECT_NEAR(p.mean_distance, 5.0f / 6.0f, 1e-6f);
  EXPECT_NEAR(p.self_share, 1.0f / 6.0f, 1e-6f);
  EXPECT_NEAR(p.special_share, 2.0f / 6.0f, 1e-6f);  // rows 0 and 1 look at the first token

  const RowMatrix uniform = RowMatrix::Constant(N, N, 1.0f / N);
  const auto u = head_stats(uniform, {1, 0, 0, 0, 0, 1});
  EXPECT_NEAR(u.entropy, std::log(float(N)), 1e-5f);
  EXPECT_NEAR(u.special_share, 2.0f / N, 1e-6f);
  EXPECT_NEAR(u.max_weight, 1.0f / N, 1e-6f);
  // mean |i-j| over all pairs of 6 positions = 70 / 36
  EXPECT_NEAR(u.mean_distance, 70.0f / 36.0f, 1e-5f);
}

// The vectorised statistics against their definitions, in double, on random rows: causal
// ones (zeros after the diagonal, which the code skips) and full ones mixed.
TEST(HeadStats, EqualTheDefinitionsOnRandomAttention) {
  const int N = 37;
  RowMatrix a = (RowMatrix::Random(N, N).array() + 1.0f).matrix();
  for (int i = 0; i < N; i += 2) a.row(i).tail(N - i - 1).setZero();  // causal rows
  a.row(5).setZero();
  a(5, 36) = 1;  // all weight after the query
  for (int i = 0; i < N; ++i) a.row(i) /= a.row(i).sum();
  const std::vector<uint8_t> special = [&] {
    std::vector<uint8_t> s(N, 0);
    s[0] = s[N - 1] = 1;
    return s;
  }();
  double entropy = 0, distance = 0, sink = 0, self = 0, previous = 0, max_weight = 0;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const double p = a(i, j);
      if (p > 0) entropy -= p * std::log(p);
      distance += p * std::abs(i - j);
      if (special[j]) sink += p;
      if (j == i) self += p;
      if (j == i - 1) previous += p;
      if (j == 0) max_weight += a.row(i).maxCoeff();
    }
  const HeadStats s = head_stats(a, special);
  EXPECT_NEAR(s.entropy, entropy / N, 1e-5);
  EXPECT_NEAR(s.mean_distance, distance / N, 1e-4);
  EXPECT_NEAR(s.special_share, sink / N, 1e-6);
  EXPECT_NEAR(s.self_share, self / N, 1e-6);
  EXPECT_NEAR(s.previous_share, previous / (N - 1), 1e-6);
  EXPECT_NEAR(s.max_weight, max_weight / N, 1e-6);
}

TEST(HeadStats, AllHeadsIndexByLayerAndHead) {
  const auto r = stochastic_recording(2, 3, 5, 3);
  const auto all = all_head_stats(*r);
  ASSERT_EQ(all.size(), 6u);
  const auto one = head_stats(r->head(1, 2), r->meta().special);
  EXPECT_EQ(all[5].entropy, one.entropy);
  EXPECT_EQ(all[5].mean_distance, one.mean_distance);
}
