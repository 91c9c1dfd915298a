#pragma once
// GPT-2's byte-level BPE, matching OpenAI's encoder.py and Hugging Face's ByteLevel
// pre-tokenizer + BPE model:
//   1. added tokens (<|endoftext|>, ...) written in the text are split out first;
//   2. the GPT-2 pre-tokenizer regex (gpt2_pre_tokenize) cuts the rest into words;
//   3. each word's UTF-8 bytes become printable characters (bytes_to_unicode: ' ' -> 'Ġ');
//   4. merges are applied lowest rank first, every occurrence left to right.
// No BOS/EOS is added (GPT-2 behaviour). Offsets are byte spans of the original text; a
// token holding only part of a multi-byte character spans that whole character.
// Immutable after construction; thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/tokenizer.h"

namespace attn {

struct BpeConfig {
  std::vector<std::pair<std::string, int32_t>> vocab;       // byte-level token -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::string source;         // where the vocabulary came from, for messages
  std::string merges_source;  // where the merges came from, for messages
  // Line number of merge 0 in merges_source (a merges.txt), or 0 when the merges come from
  // a JSON array (tokenizer.json): messages then say "model.merges[i]".
  size_t merges_first_line = 0;
  bool add_prefix_space = false;  // ByteLevel option: prepend ' ' to text not starting with one
  std::vector<AddedToken> added_tokens;  // split out of the raw text first
  std::string mask_token;                // e.g. "<mask>" for RoBERTa; empty: no mask token
  // Put before each sequence (add_bos_token in tokenizer_config.json, as Hugging Face's
  // GPT2Tokenizer does); empty: nothing is added.
  std::string bos_token;
  // Put after each sequence (RoBERTa and BART: <s> A </s>, and a pair <s> A </s></s> B </s>);
  // empty: nothing is added.
  std::string eos_token;
};

// The GPT-2 pre-tokenizer, by hand:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Returns the [begin, end) code point index ranges of the matches; they tile `text`.
std::vector<std::pair<size_t, size_t>> gpt2_pre_tokenize(std::u32string_view text);

// GPT-2's bytes_to_unicode(): the printable character that stands for byte `b`.
char32_t byte_to_unicode(uint8_t b);
// The byte that character `c` stands for, or -1 when it is not a byte character.
int unicode_to_byte(char32_t c);

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  // Throws attn::Error naming the file (and merge line) when a merge or one of the 256
  // byte symbols is missing from the vocabulary, or the vocabulary is empty.
  explicit ByteLevelBpeTokenizer(BpeConfig config);

  // A pair (not used by GPT-2) is appended with type id 1 and no separator.
  Encoding encode(std::string_view text,
                  std::optional<std::string_view> pair = std::nullopt) const override;
  std::string kind() const override { return "bpe"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  std::string token_text(int32_t id) const override;
  std::string display_token(int32_t id, const std::string& vocab_token) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::optional<int32_t> mask_id() const override { return mask_id_; }

 private:
  struct Symbol {
    int32_t id;
    size_t begin;  // byte span in the original text
    size_t end;
  };
  void encode_sequence(std::string_view text, int8_t sequence, Encoding& out) const;
  void encode_word(std::vector<Symbol> word, int8_t sequence, Encoding& out) const;
  static uint64_t pair_key(int32_t a, int32_t b);

  BpeConfig config_;  // options; vocab and merges are cleared once indexed
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (a, b) -> (rank, ab)
  std::vector<int32_t> byte_ids_;     // byte -> id of its one-character token
  std::vector<int32_t> added_index_;  // id -> index into config_.added_tokens, or -1
  std::optional<int32_t> mask_id_;
  std::optional<int32_t> bos_id_, eos_id_;
};

}  // namespace attn
