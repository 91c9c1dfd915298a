// tokenizer.json (the Hugging Face tokenizers library's format) -> WordPiece, or a pipeline
// of components (pipeline_tokenizer.h) around a BPE, Unigram or WordLevel model.
#include <limits>

#include "io/json_fields.h"
#include <functional>

#include "tokenize/bpe_model.h"
#include "tokenize/json_node.h"
#include "tokenize/pipeline_tokenizer.h"
#include "tokenize/tokenizer_files.h"
#include "tokenize/tokenizer_json_reader.h"
#include "tokenize/unigram_model.h"
#include "tokenize/word_level_model.h"
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

// "a b" or ["a", "b"] merges of a document that was not read the fast way.
std::vector<std::pair<std::string, std::string>> parse_merges(const json& model, const fs::path& file) {
  std::vector<std::pair<std::string, std::string>> out;
  const json* merges = member(model, "merges");
  if (!merges) return out;
  if (!merges->is_array()) bad_key(file, "model.merges", "must be an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    const std::string key = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {  // "a b"
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        bad_key(file, key, "must be two symbols separated by one space, got '" + s + "'");
      out.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      bad_key(file, key, "must be \"a b\" or [\"a\", \"b\"]");
    }
  }
  return out;
}

std::unique_ptr<BpeModel> read_bpe_model(TokenizerJson& tj, const JsonNode& m) {
  const fs::path& file = m.file();
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const auto v = m.optional_string(key); v && !v->empty())
      m.fail("is '" + *v + "'; only BPE without subword prefixes or suffixes is supported", key);
  }
  if (const auto d = m.find("dropout"); d && !(d->value().is_number() && d->value().get<double>() == 0.0))
    d->fail("is set; BPE dropout is for training, and AttnScope encodes deterministically");
  BpeModelConfig config;
  config.file = file.string();
  if (tj.fast) {
    if (!tj.has_vocab) m.fail("is missing", "vocab");
    config.vocab = std::move(tj.vocab);
    config.merges = std::move(tj.merges);
  } else {
    config.vocab = parse_vocab_object(member(m.value(), "vocab"), file, "model.vocab");
    config.merges = parse_merges(m.value(), file);
  }
  config.unk_token = m.optional_string("unk_token");
  config.fuse_unk = m.flag("fuse_unk", false);
  config.byte_fallback = m.flag("byte_fallback", false);
  config.ignore_merges = m.flag("ignore_merges", false);
  return std::make_unique<BpeModel>(std::move(config));
}

// {"type": "Unigram", "unk_id": N, "vocab": [[piece, score], ...], "byte_fallback": bool}
std::unique_ptr<TokenModel> read_unigram_model(const TokenizerJson& tj, const JsonNode& m) {
  UnigramModelConfig config;
  config.file = m.file().string();
  if (tj.has_vocab) m.fail("must be an array of [piece, score] pairs, not an object", "vocab");
  const JsonNode vocab = m.at("vocab");
  if (!vocab.value().is_array()) vocab.fail("must be an array of [piece, score] pairs");
  config.vocab.reserve(vocab.value().size());
  for (size_t i = 0; i < vocab.value().size(); ++i) {
    const json& entry = vocab.value()[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      vocab.fail("must be a [piece, score] pair (a string and a number), got " + entry.dump().substr(0, 60),
                 "[" + std::to_string(i) + "]");
    config.vocab.emplace_back(entry[0].get<std::string>(), entry[1].get<double>());
  }
  if (const auto u = m.find("unk_id")) {
    const json& v = u->value();
    if (!v.is_number_integer()) u->fail("must be an integer id or null");
    // An id beyond every vocabulary; UnigramModel names the range it must be in.
    config.unk_id = v.is_number_unsigned() ? int64_t(std::min<uint64_t>(v.get<uint64_t>(), uint64_t(kMaxTokenId) + 1))
                                           : v.get<int64_t>();
  }
  config.byte_fallback = m.flag("byte_fallback", false);
  return std::make_unique<UnigramModel>(std::move(config));
}

// {"type": "WordLevel", "vocab": {"word": id, ...}, "unk_token": "..."}
std::unique_ptr<TokenModel> read_word_level_model(TokenizerJson& tj, const JsonNode& m) {
  WordLevelModelConfig config;
  config.file = m.file().string();
  if (tj.fast) {
    if (!tj.has_vocab) m.fail("is missing or not an object mapping words to ids", "vocab");
    config.vocab = std::move(tj.vocab);
    if (config.vocab.empty()) m.fail("is empty", "vocab");
  } else {
    config.vocab = parse_vocab_object(member(m.value(), "vocab"), m.file(), "model.vocab");
  }
  if (const auto unk = m.optional_string("unk_token")) config.unk_token = *unk;
  return std::make_unique<WordLevelModel>(std::move(config));
}

// transformers' LlamaTokenizerFast and GemmaTokenizerFast rebuild the post-processor from
// add_bos_token (default true) and add_eos_token (default false): "<s> $A </s>".
std::unique_ptr<PostProcessor> llama_style_template(const ConfigTokens& c, const fs::path& dir,
                                                    const std::function<std::optional<int32_t>(const std::string&)>& find) {
  const fs::path file = dir / "tokenizer_config.json";
  const auto part = [&](bool add, const std::optional<std::string>& name, const char* key,
                        int32_t type_id) -> std::vector<TemplatePart> {
    if (!add) return {};
    if (!name) bad_key(file, key, "is true, but its token is not named");
    const auto id = find(*name);
    if (!id) bad_key(file, key, "is true, but '" + *name + "' is not in the vocabulary");
    return {TemplatePart{false, 0, {*id}, {*name}, type_id}};
  };
  const bool bos = c.add_bos_token.value_or(true), eos = c.add_eos_token.value_or(false);
  std::vector<TemplatePart> single, pair;
  for (int s = 0; s < 2; ++s) {
    auto& list = s == 0 ? single : pair;
    for (int k = 0; k <= s; ++k) {
      for (auto& p : part(bos, c.bos, "add_bos_token", k)) list.push_back(p);
      list.push_back(TemplatePart{true, k, {}, {}, k});
      for (auto& p : part(eos, c.eos, "add_eos_token", k)) list.push_back(p);
    }
  }
  return make_template(std::move(single), std::move(pair));
}

bool is_llama_style_class(const std::string& name) {
  for (const char* prefix : {"LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer"})
    if (name == prefix || name == std::string(prefix) + "Fast") return true;
  return false;
}

std::unique_ptr<Tokenizer> load_pipeline_json(TokenizerJson& tj, const std::string& type,
                                              const fs::path& dir, const fs::path& file,
                                              const ConfigTokens& c) {
  const JsonNode top(tj.root, file, "");
  PipelineParts parts;
  parts.source = file.string();
  const JsonNode model = top.at("model");
  if (type == "Unigram") {
    parts.model = read_unigram_model(tj, model);
  } else if (type == "WordLevel") {
    parts.model = read_word_level_model(tj, model);
  } else {
    parts.model = read_bpe_model(tj, model);
  }
  if (const auto n = top.find("normalizer")) parts.normalizer = parse_normalizer(*n);
  if (const auto n = top.find("pre_tokenizer")) parts.pre_tokenizer = parse_pre_tokenizer(*n);
  if (const auto n = top.find("decoder")) parts.decoder = parse_decoder(*n);
  parts.added_tokens = parse_added_tokens_array(tj.root, file);
  const auto find = [&](const std::string& name) -> std::optional<int32_t> {
    for (const AddedToken& t : parts.added_tokens)
      if (t.content == name) return t.id;
    return parts.model->token_to_id(name);
  };
  if (is_llama_style_class(c.tokenizer_class)) {
    parts.post_processor = llama_style_template(c, dir, find);
  } else if (const auto n = top.find("post_processor")) {
    parts.post_processor = parse_post_processor(*n);
  }
  // GPT2Tokenizer's add_bos_token: a bos_token before each text, when the post-processor
  // adds nothing itself.
  if (c.bpe_bos && !is_llama_style_class(c.tokenizer_class) &&
      (!parts.post_processor || parts.post_processor->special_ids().empty())) {
    const auto id = find(*c.bpe_bos);
    if (!id)
      throw Error(file.string() + ": the bos_token '" + *c.bpe_bos +
                  "' to add before the text is not in the vocabulary");
    const TemplatePart bos{false, 0, {*id}, {*c.bpe_bos}, 0};
    parts.post_processor = make_template(
        {bos, TemplatePart{true, 0, {}, {}, 0}},
        {bos, TemplatePart{true, 0, {}, {}, 0}, TemplatePart{false, 0, {*id}, {*c.bpe_bos}, 1},
         TemplatePart{true, 1, {}, {}, 1}});
  }
  if (c.bpe_mask) parts.mask_token = *c.bpe_mask;
  return std::make_unique<PipelineTokenizer>(std::move(parts));
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const fs::path& dir,
                                               const TokenizerOptions& options) {
  const fs::path file = dir / "tokenizer.json";
  const ConfigTokens c = read_tokenizer_config(dir);
  TokenizerJson tj = read_tokenizer_json(file);
  const json* model = member(tj.root, "model");
  if (!model || !model->is_object()) bad_key(file, "model", "is missing or not an object");
  std::string type = type_of(model);
  if (type.empty()) {  // old files: the tokenizers library tells the models apart by their fields
    const json* vocab = member(*model, "vocab");
    type = member(*model, "merges") || tj.has_merges ? "BPE" : vocab && vocab->is_array() ? "Unigram" : "WordPiece";
  }
  try {
    if (type == "WordPiece") {
      json wordpiece = *model;
      if (tj.fast && tj.has_vocab) {
        json& vocab = wordpiece["vocab"] = json::object();
        for (auto& [token, id] : tj.vocab) vocab[token] = id;
      }
      return load_wordpiece_json(tj.root, wordpiece, file, c, options);
    }
    if (type == "BPE" || type == "Unigram" || type == "WordLevel")
      return load_pipeline_json(tj, type, dir, file, c);
  } catch (const json::exception& e) {  // a value of an unexpected type
    throw Error(file.string() + ": unexpected value (" + e.what() + ")");
  }
  bad_key(file, "model.type", "is '" + type + "'; supported are WordPiece, BPE, Unigram and WordLevel");
}

}  // namespace attn::tokenizer_files
