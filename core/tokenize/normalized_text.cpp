#include "tokenize/normalized_text.h"

#include <algorithm>

#include "tokenize/unicode.h"

namespace attn {

NormalizedText NormalizedText::from_original(std::string_view original, size_t begin, size_t end) {
  NormalizedText out;
  out.text.assign(original.substr(begin, end - begin));
  out.align.reserve(out.text.size());
  for (size_t i = begin; i < end;) {
    const size_t next = unicode::decode_utf8_at(original, i).end;
    out.align.insert(out.align.end(), next - i, Span{i, next});
    i = next;
  }
  return out;
}

void NormalizedText::append(std::string_view utf8, Span from) {
  text += utf8;
  align.insert(align.end(), utf8.size(), from);
}

void NormalizedText::append(char32_t cp, Span from) {
  const size_t before = text.size();
  unicode::append_utf8(text, cp);
  align.insert(align.end(), text.size() - before, from);
}

void NormalizedText::append_range(const NormalizedText& other, size_t begin, size_t end) {
  text.append(other.text, begin, end - begin);
  align.insert(align.end(), other.align.begin() + std::ptrdiff_t(begin),
               other.align.begin() + std::ptrdiff_t(end));
}

NormalizedText NormalizedText::slice(size_t begin, size_t end) const {
  NormalizedText out;
  out.append_range(*this, begin, end);
  return out;
}

Span NormalizedText::original_span(size_t begin, size_t end) const {
  if (begin >= end) return {0, 0};
  Span s = align[begin];
  for (size_t i = begin + 1; i < end; ++i) {
    s.first = std::min(s.first, align[i].first);
    s.second = std::max(s.second, align[i].second);
  }
  return s;
}

}  // namespace attn
