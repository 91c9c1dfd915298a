// Drives the real attnscope binary as a user or script would, on the golden fixtures, and
// checks its answers against the PyTorch reference values.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "record/recording.h"
#include "session/generate.h"
#include "cli_runner.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using attn::test::RunResult;

RunResult run(const std::vector<std::string>& args) { return attn::test::run_attnscope(args); }

std::string fixture(const std::string& name) { return (attn::test::fixtures_dir() / "models" / name).string(); }

std::shared_ptr<const attn::SafetensorsFile> expected(const std::string& model, const std::string& c) {
  return attn::SafetensorsFile::open(attn::test::fixtures_dir() / "models" / model / "expected" / (c + ".safetensors"));
}

// Index of the largest value in row `row` of a (rows, cols) tensor.
int argmax_row(const std::vector<float>& v, size_t cols, size_t row) {
  return int(std::max_element(v.begin() + row * cols, v.begin() + (row + 1) * cols) - (v.begin() + row * cols));
}

}  // namespace

TEST(Cli, VersionNamesTheMatrixKernels) {
  namespace kernels = attn::kernels;
  using kernels::Isa;
  const auto r = run({"--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("attnscope ", 0), 0u) << r.out;
  // "attnscope 0.1.0 (git abc1234)": the version from CMake's project(), the commit when built
  // from a git checkout.
  const std::string first_line = r.out.substr(0, r.out.find('\n'));
  EXPECT_TRUE(std::regex_match(first_line, std::regex(R"(attnscope [0-9]+\.[0-9]+\.[0-9]+( \(git [0-9a-f]{7,}\))?)"))) << first_line;
  EXPECT_NE(r.out.find(std::string("matrix products: ") + kernels::isa_name(kernels::active_isa())), std::string::npos) << r.out;
  const auto baseline = attn::test::run_attnscope({"--version"}, {"env", "ATTNSCOPE_ISA=baseline"});
  EXPECT_NE(baseline.out.find(std::string("matrix products: ") + kernels::isa_name(Isa::Baseline)), std::string::npos) << baseline.out;
  if (kernels::isa_available(Isa::Avx512)) {
    EXPECT_NE(baseline.out.find("switched off by ATTNSCOPE_ISA"), std::string::npos) << baseline.out;
  }
  const auto dot = attn::test::run_attnscope({"--version"}, {"env", "ATTNSCOPE_BF16=dot"});
  const char* bf16 = kernels::bf16_dot_supported() ? "BF16 weights: AVX-512 BF16 products (ATTNSCOPE_BF16=dot)" : "BF16 weights: converted to F32 in blocks";
  EXPECT_NE(dot.out.find(bf16), std::string::npos) << dot.out;
  EXPECT_NE(r.out.find("BF16 weights: converted to F32 in blocks"), std::string::npos) << r.out;
}

TEST(Cli, InfoReportsTheConfig) {
  const auto r = run({"info", "--model", fixture("gpt2"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  const auto cfg = json::parse(attn::test::read_file(fixture("gpt2") + "/config.json"));
  EXPECT_EQ(j["family"], "gpt2");
  EXPECT_EQ(j["layers"], cfg["n_layer"]);
  EXPECT_EQ(j["heads"], cfg["n_head"]);
  EXPECT_EQ(j["hidden_size"], cfg["n_embd"]);
  EXPECT_EQ(j["vocab_size"], cfg["vocab_size"]);
  EXPECT_GT(j["parameters"].get<int64_t>(), 0);
}

TEST(Cli, TokenizeMatchesTheReferenceIds) {
  const auto e = expected("bert_mlm", "pair");
  const auto r = run({"tokenize", "--model", fixture("bert_mlm"), "--text", e->metadata().at("text"), "--pair",
                      e->metadata().at("pair"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["ids"].get<std::vector<int64_t>>(), e->to_i64(e->at("input_ids")));
  EXPECT_EQ(j["type_ids"].get<std::vector<int64_t>>(), e->to_i64(e->at("token_type_ids")));
  EXPECT_EQ(j["offsets"].size(), j["ids"].size());
}

// `tokenize` needs no weights: a folder holding only the tokenizer files (tokenizer.json, or
// vocab.txt, or vocab.json + merges.txt, with tokenizer_config.json when there is one, with or
// without config.json) tokenizes exactly as the whole model folder does.
TEST(Cli, TokenizeWorksOnAFolderWithOnlyTokenizerFiles) {
  const std::string text = "Hello, world! The cat's whiskers — naïve café";
  const auto dir = std::filesystem::temp_directory_path() / ("attn_tok_" + std::to_string(::getpid()));
  for (const auto& [model, files] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"bert_cls", {"tokenizer.json"}},
           {"bert_mlm", {"vocab.txt", "tokenizer_config.json"}},
           {"gpt2", {"vocab.json", "merges.txt", "tokenizer_config.json"}},
           {"gpt2", {"vocab.json", "merges.txt", "tokenizer_config.json", "config.json"}}}) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const auto& f : files) std::filesystem::copy_file(fixture(model) + "/" + f, dir / f);
    const auto whole = run({"tokenize", "--model", fixture(model), "--text", text, "--json"});
    const auto only = run({"tokenize", "--model", dir.string(), "--text", text, "--json"});
    ASSERT_EQ(whole.code, 0) << whole.err;
    ASSERT_EQ(only.code, 0) << model << ": " << only.err;
    EXPECT_EQ(json::parse(only.out), json::parse(whole.out)) << model;
    EXPECT_GT(json::parse(only.out)["ids"].size(), 5u);
  }
  // Without any tokenizer file the error names the folder and what it looked for.
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto none = run({"tokenize", "--model", dir.string(), "--text", text});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find(dir.string()), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("vocab.txt"), std::string::npos) << none.err;
  std::filesystem::remove_all(dir);
}

TEST(Cli, PredictFillMaskAgreesWithReferenceLogits) {
  const auto e = expected("bert_mlm", "single");
  const auto ids = e->to_i64(e->at("input_ids"));
  const auto logits = e->to_f32(e->at("logits"));
  const size_t V = logits.size() / ids.size();
  const auto r = run({"predict", "--model", fixture("bert_mlm"), "--text", e->metadata().at("text"), "--top", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["task"], "fill-mask");
  const int pos = j["position"];
  ASSERT_EQ(j["predictions"].size(), 3u);
  EXPECT_EQ(j["predictions"][0]["id"], argmax_row(logits, V, size_t(pos)));
  EXPECT_GE(j["predictions"][0]["prob"].get<double>(), j["predictions"][1]["prob"].get<double>());
}

TEST(Cli, PredictNextTokenAndClassification) {
  auto e = expected("gpt2", "single");
  auto logits = e->to_f32(e->at("logits"));
  auto n = e->to_i64(e->at("input_ids")).size();
  auto r = run({"predict", "--model", fixture("gpt2"), "--text", e->metadata().at("text"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["task"], "next-token");
  EXPECT_EQ(j["predictions"][0]["id"], argmax_row(logits, logits.size() / n, n - 1));

  e = expected("bert_cls", "single");
  logits = e->to_f32(e->at("logits"));
  r = run({"predict", "--model", fixture("bert_cls"), "--text", e->metadata().at("text"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["task"], "classification");
  const auto cfg = json::parse(attn::test::read_file(fixture("bert_cls") + "/config.json"));
  const int best = argmax_row(logits, logits.size(), 0);
  EXPECT_EQ(j["predictions"][0]["label"], cfg["id2label"][std::to_string(best)]);
  double total = 0;
  for (const auto& p : j["predictions"]) total += p["prob"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
}

// generate continues the reference's text with its most probable token, and its recording holds
// the prompt's reference attention, the steps and their candidates.
TEST(Cli, GenerateContinuesLikeTheReference) {
  const auto e = expected("gpt2", "long");
  const auto ids = e->to_i64(e->at("input_ids"));
  const auto logits = e->to_f32(e->at("logits"));
  const size_t N = ids.size(), V = logits.size() / N;
  const attn::test::TempDir dir;
  const std::string out = (dir.path() / "g.safetensors").string();
  const auto r = run({"generate", "--model", fixture("gpt2"), "--text", e->metadata().at("text"), "--max-new-tokens", "2", "--greedy",
                      "--candidates", "3", "--json", "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"].get<std::vector<int64_t>>(), ids);
  ASSERT_EQ(j["ids"].size(), 2u);
  EXPECT_EQ(j["ids"][0], argmax_row(logits, V, N - 1));
  EXPECT_EQ(j["tokens"].size(), 2u);
  EXPECT_EQ(j["steps"][0]["candidates"].size(), 3u);
  EXPECT_EQ(j["steps"][0]["candidates"][0]["id"], j["ids"][0]);
  EXPECT_EQ(j["stop"], "max-new-tokens");
  EXPECT_EQ(j["sampling"]["mode"], "greedy");

  const auto rec = attn::AttentionRecording::open(out);
  ASSERT_EQ(rec->num_tokens(), int(N) + 2);
  const auto info = attn::read_generation(*rec);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->prompt_length, int(N));
  EXPECT_EQ(info->steps[1].chosen.id, j["ids"][1]);
  for (int l = 0; l < rec->num_layers(); ++l) {  // the prompt's rows are the reference's
    const auto want = e->to_f32(e->at("attention.layer" + std::to_string(l)));
    for (int h = 0; h < rec->num_heads(); ++h) {
      const auto head = rec->head(l, h);
      float worst = 0;
      for (size_t q = 0; q < N; ++q)
        for (size_t k = 0; k < N; ++k) worst = std::max(worst, std::abs(head(q, k) - want[(size_t(h) * N + q) * N + k]));
      EXPECT_LE(worst, 1e-4f) << "layer " << l << " head " << h;
      EXPECT_NEAR(head.row(N).sum(), 1.0f, 1e-5f);  // the first generated token's row: a distribution over the prompt and itself
      EXPECT_EQ(head(N, N + 1), 0.0f);
    }
  }
}

TEST(Cli, GenerateSamplesReproduciblyAndRefusesMixedModes) {
  const std::vector<std::string> args{"generate", "--model", fixture("gpt2"), "--text", "the cat", "--max-new-tokens", "6",
                                      "--temperature", "1.3", "--top-k", "20", "--seed", "11", "--json"};
  const auto a = run(args), b = run(args);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(json::parse(a.out)["ids"], json::parse(b.out)["ids"]);
  const auto settings = json::parse(a.out)["sampling"];
  EXPECT_EQ(settings["mode"], "sample");
  EXPECT_EQ(settings["seed"], 11);
  EXPECT_EQ(settings["top_k"], 20);
  EXPECT_EQ(settings["top_p"], 1.0);  // Hugging Face's default

  auto r = run({"generate", "--model", fixture("gpt2"), "--text", "the cat", "--greedy", "--temperature", "0.5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("either --greedy or sampling"), std::string::npos) << r.err;
  r = run({"generate", "--model", fixture("gpt2"), "--text", "the cat", "--top-p", "1.5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--top-p"), std::string::npos) << r.err;
  r = run({"generate", "--model", fixture("bert_mlm"), "--text", "the cat"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot generate"), std::string::npos) << r.err;
  r = run({"generate", "--model", fixture("gpt2"), "--text", ""});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
}

// The model's generation rules apply by default (bart_tiny's config.json forces BOS first and EOS
// last), --no-rules switches them off, and the command line adds its own.
TEST(Cli, GenerateAppliesTheModelsRulesUnlessToldNot) {
  auto r = run({"generate", "--model", fixture("bart_tiny"), "--text", "the cat sat", "--max-new-tokens", "4", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["ids"][0], 0);  // forced_bos_token_id
  EXPECT_EQ(j["ids"].back(), 2);  // forced_eos_token_id, the last token allowed
  EXPECT_EQ(j["sampling"]["rules"]["forced_bos_token_id"], 0);
  r = run({"generate", "--model", fixture("bart_tiny"), "--text", "the cat sat", "--max-new-tokens", "4", "--no-rules", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(json::parse(r.out)["sampling"].contains("rules"));
  r = run({"generate", "--model", fixture("gpt2"), "--text", "the cat", "--max-new-tokens", "12", "--no-repeat-ngram-size", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  std::vector<int> all = j["prompt_ids"].get<std::vector<int>>();
  for (int id : j["ids"].get<std::vector<int>>()) {
    EXPECT_EQ(std::count(all.begin(), all.end(), id), 0) << id << " came back";
    all.push_back(id);
  }
  r = run({"generate", "--model", fixture("gpt2"), "--text", "the cat", "--repetition-penalty", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--repetition-penalty"), std::string::npos) << r.err;
}

TEST(Cli, RecordWritesTheReferenceAttention) {
  const auto e = expected("gpt2", "single");
  const auto out = fs::temp_directory_path() / ("attn_cli_rec_" + std::to_string(::getpid()) + ".safetensors");
  const auto r = run({"record", "--model", fixture("gpt2"), "--text", e->metadata().at("text"), "--out", out.string(), "--qkv"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rec = attn::AttentionRecording::open(out);
  EXPECT_EQ(rec->meta().family, "gpt2");
  EXPECT_TRUE(rec->meta().causal);
  EXPECT_TRUE(rec->has_qkv());
  EXPECT_EQ(rec->meta().text, e->metadata().at("text"));
  const auto want = e->to_f32(e->at("attention.layer1"));
  const auto got = rec->head(1, 1);
  const size_t nn = size_t(got.size());
  for (size_t i = 0; i < nn; ++i) ASSERT_NEAR(got.data()[i], want[nn + i], 1e-4f);
}

// --stream writes the same recording layer by layer, against the reference too.
TEST(Cli, RecordStreamWritesTheReferenceAttention) {
  for (const auto& [model, expectation] : {std::pair{"gpt2", "single"}, {"qwen3_qknorm", "attention"}}) {
    SCOPED_TRACE(model);
    const auto e = expected(model, expectation);
    const auto out = fs::temp_directory_path() / ("attn_cli_stream_" + std::to_string(::getpid()) + ".safetensors");
    const auto r = run({"record", "--model", fixture(model), "--text", e->metadata().at("text"), "--out", out.string(), "--stream",
                        "--dtype", "f16", "--qkv", "--logits"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("wrote " + out.string()), std::string::npos) << r.out;
    const auto rec = attn::AttentionRecording::open(out);
    EXPECT_EQ(rec->storage(), attn::DType::F16);
    EXPECT_TRUE(rec->has_qkv());
    EXPECT_TRUE(rec->logits().has_value());
    EXPECT_EQ(rec->meta().text, e->metadata().at("text"));
    for (int l = 0; l < rec->num_layers(); ++l) {
      const auto want = e->to_f32(e->at("attention.layer" + std::to_string(l)));
      for (int h = 0; h < rec->num_heads(); ++h) {
        const auto got = rec->head_copy(l, h);
        const size_t nn = size_t(got.size());
        for (size_t i = 0; i < nn; ++i) ASSERT_NEAR(got.data()[i], want[size_t(h) * nn + i], 1e-3f) << "layer " << l << " head " << h;
      }
    }
    fs::remove(out);
  }
}

// bench/'s cold-start measure: the window runs the text, paints the heatmap, says when, quits.
TEST(Cli, TimeFirstPaintPrintsAndQuits) {
  ::setenv("QT_QPA_PLATFORM", "offscreen", 0);
  const auto r = run({"--model", fixture("bert_mlm"), "--text", "the cat [MASK] on the mat", "--time-first-paint"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("first heatmap painted "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms after start"), std::string::npos) << r.out;
  const auto bad = run({"--model", fixture("bert_mlm") + "/missing", "--text", "x", "--time-first-paint"});
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.err.find("missing"), std::string::npos) << bad.err;
  // Started bare, as the menu entry starts it, with no settings yet: the first bundled model
  // runs on the example text at once.
  const attn::test::TempDir config;
  const char* was = std::getenv("XDG_CONFIG_HOME");
  const std::string old_config = was ? was : "";
  ::setenv("XDG_CONFIG_HOME", config.path().c_str(), 1);
  const auto bare = run({"--time-first-paint"});
  if (was) ::setenv("XDG_CONFIG_HOME", old_config.c_str(), 1);
  else ::unsetenv("XDG_CONFIG_HOME");
  ASSERT_EQ(bare.code, 0) << bare.err;
  EXPECT_NE(bare.out.find("first heatmap painted "), std::string::npos) << bare.out;
}

// --layers records a subset: the file holds those layers, labelled with the model's numbers.
TEST(Cli, RecordKeepsOnlyTheChosenLayers) {
  const auto e = expected("gpt2", "single");
  const auto out = fs::temp_directory_path() / ("attn_cli_layers_" + std::to_string(::getpid()) + ".safetensors");
  const auto r = run({"record", "--model", fixture("gpt2"), "--text", e->metadata().at("text"), "--out", out.string(), "--layers", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 layers x"), std::string::npos) << r.out;
  const auto rec = attn::AttentionRecording::open(out);
  ASSERT_EQ(rec->num_layers(), 1);
  EXPECT_EQ(rec->meta().model_layers, std::vector<int>{1});
  const auto want = e->to_f32(e->at("attention.layer1"));
  const auto got = rec->head(0, 1);
  const size_t nn = size_t(got.size());
  for (size_t i = 0; i < nn; ++i) ASSERT_NEAR(got.data()[i], want[nn + i], 1e-4f);
  const auto info = run({"info", "--recording", out.string()});
  EXPECT_NE(info.out.find("model layers [1] (only these were recorded)"), std::string::npos) << info.out;
  EXPECT_EQ(info.out.find("pyramid"), std::string::npos) << "a short recording carries none";
  fs::remove(out);
  {  // a long one names its pyramid
    attn::RecordingMeta m;
    m.num_layers = 1, m.num_heads = 1, m.num_tokens = 1024;
    m.tokens.assign(1024, "t");
    attn::AttentionRecording::create(m, false, false)->save(out, attn::DType::F16);
    const auto about = run({"info", "--recording", out.string(), "--json"});
    ASSERT_EQ(about.code, 0) << about.err;
    EXPECT_EQ(json::parse(about.out)["pyramid"], json::parse("[4, 16]")) << about.out;
    EXPECT_NE(run({"info", "--recording", out.string()}).out.find("pyramid      each head max-pooled by [4,16]"), std::string::npos);
    fs::remove(out);
  }
  // Malformed lists are usage errors; layers the model lacks are named.
  for (const char* bad : {"x", "1-", "3-1", ",", "1,,2"}) {
    const auto b = run({"record", "--model", fixture("gpt2"), "--text", "hi", "--out", out.string(), "--layers", bad});
    EXPECT_EQ(b.code, 2) << bad << ": " << b.err;
    EXPECT_NE(b.err.find("--layers"), std::string::npos) << b.err;
  }
  const auto missing = run({"record", "--model", fixture("gpt2"), "--text", "hi", "--out", out.string(), "--layers", "0,7"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("between 0 and 1"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(Cli, ErrorsAreClearAndExitNonZero) {
  auto r = run({"info"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--model is required"), std::string::npos) << r.err;
  r = run({"info", "--model", "/nonexistent/model"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
  r = run({"info", "--model", fixture("gpt2") + "/config.json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is a file"), std::string::npos) << r.err;
  r = run({"predict", "--model", fixture("bert_mlm"), "--text", "no mask here"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no mask token"), std::string::npos) << r.err;
  r = run({"info", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
  r = run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, LongTextFailsUnlessTruncated) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the cat sat on the mat . ";
  auto r = run({"predict", "--model", fixture("gpt2"), "--text", text, "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("positions"), std::string::npos) << r.err;
  r = run({"predict", "--model", fixture("gpt2"), "--text", text, "--json", "--truncate"});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto cfg = json::parse(attn::test::read_file(fixture("gpt2") + "/config.json"));
  EXPECT_EQ(json::parse(r.out)["position"], cfg["n_positions"].get<int>() - 1);
}

TEST(Cli, HelpListsCommandsAndOptions) {
  auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* c : {"info", "tokenize", "record", "predict"}) EXPECT_NE(r.out.find(c), std::string::npos) << c;
  r = run({"record", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--dtype"), std::string::npos);
}

// Every Llama-kind family through the real binary, against the PyTorch reference: info names
// the family and its grouped heads, tokenize gives the reference's ids, predict its next
// token, and record writes its attention, with the raw q/k projections and rotary settings.
TEST(Cli, EveryLlamaKindFamilyInfoTokenizeRecordPredict) {
  const struct {
    const char *name, *family, *input;  // fixture, family, expected/INPUT.safetensors
  } families[] = {{"llama_gqa", "llama", "fox"},          {"llama_mqa_bf16", "llama", "river"}, {"mistral_sharded_f16", "mistral", "digits"},
                  {"qwen2_window_yarn", "qwen2", "heads"}, {"qwen3_qknorm", "qwen3", "attention"}, {"gemma2_softcap", "gemma2", "fox"},
                  {"gemma3_text", "gemma3", "river"},     {"phi3_longrope", "phi3", "digits"}};
  for (const auto& [name, family, input] : families) {
    SCOPED_TRACE(name);
    const auto e = expected(name, input);
    const std::string text = e->metadata().at("text");
    const auto info = run({"info", "--model", fixture(name), "--json"});
    ASSERT_EQ(info.code, 0) << info.err;
    EXPECT_EQ(json::parse(info.out)["family"], family) << info.out;

    const auto ids = e->to_i64(e->at("input_ids"));
    const auto tok = run({"tokenize", "--model", fixture(name), "--text", text, "--json"});
    ASSERT_EQ(tok.code, 0) << tok.err;
    EXPECT_EQ(json::parse(tok.out)["ids"].get<std::vector<int64_t>>(), ids);

    const auto logits = e->to_f32(e->at("logits"));
    const size_t n = ids.size();
    const auto pred = run({"predict", "--model", fixture(name), "--text", text, "--json"});
    ASSERT_EQ(pred.code, 0) << pred.err;
    EXPECT_EQ(json::parse(pred.out)["predictions"][0]["id"], argmax_row(logits, logits.size() / n, n - 1));

    const auto out = fs::temp_directory_path() / ("attn_cli_llama_" + std::to_string(::getpid()) + ".safetensors");
    const auto rec = run({"record", "--model", fixture(name), "--text", text, "--qkv", "--out", out.string()});
    ASSERT_EQ(rec.code, 0) << rec.err;
    const auto r = attn::AttentionRecording::open(out);
    EXPECT_TRUE(r->has_raw_qk());
    const auto want = e->to_f32(e->at("attention.layer1"));
    const auto got = r->head(1, 0);
    for (Eigen::Index i = 0; i < got.size(); ++i) ASSERT_NEAR(got.data()[i], want[size_t(i)], 1e-4f) << i;
    const auto about = run({"info", "--recording", out.string()});
    EXPECT_NE(about.out.find("raw query/key projections"), std::string::npos) << about.out;
    EXPECT_NE(about.out.find("rotation     "), std::string::npos) << about.out;
    fs::remove(out);
  }
}

// `ablate` switches head 0.1 off: the top filler of the mask and its probability are the
// PyTorch reference's with Hugging Face's head_mask (tests/fixtures/ablation).
TEST(Cli, AblateAgreesWithTheReferencesHeadMask) {
  const json fx = json::parse(attn::test::read_file(attn::test::fixtures_dir() / "ablation" / "bert_mlm.json"));
  const auto r = run({"ablate", "--model", fixture("bert_mlm"), "--text", fx["text"].get<std::string>(), "--heads", "0.1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = json::parse(r.out);
  const auto rows = fx["rows"].get<std::vector<int>>();
  const size_t mask_row = size_t(std::find(rows.begin(), rows.end(), 6) - rows.begin());
  ASSERT_LT(mask_row, rows.size());
  const auto& c = fx["cases"][0];
  ASSERT_EQ(c["heads"], json::parse("[[0, 1]]"));
  const auto logits = c["logits"][mask_row].get<std::vector<double>>();
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double x : logits) sum += std::exp(x - max);
  const auto& top = j["predictions_after"][0];
  EXPECT_EQ(top["id"].get<int>(), int(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  EXPECT_NEAR(top["prob"].get<double>(), 1.0 / sum, 1e-5);
  EXPECT_NEAR(j["change"].get<double>(), j["after"].get<double>() - j["before"].get<double>(), 1e-9);

  const auto s = run({"ablate", "--model", fixture("gpt2"), "--text", "the quick brown fox", "--sweep", "layers", "--mode", "mean", "--json"});
  ASSERT_EQ(s.code, 0) << s.err;
  const auto sj = json::parse(s.out);
  EXPECT_EQ(sj["mode"], "mean");
  EXPECT_EQ(sj["effect"].size(), 2u);
  EXPECT_EQ(sj["effect"][0].size(), 1u);
  const auto bad = run({"ablate", "--model", fixture("gpt2"), "--text", "the quick brown fox", "--heads", "0.9"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("no head 0.9"), std::string::npos) << bad.err;
  const auto patch = run({"ablate", "--model", fixture("gpt2"), "--text", "the quick brown fox", "--heads", "0.1", "--mode", "patch"});
  EXPECT_EQ(patch.code, 2);
  EXPECT_NE(patch.err.find("--clean"), std::string::npos) << patch.err;
}

// `export --view sweep` runs the sweep and writes its map as the window draws it: the numbers
// are ablate --sweep's, the picture a PNG; the sweep's options belong to that view only.
TEST(Cli, ExportDrawsASweepHeadless) {
  const attn::test::TempDir dir;
  const std::vector<std::string> input = {"--model", fixture("gpt2"), "--text", "the quick brown fox", "--mode", "mean"};
  auto args = [&](std::vector<std::string> head, std::vector<std::string> tail) {
    head.insert(head.end(), input.begin(), input.end());
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  const auto j = run(args({"ablate"}, {"--sweep", "heads", "--json"}));
  ASSERT_EQ(j.code, 0) << j.err;
  const auto effect = json::parse(j.out)["effect"];
  const std::string csv = (dir.path() / "sweep.csv").string(), png = (dir.path() / "sweep.png").string();
  auto r = run(args({"export", "--view", "sweep"}, {"--out", csv}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(attn::test::read_file(csv));
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("head 2"), std::string::npos) << line;
  size_t layer = 0;
  for (; std::getline(in, line); ++layer) {
    std::istringstream cells(line);
    std::string cell;
    std::getline(cells, cell, ',');
    EXPECT_EQ(cell, "layer " + std::to_string(layer));
    for (size_t h = 0; std::getline(cells, cell, ','); ++h) EXPECT_NEAR(std::stod(cell), effect[layer][h].get<double>(), 1e-6) << layer << "." << h;
  }
  EXPECT_EQ(layer, effect.size());
  r = run(args({"export", "--view", "sweep"}, {"--sweep", "layers", "--out", png}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(attn::test::read_file(png).substr(1, 3), "PNG");
  const auto misplaced = run({"export", "--model", fixture("gpt2"), "--text", "the quick brown fox", "--mode", "mean", "--out", csv});
  EXPECT_EQ(misplaced.code, 2);
  EXPECT_NE(misplaced.err.find("--mode is for --view sweep"), std::string::npos) << misplaced.err;
  const auto recorded = run({"export", "--view", "sweep", "--recording", csv, "--out", png});
  EXPECT_EQ(recorded.code, 2);
  EXPECT_NE(recorded.err.find("runs a sweep"), std::string::npos) << recorded.err;
}

// A generation's step: the sweep measures the token chosen there, on the prompt and the tokens
// before it; its baseline is that step's probability as the generation recorded it.
TEST(Cli, AblateSweepsAGenerationsStep) {
  const attn::test::TempDir dir;
  const std::string out = (dir.path() / "g.safetensors").string();
  const auto g = run({"generate", "--model", fixture("gpt2"), "--text", "the quick brown fox", "--max-new-tokens", "4", "--greedy",
                      "--json", "--out", out});
  ASSERT_EQ(g.code, 0) << g.err;
  const auto gj = json::parse(g.out);
  ASSERT_GE(gj["ids"].size(), 2u);
  const auto s = run({"ablate", "--model", fixture("gpt2"), "--generation", out, "--step", "2", "--sweep", "heads", "--json"});
  ASSERT_EQ(s.code, 0) << s.err;
  const auto sj = json::parse(s.out);
  EXPECT_EQ(sj["target"]["token"], gj["ids"][1]);
  EXPECT_EQ(sj["target"]["step"], 2);
  EXPECT_EQ(sj["target"]["position"], gj["prompt_ids"].size());  // the prompt and the first token: the second is predicted at the last
  const auto rec = attn::AttentionRecording::open(out);
  const auto& chosen = rec->step_candidates()->chosen_probs;
  EXPECT_NEAR(sj["baseline"].get<double>(), std::log(chosen[1]), 1e-5);
  EXPECT_EQ(sj["effect"].size(), 2u);
  const auto mixed = run({"ablate", "--model", fixture("gpt2"), "--generation", out, "--step", "2", "--text", "x", "--sweep", "heads"});
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.err.find("leave out --text"), std::string::npos) << mixed.err;
  const auto alone = run({"ablate", "--model", fixture("gpt2"), "--generation", out, "--sweep", "heads"});
  EXPECT_EQ(alone.code, 2);
  EXPECT_NE(alone.err.find("--step"), std::string::npos) << alone.err;
  const auto far = run({"ablate", "--model", fixture("gpt2"), "--generation", out, "--step", "9", "--sweep", "heads"});
  EXPECT_EQ(far.code, 1);
  EXPECT_NE(far.err.find("outside the generation"), std::string::npos) << far.err;
}
