#include "tokenize/decoders.h"

#include "tokenize/bpe.h"
#include "tokenize/onig_regex.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {

std::string bytes_to_text(std::string_view bytes, DecodeMode mode) {
  return mode == DecodeMode::Display ? unicode::decode_utf8_showing_bytes(bytes)
                                     : unicode::decode_utf8_lossy(bytes);
}

namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      const size_t before = bytes.size();
      bool all_bytes = true;
      for (size_t i = 0; i < token.size() && all_bytes;) {
        const unicode::CodePoint c = unicode::decode_utf8_at(token, i, "token");
        const int b = unicode_to_byte(c.cp);
        if (b < 0) all_bytes = false;
        else bytes += char(b);
        i = c.end;
      }
      if (!all_bytes) bytes.replace(before, std::string::npos, token);  // as the library does
    }
    tokens = {bytes_to_text(bytes, mode)};
  }
};

// "<0x41>" -> 0x41, or -1.
int fallback_byte(const std::string& t) {
  if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return -1;
  int value = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = t[size_t(k)];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

class ByteFallback final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t count = 0;
    const auto flush = [&] {
      if (count == 0) return;
      if (unicode::find_invalid_utf8(bytes) == std::string::npos) {
        out.push_back(bytes);
      } else {
        for (size_t i = 0; i < count; ++i) out.push_back(mode == DecodeMode::Display ? bytes_to_text(bytes.substr(i, 1), mode) : "\uFFFD");
      }
      bytes.clear();
      count = 0;
    };
    for (std::string& token : tokens) {
      const int b = fallback_byte(token);
      if (b >= 0) {
        bytes += char(b);
        ++count;
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    tokens = std::move(out);
  }
};

class ReplaceDecoder final : public Decoder {
 public:
  explicit ReplaceDecoder(const JsonNode& node) : content_(node.string("content")) {
    const JsonNode::Pattern p = node.pattern("pattern");
    if (p.regex) regex_ = std::make_unique<OnigRegex>(p.text, node.file().string() + ": key '" + p.key + "'");
    else literal_ = p.text;
  }
  void decode_chain(std::vector<std::string>& tokens, DecodeMode) const override {
    for (std::string& token : tokens) {
      std::vector<std::pair<size_t, size_t>> found;
      if (regex_) {
        if (unicode::find_invalid_utf8(token) == std::string::npos) found = regex_->find_all(token);
      } else if (!literal_.empty()) {
        for (size_t at = token.find(literal_); at != std::string::npos; at = token.find(literal_, at + literal_.size()))
          found.emplace_back(at, at + literal_.size());
      }
      if (found.empty()) continue;
      std::string out;
      size_t done = 0;
      for (const auto& [b, e] : found) {
        out.append(token, done, b - done).append(content_);
        done = e;
      }
      token = out.append(token, done);
    }
  }

 private:
  std::string content_, literal_;
  std::unique_ptr<OnigRegex> regex_;
};

class MetaspaceDecoder final : public Decoder {
 public:
  explicit MetaspaceDecoder(const JsonNode& node)
      : replacement_(node.optional_string("replacement").value_or("\u2581")) {
    const bool prefix = node.flag("add_prefix_space", true);
    strip_first_ = node.optional_string("prepend_scheme").value_or(prefix ? "always" : "never") != "never";
  }
  void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      std::string out;
      for (size_t at = 0; at < t.size();) {
        if (!replacement_.empty() && t.compare(at, replacement_.size(), replacement_) == 0) {
          out += ' ';
          at += replacement_.size();
        } else {
          out += t[at++];
        }
      }
      if (i == 0 && strip_first_ && mode == DecodeMode::Text && out.starts_with(' ')) out.erase(0, 1);
      t = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class Strip final : public Decoder {
 public:
  explicit Strip(const JsonNode& node)
      : content_(node.string("content")),
        start_(size_t(node.integer("start", 0, 1 << 20, 0))),
        stop_(size_t(node.integer("stop", 0, 1 << 20, 0))) {
    if (content_.empty()) node.fail("must be one character", "content");
  }
  void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const override {
    if (mode != DecodeMode::Text) return;  // a token alone keeps its space
    for (std::string& t : tokens) {
      size_t b = 0, e = t.size();
      for (size_t k = 0; k < start_ && t.compare(b, content_.size(), content_) == 0 && b < e; ++k)
        b += content_.size();
      for (size_t k = 0; k < stop_ && e >= b + content_.size() &&
                         t.compare(e - content_.size(), content_.size(), content_) == 0; ++k)
        e -= content_.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class Fuse final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeMode) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    tokens = {all};
  }
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens, DecodeMode mode) const override {
    for (const auto& p : parts_) p->decode_chain(tokens, mode);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> parse_decoder(const JsonNode& node) {
  const std::string type = node.type();
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(node);
  if (type == "Metaspace") return std::make_unique<MetaspaceDecoder>(node);
  if (type == "Strip") return std::make_unique<Strip>(node);
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const JsonNode& item : node.items("decoders")) parts.push_back(parse_decoder(item));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  node.unsupported_type(type, "ByteLevel, ByteFallback, Replace, Metaspace, Strip, Fuse and Sequence");
}

}  // namespace attn
