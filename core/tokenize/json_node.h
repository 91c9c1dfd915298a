#pragma once
// One value of a tokenizer.json, with the file and the key path it was found at, so every
// error names both: "<file>: key 'pre_tokenizer.pretokenizers[1].pattern.Regex' ...".
// Internal to core/tokenize; the component parsers (normalizers, pre-tokenizers, models,
// post-processors, decoders) read their options through it.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace attn {

class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, const std::filesystem::path& file, std::string key)
      : value_(&value), file_(&file), key_(std::move(key)) {}

  const nlohmann::json& value() const { return *value_; }
  const std::string& key() const { return key_; }
  const std::filesystem::path& file() const { return *file_; }

  // "<file>: key '<key>[.sub]' <what>"
  [[noreturn]] void fail(const std::string& what, const std::string& sub = "") const;
  // The member `name`, or nullopt when absent or null.
  std::optional<JsonNode> find(const char* name) const;
  // The member `name`; an error when absent.
  JsonNode at(const char* name) const;
  // The elements of the array member `name` (an error when it is not an array).
  std::vector<JsonNode> items(const char* name) const;
  // The component's "type"; an error when absent or not a string.
  std::string type() const;
  std::string string(const char* name) const;  // required string member
  std::optional<std::string> optional_string(const char* name) const;
  bool flag(const char* name, bool fallback) const;
  int64_t integer(const char* name, int64_t low, int64_t high, int64_t fallback) const;
  // A "pattern" object: {"String": "..."} or {"Regex": "..."}.
  struct Pattern {
    std::string text;
    bool regex = false;
    std::string key;  // where it was read, for regex errors
  };
  Pattern pattern(const char* name) const;
  // "is 'X'; supported are A, B and C" for an unknown component type.
  [[noreturn]] void unsupported_type(const std::string& type, const char* supported) const;

 private:
  std::string sub_key(const std::string& sub) const;
  const nlohmann::json* value_;
  const std::filesystem::path* file_;
  std::string key_;
};

}  // namespace attn
