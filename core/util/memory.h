#pragma once
// The memory guard: what a run will need, and how much the machine can safely give it.
// Recording attention for N tokens takes layers × heads × N² floats, which grows fast
// (GPT-2 small at 4,096 tokens: 9.7 GB); a run above the budget must be refused or
// reduced before it starts, never discovered by the kernel's OOM killer.
#include <cstdint>
#include <string>

namespace attn {

struct MemoryEstimate {
  uint64_t recording = 0;  // attention (+ scores, Q/K/V) kept after the run
  uint64_t working = 0;    // activations and one layer's temporaries during the run
  uint64_t total() const { return recording + working; }
};

// `logits_rows` rows of `vocab` logits are counted in the working set. `head_dim` 0 means
// hidden / heads.
MemoryEstimate estimate_run_memory(int layers, int heads, int hidden, int intermediate, int tokens, int logits_rows, int vocab,
                                   bool with_qkv, bool with_scores, int head_dim = 0);

uint64_t physical_memory_bytes();   // 0 when unknown
uint64_t available_memory_bytes();  // MemAvailable from /proc/meminfo; 0 when unknown

// The budget a run may use: ATTNSCOPE_MEMORY_BUDGET (e.g. "6G", "512M", bytes) when set,
// else half of physical memory, never more than what is available now plus 10 %.
// Throws attn::Error naming the variable when it is set to nonsense.
uint64_t memory_budget();
// Parses "512M", "6G", "1.5G", "1000000" (bytes). Throws attn::Error.
uint64_t parse_byte_size(const std::string& text);
// "1.5 GiB", "300 MiB", "12 KiB".
std::string format_bytes(uint64_t bytes);

}  // namespace attn
