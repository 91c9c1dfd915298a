#include "tokenize/id_tables.h"

namespace attn {
namespace {

size_t capacity_for(size_t n) {
  size_t cap = 16;
  while (cap * 3 < n * 4) cap *= 2;  // at most three quarters full
  return cap;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

void TokenIdTable::build(const std::vector<std::string>* tokens, const std::vector<uint8_t>& used) {
  tokens_ = tokens;
  size_t n = 0;
  for (uint8_t u : used) n += u;
  slots_.assign(capacity_for(n), Slot{0, -1});
  const size_t mask = slots_.size() - 1;
  for (size_t id = 0; id < tokens->size(); ++id) {
    if (!used[id]) continue;
    const std::string& token = (*tokens)[id];
    const auto h = uint32_t(std::hash<std::string_view>{}(token));
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s = {h, int32_t(id)};
        break;
      }
      if (s.hash == h && (*tokens)[size_t(s.id)] == token) {
        s.id = int32_t(id);  // a repeated token: the later id wins, as in a JSON object
        break;
      }
    }
  }
}

std::optional<int32_t> TokenIdTable::find(std::string_view token) const {
  if (slots_.empty()) return std::nullopt;
  const auto h = uint32_t(std::hash<std::string_view>{}(token));
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return std::nullopt;
    if (s.hash == h && (*tokens_)[size_t(s.id)] == token) return s.id;
  }
}

void MergeTable::reserve(size_t n) {
  slots_.assign(capacity_for(n), Slot{kEmpty, {}});
  count_ = 0;
}

void MergeTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{kEmpty, {}});
  count_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty) insert(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.rule);
}

void MergeTable::insert(int32_t a, int32_t b, MergeRule rule) {
  if ((count_ + 1) * 4 > slots_.size() * 3) grow();
  const uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  const size_t mask = slots_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.key == kEmpty) {
      s = {key, rule};
      ++count_;
      return;
    }
    if (s.key == key) {
      s.rule = rule;
      return;
    }
  }
}

const MergeRule* MergeTable::find(int32_t a, int32_t b) const {
  if (slots_.empty()) return nullptr;
  const uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  const size_t mask = slots_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key == kEmpty) return nullptr;
    if (s.key == key) return &s.rule;
  }
}

}  // namespace attn
