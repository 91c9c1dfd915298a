// Generation on a key/value cache (session/generate.h): greedy tokens and each step's candidates
// against the PyTorch reference's full recomputation (tests/fixtures/generation, made by
// tools/make_generation_fixtures.py), the recording of a generation against a run over the
// same ids, Hugging Face's sampling warpers against the reference's (warpers.json), stops,
// cancel, and the recording's round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "io/safetensors.h"
#include "model/model_config.h"
#include "nn/model.h"
#include "analysis/alignment.h"
#include "session/cross_steps.h"
#include "session/generate.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

fs::path generation_dir() { return test::fixtures_dir() / "generation"; }

const Model& fixture_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[name];
  if (!m) m = Model::load(test::fixtures_dir() / "models" / name);
  return *m;
}

// The largest difference between two recordings' attention, over every layer and head.
float max_attention_diff(const AttentionRecording& a, const AttentionRecording& b) {
  EXPECT_EQ(a.num_layers(), b.num_layers());
  EXPECT_EQ(a.num_heads(), b.num_heads());
  EXPECT_EQ(a.num_tokens(), b.num_tokens());
  float worst = 0;
  for (int l = 0; l < a.num_layers(); ++l)
    for (int h = 0; h < a.num_heads(); ++h) worst = std::max(worst, (a.head_copy(l, h) - b.head_copy(l, h)).cwiseAbs().maxCoeff());
  return worst;
}

// A run over the prompt and generated ids of `g`, with the same options.
std::shared_ptr<AttentionRecording> rerun(const Model& m, const GenerateResult& g, RunOptions options = {}) {
  Encoding enc;
  enc.ids = g.prompt_ids;
  for (int32_t id : g.generated_ids()) enc.ids.push_back(id);
  return m.forward(enc, options).recording;
}

GenerateRequest greedy_request(std::vector<int32_t> prompt, int new_tokens) {
  GenerateRequest r;
  r.prompt_ids = std::move(prompt);
  r.max_new_tokens = new_tokens;
  r.stop_ids = std::vector<int>{};
  return r;
}

class GenerationFixture : public ::testing::TestWithParam<std::string> {};

// Greedy generation on the cache picks the reference's tokens, with its candidates' probabilities,
// and records exactly what a run over the whole sequence records.
TEST_P(GenerationFixture, MatchesReferenceAndRunOverSameIds) {
  const nlohmann::json want = read_json_file(generation_dir() / (GetParam() + ".json"));
  const Model& m = fixture_model(want["model"].get<std::string>());
  const GenerateResult g = generate(m, greedy_request(want["prompt_ids"].get<std::vector<int32_t>>(), want["max_new_tokens"].get<int>()));

  EXPECT_EQ(g.generated_ids(), want["ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(g.stop, "max-new-tokens");
  ASSERT_EQ(g.steps.size(), want["steps"].size());
  for (size_t t = 0; t < g.steps.size(); ++t) {
    const auto& s = want["steps"][t];
    const auto ids = s["top_ids"].get<std::vector<int>>();
    const auto probs = s["top_probs"].get<std::vector<double>>();
    ASSERT_EQ(g.steps[t].candidates.size(), ids.size()) << "step " << t;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(g.steps[t].candidates[i].id, ids[i]) << "step " << t << " candidate " << i;
      EXPECT_NEAR(g.steps[t].candidates[i].prob, probs[i], 1e-4) << "step " << t << " candidate " << i;
    }
    EXPECT_NEAR(g.steps[t].chosen.prob, probs[0], 1e-4);  // greedy: the most probable
  }

  const auto& rec = *g.recording;
  EXPECT_EQ(rec.num_tokens(), int(g.prompt_ids.size() + g.steps.size()));
  EXPECT_LE(max_attention_diff(rec, *rerun(m, g)), 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GenerationFixture,
                         ::testing::Values("gpt2", "llama_gqa", "mistral_sharded_f16", "qwen2_window_yarn", "qwen3_qknorm",
                                           "gemma2_softcap", "gemma3_text", "phi3_longrope"));

// Sampling's distribution: Hugging Face's temperature, top-k and top-p warpers, then a softmax.
TEST(Generation, SamplingDistributionMatchesReferenceWarpers) {
  const nlohmann::json cases = read_json_file(generation_dir() / "warpers.json");
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const auto logits = c["logits"].get<std::vector<float>>();
    Sampling s;
    s.greedy = false;
    s.temperature = c["temperature"].get<double>();
    s.top_k = c["top_k"].get<int>();
    s.top_p = c["top_p"].get<double>();
    const auto want = c["probs"].get<std::vector<double>>();
    const auto got = sampling_distribution(Eigen::Map<const Eigen::RowVectorXf>(logits.data(), Eigen::Index(logits.size())), s);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-6) << c.dump() << " entry " << i;
      EXPECT_EQ(got[i] == 0, want[i] == 0) << c.dump() << " entry " << i;  // the same tokens removed
    }
  }
}

// Sampled generation: the same seed gives the same tokens, top-k 1 is greedy, and the recording
// still equals a run over the ids.
TEST(Generation, SamplingIsSeededAndRecordsTheSequence) {
  const Model& m = fixture_model("llama_gqa");
  GenerateRequest r = greedy_request({457, 300, 301, 302}, 12);
  r.sampling.greedy = false;
  r.sampling.temperature = 1.5;
  r.sampling.seed = 7;
  const GenerateResult a = generate(m, r), b = generate(m, r);
  EXPECT_EQ(a.generated_ids(), b.generated_ids());
  r.sampling.seed = 8;
  const GenerateResult c = generate(m, r);
  EXPECT_NE(a.generated_ids(), c.generated_ids());  // 12 draws at temperature 1.5 from ~460 tokens
  EXPECT_LE(max_attention_diff(*c.recording, *rerun(m, c)), 1e-5f);

  r.sampling.top_k = 1;
  const GenerateResult one = generate(m, r);
  GenerateRequest greedy = greedy_request({457, 300, 301, 302}, 12);
  EXPECT_EQ(one.generated_ids(), generate(m, greedy).generated_ids());

  // The settings are in the recording.
  const auto settings = nlohmann::json::parse(c.recording->meta().extra.at("generation"));
  EXPECT_EQ(settings["mode"], "sample");
  EXPECT_EQ(settings["seed"], 8);
  EXPECT_DOUBLE_EQ(settings["temperature"].get<double>(), 1.5);
  EXPECT_EQ(settings["stop"], "max-new-tokens");
}

// Every chosen token of a sampled generation has a positive probability under the warped distribution.
TEST(Generation, SampledTokensComeFromTheWarpedDistribution) {
  const Model& m = fixture_model("gpt2");
  GenerateRequest r = greedy_request({388, 342, 370}, 10);
  r.sampling = {.greedy = false, .temperature = 0.7, .top_k = 3, .top_p = 0.9, .seed = 1};
  r.candidates = 10;
  const GenerateResult g = generate(m, r);
  ASSERT_EQ(g.steps.size(), 10u);
  for (const GenerationStep& s : g.steps) {
    // top-k 3: the choice is among the model's 3 most probable tokens
    bool among = false;
    for (int i = 0; i < 3; ++i) among = among || s.candidates[size_t(i)].id == s.chosen.id;
    EXPECT_TRUE(among) << s.chosen.id;
  }
}

TEST(Generation, StopsAtStopIdsAndKeepsTheStopToken) {
  const nlohmann::json want = read_json_file(generation_dir() / "gpt2.json");
  const Model& m = fixture_model("gpt2");
  GenerateRequest r = greedy_request(want["prompt_ids"].get<std::vector<int32_t>>(), 10);
  const int stop = want["ids"][2].get<int>();
  r.stop_ids = std::vector<int>{stop};
  const GenerateResult g = generate(m, r);
  ASSERT_EQ(g.steps.size(), 3u);
  EXPECT_EQ(g.steps.back().chosen.id, stop);
  EXPECT_EQ(g.stop, "eos");
  EXPECT_EQ(g.recording->num_tokens(), int(g.prompt_ids.size()) + 3);
  EXPECT_EQ(g.recording->meta().special.back(), 1);
  EXPECT_LE(max_attention_diff(*g.recording, *rerun(m, g)), 1e-5f);
  EXPECT_FALSE(g.predictions);  // nothing comes after the end of the sequence
  // The text is the tokens before the stop token.
  EXPECT_EQ(g.text, m.tokenizer().decode({g.steps[0].chosen.id, g.steps[1].chosen.id}));
  const GenerateResult longer = generate(m, greedy_request(want["prompt_ids"].get<std::vector<int32_t>>(), 2));
  ASSERT_TRUE(longer.predictions);  // stopped by the count: the next token is predicted
  EXPECT_EQ(longer.predictions->position, longer.recording->num_tokens() - 1);
}

TEST(Generation, StopsAtTheModelsLastPosition) {
  const Model& m = fixture_model("gpt2");  // 64 positions
  std::vector<int32_t> prompt(60, 300);
  const GenerateResult g = generate(m, greedy_request(prompt, 10));
  EXPECT_EQ(g.steps.size(), 4u);
  EXPECT_EQ(g.stop, "positions");
  EXPECT_EQ(g.recording->num_tokens(), 64);
  EXPECT_LE(max_attention_diff(*g.recording, *rerun(m, g)), 1e-5f);
}

// Cancel keeps the tokens whose attention is complete; the token in flight goes.
TEST(Generation, CancelKeepsWhatWasGenerated) {
  const Model& m = fixture_model("qwen3_qknorm");
  GenerateRequest r = greedy_request({457, 300, 301}, 20);
  int calls = 0;
  double last = 0;
  bool monotonic = true;
  r.options.progress = [&](double f, std::string_view) {
    monotonic = monotonic && f >= last && f <= 1.0;
    last = f;
    return ++calls < 12;  // a few passes in
  };
  const GenerateResult g = generate(m, r);
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(g.stop, "cancelled");
  ASSERT_GT(g.steps.size(), 0u);
  ASSERT_LT(g.steps.size(), 20u);
  EXPECT_EQ(g.recording->num_tokens(), int(g.prompt_ids.size() + g.steps.size()));
  EXPECT_LE(max_attention_diff(*g.recording, *rerun(m, g)), 1e-5f);

  // Cancelled during the prompt: nothing to keep.
  r.options.progress = [](double, std::string_view) { return false; };
  EXPECT_THROW(generate(m, r), Cancelled);
}

// The head mask, a subset of layers and half-precision storage apply to every step.
TEST(Generation, RunOptionsApplyToEveryStep) {
  const Model& m = fixture_model("llama_gqa");
  GenerateRequest r = greedy_request({457, 300, 301, 302, 303}, 6);
  r.options.intervention.heads = {{0, 1}, {0, 3}, {1, 0}};
  r.options.layers = {1};
  const GenerateResult g = generate(m, r);
  RunOptions same;
  same.intervention = r.options.intervention;
  same.layers = r.options.layers;
  const auto want = rerun(m, g, same);
  EXPECT_EQ(g.recording->num_layers(), 1);
  EXPECT_EQ(g.recording->meta().model_layers, std::vector<int>{1});
  EXPECT_LE(max_attention_diff(*g.recording, *want), 1e-5f);
  EXPECT_EQ(g.recording->head_copy(0, 0).cwiseAbs().maxCoeff(), 0.0f);  // layer 1's head 0 is off

  r.options.storage = DType::F16;
  const GenerateResult half = generate(m, r);
  EXPECT_EQ(half.recording->storage(), DType::F16);
  EXPECT_LE(max_attention_diff(*half.recording, *want), 1e-3f);
}

TEST(Generation, SavedRecordingKeepsTheSteps) {
  const Model& m = fixture_model("gpt2");
  GenerateRequest r = greedy_request({388, 342, 370}, 5);
  r.text = "typed prompt";
  const GenerateResult g = generate(m, r);
  const test::TempDir dir;
  const fs::path path = dir.path() / "g.safetensors";
  g.recording->save(path, DType::F16);
  const auto opened = AttentionRecording::open(path);
  EXPECT_EQ(opened->meta().extra.at("prompt_length"), "3");
  const auto info = read_generation(*opened);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->prompt_length, 3);
  ASSERT_EQ(info->steps.size(), g.steps.size());
  for (size_t t = 0; t < g.steps.size(); ++t) {
    EXPECT_EQ(info->steps[t].chosen.id, g.steps[t].chosen.id);
    EXPECT_EQ(info->steps[t].chosen.token, g.steps[t].chosen.token);
    EXPECT_NEAR(info->steps[t].chosen.prob, g.steps[t].chosen.prob, 1e-6);
    ASSERT_EQ(info->steps[t].candidates.size(), g.steps[t].candidates.size());
    for (size_t i = 0; i < g.steps[t].candidates.size(); ++i) {
      EXPECT_EQ(info->steps[t].candidates[i].id, g.steps[t].candidates[i].id);
      EXPECT_EQ(info->steps[t].candidates[i].token, g.steps[t].candidates[i].token);
    }
  }
  EXPECT_FALSE(read_generation(*rerun(m, g)));  // a plain run is no generation
}

// A file whose step tensors disagree is refused, naming the file and the tensors.
TEST(Generation, OpeningChecksTheStepTensors) {
  const Model& m = fixture_model("gpt2");
  const test::TempDir dir;
  const fs::path good = dir.path() / "g.safetensors", bad = dir.path() / "bad.safetensors";
  generate(m, greedy_request({388, 342, 370}, 3)).recording->save(good);
  const auto file = SafetensorsFile::open(good);
  auto rewrite = [&](const std::string& name, std::vector<int64_t> shape, std::vector<int32_t> ids) {
    std::vector<std::vector<std::byte>> keep;
    std::vector<TensorToWrite> ts;
    for (const auto& t : file->tensors()) {
      if (t.name == name) {
        const auto bytes = std::as_bytes(std::span(ids));
        keep.emplace_back(bytes.begin(), bytes.end());
        ts.push_back({t.name, DType::I32, shape, std::span<const std::byte>(keep.back())});
      } else {
        const auto bytes = file->data(t);
        keep.emplace_back(bytes.begin(), bytes.end());
        ts.push_back({t.name, t.dtype, t.shape, std::span<const std::byte>(keep.back())});
      }
    }
    write_safetensors(bad, ts, file->metadata());
    return test::error_of([&] { AttentionRecording::open(bad); });
  };
  EXPECT_EQ(rewrite("step_chosen_ids", {3}, {1, 2, 3}), "no error");
  EXPECT_NE(rewrite("step_chosen_ids", {2}, {1, 2}).find("bad.safetensors: tensors step_candidate_ids [3, 5]"), std::string::npos);
  EXPECT_NE(rewrite("step_chosen_ids", {3}, {1, -2, 3}).find("bad.safetensors: tensor step_chosen_ids holds id -2"), std::string::npos);
}

// An encoder-decoder's recording keeps the source, the encoder's and the cross attention
// through a save (F32 and F16); a file that lacks one or lies about its shape is refused.
TEST(Generation, TranslationRecordingRoundTrips) {
  const Model& m = fixture_model("bart_tiny");
  GenerateRequest r;
  r.text = "the cat sat on the mat";
  r.max_new_tokens = 4;
  r.stop_ids = std::vector<int>{};
  const GenerateResult g = generate(m, r);
  const auto& rec = *g.recording;
  ASSERT_TRUE(rec.meta().encoder_decoder());
  EXPECT_EQ(rec.meta().source_tokens.size(), g.source_ids.size());
  EXPECT_EQ(rec.meta().source_tokens.front(), "<s>");
  EXPECT_EQ(rec.meta().tokens.size(), 5u);  // the start token and four generated
  const test::TempDir dir;
  for (DType dtype : {DType::F32, DType::F16}) {
    const fs::path path = dir.path() / "t.safetensors";
    rec.save(path, dtype);
    const auto back = AttentionRecording::open(path);
    ASSERT_TRUE(back->meta().encoder_decoder());
    EXPECT_EQ(back->meta().source_tokens, rec.meta().source_tokens);
    EXPECT_EQ(back->meta().num_encoder_layers, 2);
    for (auto part : {AttentionRecording::Part::EncoderAttention, AttentionRecording::Part::CrossAttention, AttentionRecording::Part::Attention})
      for (int l = 0; l < rec.layers(part); ++l)
        for (int h = 0; h < rec.num_heads(); ++h)
          EXPECT_LE((back->head_copy(l, h, part) - rec.head_copy(l, h, part)).cwiseAbs().maxCoeff(), dtype == DType::F16 ? 1e-3f : 0.0f);
    EXPECT_TRUE(read_generation(*back));
  }
  const fs::path good = dir.path() / "t.safetensors", bad = dir.path() / "bad.safetensors";
  rec.save(good);
  const auto file = SafetensorsFile::open(good);
  auto without = [&](const std::string& drop, std::vector<int64_t> reshape = {}) {
    std::vector<TensorToWrite> ts;
    for (const auto& t : file->tensors()) {
      if (t.name == drop && reshape.empty()) continue;
      auto shape = t.name == drop ? reshape : t.shape;
      ts.push_back({t.name, t.dtype, shape, file->data(t).first(size_t(std::accumulate(shape.begin(), shape.end(), int64_t(4), std::multiplies<>())))});
    }
    write_safetensors(bad, ts, file->metadata());
    return test::error_of([&] { AttentionRecording::open(bad); });
  };
  EXPECT_NE(without("cross_attention.layer1").find("missing tensor 'cross_attention.layer1'"), std::string::npos);
  EXPECT_NE(without("encoder_attention.layer0").find("missing tensor 'encoder_attention.layer0'"), std::string::npos);
  const int S = int(g.source_ids.size());
  EXPECT_NE(without("encoder_attention.layer0", {4, S - 1, S - 1}).find("has shape"), std::string::npos);
}

TEST(Generation, RefusesWhatItCannotDo) {
  const auto message = test::error_of;
  const Model& bert = fixture_model("bert_mlm");
  EXPECT_NE(message([&] { generate(bert, greedy_request({1, 2}, 3)); }).find("cannot generate"), std::string::npos);
  const Model& m = fixture_model("gpt2");
  EXPECT_NE(message([&] { generate(m, greedy_request({}, 3)); }).find("empty"), std::string::npos);
  EXPECT_NE(message([&] { generate(m, greedy_request({300}, 0)); }).find("at least 1"), std::string::npos);
  EXPECT_NE(message([&] { generate(m, greedy_request(std::vector<int32_t>(64, 300), 3)); }).find("no room"), std::string::npos);
  EXPECT_NE(message([&] { generate(m, greedy_request({99999}, 3)); }).find("outside the vocabulary"), std::string::npos);
  GenerateRequest hot = greedy_request({300}, 3);
  hot.sampling = {.greedy = false, .temperature = 0};
  EXPECT_NE(message([&] { generate(m, hot); }).find("temperature"), std::string::npos);
  GenerateRequest qkv = greedy_request({300}, 3);
  qkv.options.record_qkv = true;
  EXPECT_NE(message([&] { generate(m, qkv); }).find("attention only"), std::string::npos);
}

// The stop ids: generation_config.json's eos_token_id over config.json's; lists and null.
TEST(Generation, EosIdsFromTheConfigFiles) {
  EXPECT_EQ(fixture_model("llama_gqa").config().eos_token_ids, std::vector<int>{456});
  const test::TempDir tmp;
  const fs::path dir = tmp.path();
  fs::copy(test::fixtures_dir() / "models" / "gpt2", dir / "gpt2", fs::copy_options::recursive);
  tmp.write("gpt2/generation_config.json", R"({"eos_token_id": [5, 7], "do_sample": true, "temperature": 0.6, "top_p": 0.9})");
  const ModelConfig c = ModelConfig::load(dir / "gpt2");
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{5, 7}));
  EXPECT_TRUE(c.generation.do_sample);
  EXPECT_DOUBLE_EQ(c.generation.temperature, 0.6);
  EXPECT_EQ(c.generation.top_k, 50);  // Hugging Face's default
  tmp.write("gpt2/generation_config.json", R"({"temperature": -1})");
  EXPECT_THROW(ModelConfig::load(dir / "gpt2"), Error);
  tmp.write("gpt2/generation_config.json", R"({"eos_token_id": null})");
  EXPECT_TRUE(ModelConfig::load(dir / "gpt2").eos_token_ids.empty());
}

}  // namespace

// The rules a model folder with this generation_config.json (and the gpt2 fixture's config.json)
// has, read as every model's are.
LogitsRules rules_read_from(const nlohmann::json& generation_config) {
  test::TempDir dir;
  std::filesystem::copy_file(test::fixtures_dir() / "models" / "gpt2" / "config.json", dir.path() / "config.json");
  std::ofstream(dir.path() / "generation_config.json") << generation_config.dump();
  return ModelConfig::load(dir.path()).generation.rules;
}

// Hugging Face's logits processors (tools/reference/generation.py process, in HF's order) on
// fixed rows: every case of processors.json, entry by entry (-inf where the reference forbids).
TEST(Generation, LogitsRulesMatchTheReferenceProcessors) {
  const nlohmann::json cases = read_json_file(generation_dir() / "processors.json");
  ASSERT_GE(cases.size(), 15u);
  for (const auto& c : cases) {
    const std::string title = c["title"].get<std::string>();
    const auto logits = c["logits"].get<std::vector<float>>();
    Eigen::RowVectorXf row = Eigen::Map<const Eigen::RowVectorXf>(logits.data(), Eigen::Index(logits.size()));
    const LogitsRules rules = rules_read_from(c["rules"]);
    apply_logits_rules(row, c["ids"].get<std::vector<int32_t>>(), c["prompt_length"].get<int>(), c["max_length"].get<int>(), rules,
                       c["eos_ids"].get<std::vector<int>>());
    const auto& want = c["scores"];
    ASSERT_EQ(want.size(), size_t(row.size())) << title;
    for (size_t i = 0; i < want.size(); ++i) {
      if (want[i].is_null()) EXPECT_EQ(row[Eigen::Index(i)], -INFINITY) << title << ": entry " << i;
      else EXPECT_NEAR(row[Eigen::Index(i)], want[i].get<double>(), 1e-5) << title << ": entry " << i;
    }
  }
}

// Greedy decoding under rules (a repetition penalty, no repeated 2-grams, banned tokens) gives the
// reference's ids, which differ from those without; the recording names the rules.
TEST(Generation, RulesChangeGreedyDecodingAsTheReference) {
  const nlohmann::json want = read_json_file(generation_dir() / "gpt2_rules.json");
  const Model& m = fixture_model("gpt2");
  GenerateRequest r = greedy_request(want["prompt_ids"].get<std::vector<int32_t>>(), want["max_new_tokens"].get<int>());
  r.rules = rules_read_from(want["rules"]);
  const GenerateResult g = generate(m, r);
  EXPECT_EQ(g.generated_ids(), want["ids"].get<std::vector<int32_t>>());
  EXPECT_NE(g.generated_ids(), want["ids_without_rules"].get<std::vector<int32_t>>());
  for (size_t s = 0; s < g.steps.size(); ++s)  // probabilities after the rules, as the reference's
    EXPECT_NEAR(g.steps[s].candidates[0].prob, want["steps"][s]["top_probs"][0].get<double>(), 1e-5) << s;
  const auto settings = nlohmann::json::parse(g.recording->meta().extra.at("generation"));
  EXPECT_EQ(settings["rules"]["no_repeat_ngram_size"], 2);
}

// A model's rules come from generation_config.json, or without one from config.json (older BART
// and Marian checkpoints keep forced_bos/eos_token_id there); bad values are refused by name.
TEST(Generation, RulesAreReadFromTheModelsFiles) {
  const ModelConfig bart = ModelConfig::load(test::fixtures_dir() / "models" / "bart_tiny");
  EXPECT_EQ(bart.generation.rules.forced_bos_token_id, 0);
  EXPECT_EQ(bart.generation.rules.forced_eos_token_ids, std::vector<int>{2});
  // The model's own rules apply by default: BART's first generated token is the forced BOS.
  GenerateRequest r;
  r.text = "the cat sat";
  r.max_new_tokens = 3;
  r.stop_ids = std::vector<int>{};
  const GenerateResult g = generate(fixture_model("bart_tiny"), r);
  ASSERT_EQ(g.steps.size(), 3u);
  EXPECT_EQ(g.steps[0].chosen.id, 0);
  EXPECT_DOUBLE_EQ(g.steps[0].chosen.prob, 1.0);
  EXPECT_EQ(g.steps[2].chosen.id, 2);  // the last allowed token: the forced EOS

  test::TempDir dir;
  nlohmann::json config = read_json_file(test::fixtures_dir() / "models" / "gpt2" / "config.json");
  config["no_repeat_ngram_size"] = 3;
  std::ofstream(dir.path() / "config.json") << config.dump();
  EXPECT_EQ(ModelConfig::load(dir.path()).generation.rules.no_repeat_ngram_size, 3);
  std::ofstream(dir.path() / "generation_config.json") << R"({"repetition_penalty": 1.2})";
  const LogitsRules replaced = ModelConfig::load(dir.path()).generation.rules;
  EXPECT_EQ(replaced.no_repeat_ngram_size, 0);  // generation_config.json replaces config.json's
  EXPECT_DOUBLE_EQ(replaced.repetition_penalty, 1.2);
  std::ofstream(dir.path() / "generation_config.json") << R"({"bad_words_ids": [3, 4]})";
  const std::string err = test::error_of([&] { ModelConfig::load(dir.path()); });
  EXPECT_NE(err.find("generation_config.json"), std::string::npos) << err;
  EXPECT_NE(err.find("bad_words_ids[0]"), std::string::npos) << err;
  std::ofstream(dir.path() / "generation_config.json") << R"({"repetition_penalty": 0})";
  EXPECT_NE(test::error_of([&] { ModelConfig::load(dir.path()); }).find("repetition_penalty"), std::string::npos);
}

// The teaching mode's walk through one cross-attention row: the query from the decoder, keys and
// values from the encoder, and the steps from them give the recorded weights (Marian scales by
// 1/√d, T5 does not scale), and the output is Σ p·v.
TEST(Generation, CrossAttentionStepsGiveTheRecordedRow) {
  for (const char* name : {"marian_tiny", "t5_tiny"}) {
    const Model& m = fixture_model(name);
    GenerateRequest r;
    r.text = "the cat sat on the mat";
    r.max_new_tokens = 4;
    r.stop_ids = std::vector<int>{};
    r.rules = LogitsRules{};
    const GenerateResult g = generate(m, r);
    std::vector<int32_t> decoder = g.prompt_ids;
    for (int32_t id : g.generated_ids()) decoder.push_back(id);
    const int S = int(g.source_ids.size());
    for (int query : {0, 3}) {
      const CrossSteps c = cross_attention_steps(m, g.source_ids, decoder, 1, 2, query);
      ASSERT_EQ(c.keys.rows(), S) << name;
      const RowMatrix want = g.recording->block(AttentionRecording::Part::CrossAttention, 1, 2, query, query + 1, 0, S);
      EXPECT_LT((c.steps.probs.transpose() - want).cwiseAbs().maxCoeff(), 2e-5f) << name << " query " << query;
      const Vector output = c.values.transpose() * c.steps.probs;
      EXPECT_LT((output - c.steps.output).cwiseAbs().maxCoeff(), 1e-5f) << name;
      EXPECT_FLOAT_EQ(c.steps.factor, std::string(name) == "t5_tiny" ? 1.0f : 1.0f / std::sqrt(float(c.q.size()))) << name;
    }
  }
  EXPECT_THROW(cross_attention_steps(fixture_model("marian_tiny"), {5, 6, 0}, {58100}, 9, 0, 0), Error);
  EXPECT_THROW(cross_attention_steps(fixture_model("gpt2"), {5}, {5}, 0, 0, 0), Error);
}

// The alignment of a translation (analysis/alignment.h): the cross-attention as recorded, each
// target token with the row that chose it, and words made of pieces — a source word sums its pieces' weights, a target word averages its rows.
TEST(Alignment, PiecesAndWords) {
  EXPECT_EQ(word_spans({" the", "c", "at", "<s>", "x", " y"}, {0, 0, 0, 1, 0, 0}),
            (std::vector<std::pair<int, int>>{{0, 3}, {3, 4}, {4, 5}, {5, 6}}));
  const Model& m = fixture_model("marian_tiny");
  GenerateRequest r;
  r.text = "the cat sat on the mat";
  r.max_new_tokens = 5;
  r.stop_ids = std::vector<int>{};
  const auto rec = generate(m, r).recording;
  const Alignment pieces = alignment(*rec, 1, 2, false);
  const auto& meta = rec->meta();
  EXPECT_EQ(pieces.source, meta.source_tokens);
  // The target tokens are the chosen ones: the decoder's tokens after its start token, each with
  // the row of the token before (which chose it).
  const std::vector<std::string> chosen(meta.tokens.begin() + 1, meta.tokens.end());
  EXPECT_EQ(pieces.target, chosen);
  const RowMatrix recorded = rec->head_copy(1, 2, AttentionRecording::Part::CrossAttention);
  ASSERT_EQ(pieces.weights.rows(), recorded.rows() - 1);
  EXPECT_EQ((pieces.weights - recorded.topRows(recorded.rows() - 1)).cwiseAbs().maxCoeff(), 0.0f);
  const RowMatrix all = cross_attention(*rec, kAllLayers, kHeadMean);
  RowMatrix want = RowMatrix::Zero(all.rows(), all.cols());
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < rec->num_heads(); ++h) want += rec->head_copy(l, h, AttentionRecording::Part::CrossAttention) / float(2 * rec->num_heads());
  EXPECT_LT((all - want).cwiseAbs().maxCoeff(), 1e-6f);

  const Alignment words = alignment(*rec, 1, 2, true);
  const auto src = word_spans(rec->meta().source_tokens, rec->meta().source_special);
  const auto tgt = word_spans(chosen, std::vector<uint8_t>(meta.special.begin() + 1, meta.special.end()));
  ASSERT_EQ(words.source.size(), src.size());
  ASSERT_EQ(words.target.size(), tgt.size());
  EXPECT_LT(src.size(), rec->meta().source_tokens.size());  // " cat" is " c" + "a" + "t"
  for (size_t t = 0; t < tgt.size(); ++t) {
    EXPECT_NEAR(words.weights.row(Eigen::Index(t)).sum(), 1.0f, 1e-5f);  // still a distribution over the source
    for (size_t s = 0; s < src.size(); ++s) {
      float sum = 0;
      for (int i = tgt[t].first; i < tgt[t].second; ++i)
        for (int j = src[s].first; j < src[s].second; ++j) sum += pieces.weights(i, j);
      EXPECT_NEAR(words.weights(Eigen::Index(t), Eigen::Index(s)), sum / float(tgt[t].second - tgt[t].first), 1e-6f);
    }
  }
  EXPECT_THROW(cross_attention(*rec, 2, 0), Error);
  EXPECT_THROW(cross_attention(*generate(fixture_model("gpt2"), greedy_request({300}, 2)).recording, 0, 0), Error);
}
