#pragma once
// The model stage of a tokenizer.json pipeline (pipeline_tokenizer.h): turns one normalized,
// pre-tokenized piece into vocabulary ids. Implementations: BpeModel (bpe_model.h),
// UnigramModel (unigram_model.h), WordLevelModel (word_level_model.h).
// Implementations are immutable after construction and thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

struct ModelToken {
  int32_t id;
  size_t begin, end;  // bytes of the piece
};

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the tokens of one piece (valid UTF-8). Throws attn::Error naming the file when
  // the piece needs something the file does not have (an unknown token it never named).
  virtual void tokenize(std::string_view piece, std::vector<ModelToken>& out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of `id`, or null when out of range / unused.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  // One more than the largest id.
  virtual int32_t size() const = 0;
  // "bpe", "unigram" or "wordlevel": what Tokenizer::kind() reports.
  virtual const char* kind() const = 0;
};

}  // namespace attn
