#pragma once
// Text on its way through a tokenizer.json pipeline (normalizer -> pre-tokenizer -> model)
// that remembers, for every byte, the span of the original text it came from: what the
// tokenizers library's NormalizedString does with its alignments. Tokens get their offsets
// from it, so offsets are always byte spans of the text the user typed.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn {

using Span = std::pair<size_t, size_t>;  // [begin, end) bytes of the original text

struct NormalizedText {
  std::string text;         // UTF-8
  std::vector<Span> align;  // (text.size()) the original character each byte came from

  // original[begin, end) as it is: each character aligned to itself. `original` is valid UTF-8.
  static NormalizedText from_original(std::string_view original, size_t begin, size_t end);

  bool empty() const { return text.empty(); }
  // Appends UTF-8 bytes that all come from `from`.
  void append(std::string_view utf8, Span from);
  void append(char32_t cp, Span from);
  // Appends bytes [begin, end) of `other` with their alignments.
  void append_range(const NormalizedText& other, size_t begin, size_t end);
  NormalizedText slice(size_t begin, size_t end) const;
  // The original span that bytes [begin, end) cover (min begin, max end); {0, 0} if empty.
  Span original_span(size_t begin, size_t end) const;
};

}  // namespace attn
