#include "tokenize/post_processors.h"

#include <limits>

#include "io/json_fields.h"
#include "tokenize/tokenizer_files.h"
#include "util/error.h"

namespace attn {

void append_encoding(Encoding& out, const Encoding& part, int32_t type_id) {
  for (size_t i = 0; i < part.size(); ++i) {
    out.push(part.ids[i], part.tokens[i], part.offsets[i], part.sequence_ids[i], part.special[i] != 0);
    out.type_ids.back() = type_id;
  }
}

namespace {

class Template final : public PostProcessor {
 public:
  Template(std::vector<TemplatePart> single, std::vector<TemplatePart> pair)
      : single_(std::move(single)), pair_(std::move(pair)) {}

  Encoding process(Encoding a, std::optional<Encoding> b) const override {
    Encoding out;
    for (const TemplatePart& part : b ? pair_ : single_) {
      if (part.is_sequence) {
        append_encoding(out, part.sequence == 0 ? a : *b, part.type_id);
        continue;
      }
      for (size_t i = 0; i < part.ids.size(); ++i) {
        out.push(part.ids[i], part.tokens[i], {0, 0}, -1, true);
        out.type_ids.back() = part.type_id;
      }
    }
    return out;
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> ids;
    for (const auto* list : {&single_, &pair_})
      for (const TemplatePart& p : *list) ids.insert(ids.end(), p.ids.begin(), p.ids.end());
    return ids;
  }

 private:
  std::vector<TemplatePart> single_, pair_;
};

class PassThrough final : public PostProcessor {  // ByteLevel
 public:
  Encoding process(Encoding a, std::optional<Encoding> b) const override {
    if (b) append_encoding(a, *b, 1);
    return a;
  }
  bool changes_ids() const override { return false; }
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  Encoding process(Encoding a, std::optional<Encoding> b) const override {
    // The first processor that changes ids joins A and B; later ones see the joined
    // encoding (real files have one such processor, after ByteLevel).
    std::optional<Encoding> out;
    for (const auto& p : parts_) {
      if (!p->changes_ids()) continue;
      out = out ? p->process(std::move(*out), std::nullopt) : p->process(std::move(a), std::move(b));
    }
    return out ? std::move(*out) : PassThrough().process(std::move(a), std::move(b));
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> ids;
    for (const auto& p : parts_) {
      const auto more = p->special_ids();
      ids.insert(ids.end(), more.begin(), more.end());
    }
    return ids;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

int32_t type_id_of(const JsonNode& node) {
  return int32_t(node.integer("type_id", 0, std::numeric_limits<int32_t>::max(), 0));
}

// TemplateProcessing's "single" or "pair" list.
std::vector<TemplatePart> parse_template(const JsonNode& node, const char* name, bool pair) {
  std::vector<TemplatePart> parts;
  const JsonNode specials = node.at("special_tokens");
  for (const JsonNode& item : node.items(name)) {
    TemplatePart part;
    if (const auto seq = item.find("Sequence")) {
      const std::string id = seq->string("id");
      if (id != "A" && (id != "B" || !pair)) seq->fail(pair ? "must be A or B" : "must be A", "id");
      part.is_sequence = true;
      part.sequence = id == "A" ? 0 : 1;
      part.type_id = type_id_of(*seq);
    } else if (const auto special = item.find("SpecialToken")) {
      const std::string id = special->string("id");
      const auto entry = specials.find(id.c_str());
      if (!entry) special->fail("names '" + id + "', which is not in special_tokens", "id");
      for (const JsonNode& v : entry->items("ids")) {
        const auto n = json_int(v.value(), 0, kMaxTokenId);
        if (!n) v.fail(tokenizer_files::kTokenIdRule);
        part.ids.push_back(int32_t(*n));
      }
      for (const JsonNode& v : entry->items("tokens")) {
        if (!v.value().is_string()) v.fail("must be a string");
        part.tokens.push_back(v.value().get<std::string>());
      }
      if (part.ids.size() != part.tokens.size()) entry->fail("must have as many ids as tokens");
      part.type_id = type_id_of(*special);
    } else {
      item.fail("must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

// BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102].
TemplatePart named_token(const JsonNode& node, const char* name) {
  const JsonNode v = node.at(name);
  const auto& j = v.value();
  const auto id = j.is_array() && j.size() == 2 && j[0].is_string()
                      ? json_int(j[1], 0, kMaxTokenId)
                      : std::nullopt;
  if (!id) v.fail("must be [token, id]");
  return {false, 0, {int32_t(*id)}, {j[0].get<std::string>()}, 0};
}

TemplatePart seq(int which, int32_t type_id) { return {true, which, {}, {}, type_id}; }
TemplatePart with_type(TemplatePart p, int32_t type_id) {
  p.type_id = type_id;
  return p;
}

}  // namespace

std::unique_ptr<PostProcessor> make_template(std::vector<TemplatePart> single,
                                             std::vector<TemplatePart> pair) {
  return std::make_unique<Template>(std::move(single), std::move(pair));
}

std::unique_ptr<PostProcessor> parse_post_processor(const JsonNode& node) {
  const std::string type = node.type();
  if (type == "TemplateProcessing")
    return make_template(parse_template(node, "single", false), parse_template(node, "pair", true));
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const TemplatePart cls = named_token(node, "cls"), sep = named_token(node, "sep");
    std::vector<TemplatePart> pair = {cls, seq(0, 0), sep};
    if (type == "RobertaProcessing") pair.push_back(sep);
    for (const TemplatePart& p : {seq(1, 1), with_type(sep, 1)}) pair.push_back(p);
    return make_template({cls, seq(0, 0), sep}, std::move(pair));
  }
  if (type == "ByteLevel") return std::make_unique<PassThrough>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (const JsonNode& item : node.items("processors")) parts.push_back(parse_post_processor(item));
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  node.unsupported_type(type,
                        "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel and "
                        "Sequence");
}

}  // namespace attn
