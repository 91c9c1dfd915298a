// tokenizer.json (the Hugging Face tokenizers library's format) -> WordPiece or byte-level BPE.
#include <limits>

#include "io/json_fields.h"
#include "tokenize/bpe.h"
#include "tokenize/tokenizer_files.h"
#include "tokenize/wordpiece.h"
#include "util/error.h"

namespace attn::tokenizer_files {
namespace {

// BertNormalizer options; no normalizer at all means none of its steps.
void read_bert_normalizer(const json& root, const fs::path& file, WordPieceConfig& config) {
  const json* normalizer = member(root, "normalizer");
  const std::string ntype = type_of(normalizer);
  if (ntype == "BertNormalizer") {
    config.lowercase = get_bool(*normalizer, "lowercase", file, "normalizer.").value_or(true);
    config.strip_accents = get_bool(*normalizer, "strip_accents", file, "normalizer.");
    config.clean_text = get_bool(*normalizer, "clean_text", file, "normalizer.").value_or(true);
    config.handle_chinese_chars =
        get_bool(*normalizer, "handle_chinese_chars", file, "normalizer.").value_or(true);
  } else if (!normalizer) {
    config.lowercase = false;
    config.clean_text = false;
    config.handle_chinese_chars = false;
  } else {
    bad_key(file, "normalizer.type",
            "is '" + ntype + "'; only BertNormalizer is supported for WordPiece");
  }
}

// The post-processor adds [CLS] $A [SEP] ($B [SEP]); take the token names from it.
void read_bert_post_processor(const json& root, const fs::path& file, WordPieceConfig& config) {
  const json* post = member(root, "post_processor");
  const std::string post_type = type_of(post);
  config.add_special_tokens = post != nullptr;
  if (post_type == "BertProcessing") {
    const json* cls = member(*post, "cls");
    const json* sep = member(*post, "sep");
    if (!cls || !cls->is_array() || cls->empty() || !(*cls)[0].is_string() || !sep ||
        !sep->is_array() || sep->empty() || !(*sep)[0].is_string()) {
      bad_key(file, "post_processor", "must have \"cls\" and \"sep\" as [token, id]");
    }
    config.cls_token = (*cls)[0].get<std::string>();
    config.sep_token = (*sep)[0].get<std::string>();
  } else if (post_type == "TemplateProcessing") {
    const json* single = member(*post, "single");
    std::vector<std::string> specials;
    bool has_a = false;
    if (single && single->is_array()) {
      for (const json& item : *single) {
        if (const json* s = member(item, "SpecialToken")) {
          if (const json* id = member(*s, "id"); id && id->is_string())
            specials.push_back(id->get<std::string>());
        } else if (member(item, "Sequence")) {
          has_a = true;
        }
      }
    }
    if (specials.size() != 2 || !has_a) {
      bad_key(file, "post_processor.single", "must be the BERT template [CLS] $A [SEP]");
    }
    config.cls_token = specials[0];
    config.sep_token = specials[1];
  } else if (post) {
    bad_key(file, "post_processor.type",
            "is '" + post_type + "'; expected BertProcessing or TemplateProcessing");
  }
}

std::unique_ptr<Tokenizer> load_wordpiece_json(const json& root, const json& model,
                                               const fs::path& file, const ConfigTokens& c,
                                               const TokenizerOptions& options) {
  WordPieceConfig config;
  config.source = file.string();
  config.vocab = vocab_by_id(parse_vocab_object(member(model, "vocab"), file, "model.vocab"));
  if (const json* v = member(model, "unk_token"); v && v->is_string())
    config.unk_token = v->get<std::string>();
  if (const json* v = member(model, "continuing_subword_prefix"); v && v->is_string())
    config.continuing_prefix = v->get<std::string>();
  if (const json* v = member(model, "max_input_chars_per_word")) {
    const auto count = json_int(*v, 0, std::numeric_limits<int32_t>::max());
    if (!count) bad_key(file, "model.max_input_chars_per_word", "must be a count");
    config.max_input_chars_per_word = size_t(*count);
  }

  read_bert_normalizer(root, file, config);
  if (options.do_lower_case) config.lowercase = *options.do_lower_case;

  const std::string ptype = type_of(member(root, "pre_tokenizer"));
  if (ptype != "BertPreTokenizer") {
    bad_key(file, "pre_tokenizer.type",
            "is '" + ptype + "'; only BertPreTokenizer is supported for WordPiece");
  }

  read_bert_post_processor(root, file, config);

  const json* decoder = member(root, "decoder");
  if (type_of(decoder) == "WordPiece") {
    config.decode_cleanup = get_bool(*decoder, "cleanup", file, "decoder.").value_or(true);
  }
  config.mask_token = c.mask;
  config.added_tokens = parse_added_tokens_array(root, file);
  return std::make_unique<WordPieceTokenizer>(std::move(config));
}

std::unique_ptr<Tokenizer> load_bpe_json(const json& root, const json& model, const fs::path& file,
                                         const ConfigTokens& c) {
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* v = member(model, key); v && !(v->is_string() && v->get<std::string>().empty()))
      bad_key(file, std::string("model.") + key,
              "is set; only GPT-2 style byte-level BPE is supported");
  }
  if (get_bool(model, "byte_fallback", file, "model.").value_or(false)) {
    bad_key(file, "model.byte_fallback", "is true; only GPT-2 style byte-level BPE is supported");
  }
  if (member(root, "normalizer")) {
    bad_key(file, "normalizer", "is set; byte-level BPE with a normalizer is not supported");
  }
  const json* pre = member(root, "pre_tokenizer");
  if (type_of(pre) != "ByteLevel" ||
      !get_bool(*pre, "use_regex", file, "pre_tokenizer.").value_or(true)) {
    bad_key(file, "pre_tokenizer",
            "must be ByteLevel with the GPT-2 regex (got '" + type_of(pre) + "')");
  }

  BpeConfig config;
  config.source = file.string();
  config.merges_source = file.string();
  config.vocab = parse_vocab_object(member(model, "vocab"), file, "model.vocab");
  config.add_prefix_space =
      get_bool(*pre, "add_prefix_space", file, "pre_tokenizer.").value_or(false);
  const json* merges = member(model, "merges");
  if (!merges || !merges->is_array()) bad_key(file, "model.merges", "must be an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    const std::string key = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {  // "a b"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        bad_key(file, key, "must be two symbols separated by one space, got '" + s + "'");
      config.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // [a, b]
      config.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      bad_key(file, key, "must be \"a b\" or [\"a\", \"b\"]");
    }
  }
  config.added_tokens = parse_added_tokens_array(root, file);
  if (c.bpe_mask) config.mask_token = *c.bpe_mask;
  if (c.bpe_bos) config.bos_token = *c.bpe_bos;
  return std::make_unique<ByteLevelBpeTokenizer>(std::move(config));
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const fs::path& dir,
                                               const TokenizerOptions& options) {
  const fs::path file = dir / "tokenizer.json";
  const ConfigTokens c = read_tokenizer_config(dir);
  const json root = read_json(file);
  const json* model = member(root, "model");
  if (!model || !model->is_object()) bad_key(file, "model", "is missing or not an object");
  std::string type = type_of(model);
  if (type.empty()) type = member(*model, "merges") ? "BPE" : "WordPiece";  // old files
  try {
    if (type == "WordPiece") return load_wordpiece_json(root, *model, file, c, options);
    if (type == "BPE") return load_bpe_json(root, *model, file, c);
  } catch (const json::exception& e) {  // a value of an unexpected type
    throw Error(file.string() + ": unexpected value (" + e.what() + ")");
  }
  bad_key(file, "model.type", "is '" + type + "'; supported are WordPiece and BPE");
}

}  // namespace attn::tokenizer_files
