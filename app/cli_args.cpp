#include "cli_args.h"

#include <algorithm>

namespace attn::cli {

Args::Args(int argc, char** argv, int first, const std::vector<OptionSpec>& specs) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    if (!arg.starts_with("--")) throw UsageError("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == name; });
    if (spec == specs.end()) throw UsageError("unknown option '--" + name + "'");
    if (!spec->takes_value) {
      if (inline_value) throw UsageError("option '--" + name + "' takes no value");
      flags_.insert(name);
    } else if (inline_value) {
      values_[name] = *inline_value;
    } else {
      if (i + 1 >= argc) throw UsageError("option '--" + name + "' needs a value (" + spec->value_name + ")");
      values_[name] = argv[++i];
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw UsageError("--" + name + " is required");
  return *v;
}

int Args::get_int(const std::string& name, int fallback, int min, int max) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    const long n = std::stol(*v, &used);
    if (used != v->size() || n < min || n > max) throw std::out_of_range(name);
    return int(n);
  } catch (const std::exception&) {
    throw UsageError("--" + name + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
  }
}

std::string format_options(const std::vector<OptionSpec>& specs) {
  std::string out = "Options:\n";
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
    if (left.size() < 24) left.append(24 - left.size(), ' ');
    else left += "\n" + std::string(24, ' ');
    out += left + s.help + "\n";
  }
  out += "  -h, --help            show this help\n";
  return out;
}

}  // namespace attn::cli
