#include "tokenize/precompiled_charsmap.h"

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

constexpr uint32_t label_of(uint32_t unit) { return unit & ((1u << 31) | 0xFFu); }
constexpr bool has_leaf(uint32_t unit) { return (unit >> 8) & 1u; }
constexpr uint32_t value_of(uint32_t unit) { return unit & ((1u << 31) - 1); }
constexpr size_t offset_of(uint32_t unit) { return size_t(unit >> 10) << ((unit & (1u << 9)) >> 6); }

uint32_t read_u32_le(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob, const std::string& where) {
  const auto fail = [&](const std::string& what) -> void {
    throw Error(where + " " + what + "; the charsmap is truncated or garbled (it should be "
                "SentencePiece's normalizer_spec.precompiled_charsmap, base64-encoded)");
  };
  if (blob.size() < 4) fail("is " + std::to_string(blob.size()) + " bytes long, too short for its trie size");
  const uint32_t trie_bytes = read_u32_le(blob.data());
  if (trie_bytes == 0 || trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4)
    fail("says its trie has " + std::to_string(trie_bytes) + " bytes, but " +
         std::to_string(blob.size() - 4) + " follow (the size must be a non-zero multiple of 4)");
  units_.resize(trie_bytes / 4);
  for (size_t i = 0; i < units_.size(); ++i) units_[i] = read_u32_le(blob.data() + 4 + 4 * i);
  strings_.assign(blob.substr(4 + size_t(trie_bytes)));
  if (const size_t bad = unicode::find_invalid_utf8(strings_); bad != std::string::npos)
    fail("has invalid UTF-8 in its replacement strings at byte " + std::to_string(4 + trie_bytes + bad));

  // Every node reachable from the root (once: darts-clone builds from a DAWG, so paths may
  // meet); the walk transform() takes visits no other.
  std::vector<uint8_t> seen(units_.size(), 0);
  std::vector<size_t> bases{offset_of(units_[0])};
  while (!bases.empty()) {
    const size_t base = bases.back();
    bases.pop_back();
    for (size_t c = 1; c < 256; ++c) {
      const size_t pos = base ^ c;
      if (pos >= units_.size() || label_of(units_[pos]) != c) continue;
      if (seen[pos]) continue;  // darts-clone shares the nodes of common suffixes
      seen[pos] = 1;
      const size_t next = pos ^ offset_of(units_[pos]);
      if (has_leaf(units_[pos])) {
        if (next >= units_.size()) fail("has a trie value outside the trie (unit " + std::to_string(next) + ")");
        const uint32_t at = value_of(units_[next]);
        if (at >= strings_.size())
          fail("points at replacement byte " + std::to_string(at) + " of " + std::to_string(strings_.size()));
        const size_t end = strings_.find('\0', at);
        const std::string_view r = std::string_view(strings_).substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (unicode::find_invalid_utf8(r) != std::string::npos)
          fail("has a replacement at byte " + std::to_string(at) + " that starts inside a character");
      }
      bases.push_back(next);
    }
  }
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view text) const {
  size_t pos = offset_of(units_[0]);
  for (const char ch : text) {
    const auto c = uint8_t(ch);
    if (c == 0) break;
    pos ^= c;
    if (pos >= units_.size() || label_of(units_[pos]) != c) break;
    const bool leaf = has_leaf(units_[pos]);
    pos ^= offset_of(units_[pos]);
    if (leaf) {  // checked at load: pos and the replacement lie inside the blob
      const size_t at = value_of(units_[pos]);
      const size_t end = strings_.find('\0', at);
      return std::string_view(strings_).substr(at, end == std::string::npos ? std::string::npos : end - at);
    }
  }
  return std::nullopt;
}

std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char ch : text) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  return out;
}

}  // namespace attn
