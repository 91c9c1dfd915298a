#include "tokenize/tokenizer_json_reader.h"

#include <limits>

#include "tokenize/tokenizer_files.h"
#include "util/error.h"

namespace attn::tokenizer_files {
namespace {

using json = nlohmann::json;

// Builds the document like nlohmann's own DOM parser, except for model.vocab and
// model.merges. Returns false (stopping the parse) when they are not plain: `irregular`.
class Reader final : public nlohmann::json_sax<json> {
 public:
  explicit Reader(TokenizerJson& out) : out_(out) {}
  bool irregular = false;
  std::string error;

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override { return value(json(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::Vocab) {
      if (v > uint64_t(kMaxTokenId)) return give_up();  // the full parser names the key
      out_.vocab.emplace_back(std::move(key_), int32_t(v));
      return true;
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool string(string_t& v) override {
    if (mode_ == Mode::Merges) {
      const size_t space = v.find(' ');
      if (space == std::string::npos || v.find(' ', space + 1) != std::string::npos) return give_up();
      out_.merges.emplace_back(v.substr(0, space), v.substr(space + 1));
      return true;
    }
    if (mode_ == Mode::MergePair) {
      if (pair_.size() == 2) return give_up();
      pair_.push_back(std::move(v));
      return true;
    }
    return value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return give_up(); }
  bool start_object(std::size_t) override {
    if (mode_ != Mode::Dom) return give_up();
    if (pending_ == Mode::Vocab) {
      mode_ = Mode::Vocab;
      out_.has_vocab = true;
      pending_ = Mode::Dom;
      return true;
    }
    pending_ = Mode::Dom;
    json* made = value(json::object()) ? last_ : nullptr;
    stack_.push_back(made);
    if (stack_.size() == 2 && root_key_ == "model") model_ = made;
    return true;
  }
  bool key(string_t& k) override {
    if (mode_ == Mode::Vocab) {
      key_ = std::move(k);
      return true;
    }
    if (mode_ != Mode::Dom) return give_up();
    if (stack_.size() == 1) root_key_ = k;
    if (!stack_.empty() && stack_.back() == model_ && model_) {
      pending_ = k == "vocab" ? Mode::Vocab : k == "merges" ? Mode::Merges : Mode::Dom;
    }
    object_element_ = &(*stack_.back())[k];
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::Vocab) {
      mode_ = Mode::Dom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::Merges) {
      mode_ = Mode::MergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::Dom) return give_up();
    if (pending_ == Mode::Merges) {
      mode_ = Mode::Merges;
      out_.has_merges = true;
      pending_ = Mode::Dom;
      return true;
    }
    pending_ = Mode::Dom;
    stack_.push_back(value(json::array()) ? last_ : nullptr);
    return true;
  }
  bool end_array() override {
    if (mode_ == Mode::MergePair) {
      if (pair_.size() != 2) return give_up();
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::Merges;
      return true;
    }
    if (mode_ == Mode::Merges) {
      mode_ = Mode::Dom;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = e.what();
    return false;
  }

 private:
  enum class Mode { Dom, Vocab, Merges, MergePair };

  bool give_up() {
    irregular = true;
    return false;
  }
  // Places a value where the parse is (root, array element or object member).
  bool value(json&& v) {
    if (mode_ != Mode::Dom) return give_up();
    pending_ = Mode::Dom;
    if (stack_.empty()) {
      out_.root = std::move(v);
      last_ = &out_.root;
    } else if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(v));
      last_ = &stack_.back()->back();
    } else {
      *object_element_ = std::move(v);
      last_ = object_element_;
    }
    return true;
  }

  TokenizerJson& out_;
  std::vector<json*> stack_;
  json* object_element_ = nullptr;
  json* last_ = nullptr;
  json* model_ = nullptr;
  std::string root_key_, key_;
  std::vector<std::string> pair_;
  Mode mode_ = Mode::Dom, pending_ = Mode::Dom;
};

}  // namespace

TokenizerJson read_tokenizer_json(const std::filesystem::path& file) {
  const std::string text = read_text_file(file);
  TokenizerJson out;
  // Rough sizes (Gemma 3: 33 MB, 262,144 tokens, 514,906 merges) spare the vectors' growth.
  out.vocab.reserve(text.size() / 160);
  out.merges.reserve(text.size() / 80);
  Reader reader(out);
  if (json::sax_parse(text, &reader)) {
    out.fast = true;
    return out;
  }
  if (!reader.irregular) throw Error(file.string() + ": invalid JSON (" + reader.error + ")");
  TokenizerJson slow;  // not plain: the whole document, checked key by key later
  try {
    slow.root = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(file.string() + ": invalid JSON (" + e.what() + ")");
  }
  return slow;
}

}  // namespace attn::tokenizer_files
