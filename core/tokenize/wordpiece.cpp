#include "tokenize/wordpiece.h"

#include <algorithm>

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {

// One normalized character and the byte span of the original character it came from.
struct WordPieceTokenizer::NormChar {
  char32_t cp;
  size_t begin;
  size_t end;
};

namespace {

// BertNormalizer's definitions (tokenizers/src/normalizers/bert.rs).
bool is_bert_whitespace(char32_t cp) {
  return cp == U'\t' || cp == U'\n' || cp == U'\r' || unicode::is_white_space(cp);
}
bool is_bert_control(char32_t cp) {
  return cp != U'\t' && cp != U'\n' && cp != U'\r' && unicode::is_other(cp);
}
// BertPreTokenizer: ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~)
// or any Unicode P* character.
bool is_bert_punctuation(char32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126) || unicode::is_punctuation(cp);
}

// NFD of every character, canonical reordering, then dropping non-spacing marks.
template <typename Char>
std::vector<Char> strip_accents(const std::vector<Char>& in) {
  std::vector<Char> out;
  out.reserve(in.size());
  std::u32string parts;
  for (const Char& c : in) {
    parts.clear();
    unicode::append_nfd(c.cp, parts);
    for (char32_t p : parts) out.push_back({p, c.begin, c.end});
  }
  for (size_t i = 0; i < out.size();) {
    if (unicode::combining_class(out[i].cp) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && unicode::combining_class(out[j].cp) != 0) ++j;
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i),
                     out.begin() + static_cast<std::ptrdiff_t>(j),
                     [](const Char& a, const Char& b) {
                       return unicode::combining_class(a.cp) < unicode::combining_class(b.cp);
                     });
    i = j;
  }
  std::erase_if(out, [](const Char& c) { return unicode::is_mark_nonspacing(c.cp); });
  return out;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(WordPieceConfig config) : config_(std::move(config)) {
  const std::string src = config_.source.empty() ? "WordPiece vocabulary" : config_.source;
  if (config_.vocab.empty()) throw Error(src + ": the vocabulary is empty");
  id_to_token_ = std::move(config_.vocab);  // kept once, here
  config_.vocab = {};
  for (const AddedToken& t : config_.added_tokens) {
    if (t.id < 0) throw Error(src + ": added token '" + t.content + "' has a negative id");
    const auto id = static_cast<size_t>(t.id);
    if (id >= id_to_token_.size()) id_to_token_.resize(id + 1);
    id_to_token_[id] = t.content;
  }
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!id_to_token_[id].empty()) token_to_id_[id_to_token_[id]] = static_cast<int32_t>(id);
  }
  const auto require = [&](const std::string& token, const char* role) {
    const auto id = token_to_id(token);
    if (!id) {
      throw Error(src + ": the " + role + " token '" + token +
                  "' is not in the vocabulary (is this a WordPiece vocab.txt?)");
    }
    return *id;
  };
  unk_id_ = require(config_.unk_token, "unknown");
  if (config_.add_special_tokens) {
    cls_id_ = require(config_.cls_token, "classifier");
    sep_id_ = require(config_.sep_token, "separator");
  }
  mask_id_ = token_to_id(config_.mask_token);
  strip_accents_ = config_.strip_accents.value_or(config_.lowercase);
}

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  const auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string WordPieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return {};
  return id_to_token_[static_cast<size_t>(id)];
}

std::string WordPieceTokenizer::token_text(int32_t id) const {
  std::string token = id_to_token(id);
  const std::string& prefix = config_.continuing_prefix;
  if (!prefix.empty() && token.size() > prefix.size() && token.starts_with(prefix)) {
    token.erase(0, prefix.size());
  }
  return token;
}

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  // The tokenizers library's WordPiece decoder: join with spaces, glue "##" pieces, and
  // (cleanup) remove the space before . ? ! , and common English contractions.
  static const std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    std::string token = id_to_token(id);
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) continue;
    const std::string& prefix = config_.continuing_prefix;
    if (!first) {
      if (!prefix.empty() && token.starts_with(prefix)) {
        token.erase(0, prefix.size());
      } else {
        token.insert(0, " ");
      }
    }
    first = false;
    if (config_.decode_cleanup) {
      for (const auto& [from, to] : kCleanup) {
        for (size_t pos = 0; (pos = token.find(from, pos)) != std::string::npos;) {
          token.replace(pos, from.size(), to);
          pos += to.size();
        }
      }
    }
    out += token;
  }
  return out;
}

Encoding WordPieceTokenizer::encode(std::string_view text,
                                    std::optional<std::string_view> pair) const {
  Encoding out;
  if (config_.add_special_tokens) out.push(cls_id_, id_to_token(cls_id_), {0, 0}, -1, true);
  encode_sequence(text, 0, out);
  if (config_.add_special_tokens) out.push(sep_id_, id_to_token(sep_id_), {0, 0}, -1, true);
  if (pair) {
    const size_t first_pair_token = out.size();
    encode_sequence(*pair, 1, out);
    if (config_.add_special_tokens) out.push(sep_id_, id_to_token(sep_id_), {0, 0}, -1, true);
    std::fill(out.type_ids.begin() + static_cast<std::ptrdiff_t>(first_pair_token),
              out.type_ids.end(), 1);
  }
  return out;
}

void WordPieceTokenizer::encode_sequence(std::string_view text, int8_t sequence,
                                         Encoding& out) const {
  // Validates first, naming the byte offset of a bad sequence.
  unicode::decode_utf8(text, sequence == 0 ? "text" : "pair text");
  for (const TextPiece& piece : split_on_added_tokens(text, config_.added_tokens)) {
    if (piece.token) {
      out.push(piece.token->id, id_to_token(piece.token->id), {piece.begin, piece.end}, sequence, piece.token->special);
      continue;
    }
    const NormChars chars = normalize(text, piece.begin, piece.end);
    // BertPreTokenizer: whitespace separates words; each punctuation character is a word.
    size_t word_begin = 0;
    for (size_t i = 0; i <= chars.size(); ++i) {
      const bool at_end = i == chars.size();
      const bool space = !at_end && unicode::is_white_space(chars[i].cp);
      const bool punct = !at_end && is_bert_punctuation(chars[i].cp);
      if (!at_end && !space && !punct) continue;
      if (i > word_begin) encode_word(chars, word_begin, i, sequence, out);
      if (punct) encode_word(chars, i, i + 1, sequence, out);
      word_begin = i + 1;
    }
  }
}

WordPieceTokenizer::NormChars WordPieceTokenizer::normalize(std::string_view text, size_t begin,
                                                            size_t end) const {
  NormChars chars;
  chars.reserve(end - begin);
  for (const unicode::CodePoint& c : unicode::decode_utf8(text.substr(begin, end - begin))) {
    char32_t cp = c.cp;
    const size_t b = begin + c.begin;
    const size_t e = begin + c.end;
    if (config_.clean_text) {
      if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
      if (is_bert_whitespace(cp)) cp = U' ';
    }
    if (config_.handle_chinese_chars && unicode::is_bert_cjk(cp)) {
      chars.push_back({U' ', b, e});
      chars.push_back({cp, b, e});
      chars.push_back({U' ', b, e});
      continue;
    }
    chars.push_back({cp, b, e});
  }
  if (strip_accents_) chars = strip_accents(chars);
  if (config_.lowercase) {
    NormChars lowered;
    lowered.reserve(chars.size());
    std::u32string mapped;
    for (const NormChar& c : chars) {
      mapped.clear();
      unicode::append_lower(c.cp, mapped);
      for (char32_t m : mapped) lowered.push_back({m, c.begin, c.end});
    }
    chars = std::move(lowered);
  }
  return chars;
}

void WordPieceTokenizer::encode_word(const NormChars& chars, size_t begin, size_t end,
                                     int8_t sequence, Encoding& out) const {
  const auto span_of = [&](size_t from, size_t to) {
    size_t b = chars[from].begin, e = chars[from].end;
    for (size_t k = from + 1; k < to; ++k) {
      b = std::min(b, chars[k].begin);
      e = std::max(e, chars[k].end);
    }
    return std::pair<size_t, size_t>{b, e};
  };
  if (end - begin > config_.max_input_chars_per_word) {
    out.push(unk_id_, id_to_token(unk_id_), span_of(begin, end), sequence, false);
    return;
  }
  // UTF-8 of the word, with the byte position of every character in it.
  std::string word;
  std::vector<size_t> pos;
  for (size_t k = begin; k < end; ++k) {
    pos.push_back(word.size());
    unicode::append_utf8(word, chars[k].cp);
  }
  pos.push_back(word.size());

  const size_t n = end - begin;
  std::vector<std::pair<int32_t, std::pair<size_t, size_t>>> pieces;
  std::string candidate;
  for (size_t start = 0; start < n;) {
    size_t stop = n;
    std::optional<int32_t> found;
    for (; stop > start; --stop) {
      candidate.assign(start > 0 ? config_.continuing_prefix : std::string());
      candidate.append(word, pos[start], pos[stop] - pos[start]);
      const auto it = token_to_id_.find(candidate);
      if (it != token_to_id_.end()) {
        found = it->second;
        break;
      }
    }
    if (!found) {  // no piece matches: the whole word is unknown
      out.push(unk_id_, id_to_token(unk_id_), span_of(begin, end), sequence, false);
      return;
    }
    pieces.push_back({*found, span_of(begin + start, begin + stop)});
    start = stop;
  }
  for (const auto& [id, span] : pieces) out.push(id, id_to_token(id), span, sequence, false);
}

}  // namespace attn
