#include "io/json_file.h"

#include <cerrno>
#include <fstream>
#include <unistd.h>
#include <sstream>

#include "util/error.h"

namespace attn {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path.string() + ": is a directory, expected a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + (::access(path.c_str(), R_OK) != 0 && errno == EACCES ? ": permission denied: the file cannot be read"
                                                                                               : ": cannot be read"));
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace attn
