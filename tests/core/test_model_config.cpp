#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "util/error.h"

using namespace attn;
using nlohmann::json;

namespace {

std::string config_error(const json& j) {
  try {
    ModelConfig::from_json(j, "cfg/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const json kBert = {{"model_type", "bert"},          {"architectures", {"BertForMaskedLM"}}, {"hidden_size", 768},
                    {"num_hidden_layers", 12},       {"num_attention_heads", 12},            {"intermediate_size", 3072},
                    {"max_position_embeddings", 512}, {"vocab_size", 30522},                 {"layer_norm_eps", 1e-12}};

}  // namespace

TEST(ModelConfig, ReadsBert) {
  const auto c = ModelConfig::from_json(kBert, "x");
  EXPECT_EQ(c.family, "bert");
  EXPECT_EQ(c.head, HeadKind::MaskedLM);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.head_dim(), 64);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_EQ(c.activation, "gelu");
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
}

TEST(ModelConfig, ReadsDistilBertAndGpt2Names) {
  const auto d = ModelConfig::from_json({{"model_type", "distilbert"}, {"architectures", {"DistilBertForSequenceClassification"}},
                                         {"dim", 64}, {"n_layers", 2}, {"n_heads", 4}, {"hidden_dim", 128},
                                         {"max_position_embeddings", 64}, {"vocab_size", 100},
                                         {"id2label", {{"1", "positive"}, {"0", "negative"}}}},
                                        "x");
  EXPECT_EQ(d.family, "distilbert");
  EXPECT_EQ(d.head, HeadKind::SequenceClassification);
  EXPECT_EQ(d.intermediate_size, 128);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"negative", "positive"}));
  const auto g = ModelConfig::from_json({{"model_type", "gpt2"}, {"n_embd", 48}, {"n_layer", 3}, {"n_head", 3}, {"n_positions", 64},
                                         {"vocab_size", 300}, {"layer_norm_epsilon", 1e-5}},
                                        "x");
  EXPECT_EQ(g.family, "gpt2");
  EXPECT_EQ(g.head, HeadKind::CausalLM);  // tied embeddings: GPT2Model can predict too
  EXPECT_EQ(g.intermediate_size, 192);
  EXPECT_EQ(g.activation, "gelu_new");
  EXPECT_FLOAT_EQ(g.layer_norm_eps, 1e-5f);
}

TEST(ModelConfig, ErrorsNameTheFileAndKey) {
  json j = kBert;
  j["model_type"] = "mamba";
  auto msg = config_error(j);
  EXPECT_NE(msg.find("cfg/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown model_type 'mamba'"), std::string::npos) << msg;
  j = kBert;
  j.erase("num_attention_heads");
  msg = config_error(j);
  EXPECT_NE(msg.find("missing required key 'num_attention_heads'"), std::string::npos) << msg;
  j = kBert;
  j["num_attention_heads"] = 7;
  EXPECT_NE(config_error(j).find("not divisible"), std::string::npos);
  j = kBert;
  j["hidden_size"] = "big";
  EXPECT_NE(config_error(j).find("'hidden_size' must be a positive integer"), std::string::npos);
  j = kBert;
  j.erase("model_type");
  EXPECT_NE(config_error(j).find("model_type"), std::string::npos);
  EXPECT_NE(config_error(json::array()).find("expected a JSON object"), std::string::npos);
}

// fuzz_recording found get<int>() applied to 1.4e56 (undefined behaviour); every number in a
// config now goes through one checked conversion.
TEST(ModelConfig, NumbersOutOfRangeAreTheFilesError) {
  const auto error_for = [](const char* key, const json& value) {
    json j = kBert;
    j[key] = value;
    return config_error(j);
  };
  EXPECT_NE(error_for("hidden_size", 1.4e56).find("cfg/config.json: key 'hidden_size' must be a positive integer"), std::string::npos);
  EXPECT_NE(error_for("hidden_size", 768.0).find("'hidden_size' must be a positive integer"), std::string::npos);
  EXPECT_NE(error_for("num_attention_heads", 18446744073709551615ULL).find("'num_attention_heads' must be a positive integer"),
            std::string::npos);
  EXPECT_NE(error_for("num_hidden_layers", -3).find("'num_hidden_layers' must be an integer from 1 to 4096"), std::string::npos);
  EXPECT_NE(error_for("type_vocab_size", 4294967296LL).find("'type_vocab_size' must be an integer from 0 to 1048576"), std::string::npos);
  EXPECT_NE(error_for("layer_norm_eps", 1e300).find("'layer_norm_eps' must be a finite number within float's range"), std::string::npos);
  EXPECT_NE(error_for("layer_norm_eps", "tiny").find("'layer_norm_eps'"), std::string::npos);
  json cls = kBert;
  cls["architectures"] = {"BertForSequenceClassification"};
  cls["num_labels"] = 2000000000;
  EXPECT_NE(config_error(cls).find("'num_labels' must be an integer from 0 to 1048576"), std::string::npos);
  json vit = {{"model_type", "vit"}, {"hidden_size", 8}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
              {"intermediate_size", 16}, {"image_size", json::array({32, 1e56})}, {"patch_size", 16}};
  EXPECT_NE(config_error(vit).find("'image_size' must be a positive integer or [height, width]"), std::string::npos);
}
