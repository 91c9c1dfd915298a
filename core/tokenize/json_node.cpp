#include "tokenize/json_node.h"

#include "io/json_fields.h"
#include "util/error.h"

namespace attn {

std::string JsonNode::sub_key(const std::string& sub) const {
  if (sub.empty()) return key_;
  if (key_.empty()) return sub;
  return sub[0] == '[' ? key_ + sub : key_ + "." + sub;
}

void JsonNode::fail(const std::string& what, const std::string& sub) const {
  throw Error(file_->string() + ": key '" + sub_key(sub) + "' " + what);
}

std::optional<JsonNode> JsonNode::find(const char* name) const {
  if (!value_->is_object()) return std::nullopt;
  const auto it = value_->find(name);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonNode(*it, *file_, sub_key(name));
}

JsonNode JsonNode::at(const char* name) const {
  if (!value_->is_object()) fail("must be an object");
  auto node = find(name);
  if (!node) fail("is missing", name);
  return *node;
}

std::vector<JsonNode> JsonNode::items(const char* name) const {
  const JsonNode list = at(name);
  if (!list.value().is_array()) list.fail("must be an array");
  std::vector<JsonNode> out;
  for (size_t i = 0; i < list.value().size(); ++i)
    out.emplace_back(list.value()[i], *file_, list.key_ + "[" + std::to_string(i) + "]");
  return out;
}

std::string JsonNode::type() const {
  if (!value_->is_object()) fail("must be an object with a \"type\"");
  const auto t = find("type");
  if (!t || !t->value().is_string()) fail("must be a string naming the component", "type");
  return t->value().get<std::string>();
}

std::string JsonNode::string(const char* name) const {
  const JsonNode v = at(name);
  if (!v.value().is_string()) v.fail("must be a string");
  return v.value().get<std::string>();
}

std::optional<std::string> JsonNode::optional_string(const char* name) const {
  const auto v = find(name);
  if (!v) return std::nullopt;
  if (!v->value().is_string()) v->fail("must be a string or null");
  return v->value().get<std::string>();
}

bool JsonNode::flag(const char* name, bool fallback) const {
  const auto v = find(name);
  if (!v) return fallback;
  if (!v->value().is_boolean()) v->fail("must be true, false or null");
  return v->value().get<bool>();
}

int64_t JsonNode::integer(const char* name, int64_t low, int64_t high, int64_t fallback) const {
  const auto v = find(name);
  if (!v) return fallback;
  const auto n = json_int(v->value(), low, high);
  if (!n) v->fail("must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
  return *n;
}

JsonNode::Pattern JsonNode::pattern(const char* name) const {
  const JsonNode p = at(name);
  for (const char* kind : {"String", "Regex"}) {
    if (const auto v = p.find(kind)) {
      if (!v->value().is_string()) v->fail("must be a string");
      return {v->value().get<std::string>(), kind[0] == 'R', v->key()};
    }
  }
  p.fail("must be {\"String\": ...} or {\"Regex\": ...}");
}

void JsonNode::unsupported_type(const std::string& type, const char* supported) const {
  fail("is '" + type + "'; supported are " + supported, "type");
}

}  // namespace attn
