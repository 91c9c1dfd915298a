#include "tokenize/unigram_model.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <limits>

#include "tokenize/tokenizer.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

// The tokenizers library's K_UNK_PENALTY: an unknown character scores this far below the
// least likely piece.
constexpr double kUnknownPenalty = 10.0;

}  // namespace

UnigramModel::UnigramModel(UnigramModelConfig config)
    : byte_fallback_(config.byte_fallback), file_(std::move(config.file)) {
  if (config.vocab.empty()) throw Error(file_ + ": key 'model.vocab' is empty");
  if (config.vocab.size() > size_t(kMaxTokenId) + 1)
    throw Error(file_ + ": key 'model.vocab' has " + std::to_string(config.vocab.size()) +
                " pieces; at most " + std::to_string(kMaxTokenId + 1) + " are supported");
  pieces_.reserve(config.vocab.size());
  scores_.reserve(config.vocab.size());
  double min_score = std::numeric_limits<double>::infinity();
  for (auto& [piece, score] : config.vocab) {
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
    min_score = std::min(min_score, score);
  }
  config.vocab = {};
  unk_score_ = min_score - kUnknownPenalty;
  token_to_id_.build(&pieces_, std::vector<uint8_t>(pieces_.size(), 1));
  if (config.unk_id) {
    if (*config.unk_id < 0 || *config.unk_id >= int64_t(pieces_.size()))
      throw Error(file_ + ": key 'model.unk_id' is " + std::to_string(*config.unk_id) +
                  ", but model.vocab has ids 0 to " + std::to_string(pieces_.size() - 1));
    unk_id_ = int32_t(*config.unk_id);
  }
  if (byte_fallback_) {
    byte_ids_.assign(256, -1);
    char name[8];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      if (const auto id = token_to_id(name)) byte_ids_[size_t(b)] = *id;
    }
  }
  build_trie();
}

// Breadth first over the sorted distinct pieces: a node's pieces are a contiguous range that
// shares the node's prefix, and its children (one per next byte) are appended together, so
// they sit side by side in nodes_, sorted by byte.
void UnigramModel::build_trie() {
  std::vector<std::string_view> sorted;
  sorted.reserve(pieces_.size());
  for (const std::string& p : pieces_)
    if (!p.empty()) sorted.push_back(p);  // an empty piece never matches (as in the library)
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

  struct Range {
    size_t lo, hi, depth;
    uint32_t node;
  };
  nodes_.assign(1, Node{});
  child_byte_.assign(1, 0);
  std::deque<Range> queue{{0, sorted.size(), 0, 0}};
  while (!queue.empty()) {
    Range r = queue.front();
    queue.pop_front();
    if (r.lo < r.hi && sorted[r.lo].size() == r.depth) {
      nodes_[r.node].id = *token_to_id(sorted[r.lo]);  // the piece's last id
      ++r.lo;
    }
    nodes_[r.node].first_child = uint32_t(nodes_.size());
    for (size_t lo = r.lo; lo < r.hi;) {
      const char byte = sorted[lo][r.depth];
      size_t hi = lo + 1;
      while (hi < r.hi && sorted[hi][r.depth] == byte) ++hi;
      queue.push_back({lo, hi, r.depth + 1, uint32_t(nodes_.size())});
      nodes_.push_back(Node{});
      child_byte_.push_back(uint8_t(byte));
      lo = hi;
    }
    nodes_[r.node].child_count = uint32_t(nodes_.size()) - nodes_[r.node].first_child;
  }
}

template <typename F>
void UnigramModel::for_each_prefix(std::string_view text, F&& f) const {
  uint32_t node = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const Node& n = nodes_[node];
    const auto first = child_byte_.begin() + n.first_child;
    const auto last = first + n.child_count;
    const auto it = std::lower_bound(first, last, uint8_t(text[i]));
    if (it == last || *it != uint8_t(text[i])) return;
    node = uint32_t(it - child_byte_.begin());
    if (nodes_[node].id >= 0) f(nodes_[node].id, i + 1);
  }
}

std::optional<int32_t> UnigramModel::token_to_id(std::string_view token) const {
  return token_to_id_.find(token);
}

const std::string* UnigramModel::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= pieces_.size()) return nullptr;
  return &pieces_[size_t(id)];
}

void UnigramModel::tokenize(std::string_view piece, std::vector<ModelToken>& out) const {
  // best[e]: the best segmentation of piece[0, e): its score, its last token and where that
  // token starts (npos: not reached yet).
  struct Best {
    double score = 0.0;
    int32_t id = -1;
    size_t start = std::string_view::npos;
  };
  std::vector<Best> best(piece.size() + 1);
  const auto offer = [&](size_t start, size_t end, int32_t id, double score) {
    Best& b = best[end];
    const double total = best[start].score + score;
    if (b.start == std::string_view::npos || total > b.score) b = {total, id, start};
  };
  for (size_t start = 0; start < piece.size();) {
    const size_t char_end = unicode::decode_utf8_at(piece, start).end;
    bool single = false;  // a piece covers this character by itself
    for_each_prefix(piece.substr(start), [&](int32_t id, size_t length) {
      offer(start, start + length, id, scores_[size_t(id)]);
      single = single || start + length == char_end;
    });
    if (!single) {
      if (!unk_id_)
        throw Error(file_ + ": key 'model.unk_id' is missing, but the text has a character ('" +
                    std::string(piece.substr(start, char_end - start)) + "') that no piece covers");
      offer(start, char_end, *unk_id_, unk_score_);
    }
    start = char_end;
  }

  // Back from the end; runs of unknown tokens become one.
  std::vector<ModelToken> path;
  for (size_t end = piece.size(); end > 0;) {
    const Best& b = best[end];
    if (unk_id_ && b.id == *unk_id_ && !path.empty() && path.back().id == *unk_id_ &&
        path.back().begin == end) {
      path.back().begin = b.start;
    } else {
      path.push_back({b.id, b.start, end});
    }
    end = b.start;
  }
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    if (!unk_id_ || it->id != *unk_id_) {
      out.push_back(*it);
      continue;
    }
    const std::string_view text = piece.substr(it->begin, it->end - it->begin);
    if (const auto id = token_to_id(text)) {  // "<unk>" itself, typed in the text
      out.push_back({*id, it->begin, it->end});
    } else if (byte_fallback_ && std::all_of(text.begin(), text.end(), [&](char c) {
                 return byte_ids_[uint8_t(c)] >= 0;
               })) {
      for (char c : text) out.push_back({byte_ids_[uint8_t(c)], it->begin, it->end});
    } else {
      out.push_back(*it);
    }
  }
}

}  // namespace attn
