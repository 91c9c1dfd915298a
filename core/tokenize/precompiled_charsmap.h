#pragma once
// SentencePiece's precompiled_charsmap: the character rules of a normalisation such as
// nmt_nfkc, compiled into one blob (as a tokenizer.json's Precompiled normalizer carries it,
// base64-encoded; the tokenizers library reads it with the spm_precompiled crate):
//   u32 (little-endian) trie size in bytes | the trie: that many bytes of u32 units |
//   the replacements: UTF-8 strings, each ended by '\0'
// The trie is a darts-clone double array over the UTF-8 bytes of the strings to rewrite; the
// value at a key is the byte offset of its replacement. Each unit packs
//   label (bits 0-7, bit 31 set on value units), has_leaf (bit 8), offset ((unit >> 10) shifted
//   left by 8 when bit 9 is set), value (bits 0-30).
// A node's children are at (its position ^ its offset) ^ byte; its value, when has_leaf, at
// (its position ^ its offset). Internal to core/tokenize. Immutable; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

class PrecompiledCharsmap {
 public:
  // Parses and checks the whole blob: every node the trie can reach lies inside it, no two
  // every value starts a replacement inside the strings, and every
  // replacement is valid UTF-8. Throws attn::Error "<where> <what is wrong>" otherwise, so
  // transform() never reads outside the blob.
  PrecompiledCharsmap(std::string_view blob, const std::string& where);

  // The replacement of the shortest prefix of `text` that has one (the crate's transform:
  // the first common-prefix-search result); a '\0' in text ends the search. nullopt: none.
  std::optional<std::string_view> transform(std::string_view text) const;

 private:
  std::vector<uint32_t> units_;
  std::string strings_;
};

// Standard base64 (RFC 4648 alphabet, '=' padding optional). nullopt for any other character
// or a length no encoding has.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace attn
