#pragma once
// tokenizer.json "pre_tokenizer": cuts normalized text into the pieces the model encodes one
// by one (the tokenizers library's PreTokenizer). Supported types:
//   Split            {pattern: {String|Regex}, behavior, invert}; Regex is Oniguruma's
//   ByteLevel        {add_prefix_space, use_regex}: GPT-2's regex split, then every byte
//                    becomes its printable stand-in character ("Ġ" for ' ')
//   Metaspace        {replacement, prepend_scheme: always|first|never, split}: ' ' -> '▁'
//   Whitespace       \w+|[^\w\s]+            WhitespaceSplit  split on White_Space
//   Digits           {individual_digits}     Punctuation      {behavior}
//   Sequence         {pretokenizers: [...]}
// Behaviors: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous.
// Immutable after construction; thread-safe.
#include <memory>
#include <vector>

#include "tokenize/json_node.h"
#include "tokenize/normalized_text.h"

namespace attn {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every piece by the pieces it splits into (never empty ones), in order.
  virtual void pre_tokenize(std::vector<NormalizedText>& pieces) const = 0;
  // True when pieces leave it as byte-level characters (the model then works on bytes).
  virtual bool byte_level() const { return false; }
};

// Throws attn::Error naming the file and key for an unknown type, a bad option or an
// invalid regex.
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const JsonNode& node);

// The byte-level stand-in of every byte of `piece` (GPT-2's bytes_to_unicode), aligned as
// the byte was.
NormalizedText to_byte_level(const NormalizedText& piece);

}  // namespace attn
