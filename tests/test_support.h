#pragma once
// Helpers shared by the test suites: where fixtures live, and skipping cleanly when the
// real published data in ../shared/models is absent.
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace attn::test {

// tests/fixtures in the source tree.
std::filesystem::path fixtures_dir();
// A folder of ../shared/models (beside the repository), or an empty path when absent.
// ATTN_SHARED_MODELS overrides the location.
std::filesystem::path shared_model_dir(const std::string& name);
// A folder of ../shared (e.g. "fuzz-findings"), or an empty path when absent. Follows
// ATTN_SHARED_MODELS too: its parent is taken as ../shared.
std::filesystem::path shared_dir(const std::string& name);
// Reads a whole file as bytes (throws on failure).
std::string read_file(const std::filesystem::path& path);

// What `f` throws as attn::Error, or "no error".
std::string error_of(const std::function<void()>& f);

// An empty folder of the current test's own, removed with what it holds when it goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "attn");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `content` (bytes) to path() / name.
  void write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace attn::test

// Skips the current test, saying why, when ../shared/models/NAME is missing.
#define ATTN_REQUIRE_SHARED(var, name)                                                  \
  const std::filesystem::path var = ::attn::test::shared_model_dir(name);               \
  if (var.empty())                                                                      \
  GTEST_SKIP() << "../shared/models/" << (name)                                         \
               << " is absent (real published data lives beside the repository only)"
