#include "tokenize/pre_tokenizers.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "tokenize/bpe.h"
#include "tokenize/onig_regex.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const JsonNode& node, Behavior fallback) {
  const auto name = node.optional_string("behavior");
  if (!name) return fallback;
  static const std::pair<const char*, Behavior> kNames[] = {
      {"Removed", Behavior::Removed},
      {"Isolated", Behavior::Isolated},
      {"MergedWithPrevious", Behavior::MergedWithPrevious},
      {"MergedWithNext", Behavior::MergedWithNext},
      {"Contiguous", Behavior::Contiguous}};
  for (const auto& [n, b] : kNames)
    if (*name == n) return b;
  node.fail("is '" + *name +
                "'; supported are Removed, Isolated, MergedWithPrevious, MergedWithNext and "
                "Contiguous",
            "behavior");
}

using Ranges = std::vector<std::pair<size_t, size_t>>;

// The tokenizers library's NormalizedString::split: `matches` are sorted, non-overlapping
// byte ranges of piece.text; the pieces between them are the non-matches.
void split_piece(const NormalizedText& piece, const Ranges& found, Behavior behavior, bool invert,
                 std::vector<NormalizedText>& out) {
  struct Part {
    size_t begin, end;
    bool match;
  };
  std::vector<Part> parts;
  size_t prev = 0;
  for (const auto& [b, e] : found) {
    if (b > prev) parts.push_back({prev, b, invert});
    parts.push_back({b, e, !invert});
    prev = e;
  }
  if (prev < piece.text.size()) parts.push_back({prev, piece.text.size(), invert});

  std::vector<Part> kept;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const Part& p : parts)
        if (!p.match) kept.push_back(p);
      break;
    case Behavior::Isolated:
      kept.swap(parts);
      break;
    case Behavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.match && !previous_match && !kept.empty()) {
          kept.back().end = p.end;
        } else {
          kept.push_back(p);
        }
        previous_match = p.match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back(*it);
        }
        previous_match = it->match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case Behavior::Contiguous:
      for (const Part& p : parts) {
        if (!kept.empty() && p.match == previous_match) {
          kept.back().end = p.end;
        } else {
          kept.push_back(p);
        }
        previous_match = p.match;
      }
      break;
  }
  for (const Part& p : kept)
    if (p.end > p.begin) out.push_back(piece.slice(p.begin, p.end));
}

// Applies `split` to every piece.
void split_all(std::vector<NormalizedText>& pieces,
               const std::function<void(const NormalizedText&, std::vector<NormalizedText>&)>& split) {
  std::vector<NormalizedText> out;
  out.reserve(pieces.size());
  for (const NormalizedText& piece : pieces) split(piece, out);
  pieces = std::move(out);
}

Ranges literal_matches(const std::string& text, const std::string& literal) {
  Ranges found;
  if (literal.empty()) return found;
  for (size_t at = text.find(literal); at != std::string::npos;
       at = text.find(literal, at + literal.size()))
    found.emplace_back(at, at + literal.size());
  return found;
}

// Byte ranges of the characters for which `pred` holds, one range per run (or per
// character when `each`).
Ranges char_matches(const std::string& text, bool (*pred)(char32_t), bool each) {
  Ranges found;
  for (size_t i = 0; i < text.size();) {
    const unicode::CodePoint c = unicode::decode_utf8_at(text, i);
    if (pred(c.cp)) {
      if (!each && !found.empty() && found.back().second == c.begin) {
        found.back().second = c.end;
      } else {
        found.emplace_back(c.begin, c.end);
      }
    }
    i = c.end;
  }
  return found;
}

class Split final : public PreTokenizer {
 public:
  explicit Split(const JsonNode& node)
      : behavior_(parse_behavior(node, Behavior::Isolated)), invert_(node.flag("invert", false)) {
    if (!node.find("behavior")) node.fail("is missing", "behavior");
    const JsonNode::Pattern p = node.pattern("pattern");
    if (p.regex)
      regex_ = std::make_unique<OnigRegex>(p.text, node.file().string() + ": key '" + p.key + "'");
    else
      literal_ = p.text;
  }
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, [&](const NormalizedText& piece, std::vector<NormalizedText>& out) {
      const Ranges found = regex_ ? regex_->find_all(piece.text) : literal_matches(piece.text, literal_);
      split_piece(piece, found, behavior_, invert_, out);
    });
  }

 private:
  Behavior behavior_;
  bool invert_;
  std::string literal_;
  std::unique_ptr<OnigRegex> regex_;
};

class ByteLevel final : public PreTokenizer {
 public:
  explicit ByteLevel(const JsonNode& node)
      : add_prefix_space_(node.flag("add_prefix_space", true)),
        use_regex_(node.flag("use_regex", true)) {}
  bool byte_level() const override { return true; }
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, [&](const NormalizedText& piece, std::vector<NormalizedText>& out) {
      NormalizedText text;
      if (add_prefix_space_ && piece.text[0] != ' ') text.append(U' ', piece.align[0]);
      text.append_range(piece, 0, piece.text.size());
      if (!use_regex_) {
        out.push_back(to_byte_level(text));
        return;
      }
      const auto chars = unicode::decode_utf8(text.text);
      std::u32string cps;
      cps.reserve(chars.size());
      for (const auto& c : chars) cps += c.cp;
      for (const auto& [first, last] : gpt2_pre_tokenize(cps)) {
        const size_t end = last < chars.size() ? chars[last].begin : text.text.size();
        out.push_back(to_byte_level(text.slice(chars[first].begin, end)));
      }
    });
  }

 private:
  bool add_prefix_space_, use_regex_;
};

class Metaspace final : public PreTokenizer {
 public:
  explicit Metaspace(const JsonNode& node) : split_(node.flag("split", true)) {
    const std::string replacement = node.optional_string("replacement").value_or("\u2581");
    if (replacement.empty() || unicode::find_invalid_utf8(replacement) != std::string::npos ||
        unicode::decode_utf8_at(replacement, 0).end != replacement.size())
      node.fail("must be one character", "replacement");
    replacement_ = replacement;
    scheme_ = node.flag("add_prefix_space", true) ? "always" : "never";
    if (const auto s = node.optional_string("prepend_scheme")) scheme_ = *s;
    if (scheme_ != "always" && scheme_ != "first" && scheme_ != "never")
      node.fail("is '" + scheme_ + "'; supported are always, first and never", "prepend_scheme");
  }
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, [&](const NormalizedText& piece, std::vector<NormalizedText>& out) {
      NormalizedText text;
      // As the tokenizers library: "first" means the piece that starts the original text.
      const bool prepend = scheme_ == "always" || (scheme_ == "first" && piece.align[0].first == 0);
      for (size_t i = 0; i < piece.text.size(); ++i) {
        if (piece.text[i] == ' ') {
          text.append(replacement_, piece.align[i]);
        } else {
          text.append_range(piece, i, i + 1);
        }
      }
      if (prepend && !text.text.starts_with(replacement_)) {
        NormalizedText with;
        with.append(replacement_, text.align[0]);
        with.append_range(text, 0, text.text.size());
        text = std::move(with);
      }
      if (split_) {
        split_piece(text, literal_matches(text.text, replacement_), Behavior::MergedWithNext, false, out);
      } else {
        out.push_back(std::move(text));
      }
    });
  }

 private:
  std::string replacement_, scheme_;
  bool split_;
};

class CharClassSplit final : public PreTokenizer {
 public:
  CharClassSplit(bool (*pred)(char32_t), bool each, Behavior behavior)
      : pred_(pred), each_(each), behavior_(behavior) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, [&](const NormalizedText& piece, std::vector<NormalizedText>& out) {
      split_piece(piece, char_matches(piece.text, pred_, each_), behavior_, false, out);
    });
  }

 private:
  bool (*pred_)(char32_t);
  bool each_;
  Behavior behavior_;
};

class RegexSplit final : public PreTokenizer {  // Whitespace: keep the matches
 public:
  RegexSplit(const char* pattern, const std::string& where) : regex_(pattern, where) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    split_all(pieces, [&](const NormalizedText& piece, std::vector<NormalizedText>& out) {
      split_piece(piece, regex_.find_all(piece.text), Behavior::Removed, true, out);
    });
  }

 private:
  OnigRegex regex_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  bool byte_level() const override {
    for (const auto& p : parts_)
      if (p->byte_level()) return true;
    return false;
  }
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool is_punctuation_char(char32_t c) {
  return (c < 128 && std::ispunct(int(c))) || unicode::is_punctuation(c);
}

}  // namespace

NormalizedText to_byte_level(const NormalizedText& piece) {
  NormalizedText out;
  out.text.reserve(piece.text.size() * 2);
  out.align.reserve(piece.text.size() * 2);
  for (size_t i = 0; i < piece.text.size(); ++i)
    out.append(byte_to_unicode(static_cast<uint8_t>(piece.text[i])), piece.align[i]);
  return out;
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const JsonNode& node) {
  const std::string type = node.type();
  if (type == "Split") return std::make_unique<Split>(node);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(node);
  if (type == "Metaspace") return std::make_unique<Metaspace>(node);
  if (type == "Whitespace")
    return std::make_unique<RegexSplit>("\\w+|[^\\w\\s]+", node.file().string() + ": key '" + node.key() + "'");
  if (type == "WhitespaceSplit")
    return std::make_unique<CharClassSplit>(&unicode::is_white_space, false, Behavior::Removed);
  if (type == "Digits")
    return std::make_unique<CharClassSplit>(&unicode::is_number, node.flag("individual_digits", false),
                                            Behavior::Isolated);
  if (type == "Punctuation")
    return std::make_unique<CharClassSplit>(&is_punctuation_char, true,
                                            parse_behavior(node, Behavior::Isolated));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const JsonNode& item : node.items("pretokenizers")) parts.push_back(parse_pre_tokenizer(item));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  node.unsupported_type(type,
                        "Split, ByteLevel, Metaspace, Whitespace, WhitespaceSplit, Digits, "
                        "Punctuation and Sequence (BertPreTokenizer only with a WordPiece model)");
}

}  // namespace attn
