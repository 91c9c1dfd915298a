#pragma once
// UTF-8 decoding and the Unicode character properties the tokenizers need.
// Property tables are generated from Python's `unicodedata` (tools/gen_unicode_tables.py ->
// unicode_tables.inc), so classification matches Python / Hugging Face exactly for the
// Unicode version named by unicode_version(). All functions are pure and thread-safe.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::unicode {

// One decoded code point and its [begin, end) byte span in the UTF-8 text.
struct CodePoint {
  char32_t cp;
  size_t begin;
  size_t end;
};

// Decodes strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
// Throws attn::Error "<what>: invalid UTF-8 at byte offset N (...)" on the first bad byte.
std::vector<CodePoint> decode_utf8(std::string_view text, std::string_view what = "text");
// Decodes the one code point starting at byte `offset` (same errors as decode_utf8).
CodePoint decode_utf8_at(std::string_view text, size_t offset, std::string_view what = "text");
// Returns the byte offset of the first invalid UTF-8 sequence, or npos when valid.
size_t find_invalid_utf8(std::string_view text);
// Decodes bytes that may be invalid, replacing each maximal invalid subpart with U+FFFD
// (as Python's bytes.decode("utf-8", "replace") and JavaScript's TextDecoder do).
std::string decode_utf8_lossy(std::string_view bytes);
// As decode_utf8_lossy, but each byte of an invalid sequence is written "<0xNN>" (how a
// token holding part of a character is shown: which byte it is, not a replacement mark).
std::string decode_utf8_showing_bytes(std::string_view bytes);
void append_utf8(std::string& out, char32_t cp);
std::string to_utf8(std::u32string_view text);

// Unicode general categories, in the order the generator numbers them.
enum class Category : uint8_t {
  Lu,
  Ll,
  Lt,
  Lm,
  Lo,
  Mn,
  Mc,
  Me,
  Nd,
  Nl,
  No,
  Pc,
  Pd,
  Ps,
  Pe,
  Pi,
  Pf,
  Po,
  Sm,
  Sc,
  Sk,
  So,
  Zs,
  Zl,
  Zp,
  Cc,
  Cf,
  Cs,
  Co,
  Cn
};

const char* unicode_version();
Category category(char32_t cp);
bool is_letter(char32_t cp);           // L*
bool is_number(char32_t cp);           // N*
bool is_punctuation(char32_t cp);      // P*
bool is_mark_nonspacing(char32_t cp);  // Mn
bool is_other(char32_t cp);            // C*: Cc, Cf, Cs, Co, Cn (unassigned)
// The White_Space property (PropList.txt): what regex `\s` and Rust's char::is_whitespace
// match. Unlike Python's str.isspace() it excludes U+001C..U+001F.
bool is_white_space(char32_t cp);
// The "Chinese character" blocks of BERT's tokenizer (CJK Unified Ideographs + extensions
// A-E and the compatibility blocks). Not Hiragana, Katakana or Hangul.
bool is_bert_cjk(char32_t cp);

// Lower-casing as Python's str.lower() applied to one character; appends 1 code point, or 2
// for U+0130 (-> "i" U+0307). No context-dependent rules (final sigma is not special-cased).
void append_lower(char32_t cp, std::u32string& out);
// Canonical decomposition (NFD) of one character, fully expanded, Hangul included; not yet
// canonically ordered (see canonical_order).
void append_nfd(char32_t cp, std::u32string& out);
// Canonical combining class (0 for starters).
uint8_t combining_class(char32_t cp);
// NFD of a whole string: per-character decomposition plus canonical ordering.
std::u32string nfd(std::u32string_view text);

}  // namespace attn::unicode
