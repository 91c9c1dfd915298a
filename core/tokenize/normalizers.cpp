#include "tokenize/normalizers.h"

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <memory>
#include <vector>

#include "tokenize/onig_regex.h"
#include "tokenize/precompiled_charsmap.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

// Calls f(code point, its byte range in text.text) for each character.
template <typename F>
void for_each_char(const NormalizedText& text, F&& f) {
  for (size_t i = 0; i < text.text.size();) {
    const unicode::CodePoint c = unicode::decode_utf8_at(text.text, i);
    f(c.cp, c.begin, c.end);
    i = c.end;
  }
}

// Unicode normalisation with ICU. The text is cut where ICU says no character can combine
// across (boundaries); a segment that changes maps, as a whole, to the original span of the
// segment — usually one character and its marks.
class UnicodeNormalizer final : public Normalizer {
 public:
  UnicodeNormalizer(const std::string& form, const JsonNode& node) {
    UErrorCode status = U_ZERO_ERROR;
    if (form == "NFC") norm_ = icu::Normalizer2::getNFCInstance(status);
    if (form == "NFD") norm_ = icu::Normalizer2::getNFDInstance(status);
    if (form == "NFKC") norm_ = icu::Normalizer2::getNFKCInstance(status);
    if (form == "NFKD") norm_ = icu::Normalizer2::getNFKDInstance(status);
    if (U_FAILURE(status) || !norm_) node.fail("cannot be set up: ICU has no " + form + " data");
  }

  void normalize(NormalizedText& text) const override {
    UErrorCode status = U_ZERO_ERROR;
    if (norm_->isNormalized(icu::UnicodeString::fromUTF8(text.text), status) && U_SUCCESS(status))
      return;
    NormalizedText out;
    size_t segment = 0;
    const auto flush = [&](size_t end) {
      if (end == segment) return;
      UErrorCode st = U_ZERO_ERROR;
      const icu::UnicodeString in = icu::UnicodeString::fromUTF8(
          icu::StringPiece(text.text.data() + segment, int32_t(end - segment)));
      const icu::UnicodeString done = norm_->normalize(in, st);
      if (U_FAILURE(st) || done == in) {
        out.append_range(text, segment, end);
      } else {
        std::string utf8;
        done.toUTF8String(utf8);
        out.append(utf8, text.original_span(segment, end));
      }
      segment = end;
    };
    for_each_char(text, [&](char32_t cp, size_t begin, size_t) {
      if (norm_->hasBoundaryBefore(UChar32(cp))) flush(begin);
    });
    flush(text.text.size());
    text = std::move(out);
  }

 private:
  const icu::Normalizer2* norm_ = nullptr;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override {
    NormalizedText out;
    std::u32string lower;
    for_each_char(text, [&](char32_t cp, size_t begin, size_t end) {
      lower.clear();
      unicode::append_lower(cp, lower);
      if (lower.size() == 1 && lower[0] == cp) {
        out.append_range(text, begin, end);
      } else {
        for (char32_t c : lower) out.append(c, text.align[begin]);
      }
    });
    text = std::move(out);
  }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedText& text) const override {
    bool all_space = true;
    size_t first = text.text.size(), last = 0;
    for_each_char(text, [&](char32_t cp, size_t begin, size_t end) {
      if (unicode::is_white_space(cp)) return;
      if (all_space) first = begin;
      all_space = false;
      last = end;
    });
    if (all_space) {
      if (left_ || right_) text = NormalizedText{};
      return;
    }
    const size_t b = left_ ? first : 0;
    const size_t e = right_ ? last : text.text.size();
    text = b < e ? text.slice(b, e) : NormalizedText{};
  }

 private:
  bool left_, right_;
};

class StripAccents final : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override {
    NormalizedText out;
    for_each_char(text, [&](char32_t cp, size_t begin, size_t end) {
      if (!unicode::is_mark_nonspacing(cp)) out.append_range(text, begin, end);
    });
    text = std::move(out);
  }
};

class Replace final : public Normalizer {
 public:
  explicit Replace(const JsonNode& node) : content_(node.string("content")) {
    const JsonNode::Pattern p = node.pattern("pattern");
    if (p.regex) {
      regex_ = std::make_unique<OnigRegex>(p.text, node.file().string() + ": key '" + p.key + "'");
    } else {
      literal_ = p.text;
    }
  }
  void normalize(NormalizedText& text) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    if (regex_) {
      matches = regex_->find_all(text.text);
    } else if (!literal_.empty()) {
      for (size_t at = text.text.find(literal_); at != std::string::npos;
           at = text.text.find(literal_, at + literal_.size()))
        matches.emplace_back(at, at + literal_.size());
    }
    if (matches.empty()) return;
    NormalizedText out;
    size_t done = 0;
    for (const auto& [b, e] : matches) {
      out.append_range(text, done, b);
      out.append(content_, text.original_span(b, e));
      done = e;
    }
    out.append_range(text, done, text.text.size());
    text = std::move(out);
  }

 private:
  std::string content_, literal_;
  std::unique_ptr<OnigRegex> regex_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(NormalizedText& text) const override {
    if (text.empty()) return;
    NormalizedText out;
    out.append(prefix_, text.align[0]);  // the prefix belongs to the first character
    out.append_range(text, 0, text.text.size());
    text = std::move(out);
  }

 private:
  std::string prefix_;
};

// SentencePiece's character rules (precompiled_charsmap) as the tokenizers library applies
// them (normalizers/precompiled.rs): per extended grapheme cluster, a cluster shorter than 6
// bytes with a rule for (a prefix of) it becomes that rule's replacement; otherwise each
// character with a rule of its own becomes its replacement. Replacements take the original
// span of what they replace.
class Precompiled final : public Normalizer {
 public:
  explicit Precompiled(const JsonNode& node) {
    const std::string key = node.key().empty() ? "precompiled_charsmap" : node.key() + ".precompiled_charsmap";
    const std::string where = node.file().string() + ": key '" + key + "'";
    const auto blob = decode_base64(node.string("precompiled_charsmap"));
    if (!blob) node.fail("is not base64", "precompiled_charsmap");
    map_ = std::make_unique<PrecompiledCharsmap>(*blob, where);
    UErrorCode status = U_ZERO_ERROR;
    graphemes_.reset(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || !graphemes_) node.fail("cannot be set up: ICU has no grapheme break rules");
  }

  void normalize(NormalizedText& text) const override {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(graphemes_->clone());  // one per call: thread-safe
    UText* ut = utext_openUTF8(nullptr, text.text.data(), int64_t(text.text.size()), &status);
    if (U_FAILURE(status)) return;
    it->setText(ut, status);
    NormalizedText out;
    bool changed = false;
    int32_t begin = it->first();
    for (int32_t end = it->next(); end != icu::BreakIterator::DONE && U_SUCCESS(status); begin = end, end = it->next()) {
      const std::string_view grapheme(text.text.data() + begin, size_t(end - begin));
      if (grapheme.size() < 6) {
        if (const auto r = map_->transform(grapheme)) {
          out.append(*r, text.original_span(size_t(begin), size_t(end)));
          changed = true;
          continue;
        }
      }
      for_each_char_in(text, size_t(begin), size_t(end), [&](size_t b, size_t e) {
        if (const auto r = map_->transform(std::string_view(text.text).substr(b, e - b))) {
          out.append(*r, text.original_span(b, e));
          changed = true;
        } else {
          out.append_range(text, b, e);
        }
      });
    }
    utext_close(ut);
    if (changed && U_SUCCESS(status)) text = std::move(out);
  }

 private:
  template <typename F>
  static void for_each_char_in(const NormalizedText& text, size_t begin, size_t end, F&& f) {
    for (size_t i = begin; i < end;) {
      const size_t next = unicode::decode_utf8_at(text.text, i).end;
      f(i, next);
      i = next;
    }
  }

  std::unique_ptr<PrecompiledCharsmap> map_;
  std::unique_ptr<icu::BreakIterator> graphemes_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(NormalizedText& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const JsonNode& node) {
  const std::string type = node.type();
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(type, node);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip")
    return std::make_unique<Strip>(node.flag("strip_left", true), node.flag("strip_right", true));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Replace") return std::make_unique<Replace>(node);
  if (type == "Prepend") return std::make_unique<Prepend>(node.string("prepend"));
  if (type == "Precompiled") return std::make_unique<Precompiled>(node);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const JsonNode& item : node.items("normalizers")) parts.push_back(parse_normalizer(item));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  node.unsupported_type(type,
                        "NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, "
                        "Precompiled and Sequence (BertNormalizer only with a WordPiece model)");
}

}  // namespace attn
