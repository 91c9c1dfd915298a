#include "tokenize/unicode.h"

#include <algorithm>
#include <iterator>

#include "util/error.h"

namespace attn::unicode {
namespace tables {

struct CategoryRun {
  char32_t first;
  uint8_t category;
};
struct LowerRange {
  char32_t first, last;
  uint32_t stride;
  int32_t delta;
};
struct Decomposition {
  char32_t cp;
  uint32_t offset;
  uint32_t length;
};
struct CombiningRun {
  char32_t first, last;
  uint8_t ccc;
};

#include "tokenize/unicode_tables.inc"

}  // namespace tables

namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kReplacement = 0xFFFD;

// Hangul syllable decomposition constants (Unicode 3.12).
constexpr char32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161,
                   kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailCount = 28, kSyllableCount = 11172;

// Result of reading one UTF-8 sequence at `i`: the code point and its length, or length 0
// with `bad` = the length of the maximal invalid subpart (>= 1).
struct Step {
  char32_t cp = 0;
  size_t length = 0;
  size_t bad = 0;
  const char* problem = nullptr;
};

Step read_utf8(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return {b0, 1, 0, nullptr};
  size_t need = 0;
  char32_t cp = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0, 0, 1, b0 < 0xC0 ? "unexpected continuation byte" : "invalid lead byte"};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return {0, 0, k, "truncated multi-byte sequence"};
    const unsigned char b = byte(i + k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      return {0, 0, k,
              k == 1 && b >= 0x80 && b <= 0xBF ? "overlong, surrogate or out-of-range sequence"
                                               : "missing continuation byte"};
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, need + 1, 0, nullptr};
}

template <typename Run>
const Run* find_run(const Run* begin, const Run* end, char32_t cp) {
  // Last run whose first <= cp.
  const Run* it =
      std::upper_bound(begin, end, cp, [](char32_t c, const Run& r) { return c < r.first; });
  return it == begin ? nullptr : it - 1;
}

}  // namespace

CodePoint decode_utf8_at(std::string_view text, size_t offset, std::string_view what) {
  if (offset >= text.size()) {
    throw Error(std::string(what) + ": no UTF-8 character at byte offset " +
                std::to_string(offset) + " (the text has " + std::to_string(text.size()) +
                " bytes)");
  }
  const Step step = read_utf8(text, offset);
  if (step.length == 0) {
    throw Error(std::string(what) + ": invalid UTF-8 at byte offset " + std::to_string(offset) +
                " (" + step.problem + "); the text must be UTF-8 encoded");
  }
  return {step.cp, offset, offset + step.length};
}

std::vector<CodePoint> decode_utf8(std::string_view text, std::string_view what) {
  std::vector<CodePoint> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); i = out.back().end) {
    out.push_back(decode_utf8_at(text, i, what));
  }
  return out;
}

size_t find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const Step step = read_utf8(text, i);
    if (step.length == 0) return i;
    i += step.length;
  }
  return std::string_view::npos;
}

std::string decode_utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Step step = read_utf8(bytes, i);
    if (step.length == 0) {
      append_utf8(out, kReplacement);
      i += step.bad;
    } else {
      out.append(bytes.substr(i, step.length));
      i += step.length;
    }
  }
  return out;
}

std::string decode_utf8_showing_bytes(std::string_view bytes) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const Step step = read_utf8(bytes, i);
    if (step.length == 0) {
      for (size_t k = 0; k < step.bad; ++k) {
        const auto b = static_cast<unsigned char>(bytes[i + k]);
        out += "<0x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
        out += '>';
      }
      i += step.bad;
    } else {
      out.append(bytes.substr(i, step.length));
      i += step.length;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacement;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

const char* unicode_version() { return tables::kUnicodeVersion; }

Category category(char32_t cp) {
  if (cp > kMaxCodePoint) return Category::Cn;
  const auto* run =
      find_run(std::begin(tables::kCategoryRuns), std::end(tables::kCategoryRuns), cp);
  return static_cast<Category>(run->category);  // the first run starts at U+0000
}

bool is_letter(char32_t cp) { return category(cp) <= Category::Lo; }

bool is_number(char32_t cp) {
  const Category c = category(cp);
  return c >= Category::Nd && c <= Category::No;
}

bool is_punctuation(char32_t cp) {
  const Category c = category(cp);
  return c >= Category::Pc && c <= Category::Po;
}

bool is_mark_nonspacing(char32_t cp) { return category(cp) == Category::Mn; }

bool is_other(char32_t cp) { return category(cp) >= Category::Cc; }

bool is_white_space(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_bert_cjk(char32_t cp) {
  // The ranges of BERT's BasicTokenizer._is_chinese_char (tokenization_bert.py).
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void append_lower(char32_t cp, std::u32string& out) {
  if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: the one multi-char mapping
    out += U'i';
    out += char32_t{0x307};
    return;
  }
  const auto* r = find_run(std::begin(tables::kLowerRanges), std::end(tables::kLowerRanges), cp);
  if (r && cp <= r->last && (cp - r->first) % r->stride == 0) {
    out += static_cast<char32_t>(static_cast<int64_t>(cp) + r->delta);
  } else {
    out += cp;
  }
}

void append_nfd(char32_t cp, std::u32string& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kSyllableCount) {
    const char32_t s = cp - kHangulBase;
    out += kLeadBase + s / (kVowelCount * kTrailCount);
    out += kVowelBase + (s % (kVowelCount * kTrailCount)) / kTrailCount;
    if (s % kTrailCount != 0) out += kTrailBase + s % kTrailCount;
    return;
  }
  const auto* begin = std::begin(tables::kDecompositions);
  const auto* end = std::end(tables::kDecompositions);
  const auto* it = std::lower_bound(
      begin, end, cp, [](const tables::Decomposition& d, char32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) {
    out += cp;
    return;
  }
  out.append(tables::kDecompositionData + it->offset, it->length);
}

uint8_t combining_class(char32_t cp) {
  const auto* r =
      find_run(std::begin(tables::kCombiningRuns), std::end(tables::kCombiningRuns), cp);
  return r && cp <= r->last ? r->ccc : 0;
}

std::u32string nfd(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_nfd(cp, out);
  // Canonical ordering: stable-sort every run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (combining_class(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && combining_class(out[j]) != 0) ++j;
    std::stable_sort(
        out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(j),
        [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  return out;
}

}  // namespace attn::unicode
