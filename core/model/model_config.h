#pragma once
// The parts of a Hugging Face config.json that AttnScope's model families use, normalised
// across families (BERT's hidden_size, DistilBERT's dim and GPT-2's n_embd are all
// `hidden_size` here).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn {

enum class Family { Bert, DistilBert, Gpt2 };
enum class HeadKind { Base, MaskedLM, CausalLM, SequenceClassification };

std::string family_name(Family family);  // "bert", "distilbert", "gpt2"
std::string head_kind_name(HeadKind head);

struct ModelConfig {
  std::string model_type;    // as written in config.json
  std::string architecture;  // first entry of "architectures", or "" when absent
  Family family = Family::Bert;
  HeadKind head = HeadKind::Base;

  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;   // 0 when the family has no token types
  float layer_norm_eps = 1e-12f;
  std::string activation;    // "gelu", "gelu_new", "relu", ...
  std::vector<std::string> labels;  // id2label in id order (classifiers)

  int head_dim() const { return num_heads ? hidden_size / num_heads : 0; }

  // Parses a config.json object; `source` names the file in error messages. Throws
  // attn::Error for an unknown model_type, missing required keys or inconsistent sizes.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  // Reads DIR/config.json.
  static ModelConfig load(const std::filesystem::path& model_dir);
};

}  // namespace attn
