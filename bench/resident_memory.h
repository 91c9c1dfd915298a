#pragma once
// The process's resident memory from /proc/self/status, for the benchmarks that report it:
// VmHWM (the peak; it never falls, so run one process per measurement), VmRSS, RssAnon (the
// heap) and RssFile (mapped files), in bytes.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace attn::bench {

inline nlohmann::json resident_memory() {
  nlohmann::json out = nlohmann::json::object();
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    for (const char* key : {"VmHWM", "VmRSS", "RssAnon", "RssFile"}) {
      const std::string prefix = std::string(key) + ":";
      if (line.starts_with(prefix)) out[key] = std::stoull(line.substr(prefix.size())) * 1024;  // "  123 kB"
    }
  return out;
}

}  // namespace attn::bench
