#pragma once
// The WordLevel model of a tokenizer.json ("model": {"type": "WordLevel", "vocab":
// {"word": id, ...}, "unk_token"}): each pre-tokenized piece is one token, the piece's own id
// when the vocabulary has it, else the unknown token's (the tokenizers library's
// models/wordlevel). Immutable after construction; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/id_tables.h"
#include "tokenize/token_model.h"

namespace attn {

struct WordLevelModelConfig {
  std::vector<std::pair<std::string, int32_t>> vocab;  // word -> id (0..kMaxTokenId)
  std::string unk_token = "<unk>";                       // the library's default
  std::string file;                                      // tokenizer.json, for messages
};

class WordLevelModel final : public TokenModel {
 public:
  // Throws attn::Error naming the file when the vocabulary is empty.
  explicit WordLevelModel(WordLevelModelConfig config);

  // Throws attn::Error naming the file when the piece is not in the vocabulary and neither is
  // the unknown token.
  void tokenize(std::string_view piece, std::vector<ModelToken>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  int32_t size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  const char* kind() const override { return "wordlevel"; }

 private:
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> used_;
  TokenIdTable token_to_id_;
  std::optional<int32_t> unk_id_;
  std::string unk_token_, file_;
};

}  // namespace attn
