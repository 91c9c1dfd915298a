// Compares the engine with the pure-PyTorch reference (tools/reference, fixtures made by
// tools/make_fixtures.py): attention, scores, Q/K/V, hidden states and logits of every
// fixture model and input, to 1e-4; and the tokenizer against the reference's input ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "nn/model.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;
using Part = AttentionRecording::Part;

namespace {

struct GoldenCase {
  std::string model;  // folder under fixtures/models
  std::string name;   // expected/<name>.safetensors
};

std::vector<GoldenCase> discover() {
  std::vector<GoldenCase> cases;
  const auto root = test::fixtures_dir() / "models";
  std::error_code ec;
  for (const auto& m : fs::directory_iterator(root, ec)) {
    if (!fs::is_directory(m.path() / "expected")) continue;
    for (const auto& e : fs::directory_iterator(m.path() / "expected"))
      if (e.path().extension() == ".safetensors") cases.push_back({m.path().filename().string(), e.path().stem().string()});
  }
  std::sort(cases.begin(), cases.end(), [](auto& a, auto& b) { return a.model + a.name < b.model + b.name; });
  return cases;
}

constexpr float kTol = 1e-4f;

float max_abs_diff(const std::vector<float>& want, const float* got, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(want[i] - got[i]));
  return m;
}

class Golden : public ::testing::TestWithParam<GoldenCase> {
 protected:
  static std::map<std::string, std::unique_ptr<Model>>& cache() {
    static std::map<std::string, std::unique_ptr<Model>> models;
    return models;
  }
  const Model& model() {
    auto& m = cache()[GetParam().model];
    if (!m) m = Model::load(test::fixtures_dir() / "models" / GetParam().model);
    return *m;
  }
};

TEST_P(Golden, MatchesPyTorchReference) {
  const auto& c = GetParam();
  const auto expected = SafetensorsFile::open(test::fixtures_dir() / "models" / c.model / "expected" / (c.name + ".safetensors"));
  const Model& m = model();
  const int L = m.config().num_layers, H = m.config().num_heads;

  Encoding enc;
  for (auto id : expected->to_i64(expected->at("input_ids"))) enc.ids.push_back(int32_t(id));
  if (const auto* tt = expected->find("token_type_ids"))
    for (auto t : expected->to_i64(*tt)) enc.type_ids.push_back(int32_t(t));
  const int N = int(enc.ids.size());
  ASSERT_GT(N, 0);

  RunOptions opt;
  opt.record_qkv = opt.record_scores = opt.record_hidden = true;
  opt.all_logits = true;
  const ForwardResult r = m.forward(enc, opt);

  for (int l = 0; l < L; ++l) {
    for (auto [part, prefix] : {std::pair{Part::Attention, "attention"}, {Part::Scores, "scores"}, {Part::Query, "query"},
                                {Part::Key, "key"}, {Part::Value, "value"}}) {
      const auto name = std::string(prefix) + ".layer" + std::to_string(l);
      const auto want = expected->to_f32(expected->at(name));
      // Scores above the causal diagonal are unmasked on both sides by contract.
      for (int h = 0; h < H; ++h) {
        const auto got = r.recording->matrix(part, l, h);
        const size_t n = size_t(got.size());
        ASSERT_EQ(want.size(), n * H) << name;
        EXPECT_LE(max_abs_diff(std::vector<float>(want.begin() + h * n, want.begin() + (h + 1) * n), got.data(), n), kTol)
            << name << " head " << h;
      }
    }
  }
  ASSERT_EQ(int(r.hidden.size()), L + 1);
  for (int i = 0; i <= L; ++i) {
    const auto want = expected->to_f32(expected->at("hidden." + std::to_string(i)));
    ASSERT_EQ(want.size(), size_t(r.hidden[i].size()));
    EXPECT_LE(max_abs_diff(want, r.hidden[i].data(), want.size()), kTol) << "hidden." << i;
  }
  if (const auto* lg = expected->find("logits")) {
    const auto want = expected->to_f32(*lg);
    ASSERT_EQ(want.size(), size_t(r.logits.size()));
    EXPECT_LE(max_abs_diff(want, r.logits.data(), want.size()), kTol) << "logits";
  } else {
    EXPECT_EQ(r.logits.size(), 0);
  }
  // Every attention row is a distribution (a zero-cost sanity check on the recording).
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) EXPECT_NEAR(r.recording->head(l, h).sum(), float(N), 1e-3f);
}

TEST_P(Golden, TokenizerReproducesReferenceIds) {
  const auto& c = GetParam();
  const auto expected = SafetensorsFile::open(test::fixtures_dir() / "models" / c.model / "expected" / (c.name + ".safetensors"));
  const auto& md = expected->metadata();
  ASSERT_TRUE(md.count("text"));
  std::optional<std::string> pair;
  if (md.count("pair")) pair = md.at("pair");
  const Encoding enc = model().tokenizer().encode(md.at("text"), pair ? std::optional<std::string_view>(*pair) : std::nullopt);
  std::vector<int64_t> got(enc.ids.begin(), enc.ids.end());
  EXPECT_EQ(got, expected->to_i64(expected->at("input_ids")));
  if (const auto* tt = expected->find("token_type_ids")) {
    std::vector<int64_t> types(enc.type_ids.begin(), enc.type_ids.end());
    EXPECT_EQ(types, expected->to_i64(*tt));
  }
  if (md.count("tokens")) {
    EXPECT_EQ(nlohmann::json(enc.tokens), nlohmann::json::parse(md.at("tokens")));
  }
}

std::string case_name(const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.model + "_" + info.param.name; }

}  // namespace

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::ValuesIn(discover()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Golden);

TEST(GoldenFixtures, ArePresent) {
  // Guards against a silently empty parameter list (e.g. a moved fixtures folder).
  EXPECT_GE(discover().size(), 10u);
}
