#include "tokenize/bpe.h"

#include <array>
#include <functional>
#include <limits>
#include <queue>

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

// bytes_to_unicode() of GPT-2's encoder.py: printable bytes stand for themselves, the
// others (controls, space, ...) are moved to U+0100 and up, in byte order.
struct ByteTable {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};  // char -> byte, -1 when not a byte character

  ByteTable() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      to_char[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[static_cast<size_t>(b)]] = static_cast<int16_t>(b);
    }
  }
};

const ByteTable& byte_table() {
  static const ByteTable table;
  return table;
}

bool is_other_char(char32_t c) {
  return !unicode::is_white_space(c) && !unicode::is_letter(c) && !unicode::is_number(c);
}

// Length of the GPT-2 regex match at `i` (always >= 1).
size_t match_length(std::u32string_view t, size_t i) {
  const size_t n = t.size();
  const char32_t c = t[i];
  if (c == U'\'' && i + 1 < n) {  // 's 't 'm 'd, then 're 've 'll
    const char32_t c1 = t[i + 1];
    if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') return 2;
    if (i + 2 < n) {
      const char32_t c2 = t[i + 2];
      if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l'))
        return 3;
    }
  }
  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional ASCII space, then a run.
  const size_t j = c == U' ' ? i + 1 : i;
  if (j < n) {
    for (bool (*in_class)(char32_t) : {&unicode::is_letter, &unicode::is_number, &is_other_char}) {
      if (!in_class(t[j])) continue;
      size_t k = j;
      while (k < n && in_class(t[k])) ++k;
      return k - i;
    }
  }
  // "\s+(?!\S)": a whitespace run, less its last character when a non-space follows
  // (that character then prefixes the next word); "\s+" takes a lone space before one.
  size_t k = i;
  while (k < n && unicode::is_white_space(t[k])) ++k;
  if (k == n) return k - i;
  return k - i >= 2 ? k - 1 - i : 1;
}

}  // namespace

char32_t byte_to_unicode(uint8_t b) { return byte_table().to_char[b]; }

int unicode_to_byte(char32_t c) { return c < 512 ? byte_table().to_byte[c] : -1; }

std::vector<std::pair<size_t, size_t>> gpt2_pre_tokenize(std::u32string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < text.size();) {
    const size_t len = match_length(text, i);
    out.emplace_back(i, i + len);
    i += len;
  }
  return out;
}

uint64_t ByteLevelBpeTokenizer::pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(BpeConfig config) : config_(std::move(config)) {
  const std::string src = config_.source.empty() ? "BPE vocabulary" : config_.source;
  if (config_.vocab.empty()) throw Error(src + ": the vocabulary is empty");
  const auto place = [&](const std::string& token, int32_t id) {
    if (id < 0) throw Error(src + ": token '" + token + "' has a negative id");
    if (static_cast<size_t>(id) >= id_to_token_.size())
      id_to_token_.resize(static_cast<size_t>(id) + 1);
    id_to_token_[static_cast<size_t>(id)] = token;
    token_to_id_[token] = id;
  };
  for (const auto& [token, id] : config_.vocab) place(token, id);
  added_index_.assign(id_to_token_.size(), -1);
  for (size_t k = 0; k < config_.added_tokens.size(); ++k) {
    const AddedToken& t = config_.added_tokens[k];
    place(t.content, t.id);
    if (added_index_.size() < id_to_token_.size()) added_index_.resize(id_to_token_.size(), -1);
    added_index_[static_cast<size_t>(t.id)] = static_cast<int32_t>(k);
  }

  byte_ids_.resize(256);
  for (int b = 0; b < 256; ++b) {
    std::string symbol;
    unicode::append_utf8(symbol, byte_to_unicode(static_cast<uint8_t>(b)));
    const auto id = token_to_id(symbol);
    if (!id) {
      throw Error(src + ": the byte-level symbol '" + symbol + "' for byte " + std::to_string(b) +
                  " is missing: not a GPT-2 style byte-level BPE vocabulary");
    }
    byte_ids_[static_cast<size_t>(b)] = *id;
  }

  const std::string msrc = config_.merges_source.empty() ? "merges" : config_.merges_source;
  for (size_t rank = 0; rank < config_.merges.size(); ++rank) {
    const auto& [a, b] = config_.merges[rank];
    const auto where = [&] {
      return config_.merges_first_line > 0
                 ? msrc + " line " + std::to_string(config_.merges_first_line + rank)
                 : msrc + " model.merges[" + std::to_string(rank) + "]";
    };
    const auto ia = token_to_id(a), ib = token_to_id(b), iab = token_to_id(a + b);
    if (!ia || !ib || !iab) {
      const std::string& missing = !ia ? a : !ib ? b : a + b;
      throw Error(where() + ": merge '" + a + " " + b + "' uses '" + missing +
                  "', which is not in " + src);
    }
    // A duplicated merge keeps its last rank, as GPT-2's dict(zip(merges, ranks)) and the
    // tokenizers library do.
    merges_.insert_or_assign(pair_key(*ia, *ib), std::pair<int32_t, int32_t>(rank, *iab));
  }
  if (!config_.mask_token.empty()) mask_id_ = token_to_id(config_.mask_token);
  if (!config_.bos_token.empty()) {
    bos_id_ = token_to_id(config_.bos_token);
    if (!bos_id_) throw Error(src + ": the bos_token '" + config_.bos_token + "' to add before the text is not in the vocabulary");
  }
  if (!config_.eos_token.empty()) {
    eos_id_ = token_to_id(config_.eos_token);
    if (!eos_id_) throw Error(src + ": the eos_token '" + config_.eos_token + "' to add after the text is not in the vocabulary");
  }
  config_.vocab = {};  // now held by id_to_token_ / token_to_id_ / merges_
  config_.merges = {};
}

std::optional<int32_t> ByteLevelBpeTokenizer::token_to_id(std::string_view token) const {
  const auto it = token_to_id_.find(std::string(token));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string ByteLevelBpeTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return {};
  return id_to_token_[static_cast<size_t>(id)];
}

std::string ByteLevelBpeTokenizer::token_text(int32_t id) const { return decode({id}); }

std::string ByteLevelBpeTokenizer::display_token(int32_t id, const std::string& vocab_token) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return vocab_token;
  if (added_index_[static_cast<size_t>(id)] >= 0) return id_to_token_[static_cast<size_t>(id)];
  std::string bytes;
  for (const unicode::CodePoint& c : unicode::decode_utf8(id_to_token_[static_cast<size_t>(id)], "BPE token")) {
    const int b = unicode_to_byte(c.cp);
    if (b >= 0) bytes += static_cast<char>(b);
    else unicode::append_utf8(bytes, c.cp);
  }
  return unicode::decode_utf8_showing_bytes(bytes);
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  const ByteTable& table = byte_table();
  std::string text, bytes;
  const auto flush = [&] {
    text += unicode::decode_utf8_lossy(bytes);
    bytes.clear();
  };
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) continue;
    const std::string& token = id_to_token_[static_cast<size_t>(id)];
    if (added_index_[static_cast<size_t>(id)] >= 0) {  // added tokens are plain text
      flush();
      text += token;
      continue;
    }
    for (const unicode::CodePoint& c : unicode::decode_utf8(token, "BPE token")) {
      const int b = c.cp < table.to_byte.size() ? table.to_byte[c.cp] : -1;
      if (b >= 0) {
        bytes += static_cast<char>(b);
      } else {
        unicode::append_utf8(bytes, c.cp);
      }
    }
  }
  flush();
  return text;
}

Encoding ByteLevelBpeTokenizer::encode(std::string_view text,
                                       std::optional<std::string_view> pair) const {
  Encoding out;
  if (bos_id_) out.push(*bos_id_, config_.bos_token, {0, 0}, 0, true);
  encode_sequence(text, 0, out);
  if (eos_id_) out.push(*eos_id_, config_.eos_token, {0, 0}, -1, true);
  if (pair) {
    const size_t first = out.size();
    if (eos_id_) out.push(*eos_id_, config_.eos_token, {0, 0}, -1, true);  // RoBERTa: </s></s> between
    else if (bos_id_) out.push(*bos_id_, config_.bos_token, {0, 0}, 1, true);
    encode_sequence(*pair, 1, out);
    if (eos_id_) out.push(*eos_id_, config_.eos_token, {0, 0}, -1, true);
    std::fill(out.type_ids.begin() + static_cast<std::ptrdiff_t>(first), out.type_ids.end(), 1);
  }
  return out;
}

void ByteLevelBpeTokenizer::encode_sequence(std::string_view text, int8_t sequence,
                                            Encoding& out) const {
  // Validates first, naming the byte offset of a bad sequence.
  unicode::decode_utf8(text, sequence == 0 ? "text" : "pair text");
  for (const TextPiece& piece : split_on_added_tokens(text, config_.added_tokens)) {
    if (piece.token) {
      out.push(piece.token->id, id_to_token(piece.token->id), {piece.begin, piece.end}, sequence, piece.token->special);
      continue;
    }
    const auto chars = unicode::decode_utf8(text.substr(piece.begin, piece.end - piece.begin));
    std::u32string cps;
    cps.reserve(chars.size());
    for (const auto& c : chars) cps += c.cp;
    const bool prefix = config_.add_prefix_space && cps.front() != U' ';
    for (const auto& [first, last] : gpt2_pre_tokenize(cps)) {
      std::vector<Symbol> word;
      if (prefix && first == 0) word.push_back({byte_ids_[' '], piece.begin, piece.begin});
      for (size_t k = first; k < last; ++k) {
        const size_t b = piece.begin + chars[k].begin;
        const size_t e = piece.begin + chars[k].end;
        for (size_t pos = b; pos < e; ++pos) {
          word.push_back({byte_ids_[static_cast<unsigned char>(text[pos])], b, e});
        }
      }
      encode_word(std::move(word), sequence, out);
    }
  }
}

void ByteLevelBpeTokenizer::encode_word(std::vector<Symbol> word, int8_t sequence,
                                        Encoding& out) const {
  // GPT-2's bpe(): take the lowest-ranked adjacent pair and merge every occurrence of it,
  // left to right; repeat. Done with a heap of candidate pairs (O(n log n)) instead of
  // rescanning the word: all candidates of the lowest rank are popped together, in position
  // order, and checked against the current word before merging.
  struct Candidate {
    int32_t rank;
    uint32_t left, right;       // symbol indices
    int32_t left_id, right_id;  // the pair as it was when found
    int32_t merged_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  const auto n = static_cast<uint32_t>(word.size());
  std::vector<uint32_t> prev(n), next(n);
  for (uint32_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? kNone : i - 1;
    next[i] = i + 1 == n ? kNone : i + 1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto consider = [&](uint32_t l, uint32_t r) {
    const auto it = merges_.find(pair_key(word[l].id, word[r].id));
    if (it != merges_.end()) {
      heap.push({it->second.first, l, r, word[l].id, word[r].id, it->second.second});
    }
  };
  for (uint32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);

  std::vector<Candidate> batch;
  while (!heap.empty()) {
    batch.clear();
    const int32_t rank = heap.top().rank;
    while (!heap.empty() && heap.top().rank == rank) {
      batch.push_back(heap.top());
      heap.pop();
    }
    for (const Candidate& c : batch) {
      if (next[c.left] != c.right || word[c.left].id != c.left_id ||
          word[c.right].id != c.right_id) {
        continue;  // stale: a symbol of this pair was merged already
      }
      word[c.left].id = c.merged_id;
      word[c.left].end = word[c.right].end;
      word[c.right].id = -1;
      next[c.left] = next[c.right];
      if (next[c.left] != kNone) prev[next[c.left]] = c.left;
      if (prev[c.left] != kNone) consider(prev[c.left], c.left);
      if (next[c.left] != kNone) consider(c.left, next[c.left]);
    }
  }
  for (const Symbol& s : word) {
    if (s.id >= 0) out.push(s.id, id_to_token(s.id), {s.begin, s.end}, sequence, false);
  }
}

}  // namespace attn
