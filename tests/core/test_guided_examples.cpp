// Guided examples (analysis/guided_examples.h): the chosen head really is the best of all
// heads (scores recomputed here with plain loops), on synthetic recordings whose answer is
// known, on the fixture models, and on the bundled models when they are present.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "analysis/guided_examples.h"
#include "nn/model.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;

namespace {

using Filler = std::function<void(int l, int h, MatrixMap a)>;

// A recording with L layers, H heads of N tokens: every head first gets random row-stochastic
// (causal when asked) noise, then `fill` may overwrite heads with a planted pattern.
std::shared_ptr<AttentionRecording> planted(int L, int H, std::vector<std::string> tokens, bool causal, const Filler& fill,
                                            std::vector<uint8_t> special = {}) {
  RecordingMeta m;
  m.model = "planted";
  m.num_layers = L, m.num_heads = H, m.num_tokens = int(tokens.size());
  m.tokens = std::move(tokens);
  m.special = std::move(special);
  m.causal = causal;
  auto r = AttentionRecording::create(m, false, false);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.1f, 1.0f);
  const int N = m.num_tokens;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      MatrixMap a = r->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      a.setZero();
      for (int i = 0; i < N; ++i) {
        const int last = causal ? i : N - 1;
        for (int j = 0; j <= last; ++j) a(i, j) = u(rng);
        a.row(i) /= a.row(i).sum();
      }
      fill(l, h, a);
    }
  return r;
}

// Row i: `share` on key `target(i)` (when ≥ 0), the rest spread evenly over the visible keys.
void plant_rows(MatrixMap a, bool causal, float share, const std::function<int(int)>& target) {
  const int N = int(a.rows());
  for (int i = 0; i < N; ++i) {
    const int t = target(i);
    if (t < 0) continue;
    const int visible = causal ? i + 1 : N;
    a.row(i).setZero();
    a.row(i).head(visible).setConstant((1 - share) / float(visible));
    a(i, t) += share;
  }
}

// Independent scores, plain loops in double.
double mean_previous(const ConstMatrixMap& a) {
  double s = 0;
  for (int i = 1; i < a.rows(); ++i) s += a(i, i - 1);
  return s / double(a.rows() - 1);
}

double mean_on_targets(const ConstMatrixMap& a, const std::vector<int>& targets) {
  double s = 0;
  int n = 0;
  for (int i = 0; i < a.rows(); ++i)
    if (targets[size_t(i)] >= 0) s += a(i, targets[size_t(i)]), ++n;
  return n ? s / n : 0;
}

double mean_on_parking(const ConstMatrixMap& a, const RecordingMeta& meta) {
  double s = 0;
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < a.cols(); ++j)
      if (j == 0 || (j < int(meta.special.size()) && meta.special[size_t(j)])) s += a(i, j);
  return s / double(a.rows());
}

// The finding names the head with the highest independently computed score, and its
// scores agree with the independent ones.
void expect_best(const AttentionRecording& rec, const HeadFinding& f, const std::function<double(const ConstMatrixMap&)>& score) {
  ASSERT_TRUE(f.found()) << f.explanation;
  ASSERT_EQ(f.scores.size(), size_t(rec.num_layers() * rec.num_heads()));
  double best = -1;
  int best_l = -1, best_h = -1;
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < rec.num_heads(); ++h) {
      const double s = score(rec.head(l, h));
      EXPECT_NEAR(f.scores[size_t(l * rec.num_heads() + h)], s, 1e-5) << l << "," << h;
      if (s > best) best = s, best_l = l, best_h = h;
    }
  EXPECT_EQ(f.layer, best_l);
  EXPECT_EQ(f.head, best_h);
  EXPECT_NEAR(f.score, best, 1e-5);
  EXPECT_GE(f.score, f.runner_up);
  EXPECT_FALSE(f.explanation.empty());
  EXPECT_NE(f.explanation.find("head " + std::to_string(f.head)), std::string::npos) << f.explanation;
}

std::vector<std::string> names(int n) {
  std::vector<std::string> t;
  for (int i = 0; i < n; ++i) t.push_back(" t" + std::to_string(i));
  return t;
}

}  // namespace

TEST(GuidedExamples, InductionTargetsPointAfterThePreviousOccurrence) {
  // A B C D A B C D: the second A (4) looks at the first B (1), ..., the second D (7) at the
  // second A (4, after the first D at 3).
  const std::vector<int32_t> ids{10, 11, 12, 13, 10, 11, 12, 13};
  EXPECT_EQ(induction_targets(ids), (std::vector<int>{-1, -1, -1, -1, 1, 2, 3, 4}));
  // A token right after itself has no target (its "next" would be the query itself).
  EXPECT_EQ(induction_targets(std::vector<int32_t>{5, 5, 6, 5}), (std::vector<int>{-1, -1, -1, 2}));
  EXPECT_EQ(induction_targets(std::vector<std::string>{"a", "b", "a"}), (std::vector<int>{-1, -1, 1}));
}

TEST(GuidedExamples, RepeatedRandomSequenceIsDistinctRepeatedAndFixed) {
  const auto s = repeated_random_sequence(10, 2, 100, 200, 42, {7});
  ASSERT_EQ(s.size(), 21u);
  EXPECT_EQ(s[0], 7);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(s[size_t(1 + i)], s[size_t(11 + i)]);
    EXPECT_GE(s[size_t(1 + i)], 100);
    EXPECT_LT(s[size_t(1 + i)], 200);
    for (int j = 0; j < i; ++j) EXPECT_NE(s[size_t(1 + i)], s[size_t(1 + j)]);
  }
  EXPECT_EQ(s, repeated_random_sequence(10, 2, 100, 200, 42, {7}));
  EXPECT_NE(s, repeated_random_sequence(10, 2, 100, 200, 43, {7}));
  EXPECT_THROW(repeated_random_sequence(10, 2, 0, 5, 1), Error);
}

TEST(GuidedExamples, FindsPlantedPreviousTokenHead) {
  const auto rec = planted(3, 4, names(12), true, [](int l, int h, MatrixMap a) {
    if (l == 2 && h == 1) plant_rows(a, true, 0.8f, [](int i) { return i - 1; });
    if (l == 0 && h == 3) plant_rows(a, true, 0.4f, [](int i) { return i - 1; });  // a weaker one
  });
  const HeadFinding f = find_previous_token_head(*rec);
  EXPECT_EQ(f.layer, 2);
  EXPECT_EQ(f.head, 1);
  expect_best(*rec, f, mean_previous);
  EXPECT_GT(f.score, 0.8f);
  EXPECT_NEAR(f.runner_up, f.scores[3], 1e-7);  // layer 0 head 3 is the next best
  // Evenly spread causal attention over 12 tokens: mean over i = 1..11 of 1/(i+1).
  double chance = 0;
  for (int i = 1; i < 12; ++i) chance += 1.0 / (i + 1) / 11;
  EXPECT_NEAR(f.chance, chance, 1e-6);
  EXPECT_TRUE(f.clear);
  // Noise only: the best head is still named, but the explanation says it is weak.
  const auto noise = planted(2, 2, names(12), true, [](int, int, MatrixMap) {});
  const HeadFinding weak = find_previous_token_head(*noise);
  EXPECT_TRUE(weak.found());
  EXPECT_FALSE(weak.clear);
  EXPECT_NE(weak.explanation.find("no clear"), std::string::npos) << weak.explanation;
}

TEST(GuidedExamples, FindsPlantedInductionHead) {
  // " x y z w v x y z w v": layer 0 head 2 is a previous-token head (a decoy), layer 1
  // head 0 an induction head.
  std::vector<std::string> tokens{" x", " y", " z", " w", " v", " x", " y", " z", " w", " v"};
  const std::vector<int> targets = induction_targets(tokens);
  const auto rec = planted(2, 3, tokens, true, [&](int l, int h, MatrixMap a) {
    if (l == 0 && h == 2) plant_rows(a, true, 0.9f, [](int i) { return i - 1; });
    if (l == 1 && h == 0) plant_rows(a, true, 0.7f, [&](int i) { return targets[size_t(i)]; });
  });
  const HeadFinding f = find_induction_head(*rec);  // targets from the token strings
  EXPECT_EQ(f.layer, 1);
  EXPECT_EQ(f.head, 0);
  expect_best(*rec, f, [&](const ConstMatrixMap& a) { return mean_on_targets(a, targets); });
  // Without any repeated token there is nothing to find, and it says so.
  const auto plain = planted(1, 2, names(6), true, [](int, int, MatrixMap) {});
  const HeadFinding none = find_induction_head(*plain);
  EXPECT_FALSE(none.found());
  EXPECT_FALSE(none.explanation.empty());
  EXPECT_THROW(find_induction_head(*plain, {1, 2}), Error);
}

TEST(GuidedExamples, FindsPlantedParkingHead) {
  // [CLS] a b c [SEP] d e [SEP]: layer 1 head 1 puts 85% on [SEP]s and [CLS].
  std::vector<std::string> tokens{"[CLS]", "a", "b", "c", "[SEP]", "d", "e", "[SEP]"};
  std::vector<uint8_t> special{1, 0, 0, 0, 1, 0, 0, 1};
  const auto rec = planted(2, 2, tokens, false, [](int l, int h, MatrixMap a) {
    if (l == 1 && h == 1) plant_rows(a, false, 0.85f, [](int i) { return i % 2 ? 4 : 7; });
  }, special);
  const HeadFinding f = find_parking_head(*rec);
  EXPECT_EQ(f.layer, 1);
  EXPECT_EQ(f.head, 1);
  expect_best(*rec, f, [&](const ConstMatrixMap& a) { return mean_on_parking(a, rec->meta()); });
  EXPECT_NE(f.explanation.find("[SEP]"), std::string::npos) << f.explanation;
  // Evenly spread: 3 of 8 keys are parking spots for every query.
  EXPECT_NEAR(f.chance, 3.0 / 8.0, 1e-6);
  EXPECT_TRUE(f.clear);
  // Without special tokens the first token is the parking spot.
  RecordingMeta plain;
  plain.num_tokens = 3;
  EXPECT_EQ(parking_positions(plain), (std::vector<uint8_t>{1, 0, 0}));
}

namespace {

std::shared_ptr<const AttentionRecording> run_text(const std::filesystem::path& dir, const std::string& text) {
  const auto model = Model::load(dir);
  return model->forward(model->encode(text), {}).recording;
}

std::shared_ptr<const AttentionRecording> run_ids(const std::filesystem::path& dir, const std::vector<int32_t>& ids) {
  const auto model = Model::load(dir);
  Encoding enc;
  enc.ids = ids;
  return model->forward(enc, {}).recording;
}

std::filesystem::path bundled(const std::string& name) {
  return std::filesystem::path(ATTN_FIXTURES_DIR) / ".." / ".." / "resources" / "models" / name;
}

#define ATTN_REQUIRE_BUNDLED(var, name)                                                                    \
  const std::filesystem::path var = bundled(name);                                                        \
  if (!std::filesystem::exists(var / "model.safetensors"))                                                \
  GTEST_SKIP() << "resources/models/" << (name) << " is absent (bundled models are trained by tools/train)"

}  // namespace

TEST(GuidedExamples, FixtureModelsBestHeadIsTheMeasuredBest) {
  const auto gpt2 = run_text(test::fixtures_dir() / "models" / "gpt2", "The quick brown fox jumps over the lazy dog, again and again.");
  expect_best(*gpt2, find_previous_token_head(*gpt2), mean_previous);
  const auto bert = run_text(test::fixtures_dir() / "models" / "bert_mlm", "the cat sat on the mat [SEP] a dog ran");
  expect_best(*bert, find_parking_head(*bert), [&](const ConstMatrixMap& a) { return mean_on_parking(a, bert->meta()); });
  // Induction on a repeated random id sequence (the fixture's vocabulary is 457 ids).
  const auto ids = repeated_random_sequence(12, 2, 0, 456, 3);
  const auto rep = run_ids(test::fixtures_dir() / "models" / "gpt2", ids);
  const std::vector<int> targets = induction_targets(ids);
  expect_best(*rep, find_induction_head(*rep, targets), [&](const ConstMatrixMap& a) { return mean_on_targets(a, targets); });
}

TEST(GuidedExamples, BundledGpt2HasAPreviousTokenHead) {
  ATTN_REQUIRE_BUNDLED(dir, "attnscope-gpt2-small");
  const auto rec = run_text(dir, "The cat sat on the mat because it was warm, and the dog slept by the door.");
  const HeadFinding f = find_previous_token_head(*rec);
  expect_best(*rec, f, mean_previous);
  // Uniform causal attention would give p(i → i−1) = 1/(i+1); the head must stand well above it.
  double chance = 0;
  for (int i = 1; i < rec->num_tokens(); ++i) chance += 1.0 / (i + 1) / (rec->num_tokens() - 1);
  EXPECT_NEAR(f.chance, chance, 1e-6);
  EXPECT_GT(f.score, 1.75 * chance) << f.explanation << " (uniform attention: " << chance << ")";
}

TEST(GuidedExamples, BundledInductionToyHasAnInductionHead) {
  ATTN_REQUIRE_BUNDLED(dir, "attnscope-induction-toy");
  const auto model = Model::load(dir);
  const int32_t eot = model->tokenizer().token_to_id("<|endoftext|>").value_or(0);
  std::vector<int32_t> syllables;
  for (const char* c = "bdfgklmnprstvz"; *c; ++c)
    for (const char* v = "aeiou"; *v; ++v) syllables.push_back(*model->tokenizer().token_to_id(std::string("Ġ") + *c + *v));
  std::vector<int32_t> ids{eot};
  for (int32_t k : repeated_random_sequence(20, 2, 0, int32_t(syllables.size()), 5)) ids.push_back(syllables[size_t(k)]);
  Encoding enc;
  enc.ids = ids;
  const auto rec = model->forward(enc, {}).recording;
  const std::vector<int> targets = induction_targets(ids);
  const HeadFinding f = find_induction_head(*rec, targets);
  expect_best(*rec, f, [&](const ConstMatrixMap& a) { return mean_on_targets(a, targets); });
  EXPECT_EQ(f.layer, 1) << f.explanation;  // induction needs the previous-token head below it
  EXPECT_GT(f.score, 0.5f) << f.explanation;
  EXPECT_TRUE(f.clear);
  const HeadFinding p = find_previous_token_head(*rec);
  EXPECT_EQ(p.layer, 0) << p.explanation;
}

TEST(GuidedExamples, BundledBertHasAParkingHead) {
  ATTN_REQUIRE_BUNDLED(dir, "attnscope-bert-mini");
  const auto model = Model::load(dir);
  const auto rec = model->forward(model->encode("the cat sat on the mat.", std::string_view("it was warm.")), {}).recording;
  const HeadFinding f = find_parking_head(*rec);
  expect_best(*rec, f, [&](const ConstMatrixMap& a) { return mean_on_parking(a, rec->meta()); });
  EXPECT_TRUE(f.clear) << f.explanation;
}
