#pragma once
// tokenizer.json "normalizer": rewrites the text before it is split, keeping each byte's
// original span (NormalizedText). Supported types, with the tokenizers library's meaning:
//   NFC, NFD, NFKC, NFKD  Unicode normalisation (ICU)
//   Lowercase             per character, full mappings (U+0130 -> "i\u0307")
//   Strip                 {strip_left, strip_right}: White_Space at the ends
//   StripAccents          drops non-spacing marks (Mn); usually after NFD
//   Replace               {pattern: {String|Regex}, content}
//   Prepend               {prepend}: before non-empty text
//   Precompiled           {precompiled_charsmap}: SentencePiece's compiled character rules
//                         (base64; precompiled_charsmap.h), per grapheme cluster
//   Sequence              {normalizers: [...]}
// Immutable after construction; thread-safe.
#include <memory>

#include "tokenize/json_node.h"
#include "tokenize/normalized_text.h"

namespace attn {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedText& text) const = 0;
};

// Throws attn::Error naming the file and key for an unknown type or a bad option.
std::unique_ptr<Normalizer> parse_normalizer(const JsonNode& node);

}  // namespace attn
