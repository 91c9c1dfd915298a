#pragma once
// A compiled Oniguruma regex, as the Hugging Face tokenizers library compiles tokenizer.json
// patterns (Ruby syntax, UTF-8): \p{L}, \p{N}, (?i:...), lookahead such as \s+(?!\S).
// Immutable after construction; find_all may be called from several threads at once.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn {

class OnigRegex {
 public:
  // Throws attn::Error "<where>: invalid regex: <Oniguruma's message>" when the pattern
  // does not compile (or is not valid UTF-8).
  OnigRegex(std::string_view pattern, const std::string& where);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // The [begin, end) byte ranges of the leftmost non-overlapping matches in valid UTF-8
  // `text`, left to right; empty matches are skipped. Throws attn::Error naming `where`
  // when the search gives up (Oniguruma's backtracking limit), so no pattern can hang.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  void* regex_ = nullptr;  // OnigRegex (kept out of this header)
  std::string where_;
};

}  // namespace attn
