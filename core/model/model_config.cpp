#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/json_file.h"
#include "model/family_table.h"
#include "util/error.h"

namespace attn {

namespace {

HeadKind head_from_architecture(const std::string& arch) {
  if (arch.ends_with("ForImageClassification") || arch.ends_with("ForImageClassificationWithTeacher"))
    return HeadKind::ImageClassification;
  if (arch.ends_with("ForMaskedLM") || arch.ends_with("ForPreTraining")) return HeadKind::MaskedLM;
  if (arch.ends_with("ForSequenceClassification")) return HeadKind::SequenceClassification;
  if (arch.ends_with("LMHeadModel") || arch.ends_with("ForCausalLM")) return HeadKind::CausalLM;
  return HeadKind::Base;
}

}  // namespace

bool ModelConfig::is_vision() const { return spec && spec->vision; }
bool ModelConfig::is_causal() const { return spec && spec->causal; }
int ModelConfig::num_prefix_tokens() const { return spec ? spec->prefix_tokens : 0; }

std::string head_kind_name(HeadKind head) {
  switch (head) {
    case HeadKind::Base: return "base";
    case HeadKind::MaskedLM: return "masked-lm";
    case HeadKind::CausalLM: return "causal-lm";
    case HeadKind::SequenceClassification: return "classification";
    case HeadKind::ImageClassification: return "image-classification";
  }
  return "?";
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  const JsonFields r(j, source);
  ModelConfig c;
  c.model_type = r.optional_string("model_type", "");
  if (c.model_type.empty()) r.fail("missing required key 'model_type'");
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    c.architecture = j["architectures"][0].get<std::string>();

  c.spec = find_family(c.model_type);
  if (!c.spec) r.fail("unknown model_type '" + c.model_type + "': AttnScope supports " + supported_model_types());
  c.family = c.spec->family;
  c.head = head_from_architecture(c.architecture);
  c.spec->read_config(r, c);
  if (!c.is_vision() && c.vocab_size == 0) c.vocab_size = r.required_int({"vocab_size"});
  if (c.explicit_head_dim == 0 && c.hidden_size % c.num_heads != 0)
    r.fail("hidden size " + std::to_string(c.hidden_size) + " is not divisible by the number of heads " + std::to_string(c.num_heads));

  if (j.contains("id2label") && j["id2label"].is_object()) {
    const auto& m = j["id2label"];
    c.labels.resize(m.size());
    for (auto it = m.begin(); it != m.end(); ++it) {
      size_t id = 0;
      try {
        id = std::stoul(it.key());
      } catch (const std::exception&) {
        r.fail("id2label key '" + it.key() + "' is not an integer");
      }
      if (id >= c.labels.size() || !it.value().is_string()) r.fail("id2label is not a dense map from 0..n-1 to strings");
      c.labels[id] = it.value().get<std::string>();
    }
  }
  if ((c.head == HeadKind::SequenceClassification || c.head == HeadKind::ImageClassification) && c.labels.empty()) {
    const int n = r.optional_int("num_labels", 2, 0, 1 << 20);
    for (int i = 0; i < n; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  }
  return c;
}

ModelConfig ModelConfig::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(model_dir, ec)) throw Error(model_dir.string() + ": no such model folder");
  if (!std::filesystem::is_directory(model_dir, ec))
    throw Error(model_dir.string() + ": is a file; a model is a folder with config.json, model.safetensors and tokenizer files");
  const auto path = model_dir / "config.json";
  if (!std::filesystem::exists(path, ec)) {
    if (ec == std::errc::permission_denied)
      throw Error(model_dir.string() + ": permission denied: the folder cannot be read (check its permissions)");
    throw Error(path.string() + ": no such file (is " + model_dir.string() + " a Hugging Face model folder?)");
  }
  return from_json(read_json_file(path), path.string());
}

const FamilySpec* ModelConfig::peek_family(const std::filesystem::path& model_dir) {
  try {
    const auto j = read_json_file(model_dir / "config.json");
    if (j.is_object() && j.contains("model_type") && j["model_type"].is_string())
      return find_family(j["model_type"].get<std::string>());
  } catch (const Error&) {
  }
  return nullptr;
}

}  // namespace attn
