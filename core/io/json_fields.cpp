#include "io/json_fields.h"

#include <cmath>
#include <limits>

#include "util/error.h"

namespace attn {

std::optional<int64_t> json_int(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (hi < 0 || u > uint64_t(hi) || (lo > 0 && u < uint64_t(lo))) return std::nullopt;
    return int64_t(u);
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < lo || s > hi) return std::nullopt;
    return s;
  }
  return std::nullopt;
}

std::optional<double> json_number(const nlohmann::json& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();  // from an integer: rounds, never undefined
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<float> json_float(const nlohmann::json& v) {
  const auto d = json_number(v);
  if (!d || std::fabs(*d) > double(std::numeric_limits<float>::max())) return std::nullopt;
  return float(*d);
}

void JsonFields::fail(const std::string& what) const { throw Error(source_ + ": " + what); }

int JsonFields::int_in(const nlohmann::json& v, const std::string& key, int lo, int hi) const {
  if (const auto i = json_int(v, lo, hi)) return int(*i);
  if (lo == 1 && hi == 1 << 30) fail("key '" + key + "' must be a positive integer");
  fail("key '" + key + "' must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
}

int JsonFields::required_int(std::initializer_list<const char*> keys, int lo, int hi) const {
  for (const char* k : keys)
    if (has(k)) return int_in(j_[k], k, lo, hi);
  fail(std::string("missing required key '") + *keys.begin() + "'");
}

int JsonFields::optional_int(const char* key, int fallback, int lo, int hi) const {
  return has(key) ? int_in(j_[key], key, lo, hi) : fallback;
}

double JsonFields::optional_number(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  if (const auto d = json_number(j_[key])) return *d;
  fail(std::string("key '") + key + "' must be a finite number");
}

float JsonFields::optional_float(const char* key, float fallback) const {
  if (!has(key)) return fallback;
  if (const auto f = json_float(j_[key])) return *f;
  fail(std::string("key '") + key + "' must be a finite number within float's range");
}

bool JsonFields::optional_bool(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!j_[key].is_boolean()) fail(std::string("key '") + key + "' must be true or false");
  return j_[key].get<bool>();
}

std::string JsonFields::optional_string(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  if (!j_[key].is_string()) fail(std::string("key '") + key + "' must be a string");
  return j_[key].get<std::string>();
}

}  // namespace attn
