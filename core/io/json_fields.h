#pragma once
// Checked reading of numbers and fields from parsed JSON. nlohmann's get<int>() or get<float>()
// on a value outside the target type's range is undefined behaviour (1e56 as an int), so every
// number the core reads from a file goes through json_int, json_number or json_float, and
// config readers use JsonFields, whose errors name the file and the key.
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace attn {

// `v` as an integer in [lo, hi]; nullopt when it is not a JSON integer (2.0 is not one) or is
// out of range.
std::optional<int64_t> json_int(const nlohmann::json& v, int64_t lo, int64_t hi);
// `v` as a finite number (integer or float); nullopt otherwise.
std::optional<double> json_number(const nlohmann::json& v);
// `v` as a finite number within float's range; nullopt otherwise.
std::optional<float> json_float(const nlohmann::json& v);

// The keys of one JSON object. Absent and null keys take the fallback; a key of the wrong
// kind throws attn::Error "SOURCE: key 'K' must be …".
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string source) : j_(object), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const;
  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  const nlohmann::json& json() const { return j_; }
  const std::string& source() const { return source_; }

  // The first of `keys` present, as an integer in [lo, hi].
  int required_int(std::initializer_list<const char*> keys, int lo = 1, int hi = 1 << 30) const;
  int optional_int(const char* key, int fallback, int lo = 0, int hi = 1 << 30) const;
  // `key` holds `v` as an integer in [lo, hi], else fails naming `key` (which may be a path such
  // as "size.height").
  int int_in(const nlohmann::json& v, const std::string& key, int lo, int hi) const;
  double optional_number(const char* key, double fallback) const;
  float optional_float(const char* key, float fallback) const;
  bool optional_bool(const char* key, bool fallback) const;
  std::string optional_string(const char* key, const std::string& fallback) const;

 private:
  const nlohmann::json& j_;
  std::string source_;
};

}  // namespace attn
