#pragma once
// BERT's WordPiece tokenizer, matching Hugging Face's BertNormalizer + BertPreTokenizer +
// WordPiece model + BERT post-processor (tokenizers library / tokenizer.json semantics):
//   1. added tokens ([CLS], [MASK], ...) written in the text are split out first;
//   2. normalize: drop NUL, U+FFFD and other-category (C*) characters, whitespace -> ' ',
//      pad CJK ideographs with spaces, strip accents (NFD, drop Mn), lower-case;
//   3. split on whitespace and isolate punctuation (ASCII 33-47, 58-64, 91-96, 123-126, P*);
//   4. greedy longest-match-first WordPiece with "##" continuations; a word longer than
//      max_input_chars_per_word characters, or one that cannot be matched, becomes [UNK];
//   5. [CLS] a [SEP] (b [SEP]) with token type ids 0 ... 0 1 ... 1.
// Offsets are byte spans in the original text: every normalized character remembers the
// original character it came from. Immutable after construction; thread-safe.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/tokenizer.h"

namespace attn {

struct WordPieceConfig {
  std::vector<std::string> vocab;  // id -> token; duplicates resolve to the highest id
  std::string source;              // the file the vocabulary came from, for messages
  bool lowercase = true;
  std::optional<bool> strip_accents;  // unset: follows `lowercase`, as in Hugging Face
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::string unk_token = "[UNK]";
  std::string continuing_prefix = "##";
  size_t max_input_chars_per_word = 100;
  bool add_special_tokens = true;  // [CLS] ... [SEP]
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string mask_token = "[MASK]";  // mask_id() is absent when not in the vocabulary
  // Split out of the raw text before normalization. Ids beyond `vocab` extend it.
  std::vector<AddedToken> added_tokens;
  bool decode_cleanup = true;  // decode(): "a ." -> "a." like the WordPiece decoder
};

class WordPieceTokenizer final : public Tokenizer {
 public:
  // Throws attn::Error naming config.source when the vocabulary is empty or lacks the
  // unknown token (or [CLS]/[SEP] when special tokens are added).
  explicit WordPieceTokenizer(WordPieceConfig config);

  Encoding encode(std::string_view text,
                  std::optional<std::string_view> pair = std::nullopt) const override;
  std::string kind() const override { return "wordpiece"; }
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  std::string token_text(int32_t id) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::optional<int32_t> mask_id() const override { return mask_id_; }
  bool supports_pairs() const override { return config_.add_special_tokens; }

 private:
  struct NormChar;
  using NormChars = std::vector<NormChar>;
  void encode_sequence(std::string_view text, int8_t sequence, Encoding& out) const;
  NormChars normalize(std::string_view text, size_t begin, size_t end) const;
  void encode_word(const NormChars& chars, size_t begin, size_t end, int8_t sequence,
                   Encoding& out) const;

  WordPieceConfig config_;  // options; its vocab is moved into id_to_token_
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> token_to_id_;
  int32_t unk_id_ = 0;
  int32_t cls_id_ = -1;
  int32_t sep_id_ = -1;
  std::optional<int32_t> mask_id_;
  bool strip_accents_ = true;
};

}  // namespace attn
