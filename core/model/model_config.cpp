#include "model/model_config.h"

#include <cmath>

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

// An id or a list of ids (forced_eos_token_id, suppress_tokens), each in [0, 2^30].
std::vector<int> read_id_list(const JsonFields& r, const char* key) {
  std::vector<int> ids;
  if (!r.has(key)) return ids;
  const nlohmann::json& v = r.json()[key];
  if (!v.is_array()) return {r.int_in(v, key, 0, 1 << 30)};
  for (size_t i = 0; i < v.size(); ++i) ids.push_back(r.int_in(v[i], std::string(key) + "[" + std::to_string(i) + "]", 0, 1 << 30));
  return ids;
}

// The logits processors' keys (of generation_config.json, or of config.json without one).
LogitsRules read_logits_rules(const JsonFields& r) {
  LogitsRules rules;
  rules.repetition_penalty = r.optional_number("repetition_penalty", 1.0);
  if (!(rules.repetition_penalty > 0) || !std::isfinite(rules.repetition_penalty)) r.fail("repetition_penalty must be a positive number");
  rules.no_repeat_ngram_size = r.optional_int("no_repeat_ngram_size", 0, 0, 1 << 20);
  if (r.has("bad_words_ids")) {
    const nlohmann::json& v = r.json()["bad_words_ids"];
    if (!v.is_array()) r.fail("bad_words_ids must be a list of lists of token ids");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_array() || v[i].empty()) r.fail("bad_words_ids[" + std::to_string(i) + "] must be a non-empty list of token ids");
      std::vector<int> word;
      for (size_t k = 0; k < v[i].size(); ++k)
        word.push_back(r.int_in(v[i][k], "bad_words_ids[" + std::to_string(i) + "][" + std::to_string(k) + "]", 0, 1 << 30));
      rules.bad_words_ids.push_back(std::move(word));
    }
  }
  rules.min_length = r.optional_int("min_length", 0, 0, 1 << 30);
  rules.min_new_tokens = r.optional_int("min_new_tokens", 0, 0, 1 << 30);
  if (r.has("forced_bos_token_id")) rules.forced_bos_token_id = r.optional_int("forced_bos_token_id", -1, 0, 1 << 30);
  rules.forced_eos_token_ids = read_id_list(r, "forced_eos_token_id");
  rules.suppress_tokens = read_id_list(r, "suppress_tokens");
  rules.begin_suppress_tokens = read_id_list(r, "begin_suppress_tokens");
  return rules;
}

// generation_config.json: the stop ids, sampling defaults and logits processors (it replaces
// config.json's generation keys, as in Hugging Face).
void read_generation_config(const nlohmann::json& j, const std::string& source, ModelConfig& c) {
  const JsonFields r(j, source);
  if (!j.is_object()) r.fail("expected a JSON object");
  if (j.contains("eos_token_id")) c.eos_token_ids = read_eos_ids(r);
  GenerationDefaults& g = c.generation;
  g.rules = read_logits_rules(r);
  g.do_sample = r.optional_bool("do_sample", false);
  if (r.has("temperature")) g.temperature = r.optional_number("temperature", 1.0);
  if (r.has("top_k")) g.top_k = r.optional_int("top_k", 50, 0, 1 << 30);
  if (r.has("top_p")) g.top_p = r.optional_number("top_p", 1.0);
  if (r.has("max_new_tokens")) g.max_new_tokens = r.optional_int("max_new_tokens", 0, 0, 1 << 30);
  if (!(g.temperature > 0)) r.fail("temperature must be positive");
  if (!(g.top_p > 0 && g.top_p <= 1)) r.fail("top_p must be in (0, 1]");
}

}  // namespace

bool LogitsRules::any() const {
  return repetition_penalty != 1.0 || no_repeat_ngram_size > 0 || !bad_words_ids.empty() || min_length > 0 || min_new_tokens > 0 ||
         forced_bos_token_id >= 0 || !forced_eos_token_ids.empty() || !suppress_tokens.empty() || !begin_suppress_tokens.empty();
}

std::string LogitsRules::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (repetition_penalty != 1.0) j["repetition_penalty"] = repetition_penalty;
  if (no_repeat_ngram_size > 0) j["no_repeat_ngram_size"] = no_repeat_ngram_size;
  if (!bad_words_ids.empty()) j["bad_words_ids"] = bad_words_ids;
  if (min_length > 0) j["min_length"] = min_length;
  if (min_new_tokens > 0) j["min_new_tokens"] = min_new_tokens;
  if (forced_bos_token_id >= 0) j["forced_bos_token_id"] = forced_bos_token_id;
  if (!forced_eos_token_ids.empty()) j["forced_eos_token_id"] = forced_eos_token_ids;
  if (!suppress_tokens.empty()) j["suppress_tokens"] = suppress_tokens;
  if (!begin_suppress_tokens.empty()) j["begin_suppress_tokens"] = begin_suppress_tokens;
  return j.dump();
}

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
    c.generation.rules = read_logits_rules(r);  // older checkpoints keep them in config.json (BART, Marian)
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
