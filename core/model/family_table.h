#pragma once
// The model families AttnScope runs: one row per config.json model_type. A family is one
// file in core/nn/ (its config keys, weights and forward pass, ending in the row it defines)
// plus one line in family_table.cpp. Everything that needs to know about families — loading,
// recordings, the command line, the window — asks this table, never config.json itself.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

class JsonFields;
class Model;
class WeightStore;
struct ModelConfig;

struct FamilySpec {
  const char* model_type;  // config.json "model_type"
  const char* family;      // the name shown and recorded ("bert", "gpt2", "vit", ...)
  // Reads the family's own keys of config.json into `c` (model_type, architecture, head
  // and labels are read already). Throws attn::Error through `fields`.
  void (*read_config)(const JsonFields& fields, ModelConfig& c);
  // Binds and shape-checks every weight the family needs; the store must outlive the model.
  std::unique_ptr<Model> (*make)(const ModelConfig& c, WeightStore& weights);
  bool causal;             // each token sees only the tokens before it
  bool vision;             // takes a picture (preprocessor_config.json) instead of text
  int prefix_tokens;       // vision: tokens before the patches ([CLS], [DIST])
  const char* tokenizer;   // the tokenizer files it reads, for messages and help
  bool encoder_decoder = false;  // an encoder and a decoder with cross-attention (BART, Marian, T5)
};

// Every row, in the order help and messages list them.
const std::vector<const FamilySpec*>& family_table();
// The row of `model_type`, or null.
const FamilySpec* find_family(std::string_view model_type);
// "bert, distilbert, gpt2, vit and deit".
std::string supported_model_types();

}  // namespace attn
