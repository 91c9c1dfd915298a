#pragma once
// tokenizer.json "decoder": turns token strings back into text (the tokenizers library's
// decode_chain). Supported types:
//   ByteLevel    byte characters -> bytes -> UTF-8 ("Ġworld" -> " world")
//   ByteFallback <0xNN> runs -> their bytes' UTF-8 (one U+FFFD per byte when invalid)
//   Replace      {pattern: {String|Regex}, content} in each token ('▁' -> ' ')
//   Metaspace    {replacement, prepend_scheme}: '▁' -> ' ', the first token's space dropped
//   Strip        {content, start, stop}: up to start/stop copies of content off each token
//   Fuse         joins all tokens into one
//   Sequence     {decoders: [...]}
// Decoding one token on its own (DecodeMode::Token, ::Display) skips the steps that remove
// a leading space (Strip, Metaspace's first token), so "▁Hello" reads " Hello"; Display also
// shows bytes that do not form whole UTF-8 characters as "<0xNN>" instead of U+FFFD.
// Immutable after construction; thread-safe.
#include <memory>
#include <string>
#include <vector>

#include "tokenize/json_node.h"

namespace attn {

enum class DecodeMode { Text, Token, Display };

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const = 0;
};

// Throws attn::Error naming the file and key for an unknown type or a bad option.
std::unique_ptr<Decoder> parse_decoder(const JsonNode& node);

// Valid UTF-8 runs as they are; each byte of an invalid sequence as "<0xNN>" (Display) or
// each maximal invalid subpart as U+FFFD (otherwise).
std::string bytes_to_text(std::string_view bytes, DecodeMode mode);

}  // namespace attn
