#pragma once
// The parts of a Hugging Face config.json that AttnScope's model families use, normalised
// across families (BERT's hidden_size, DistilBERT's dim and GPT-2's n_embd are all
// `hidden_size` here). Vision families (ViT, DeiT) have no vocabulary: vocab_size is 0 and
// the image_* / patch_size fields describe their input instead.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn {

enum class Family { Bert, DistilBert, Gpt2, Vit, Deit };
enum class HeadKind { Base, MaskedLM, CausalLM, SequenceClassification, ImageClassification };

std::string family_name(Family family);  // "bert", "distilbert", "gpt2", "vit", "deit"
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

  // Vision families: the training resolution, square patches, and whether query/key/value
  // have biases. max_positions counts the special tokens plus the training patch grid.
  int image_height = 0, image_width = 0;
  int patch_size = 0;
  int num_channels = 0;
  bool qkv_bias = true;

  int head_dim() const { return num_heads ? hidden_size / num_heads : 0; }
  bool is_vision() const { return family == Family::Vit || family == Family::Deit; }
  // Tokens before the patches: [CLS] (ViT), [CLS] [DIST] (DeiT); 0 for text models.
  int num_prefix_tokens() const { return family == Family::Vit ? 1 : family == Family::Deit ? 2 : 0; }

  // Parses a config.json object; `source` names the file in error messages. Throws
  // attn::Error for an unknown model_type, missing required keys or inconsistent sizes.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  // Reads DIR/config.json.
  static ModelConfig load(const std::filesystem::path& model_dir);
};

}  // namespace attn
