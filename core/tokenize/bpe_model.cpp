#include "tokenize/bpe_model.h"

#include <cstdio>
#include <functional>
#include <limits>
#include <queue>

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
BpeModel::BpeModel(BpeModelConfig config)
    : fuse_unk_(config.fuse_unk),
      byte_fallback_(config.byte_fallback),
      ignore_merges_(config.ignore_merges) {
  const std::string& file = config.file;
  if (config.vocab.empty()) throw Error(file + ": key 'model.vocab' is empty");
  int32_t max_id = 0;
  for (const auto& entry : config.vocab) max_id = std::max(max_id, entry.second);
  id_to_token_.resize(size_t(max_id) + 1);
  used_.assign(id_to_token_.size(), 0);
  // A token listed twice keeps its last id (a JSON object's last key wins).
  for (auto& [token, id] : config.vocab) {
    id_to_token_[size_t(id)] = std::move(token);
    used_[size_t(id)] = 1;
  }
  config.vocab = {};
  token_to_id_.build(&id_to_token_, used_);
  for (size_t id = 0; id < id_to_token_.size(); ++id) {  // an id whose token moved on
    if (used_[id] && token_to_id(id_to_token_[id]) != int32_t(id)) used_[id] = 0;
  }

  merges_.reserve(config.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < config.merges.size(); ++rank) {
    const auto& [a, b] = config.merges[rank];
    joined.assign(a).append(b);
    const auto ia = token_to_id(a), ib = token_to_id(b), iab = token_to_id(joined);
    if (!ia || !ib || !iab) {
      const std::string& missing = !ia ? a : !ib ? b : joined;
      throw Error(file + ": key 'model.merges[" + std::to_string(rank) + "]' merges '" + a +
                  "' and '" + b + "', but '" + missing + "' is not in model.vocab");
    }
    // A repeated merge keeps its last rank, as the tokenizers library does.
    merges_.insert(*ia, *ib, {int32_t(rank), *iab});
  }
  if (config.unk_token) {
    unk_id_ = token_to_id(*config.unk_token);
    if (!unk_id_)
      throw Error(file + ": key 'model.unk_token' is '" + *config.unk_token +
                  "', which is not in model.vocab");
  }
  if (byte_fallback_) {
    byte_ids_.assign(256, -1);
    char name[8];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      if (const auto id = token_to_id(name)) byte_ids_[size_t(b)] = *id;
    }
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  return token_to_id_.find(token);
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size() || !used_[size_t(id)]) return nullptr;
  return &id_to_token_[size_t(id)];
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>& word) const {
  bool pending_unk = false;  // the last symbol is an unknown token that may grow (fuse_unk)
  for (size_t i = 0; i < piece.size();) {
    const size_t end = unicode::decode_utf8_at(piece, i).end;
    if (const auto id = token_to_id(piece.substr(i, end - i))) {
      word.push_back({*id, i, end});
      pending_unk = false;
    } else if (byte_fallback_ && [&] {
                 for (size_t k = i; k < end; ++k)
                   if (byte_ids_[static_cast<unsigned char>(piece[k])] < 0) return false;
                 return true;
               }()) {
      for (size_t k = i; k < end; ++k)
        word.push_back({byte_ids_[static_cast<unsigned char>(piece[k])], k, k + 1});
      pending_unk = false;
    } else if (unk_id_) {
      if (fuse_unk_ && pending_unk) {
        word.back().end = end;
      } else {
        word.push_back({*unk_id_, i, end});
      }
      pending_unk = true;
    }
    i = end;
  }
}

void BpeModel::tokenize(std::string_view piece, std::vector<ModelToken>& out) const {
  if (ignore_merges_) {
    if (const auto id = token_to_id(piece)) {
      out.push_back({*id, 0, piece.size()});
      return;
    }
  }
  std::vector<Symbol> word;
  word.reserve(piece.size());
  initial_symbols(piece, word);
  merge(word);
  for (const Symbol& s : word)
    if (s.id >= 0) out.push_back({s.id, s.begin, s.end});
}

void BpeModel::merge(std::vector<Symbol>& word) const {
  // The lowest-ranked adjacent pair merges first (ties: leftmost), from a heap of candidate
  // pairs; a candidate whose symbols changed since it was found is skipped.
  struct Candidate {
    int32_t rank;
    uint32_t left, right;
    int32_t left_id, right_id, merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  const auto n = static_cast<uint32_t>(word.size());
  if (n < 2) return;
  std::vector<uint32_t> prev(n), next(n);
  for (uint32_t i = 0; i < n; ++i) {
    prev[i] = i == 0 ? kNone : i - 1;
    next[i] = i + 1 == n ? kNone : i + 1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto consider = [&](uint32_t l, uint32_t r) {
    if (const MergeRule* rule = merges_.find(word[l].id, word[r].id))
      heap.push({rule->rank, l, r, word[l].id, word[r].id, rule->merged_id});
  };
  for (uint32_t i = 0; i + 1 < n; ++i) consider(i, i + 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (next[c.left] != c.right || word[c.left].id != c.left_id || word[c.right].id != c.right_id)
      continue;  // stale
    word[c.left].id = c.merged_id;
    word[c.left].end = word[c.right].end;
    word[c.right].id = -1;
    next[c.left] = next[c.right];
    if (next[c.left] != kNone) prev[next[c.left]] = c.left;
    if (prev[c.left] != kNone) consider(prev[c.left], c.left);
    if (next[c.left] != kNone) consider(c.left, next[c.left]);
  }
}

}  // namespace attn
