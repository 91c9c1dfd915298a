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

struct FamilySpec;  // model/family_table.h

enum class HeadKind { Base, MaskedLM, CausalLM, SequenceClassification, ImageClassification };

std::string head_kind_name(HeadKind head);

struct ModelConfig {
  std::string model_type;    // as written in config.json
  std::string architecture;  // first entry of "architectures", or "" when absent
  std::string family;        // the family table's name for it ("bert", "gpt2", ...)
  const FamilySpec* spec = nullptr;  // its row of the family table
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
  bool is_vision() const;
  bool is_causal() const;
  // Tokens before the patches: [CLS] (ViT), [CLS] [DIST] (DeiT); 0 for text models.
  int num_prefix_tokens() const;

  // Parses a config.json object: the keys every family shares here, the family's own through
  // its row of the family table. `source` names the file in error messages. Throws
  // attn::Error for an unknown model_type, missing required keys or inconsistent sizes.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  // Reads DIR/config.json.
  static ModelConfig load(const std::filesystem::path& model_dir);
  // The family row of DIR/config.json's model_type, without checking anything else; null when
  // the file is missing, unreadable or names no known family. For choosing how to show a
  // folder before loading it.
  static const FamilySpec* peek_family(const std::filesystem::path& model_dir);
};

}  // namespace attn
