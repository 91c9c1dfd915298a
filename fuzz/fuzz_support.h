#pragma once
// Shared by the libFuzzer targets. Each target feeds arbitrary bytes to one parser: an
// attn::Error is the expected answer to bad input; any other exception, a crash, a
// sanitizer report, a hang or a huge allocation is a finding.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace attn::fuzz {

// A private scratch folder in memory-backed storage for targets whose parser reads files.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto d = base / ("attn-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// The source tree's fixtures (for targets that need a valid model around the fuzzed part).
inline std::filesystem::path fixtures_dir() { return ATTN_FIXTURES_DIR; }

}  // namespace attn::fuzz
