// Compares the engine with the pure-PyTorch reference (tools/reference, fixtures made by
// tools/make_fixtures.py): attention, scores, Q/K/V, hidden states and logits of every
// fixture model and input, to 1e-4; and the tokenizer against the reference's input ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "kernels/gemm_bf16.h"
#include "nn/model.h"
#include "session/generate.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;
using Part = AttentionRecording::Part;

namespace {

struct GoldenCase {
  std::string model;  // folder under fixtures/models
  std::string name;   // expected/<name>.safetensors
};

// The fixture cases of decoder-only and encoder-only models (`seq2seq` false), or of
// encoder-decoders (config.json's is_encoder_decoder).
std::vector<GoldenCase> discover(bool seq2seq = false) {
  std::vector<GoldenCase> cases;
  const auto root = test::fixtures_dir() / "models";
  std::error_code ec;
  for (const auto& m : fs::directory_iterator(root, ec)) {
    if (!fs::is_directory(m.path() / "expected")) continue;
    const auto config = nlohmann::json::parse(test::read_file(m.path() / "config.json"));
    if (config.value("is_encoder_decoder", false) != seq2seq) continue;
    for (const auto& e : fs::directory_iterator(m.path() / "expected"))
      if (e.path().extension() == ".safetensors") cases.push_back({m.path().filename().string(), e.path().stem().string()});
  }
  std::sort(cases.begin(), cases.end(), [](auto& a, auto& b) { return a.model + a.name < b.model + b.name; });
  return cases;
}

// BF16 weights multiplied with AVX-512 BF16 (ATTNSCOPE_BF16=dot, the GoldenOnBf16Dot test) split
// the activations into two BF16 parts, a relative error of a few 10⁻⁷ per product where
// converting the weights makes 10⁻⁸ (README, "AVX-512 BF16"); through a few layers the
// fixtures' scores and logits then move by up to 4 · 10⁻⁴. That run is held to 5× the bounds.
const float kLoosen = kernels::bf16_dot_chosen() ? 5.0f : 1.0f;
const float kTol = 1e-4f * kLoosen;

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
  EXPECT_GE(discover(true).size(), 8u);
}

// Encoder-decoders (tools/make_encdec_fixtures.py): the encoder's, the decoder's and the cross
// attention and the logits of a teacher-forced pass over the reference's own greedy output; the
// cached generation picks the same tokens and records the same attention.
namespace {

std::vector<GoldenCase> seq2seq_cases() { return discover(true); }

class Seq2SeqGolden : public Golden {};

TEST_P(Seq2SeqGolden, MatchesPyTorchReference) {
  const auto& c = GetParam();
  const auto expected = SafetensorsFile::open(test::fixtures_dir() / "models" / c.model / "expected" / (c.name + ".safetensors"));
  const Model& m = model();
  Encoding source;
  for (auto id : expected->to_i64(expected->at("input_ids"))) source.ids.push_back(int32_t(id));
  std::vector<int32_t> target;
  for (auto id : expected->to_i64(expected->at("decoder_input_ids"))) target.push_back(int32_t(id));
  RunOptions opt;
  opt.all_logits = true;
  const ForwardResult r = m.forward_seq2seq(source, target, opt);
  const auto& rec = *r.recording;
  ASSERT_TRUE(rec.meta().encoder_decoder());
  ASSERT_EQ(rec.meta().source_tokens.size(), source.ids.size());
  for (auto [part, prefix] : {std::pair{Part::EncoderAttention, "encoder_attention"}, {Part::Attention, "attention"},
                              {Part::CrossAttention, "cross_attention"}})
    for (int l = 0; l < rec.layers(part); ++l) {
      const auto name = std::string(prefix) + ".layer" + std::to_string(l);
      const auto want = expected->to_f32(expected->at(name));
      for (int h = 0; h < rec.num_heads(); ++h) {
        const RowMatrix got = rec.head_copy(l, h, part);
        const size_t n = size_t(got.size());
        ASSERT_EQ(want.size(), n * rec.num_heads()) << name;
        EXPECT_LE(max_abs_diff(std::vector<float>(want.begin() + h * n, want.begin() + (h + 1) * n), got.data(), n), kTol) << name << " head " << h;
      }
    }
  const auto logits = expected->to_f32(expected->at("logits"));
  ASSERT_EQ(logits.size(), size_t(r.logits.size()));
  EXPECT_LE(max_abs_diff(logits, r.logits.data(), logits.size()), kTol) << "logits";

  // Greedy translation on the cache: the reference's tokens, and the teacher-forced attention.
  GenerateRequest g;
  g.prompt_ids = source.ids;
  g.max_new_tokens = 8;
  g.stop_ids = std::vector<int>{};
  g.rules = LogitsRules{};  // the fixture's greedy ids apply no logits processors (bart_tiny's config forces BOS and EOS)
  const GenerateResult gen = generate(m, g);
  std::vector<int32_t> want_ids = nlohmann::json::parse(expected->metadata().at("generated_ids")).get<std::vector<int32_t>>();
  EXPECT_EQ(gen.generated_ids(), want_ids);
  EXPECT_EQ(gen.prompt_ids, std::vector<int32_t>{target[0]});
  const auto& grec = *gen.recording;
  ASSERT_EQ(grec.num_tokens(), 9);
  std::vector<int32_t> all = gen.prompt_ids;
  for (int32_t id : gen.generated_ids()) all.push_back(id);
  const ForwardResult full = m.forward_seq2seq(source, all, RunOptions{});
  for (Part part : {Part::EncoderAttention, Part::Attention, Part::CrossAttention})
    for (int l = 0; l < grec.layers(part); ++l)
      for (int h = 0; h < grec.num_heads(); ++h)
        EXPECT_LE((grec.head_copy(l, h, part) - full.recording->head_copy(l, h, part)).cwiseAbs().maxCoeff(), 1e-5f * kLoosen)
            << AttentionRecording::tensor_name(part, l) << " head " << h;
}

TEST_P(Seq2SeqGolden, TokenizerReproducesReferenceIds) {
  const auto& c = GetParam();
  const auto expected = SafetensorsFile::open(test::fixtures_dir() / "models" / c.model / "expected" / (c.name + ".safetensors"));
  const Encoding enc = model().tokenizer().encode(expected->metadata().at("text"));
  EXPECT_EQ(std::vector<int64_t>(enc.ids.begin(), enc.ids.end()), expected->to_i64(expected->at("input_ids")));
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Fixtures, Seq2SeqGolden, ::testing::ValuesIn(seq2seq_cases()), case_name);
