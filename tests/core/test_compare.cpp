// analysis/compare.h: A − B of two recordings, per head, per layer mean, summary numbers; and
// the recordings it refuses (other shapes), with the reason.
#include <gtest/gtest.h>

#include "analysis/compare.h"
#include "test_support.h"

using namespace attn;

namespace {

// A recording whose head (l, h) holds value(l, h, i, j) (not stochastic: the numbers are the point).
std::shared_ptr<AttentionRecording> made(int L, int H, int N, float base, std::vector<std::string> tokens = {}) {
  RecordingMeta m;
  m.model = "made";
  m.num_layers = L, m.num_heads = H, m.num_tokens = N;
  m.tokens = tokens.empty() ? std::vector<std::string>(size_t(N), "t") : tokens;
  auto r = AttentionRecording::create(m, false, false);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      auto a = r->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) a(i, j) = base * float(1 + l) + 0.01f * float(h * 100 + i * 10 + j);
    }
  return r;
}

}  // namespace

TEST(Compare, HeadDifferenceIsAMinusBCellByCell) {
  const auto a = made(2, 3, 4, 0.5f), b = made(2, 3, 4, 0.2f);
  b->mutable_matrix(AttentionRecording::Part::Attention, 1, 2)(3, 1) = 0.0f;
  const RowMatrix d = attention_difference(*a, *b, 1, 2);
  ASSERT_EQ(d.rows(), 4);
  ASSERT_EQ(d.cols(), 4);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_FLOAT_EQ(d(i, j), a->head(1, 2)(i, j) - b->head(1, 2)(i, j)) << i << "," << j;
  EXPECT_NEAR(d(0, 0), 0.6f, 1e-5f);             // (0.5 - 0.2) · 2 layers' base
  EXPECT_NEAR(d(3, 1), 3.31f, 1e-5f);  // B's cell zeroed: A's whole value
}

TEST(Compare, LayerMeanDifferenceIsTheDifferenceOfTheMeans) {
  const auto a = made(2, 3, 5, 0.5f), b = made(2, 3, 5, 0.1f);
  b->mutable_matrix(AttentionRecording::Part::Attention, 0, 1)(2, 2) += 0.9f;  // one head of B differs more
  const RowMatrix d = attention_difference(*a, *b, 0, kHeadMean);
  const RowMatrix want = a->layer_mean(0) - b->layer_mean(0);
  EXPECT_LT((d - want).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_NEAR(d(2, 2), 0.4f - 0.9f / 3.0f, 1e-6f);
  EXPECT_NEAR(d(0, 0), 0.4f, 1e-6f);
  const RowMatrix dmax = attention_difference(*a, *b, 0, kHeadMax);
  EXPECT_LT((dmax - (a->layer_max(0) - b->layer_max(0))).cwiseAbs().maxCoeff(), 1e-6f);
}

TEST(Compare, SummaryNamesTheHeadThatDiffersMost) {
  const auto a = made(3, 2, 6, 0.3f), b = made(3, 2, 6, 0.3f);  // equal …
  b->mutable_matrix(AttentionRecording::Part::Attention, 2, 1)(4, 0) -= 0.75f;  // … but for one cell
  b->mutable_matrix(AttentionRecording::Part::Attention, 0, 0)(1, 1) += 0.25f;
  const Comparison c = compare_recordings(*a, *b);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.num_tokens, 6);
  EXPECT_NEAR(c.max_abs, 0.75f, 1e-6f);
  EXPECT_EQ(c.worst_layer, 2);
  EXPECT_EQ(c.worst_head, 1);
  EXPECT_NEAR(c.max_of(2, 1), 0.75f, 1e-6f);
  EXPECT_NEAR(c.mean_of(2, 1), 0.75f / 36.0f, 1e-6f);
  EXPECT_NEAR(c.max_of(0, 0), 0.25f, 1e-6f);
  EXPECT_FLOAT_EQ(c.max_of(1, 0), 0.0f);
  EXPECT_NEAR(c.layer_mean_max_abs[2], 0.75f / 2.0f, 1e-6f);
  EXPECT_FLOAT_EQ(c.layer_mean_max_abs[1], 0.0f);
  // The thumbnails keep the sign: B's larger cell is negative in A − B.
  ASSERT_EQ(c.thumbs.size, 6);
  EXPECT_NEAR(c.thumbs.head(0, 0)[1 * 6 + 1], -0.25f, 1e-6f);
  EXPECT_NEAR(c.thumbs.head(2, 1)[4 * 6 + 0], 0.75f, 1e-6f);
  EXPECT_TRUE(c.check.comparable);
  EXPECT_EQ(c.check.describe_tokens(), "the same tokens");
}

TEST(Compare, SignedPoolKeepsTheValueOfLargestMagnitude) {
  RowMatrix m(3, 3);
  m << 0.1f, -0.5f, 0.2f,
       0.3f, 0.0f, 0.0f,
       0.0f, 0.0f, -0.05f;
  const RowMatrix p = signed_max_pool(m, 2);
  ASSERT_EQ(p.rows(), 2);
  EXPECT_FLOAT_EQ(p(0, 0), -0.5f);
  EXPECT_FLOAT_EQ(p(0, 1), 0.2f);
  EXPECT_FLOAT_EQ(p(1, 0), 0.0f);
  EXPECT_FLOAT_EQ(p(1, 1), -0.05f);
}

TEST(Compare, TokensOfTheSameLengthMayDifferByPosition) {
  const auto a = made(1, 1, 4, 0.1f, {"The", " cat", " sat", "."}), b = made(1, 1, 4, 0.1f, {"The", " dog", " sat", "!"});
  const CompareCheck c = check_comparable(a->meta(), b->meta());
  EXPECT_TRUE(c.comparable);
  EXPECT_EQ(c.differing_tokens, (std::vector<int>{1, 3}));
  EXPECT_EQ(c.describe_tokens(), "tokens differ at positions 1, 3");
  EXPECT_NO_THROW(attention_difference(*a, *b, 0, 0));
}

TEST(Compare, DifferentLengthsAreSideBySideOnlyAndSayWhy) {
  const auto a = made(2, 2, 7, 0.1f), b = made(2, 2, 9, 0.1f);
  const CompareCheck c = check_comparable(a->meta(), b->meta());
  EXPECT_FALSE(c.comparable);
  EXPECT_EQ(c.reason, "A has 7 tokens, B has 9: the difference needs inputs of the same length (token i against token i), so they are shown side by side only");
  EXPECT_EQ(test::error_of([&] { attention_difference(*a, *b, 0, 0); }), "cannot compute A − B: " + c.reason);
  EXPECT_EQ(test::error_of([&] { compare_recordings(*a, *b); }), "cannot compute A − B: " + c.reason);
}

TEST(Compare, DifferentLayersOrHeadsAreSideBySideOnly) {
  const auto a = made(2, 2, 4, 0.1f), b = made(3, 2, 4, 0.1f), c = made(2, 4, 4, 0.1f);
  const CompareCheck layers = check_comparable(a->meta(), b->meta());
  EXPECT_FALSE(layers.comparable);
  EXPECT_EQ(layers.reason, "A (made) has 2 layers × 2 heads × 4 tokens, B (made) has 3 layers × 2 heads × 4 tokens: "
                           "the difference needs the same layers and heads, so they are shown side by side only");
  EXPECT_FALSE(check_comparable(a->meta(), c->meta()).comparable);
  EXPECT_NE(test::error_of([&] { attention_difference(*a, *c, 0, 0); }).find("4 heads"), std::string::npos);
}

TEST(Compare, OutOfRangeSelectionsNameTheLimit) {
  const auto a = made(2, 2, 3, 0.1f), b = made(2, 2, 3, 0.2f);
  EXPECT_EQ(test::error_of([&] { attention_difference(*a, *b, 2, 0); }), "layer 2 is out of range: the recordings have 2 layers");
  EXPECT_EQ(test::error_of([&] { attention_difference(*a, *b, 0, 5); }), "head 5 is out of range: the recordings have 2 heads");
}

TEST(Compare, CancelsThroughItsProgress) {
  const auto a = made(3, 1, 3, 0.1f), b = made(3, 1, 3, 0.2f);
  int calls = 0;
  EXPECT_THROW(compare_recordings(*a, *b, [&](double, std::string_view) { return ++calls < 2; }), Cancelled);
  EXPECT_EQ(calls, 2);
}
