#include "tokenize/added_tokens.h"

#include <array>

#include "tokenize/unicode.h"

namespace attn {
namespace {

char32_t code_point_at(std::string_view text, size_t i) {
  return unicode::decode_utf8_at(text, i).cp;
}

// Start of the code point that ends at `i` (exclusive).
size_t previous_start(std::string_view text, size_t i) {
  size_t k = i - 1;
  while (k > 0 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
  return k;
}

// Like regex \w: letters, numbers, non-spacing marks and '_'.
bool is_word_char(char32_t cp) {
  return cp == U'_' || unicode::is_letter(cp) || unicode::is_number(cp) ||
         unicode::is_mark_nonspacing(cp);
}

bool single_word_ok(std::string_view text, size_t begin, size_t end) {
  if (begin > 0 && is_word_char(code_point_at(text, previous_start(text, begin)))) return false;
  if (end < text.size() && is_word_char(code_point_at(text, end))) return false;
  return true;
}

bool is_space_at(std::string_view text, size_t i) {
  return unicode::is_white_space(code_point_at(text, i));
}

}  // namespace

std::vector<TextPiece> split_on_added_tokens(std::string_view text,
                                             const std::vector<AddedToken>& tokens) {
  std::vector<TextPiece> pieces;
  if (tokens.empty()) {
    if (!text.empty()) pieces.push_back({0, text.size(), nullptr});
    return pieces;
  }
  // Candidates by first byte (Gemma has 6,415 added tokens).
  std::array<std::vector<const AddedToken*>, 256> by_first{};
  for (const AddedToken& token : tokens)
    if (!token.content.empty()) by_first[static_cast<unsigned char>(token.content[0])].push_back(&token);
  size_t plain_begin = 0;  // start of the pending plain text
  size_t i = 0;
  while (i < text.size()) {
    const AddedToken* best = nullptr;
    for (const AddedToken* candidate : by_first[static_cast<unsigned char>(text[i])]) {
      const AddedToken& token = *candidate;
      const size_t n = token.content.size();
      if (n == 0 || (best && n <= best->content.size())) continue;
      if (text.compare(i, n, token.content) != 0) continue;
      if (token.single_word && !single_word_ok(text, i, i + n)) continue;
      best = &token;
    }
    if (!best) {
      ++i;
      continue;
    }
    size_t begin = i;
    size_t end = i + best->content.size();
    if (best->lstrip) {
      while (begin > plain_begin) {
        const size_t prev = previous_start(text, begin);
        if (!is_space_at(text, prev)) break;
        begin = prev;
      }
    }
    if (best->rstrip) {
      while (end < text.size() && is_space_at(text, end)) {
        end = unicode::decode_utf8_at(text, end).end;
      }
    }
    if (begin > plain_begin) pieces.push_back({plain_begin, begin, nullptr});
    pieces.push_back({begin, end, best});
    plain_begin = i = end;
  }
  if (plain_begin < text.size()) pieces.push_back({plain_begin, text.size(), nullptr});
  return pieces;
}

}  // namespace attn
