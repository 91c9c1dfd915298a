#pragma once
// A small GNU-style option parser for the attnscope subcommands: "--name value",
// "--name=value", boolean "--flag", and "-h"/"--help".
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn::cli {

struct OptionSpec {
  std::string name;   // without the leading "--"
  bool takes_value;   // false for flags
  std::string value_name;
  std::string help;
};

// A usage error: printed with the command's help hint, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // Parses argv[first..argc). Throws UsageError for unknown options or missing values.
  Args(int argc, char** argv, int first, const std::vector<OptionSpec>& specs);

  bool help() const { return help_; }
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  // The value of a required option; throws UsageError "--name is required".
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback, int min, int max) const;

 private:
  bool help_ = false;
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
};

// "Options:" block for --help output.
std::string format_options(const std::vector<OptionSpec>& specs);

}  // namespace attn::cli
