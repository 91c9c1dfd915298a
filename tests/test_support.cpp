#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attn::test {

std::filesystem::path fixtures_dir() { return ATTN_FIXTURES_DIR; }

std::filesystem::path shared_model_dir(const std::string& name) {
  std::filesystem::path root = ATTN_SHARED_MODELS_DIR;
  if (const char* env = std::getenv("ATTN_SHARED_MODELS")) root = env;
  std::error_code ec;
  const auto dir = root / name;
  if (!std::filesystem::is_directory(dir, ec)) return {};
  return dir;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace attn::test
