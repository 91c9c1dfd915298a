// Behaviour of real pretrained weights, when a folder of them is present in
// ../shared/models (none can be downloaded on the build machines; see its README).
// Each test skips, saying why, when no such folder exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "nn/model.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

// Model folders (config.json + safetensors weights) of the given family in ../shared/models.
std::vector<fs::path> real_models(const std::string& family, HeadKind head) {
  std::vector<fs::path> out;
  const auto root = test::shared_model_dir("");
  std::error_code ec;
  if (root.empty()) return out;
  for (const auto& d : fs::directory_iterator(root, ec)) {
    if (!fs::exists(d.path() / "config.json") ||
        !(fs::exists(d.path() / "model.safetensors") || fs::exists(d.path() / "model.safetensors.index.json")))
      continue;
    try {
      const auto c = ModelConfig::load(d.path());
      if (c.family == family && c.head == head) out.push_back(d.path());
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::vector<std::string> top_tokens(const Model& m, const std::string& text, int k) {
  const Encoding enc = m.encode(text);
  RunOptions opt;
  int row = int(enc.size()) - 1;
  if (m.config().head == HeadKind::MaskedLM) row = int(std::find(enc.ids.begin(), enc.ids.end(), *m.tokenizer().mask_id()) - enc.ids.begin());
  if (m.config().head != HeadKind::SequenceClassification) opt.logits_rows = {row};
  const auto r = m.forward(enc, opt);
  std::vector<int> order(r.logits.cols());
  for (int i = 0; i < int(order.size()); ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return r.logits(0, a) > r.logits(0, b); });
  std::vector<std::string> out;
  for (int i = 0; i < k; ++i) {
    std::string s = m.config().head == HeadKind::SequenceClassification ? m.config().labels[order[i]] : m.tokenizer().token_text(order[i]);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    out.push_back(s);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& needle) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

}  // namespace

TEST(RealWeights, BertFillsInACapital) {
  const auto dirs = real_models("bert", HeadKind::MaskedLM);
  if (dirs.empty()) GTEST_SKIP() << "no BERT masked-LM weights in ../shared/models (none can be had on these machines)";
  for (const auto& d : dirs) {
    const auto m = Model::load(d);
    EXPECT_TRUE(contains(top_tokens(*m, "The capital of France is [MASK].", 5), "paris")) << d;
  }
}

TEST(RealWeights, Gpt2PredictsAnObviousNextToken) {
  const auto dirs = real_models("gpt2", HeadKind::CausalLM);
  if (dirs.empty()) GTEST_SKIP() << "no GPT-2 weights in ../shared/models (none can be had on these machines)";
  for (const auto& d : dirs) {
    const auto m = Model::load(d);
    EXPECT_TRUE(contains(top_tokens(*m, "The United States of", 3), "america")) << d;
  }
}

TEST(RealWeights, ClassifierLabelsClearSentiment) {
  std::vector<fs::path> dirs = real_models("bert", HeadKind::SequenceClassification);
  for (const auto& d : real_models("distilbert", HeadKind::SequenceClassification)) dirs.push_back(d);
  if (dirs.empty()) GTEST_SKIP() << "no fine-tuned classifier weights in ../shared/models (none can be had on these machines)";
  for (const auto& d : dirs) {
    const auto m = Model::load(d);
    EXPECT_TRUE(contains(top_tokens(*m, "This film was wonderful, I loved every minute of it.", 1), "pos")) << d;
    EXPECT_TRUE(contains(top_tokens(*m, "This film was dreadful, a boring waste of time.", 1), "neg")) << d;
  }
}

// Llama 3.2, Qwen2.5/3, SmolLM2, TinyLlama, Mistral, Gemma 2/3: any decoder of the Llama kind.
TEST(RealWeights, LlamaKindDecodersPredictObviousTokens) {
  std::vector<fs::path> dirs;
  for (const char* family : {"llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3"})
    for (const auto& d : real_models(family, HeadKind::CausalLM)) dirs.push_back(d);
  if (dirs.empty())
    GTEST_SKIP() << "no Llama/Mistral/Qwen/Gemma weights in ../shared/models (none can be had on these machines; "
                    "the golden fixtures of tools/make_llama_fixtures.py check the numbers instead)";
  for (const auto& d : dirs) {
    const auto m = Model::load(d);
    EXPECT_TRUE(contains(top_tokens(*m, "The capital of France is", 5), "paris")) << d;
    EXPECT_TRUE(contains(top_tokens(*m, "Monday, Tuesday, Wednesday,", 3), "thursday")) << d;
  }
}
