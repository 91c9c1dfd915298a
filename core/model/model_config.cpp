#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "io/json_file.h"
#include "util/error.h"

namespace attn {

namespace {

using Reader = JsonFields;

HeadKind head_from_architecture(Family family, const std::string& arch) {
  if (arch.ends_with("ForImageClassification") || arch.ends_with("ForImageClassificationWithTeacher"))
    return HeadKind::ImageClassification;
  if (arch.ends_with("ForMaskedLM") || arch.ends_with("ForPreTraining")) return HeadKind::MaskedLM;
  if (arch.ends_with("ForSequenceClassification")) return HeadKind::SequenceClassification;
  if (arch.ends_with("LMHeadModel") || arch.ends_with("ForCausalLM")) return HeadKind::CausalLM;
  // GPT-2's output embedding is tied to its input embedding, so even a bare GPT2Model can
  // predict the next token.
  return family == Family::Gpt2 ? HeadKind::CausalLM : HeadKind::Base;
}

// A positive integer or a [height, width] pair (ViTConfig's image_size / patch_size).
void read_pair(const Reader& r, const char* key, int fallback, int& height, int& width) {
  if (!r.has(key)) {
    height = width = fallback;
    return;
  }
  const auto& v = r.json()[key];
  const auto side = [](const nlohmann::json& x) { return json_int(x, 1, 65536); };
  if (const auto s = side(v)) {
    height = width = int(*s);
  } else if (v.is_array() && v.size() == 2 && side(v[0]) && side(v[1])) {
    height = int(*side(v[0])), width = int(*side(v[1]));
  } else {
    r.fail(std::string("key '") + key + "' must be a positive integer or [height, width]");
  }
}

// ViTConfig / DeiTConfig (their defaults are those of ViT-Base/16 at 224 pixels).
void read_vision(const Reader& r, ModelConfig& c) {
  c.family = c.model_type == "vit" ? Family::Vit : Family::Deit;
  c.hidden_size = r.required_int({"hidden_size"});
  c.num_layers = r.required_int({"num_hidden_layers"});
  c.num_heads = r.required_int({"num_attention_heads"});
  c.intermediate_size = r.required_int({"intermediate_size"});
  c.layer_norm_eps = r.optional_float("layer_norm_eps", 1e-12f);
  c.activation = r.optional_string("hidden_act", "gelu");
  read_pair(r, "image_size", 224, c.image_height, c.image_width);
  int patch_h = 0, patch_w = 0;
  read_pair(r, "patch_size", 16, patch_h, patch_w);
  if (patch_h != patch_w) r.fail("patch_size must be square (got " + std::to_string(patch_h) + "x" + std::to_string(patch_w) + ")");
  c.patch_size = patch_h;
  if (c.image_height < c.patch_size || c.image_width < c.patch_size)
    r.fail("image_size is smaller than patch_size " + std::to_string(c.patch_size));
  c.num_channels = r.optional_int("num_channels", 3);
  if (c.num_channels != 3) r.fail("num_channels " + std::to_string(c.num_channels) + " is not supported (only RGB, 3)");
  c.qkv_bias = r.optional_bool("qkv_bias", c.qkv_bias);
  c.max_positions = c.num_prefix_tokens() + (c.image_height / c.patch_size) * (c.image_width / c.patch_size);
  c.vocab_size = 0;
}

}  // namespace

std::string family_name(Family family) {
  switch (family) {
    case Family::Bert: return "bert";
    case Family::DistilBert: return "distilbert";
    case Family::Gpt2: return "gpt2";
    case Family::Vit: return "vit";
    case Family::Deit: return "deit";
  }
  return "?";
}

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
  const Reader r(j, source);
  ModelConfig c;
  c.model_type = r.optional_string("model_type", "");
  if (c.model_type.empty()) r.fail("missing required key 'model_type'");
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    c.architecture = j["architectures"][0].get<std::string>();

  if (c.model_type == "bert") {
    c.family = Family::Bert;
    c.hidden_size = r.required_int({"hidden_size"});
    c.num_layers = r.required_int({"num_hidden_layers"});
    c.num_heads = r.required_int({"num_attention_heads"});
    c.intermediate_size = r.required_int({"intermediate_size"});
    c.max_positions = r.required_int({"max_position_embeddings"});
    c.type_vocab_size = r.optional_int("type_vocab_size", 2, 0, 1 << 20);
    c.layer_norm_eps = r.optional_float("layer_norm_eps", 1e-12f);
    c.activation = r.optional_string("hidden_act", "gelu");
    const auto pos = r.optional_string("position_embedding_type", "absolute");
    if (pos != "absolute") r.fail("position_embedding_type '" + pos + "' is not supported (only 'absolute')");
  } else if (c.model_type == "distilbert") {
    c.family = Family::DistilBert;
    c.hidden_size = r.required_int({"dim", "hidden_size"});
    c.num_layers = r.required_int({"n_layers", "num_hidden_layers"});
    c.num_heads = r.required_int({"n_heads", "num_attention_heads"});
    c.intermediate_size = r.required_int({"hidden_dim", "intermediate_size"});
    c.max_positions = r.required_int({"max_position_embeddings"});
    c.layer_norm_eps = 1e-12f;  // fixed in DistilBERT's implementation
    c.activation = r.optional_string("activation", "gelu");
  } else if (c.model_type == "gpt2") {
    c.family = Family::Gpt2;
    c.hidden_size = r.required_int({"n_embd", "hidden_size"});
    c.num_layers = r.required_int({"n_layer", "num_hidden_layers"});
    c.num_heads = r.required_int({"n_head", "num_attention_heads"});
    c.intermediate_size = r.optional_int("n_inner", 0);
    if (c.intermediate_size == 0) c.intermediate_size = 4 * c.hidden_size;
    c.max_positions = r.required_int({"n_positions", "n_ctx", "max_position_embeddings"});
    c.layer_norm_eps = r.optional_float("layer_norm_epsilon", 1e-5f);
    c.activation = r.optional_string("activation_function", "gelu_new");
    if (j.contains("scale_attn_weights") && j["scale_attn_weights"].is_boolean() && !j["scale_attn_weights"].get<bool>())
      r.fail("scale_attn_weights = false is not supported");
  } else if (c.model_type == "vit" || c.model_type == "deit") {
    read_vision(r, c);
  } else {
    r.fail("unknown model_type '" + c.model_type + "': AttnScope supports bert, distilbert, gpt2, vit and deit");
  }
  if (!c.is_vision()) c.vocab_size = r.required_int({"vocab_size"});
  if (c.hidden_size % c.num_heads != 0)
    r.fail("hidden size " + std::to_string(c.hidden_size) + " is not divisible by the number of heads " + std::to_string(c.num_heads));
  c.head = head_from_architecture(c.family, c.architecture);

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

}  // namespace attn
