#include "util/memory.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace attn {

namespace {

// A /proc/meminfo field in bytes, 0 when absent.
uint64_t meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream ss(line.substr(key.size() + 1));
    uint64_t kib = 0;
    ss >> kib;
    return kib * 1024;
  }
  return 0;
}

}  // namespace

MemoryEstimate estimate_run_memory(const RunShape& s) {
  const uint64_t f = sizeof(float), L = uint64_t(s.layers), H = uint64_t(s.heads), N = uint64_t(s.tokens);
  const uint64_t KV = s.kv_heads > 0 ? uint64_t(s.kv_heads) : H, C = uint64_t(s.hidden);
  const uint64_t d = s.head_dim > 0 ? uint64_t(s.head_dim) : H ? C / H : 0;
  const uint64_t qkv_parts = s.with_qkv ? (s.with_raw_qk ? 5 : 3) : 0;
  MemoryEstimate e;
  const uint64_t S = uint64_t(s.source_tokens);
  e.recording = L * H * N * N * f * (s.with_scores ? 2 : 1) + qkv_parts * L * H * N * d * f + uint64_t(s.encoder_layers) * H * S * S * f +
                L * H * N * S * f;
  e.working = N * f * (4 * C + 2 * H * d + 2 * KV * d + 2 * uint64_t(s.intermediate)) +
              uint64_t(std::max(1, s.threads)) * N * N * f + uint64_t(s.logits_rows) * uint64_t(s.vocab) * f +
              2 * uint64_t(s.cached_layers) * N * KV * d * f;
  return e;
}

bool memory_fits(const MemoryEstimate& e, uint64_t budget, uint64_t physical) {
  return e.total() <= budget && (physical == 0 || e.total() + e.weights <= physical);
}

uint64_t physical_memory_bytes() {
  if (uint64_t total = meminfo("MemTotal")) return total;
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? uint64_t(pages) * uint64_t(size) : 0;
}

uint64_t available_memory_bytes() { return meminfo("MemAvailable"); }

uint64_t parse_byte_size(const std::string& text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b')) s.pop_back();
  if (!s.empty() && (s.back() == 'i')) s.pop_back();
  double scale = 1;
  if (!s.empty()) {
    switch (std::toupper(static_cast<unsigned char>(s.back()))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
      default: break;
    }
    if (scale != 1) s.pop_back();
  }
  char* end = nullptr;
  const double v = s.empty() ? -1 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v > 0) || !std::isfinite(v * scale) || v * scale > 1e18)
    throw Error("'" + text + "' is not a memory size (examples: 512M, 6G, 1.5G)");
  return uint64_t(v * scale);
}

uint64_t memory_budget() {
  if (const char* env = std::getenv("ATTNSCOPE_MEMORY_BUDGET"); env && *env) {
    try {
      return parse_byte_size(env);
    } catch (const Error& e) {
      throw Error(std::string("ATTNSCOPE_MEMORY_BUDGET: ") + e.what());
    }
  }
  const uint64_t physical = physical_memory_bytes();
  uint64_t budget = physical ? physical / 2 : (uint64_t(2) << 30);
  if (const uint64_t avail = available_memory_bytes()) budget = std::min(budget, avail + avail / 10);
  return budget;
}

std::string memory_budget_origin() {
  if (const char* env = std::getenv("ATTNSCOPE_MEMORY_BUDGET"); env && *env) return "set by ATTNSCOPE_MEMORY_BUDGET";
  return "half of this machine's memory; ATTNSCOPE_MEMORY_BUDGET sets another";
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

void keep_activations_in_heap() {
#ifdef M_MMAP_THRESHOLD
  static const bool once = [] { return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1; }();
  (void)once;
#endif
}

void populate_for_reading(const void* p, size_t bytes) {
#ifdef MADV_POPULATE_READ
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) / page * page, end = reinterpret_cast<uintptr_t>(p) + bytes;
  if (bytes) madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_READ);
#else
  (void)p, (void)bytes;
#endif
}

}  // namespace attn
