#include "test_support.h"

#include "util/error.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace attn::test {

namespace {

// Every test process works in a scratch folder of its own: TMPDIR points there (so
// std::filesystem::temp_directory_path, QDir::tempPath and the programs the tests start use
// it), and it is removed with everything in it when the tests end.
class ScratchTempDir : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* outer = std::getenv("TMPDIR");
    dir_ = std::filesystem::path(outer && *outer ? outer : "/tmp") / ("attn-tests-" + std::to_string(::getpid()));
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (!ec) ::setenv("TMPDIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  std::filesystem::path dir_;
};

[[maybe_unused]] ::testing::Environment* const scratch = ::testing::AddGlobalTestEnvironment(new ScratchTempDir);

}  // namespace

std::filesystem::path fixtures_dir() { return ATTN_FIXTURES_DIR; }

std::filesystem::path shared_model_dir(const std::string& name) {
  std::filesystem::path root = ATTN_SHARED_MODELS_DIR;
  if (const char* env = std::getenv("ATTN_SHARED_MODELS")) root = env;
  std::error_code ec;
  const auto dir = root / name;
  if (!std::filesystem::is_directory(dir, ec)) return {};
  return dir;
}

std::filesystem::path shared_dir(const std::string& name) {
  std::filesystem::path root = std::filesystem::path(ATTN_SHARED_MODELS_DIR).parent_path();
  if (const char* env = std::getenv("ATTN_SHARED_MODELS")) root = std::filesystem::path(env).parent_path();
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

TempDir::TempDir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  path_ = std::filesystem::temp_directory_path() /
          (prefix + "-" + std::string(info ? info->name() : "setup") + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  std::ofstream(path_ / name, std::ios::binary) << content;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace attn::test
