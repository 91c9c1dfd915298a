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
  if (arch.ends_with("ForConditionalGeneration") || arch == "MarianMTModel") return HeadKind::Seq2SeqLM;
  return HeadKind::Base;
}

// eos_token_id: one id, a list of them, or null (none). Fails naming the key otherwise.
std::vector<int> read_eos_ids(const JsonFields& r) {
  std::vector<int> ids;
  if (!r.json().contains("eos_token_id") || r.json()["eos_token_id"].is_null()) return ids;
  const nlohmann::json& v = r.json()["eos_token_id"];
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) ids.push_back(r.int_in(v[i], "eos_token_id[" + std::to_string(i) + "]", 0, 1 << 30));
  } else {
    ids.push_back(r.int_in(v, "eos_token_id", 0, 1 << 30));
  }
  return ids;
}

// generation_config.json: the stop ids and sampling defaults (others, e.g. repetition
// penalties, are not applied).
void read_generation_config(const nlohmann::json& j, const std::string& source, ModelConfig& c) {
  const JsonFields r(j, source);
  if (!j.is_object()) r.fail("expected a JSON object");
  if (j.contains("eos_token_id")) c.eos_token_ids = read_eos_ids(r);
  GenerationDefaults& g = c.generation;
  g.do_sample = r.optional_bool("do_sample", false);
  if (r.has("temperature")) g.temperature = r.optional_number("temperature", 1.0);
  if (r.has("top_k")) g.top_k = r.optional_int("top_k", 50, 0, 1 << 30);
  if (r.has("top_p")) g.top_p = r.optional_number("top_p", 1.0);
  if (r.has("max_new_tokens")) g.max_new_tokens = r.optional_int("max_new_tokens", 0, 0, 1 << 30);
  if (!(g.temperature > 0)) r.fail("temperature must be positive");
  if (!(g.top_p > 0 && g.top_p <= 1)) r.fail("top_p must be in (0, 1]");
}

}  // namespace

bool ModelConfig::is_vision() const { return spec && spec->vision; }
bool ModelConfig::is_causal() const { return spec && spec->causal; }
bool ModelConfig::is_encoder_decoder() const { return spec && spec->encoder_decoder; }
int ModelConfig::num_prefix_tokens() const { return spec ? spec->prefix_tokens : 0; }

std::string head_kind_name(HeadKind head) {
  switch (head) {
    case HeadKind::Base: return "base";
    case HeadKind::MaskedLM: return "masked-lm";
    case HeadKind::CausalLM: return "causal-lm";
    case HeadKind::SequenceClassification: return "classification";
    case HeadKind::ImageClassification: return "image-classification";
    case HeadKind::Seq2SeqLM: return "translation";
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
  // *ForConditionalGeneration of a decoder (Gemma 3's multimodal checkpoint) is a causal LM.
  if (c.head == HeadKind::Seq2SeqLM && !c.spec->encoder_decoder) c.head = HeadKind::CausalLM;
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
  if (!c.is_vision()) {
    c.eos_token_ids = read_eos_ids(r);
    if (c.eos_token_ids.empty() && j.contains("text_config") && j["text_config"].is_object())  // gemma3
      c.eos_token_ids = read_eos_ids(JsonFields(j["text_config"], source + " text_config"));
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
  ModelConfig c = from_json(read_json_file(path), path.string());
  if (const auto gen = model_dir / "generation_config.json"; std::filesystem::exists(gen, ec))
    read_generation_config(read_json_file(gen), gen.string(), c);
  return c;
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
