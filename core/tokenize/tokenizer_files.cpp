#include "tokenize/tokenizer_files.h"

#include <fstream>
#include <limits>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "tokenize/unicode.h"
#include "io/json_fields.h"
#include "util/error.h"

namespace attn::tokenizer_files {

std::string read_text_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the file for reading: " + std::strerror(errno));
  std::string text;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > 0) {  // one read for regular files (tokenizer.json can be 33 MB)
    text.resize(size_t(size));
    in.seekg(0, std::ios::beg);
    in.read(text.data(), size);
    if (in.gcount() != size) throw Error(file.string() + ": read error");
    return text;
  }
  in.clear();
  in.seekg(0, std::ios::beg);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": read error");
  return ss.str();
}

json read_json(const fs::path& file) {
  const std::string text = read_text_file(file);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(file.string() + ": invalid JSON (" + e.what() + ")");
  }
}

// Splits a text file into lines (without "\n" / "\r\n"); names the file and line of
// invalid UTF-8.
std::vector<std::string> read_lines(const fs::path& file) {
  const std::string text = read_text_file(file);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t bad = unicode::find_invalid_utf8(line);
    if (bad != std::string::npos) {
      throw Error(file.string() + " line " + std::to_string(lines.size() + 1) +
                  ": invalid UTF-8 at byte " + std::to_string(bad) + " of the line");
    }
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

// A key of a JSON object, with a message naming the file and key when it has the wrong type.
// Returns null when absent (or null).
const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void bad_key(const fs::path& file, const std::string& key, const std::string& what) {
  throw Error(file.string() + ": key '" + key + "' " + what);
}

std::optional<bool> get_bool(const json& object, const char* key, const fs::path& file,
                             const std::string& prefix) {
  const json* v = member(object, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad_key(file, prefix + key, "must be true, false or null");
  return v->get<bool>();
}

// A special token given either as a string or as an AddedToken object {"content": ...}.
std::optional<std::string> get_token_name(const json& object, const char* key,
                                          const fs::path& file) {
  const json* v = member(object, key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (const json* c = member(*v, "content"); c && c->is_string()) return c->get<std::string>();
  bad_key(file, key, "must be a string or an object with a string \"content\"");
}

AddedToken parse_added_token(const json& j, int64_t id, const fs::path& file,
                             const std::string& key) {
  const json* content = member(j, "content");
  if (!content || !content->is_string()) bad_key(file, key + ".content", "must be a string");
  AddedToken t;
  t.content = content->get<std::string>();
  if (id < 0 || id > kMaxTokenId) bad_key(file, key + ".id", kTokenIdRule);
  t.id = static_cast<int32_t>(id);
  t.special = get_bool(j, "special", file, key + ".").value_or(false);
  t.lstrip = get_bool(j, "lstrip", file, key + ".").value_or(false);
  t.rstrip = get_bool(j, "rstrip", file, key + ".").value_or(false);
  t.single_word = get_bool(j, "single_word", file, key + ".").value_or(false);
  t.normalized = get_bool(j, "normalized", file, key + ".").value_or(!t.special);
  return t;
}

// tokenizer.json "added_tokens": [{"id": 0, "content": "[PAD]", ...}, ...]
std::vector<AddedToken> parse_added_tokens_array(const json& root, const fs::path& file) {
  std::vector<AddedToken> out;
  const json* list = member(root, "added_tokens");
  if (!list) return out;
  if (!list->is_array()) bad_key(file, "added_tokens", "must be an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string key = "added_tokens[" + std::to_string(i) + "]";
    const json& j = (*list)[i];
    const json* id = member(j, "id");
    const auto value = id ? json_int(*id, 0, kMaxTokenId) : std::nullopt;
    if (!value) bad_key(file, key + ".id", kTokenIdRule);
    out.push_back(parse_added_token(j, *value, file, key));
  }
  return out;
}

// tokenizer_config.json "added_tokens_decoder": {"100": {"content": "[UNK]", ...}, ...}
std::vector<AddedToken> parse_added_tokens_decoder(const json& config, const fs::path& file) {
  std::vector<AddedToken> out;
  const json* map = member(config, "added_tokens_decoder");
  if (!map) return out;
  if (!map->is_object()) bad_key(file, "added_tokens_decoder", "must be an object");
  for (const auto& [id_text, j] : map->items()) {
    const std::string key = "added_tokens_decoder." + id_text;
    int64_t id = -1;
    try {
      size_t used = 0;
      id = std::stoll(id_text, &used);
      if (used != id_text.size()) id = -1;
    } catch (const std::exception&) {
    }
    if (id < 0) bad_key(file, key, "is not a token id");  // too large: parse_added_token
    out.push_back(parse_added_token(j, id, file, key));
  }
  return out;
}

// "vocab": {"token": id, ...}
std::vector<std::pair<std::string, int32_t>> parse_vocab_object(const json* vocab_ptr,
                                                                const fs::path& file,
                                                                const std::string& key) {
  if (!vocab_ptr) bad_key(file, key, "is missing");
  const json& vocab = *vocab_ptr;
  if (!vocab.is_object()) bad_key(file, key, "must be an object mapping tokens to ids");
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    const auto value = json_int(id, 0, kMaxTokenId);
    if (!value) bad_key(file, key + "." + token, kTokenIdRule);
    out.emplace_back(token, static_cast<int32_t>(*value));
  }
  if (out.empty()) bad_key(file, key, "is empty");
  return out;
}

std::vector<std::string> vocab_by_id(const std::vector<std::pair<std::string, int32_t>>& vocab) {
  std::vector<std::string> out;
  for (const auto& [token, id] : vocab) {
    if (static_cast<size_t>(id) >= out.size()) out.resize(static_cast<size_t>(id) + 1);
    out[static_cast<size_t>(id)] = token;
  }
  return out;
}

ConfigTokens read_tokenizer_config(const fs::path& dir) {
  ConfigTokens c;
  const fs::path file = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return c;
  const json config = read_json(file);
  if (!config.is_object()) throw Error(file.string() + ": expected a JSON object");
  c.do_lower_case = get_bool(config, "do_lower_case", file);
  c.strip_accents = get_bool(config, "strip_accents", file);
  c.tokenize_chinese_chars = get_bool(config, "tokenize_chinese_chars", file);
  const std::pair<const char*, std::string*> keys[] = {
      {"unk_token", &c.unk},   {"cls_token", &c.cls},  {"sep_token", &c.sep}, {"pad_token", &c.pad},
      {"mask_token", &c.mask}, {"bos_token", nullptr}, {"eos_token", nullptr}};
  for (const auto& [key, field] : keys) {
    const auto name = get_token_name(config, key, file);
    if (!name) continue;
    if (field) *field = *name;
    c.named.push_back(*name);
  }
  if (auto t = get_token_name(config, "mask_token", file)) c.bpe_mask = *t;
  if (get_bool(config, "add_bos_token", file).value_or(false)) {
    const auto bos = get_token_name(config, "bos_token", file);
    if (!bos) bad_key(file, "add_bos_token", "is true, but no bos_token is named");
    c.bpe_bos = *bos;
  }
  c.add_bos_token = get_bool(config, "add_bos_token", file);
  c.add_eos_token = get_bool(config, "add_eos_token", file);
  c.bos = get_token_name(config, "bos_token", file);
  c.eos = get_token_name(config, "eos_token", file);
  if (const json* v = member(config, "tokenizer_class"); v && v->is_string())
    c.tokenizer_class = v->get<std::string>();
  if (const json* list = member(config, "additional_special_tokens")) {
    if (!list->is_array()) bad_key(file, "additional_special_tokens", "must be an array");
    for (const json& item : *list) {
      if (item.is_string())
        c.named.push_back(item.get<std::string>());
      else if (const json* t = member(item, "content"); t && t->is_string())
        c.named.push_back(t->get<std::string>());
    }
  }
  c.added = parse_added_tokens_decoder(config, file);
  return c;
}

// Adds `names` that are in the vocabulary (and not already listed) as special added tokens.
void add_named_specials(std::vector<AddedToken>& added, const std::vector<std::string>& names,
                        const std::function<std::optional<int32_t>(const std::string&)>& find) {
  for (const std::string& name : names) {
    bool listed = false;
    for (const AddedToken& t : added) listed = listed || t.content == name;
    if (listed || name.empty()) continue;
    if (const auto id = find(name)) added.push_back({name, *id, true, false, false, false, false});
  }
}

std::string type_of(const json* j) {
  const json* t = j ? member(*j, "type") : nullptr;
  return t && t->is_string() ? t->get<std::string>() : std::string();
}

std::string json_model_type(const fs::path& file) {
  const json j = read_json(file);
  const json* model = j.is_object() ? member(j, "model") : nullptr;
  const json* type = model && model->is_object() ? member(*model, "type") : nullptr;
  return type && type->is_string() ? type->get<std::string>() : "";
}

}  // namespace attn::tokenizer_files
