#pragma once
// Shared helpers for reading Hugging Face tokenizer files (internal to core/tokenize).
// Every failure throws attn::Error naming the file and the key or line that is wrong.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/tokenizer.h"

namespace attn::tokenizer_files {

namespace fs = std::filesystem;
using nlohmann::json;

// What a bad token id is told: ids are integers in [0, kMaxTokenId].
inline constexpr const char* kTokenIdRule = "must be an integer token id from 0 to 4194303";
static_assert(kMaxTokenId == 4194303);

std::string read_text_file(const fs::path& file);
// Parses a JSON file; a syntax error becomes "<file>: invalid JSON (...)".
json read_json(const fs::path& file);
// tokenizer.json's model.type ("BPE", "WordPiece", "Unigram", ...), "" when it has none.
std::string json_model_type(const fs::path& file);
// Lines without "\n" / "\r\n"; invalid UTF-8 is reported with its line number.
std::vector<std::string> read_lines(const fs::path& file);

// object[key], or null when the key is absent, null, or `object` is not an object.
const json* member(const json& object, const char* key);
// The "type" string of a tokenizer.json component ("" when absent).
std::string type_of(const json* component);
[[noreturn]] void bad_key(const fs::path& file, const std::string& key, const std::string& what);
// A boolean key (absent/null -> nullopt); `prefix` is prepended to the key in messages.
std::optional<bool> get_bool(const json& object, const char* key, const fs::path& file,
                             const std::string& prefix = "");
// A special token given as a string or as an AddedToken object {"content": ...}.
std::optional<std::string> get_token_name(const json& object, const char* key,
                                          const fs::path& file);

AddedToken parse_added_token(const json& j, int64_t id, const fs::path& file,
                             const std::string& key);
// tokenizer.json "added_tokens": [{"id": 0, "content": "[PAD]", ...}, ...]
std::vector<AddedToken> parse_added_tokens_array(const json& root, const fs::path& file);
// tokenizer_config.json "added_tokens_decoder": {"100": {"content": "[UNK]", ...}, ...}
std::vector<AddedToken> parse_added_tokens_decoder(const json& config, const fs::path& file);
// "vocab": {"token": id, ...}; `vocab` may be null (reported as missing).
std::vector<std::pair<std::string, int32_t>> parse_vocab_object(const json* vocab,
                                                                const fs::path& file,
                                                                const std::string& key);
// id -> token ("" for unused ids); a later duplicate id replaces an earlier one.
std::vector<std::string> vocab_by_id(const std::vector<std::pair<std::string, int32_t>>& vocab);

// What tokenizer_config.json says (defaults when the file is absent).
struct ConfigTokens {
  std::optional<bool> do_lower_case, strip_accents, tokenize_chinese_chars;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  std::optional<std::string> bpe_mask;  // mask_token only when the file names one
  std::optional<std::string> bpe_bos;   // bos_token when add_bos_token is true (GPT2Tokenizer)
  // Llama / Gemma tokenizer classes rebuild the post-processor from these (see
  // tokenizer_json.cpp); absent keys stay unset.
  std::string tokenizer_class;
  std::optional<bool> add_bos_token, add_eos_token;
  std::optional<std::string> bos, eos;
  std::vector<std::string> named;  // every *_token it names, and additional_special_tokens
  std::vector<AddedToken> added;        // added_tokens_decoder
};
ConfigTokens read_tokenizer_config(const fs::path& dir);

// Appends each of `names` that `find` knows (and that is not yet listed) as a special token.
void add_named_specials(std::vector<AddedToken>& added, const std::vector<std::string>& names,
                        const std::function<std::optional<int32_t>(const std::string&)>& find);

// tokenizer.json in `dir` (tokenizer_json.cpp).
std::unique_ptr<Tokenizer> load_tokenizer_json(const fs::path& dir,
                                               const TokenizerOptions& options);

}  // namespace attn::tokenizer_files
