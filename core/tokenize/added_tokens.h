#pragma once
// Added tokens of a Hugging Face tokenizer ([CLS], [MASK], <|endoftext|>, ...) and splitting
// text around them, as the tokenizers library's AddedVocabulary does before normalization:
// a special token written literally in the text becomes that token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;       // counted as a special token (Encoding::special)
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool single_word = false;  // only matches when not inside a word
  // Matched in the normalized text by the tokenizers library; AttnScope matches every added
  // token in the original text (the same unless the normalizer changes the token's text).
  bool normalized = false;
};

// A [begin, end) byte span of the text: either plain text, or an added token when
// `token` is not null.
struct TextPiece {
  size_t begin = 0;
  size_t end = 0;
  const AddedToken* token = nullptr;
};

// Splits valid UTF-8 `text` at the leftmost-longest occurrences of `tokens` (empty contents
// are ignored). Returns pieces covering the text in order; plain pieces are never empty.
// The returned pointers point into `tokens`.
std::vector<TextPiece> split_on_added_tokens(std::string_view text,
                                             const std::vector<AddedToken>& tokens);

}  // namespace attn
