#pragma once
// Open-addressing hash tables for the BPE model's two big lookups, built once at load:
// token string -> id (262,144 entries for Gemma 3) and merge pair -> (rank, merged id)
// (514,906). std::unordered_map spent most of Gemma 3's load time on node allocation and
// cache misses; these keep a flat slot array. Immutable after building; thread-safe to read.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

// Maps the strings of `tokens` (id -> token; empty strings are unused ids) to their ids.
// Keeps a pointer to `tokens`, which must outlive it and not change.
class TokenIdTable {
 public:
  void build(const std::vector<std::string>* tokens, const std::vector<uint8_t>& used);
  std::optional<int32_t> find(std::string_view token) const;

 private:
  struct Slot {
    uint32_t hash;
    int32_t id;  // -1: empty
  };
  std::vector<Slot> slots_;
  const std::vector<std::string>* tokens_ = nullptr;
};

struct MergeRule {
  int32_t rank;
  int32_t merged_id;
};

class MergeTable {
 public:
  void reserve(size_t n);
  // A repeated pair keeps its last rule (the tokenizers library's behaviour).
  void insert(int32_t a, int32_t b, MergeRule rule);
  const MergeRule* find(int32_t a, int32_t b) const;

 private:
  struct Slot {
    uint64_t key;  // (a, b); kEmpty when free
    MergeRule rule;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  void grow();
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

}  // namespace attn
