#include "tokenize/onig_regex.h"

#include <oniguruma.h>

#include <memory>
#include <mutex>

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

std::string onig_message(int code, OnigErrorInfo* info) {
  OnigUChar buffer[ONIG_MAX_ERROR_MESSAGE_LEN];
  const int n = info ? onig_error_code_to_str(buffer, code, info) : onig_error_code_to_str(buffer, code);
  return std::string(reinterpret_cast<const char*>(buffer), n > 0 ? size_t(n) : 0);
}

void initialise_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

struct RegionDeleter {
  void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
};

}  // namespace

OnigRegex::OnigRegex(std::string_view pattern, const std::string& where) : where_(where) {
  if (unicode::find_invalid_utf8(pattern) != std::string_view::npos)
    throw Error(where + ": invalid regex: the pattern is not valid UTF-8");
  initialise_once();
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  OnigErrorInfo info{};
  ::OnigRegex re = nullptr;
  const int rc = onig_new(&re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_RUBY, &info);
  if (rc != ONIG_NORMAL) throw Error(where + ": invalid regex: " + onig_message(rc, &info));
  regex_ = re;
}

OnigRegex::~OnigRegex() { onig_free(static_cast<::OnigRegex>(regex_)); }

std::vector<std::pair<size_t, size_t>> OnigRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  const std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  size_t from = 0;
  while (from <= text.size()) {
    const int pos = onig_search(static_cast<::OnigRegex>(regex_), begin, end, begin + from, end,
                                region.get(), ONIG_OPTION_NONE);
    if (pos == ONIG_MISMATCH) break;
    if (pos < 0) throw Error(where_ + ": the regex search failed: " + onig_message(pos, nullptr));
    const auto b = static_cast<size_t>(region->beg[0]);
    const auto e = static_cast<size_t>(region->end[0]);
    if (e > b) {
      out.emplace_back(b, e);
      from = e;
    } else {  // an empty match: step over one character
      if (b >= text.size()) break;
      from = unicode::decode_utf8_at(text, b).end;
    }
  }
  return out;
}

}  // namespace attn
