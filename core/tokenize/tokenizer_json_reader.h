#pragma once
// Reads a tokenizer.json quickly: model.vocab and model.merges (Gemma 3: 262,144 entries and
// 514,906 merges, 33 MB) go straight into vectors while the file is parsed (nlohmann's SAX
// interface); everything else becomes a JSON document as usual. A file whose vocab or merges
// are not plain ({"token": id}, ["a b" | ["a", "b"]]) is read as a whole document instead, so
// the usual checks name what is wrong. Internal to core/tokenize.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace attn::tokenizer_files {

struct TokenizerJson {
  nlohmann::json root;  // model.vocab / model.merges are absent when `fast` is true
  bool fast = false;
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  bool has_vocab = false, has_merges = false;
};

// Throws attn::Error "<file>: invalid JSON (...)" on a syntax error.
TokenizerJson read_tokenizer_json(const std::filesystem::path& file);

}  // namespace attn::tokenizer_files
