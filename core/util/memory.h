#pragma once
// The memory guard: what a run will need, and how much the machine can safely give it.
// Recording attention for N tokens takes layers × heads × N² floats, which grows fast
// (GPT-2 small at 4,096 tokens: 9.7 GB); a run above the budget must be refused or
// reduced before it starts, never discovered by the kernel's OOM killer.
#include <cstddef>
#include <cstdint>
#include <string>

namespace attn {

struct MemoryEstimate {
  uint64_t recording = 0;  // attention (+ scores, Q/K/V) kept after the run
  uint64_t working = 0;    // activations and one layer's temporaries during the run
  // The model's weights: memory-mapped from their files (plus any converted copies). They
  // are not counted against the budget — the kernel can drop mapped pages and read them
  // again — but a run whose weights and total() do not fit in the machine's memory would
  // read them from disk again for every layer.
  uint64_t weights = 0;
  uint64_t total() const { return recording + working; }
};

// The shape of one run.
struct RunShape {
  int layers = 0;     // recorded layers
  int heads = 0;      // query heads
  int kv_heads = 0;   // key/value heads (grouped-query attention); 0 = heads
  int head_dim = 0;   // 0 = hidden / heads
  int hidden = 0, intermediate = 0;
  int tokens = 0;
  int logits_rows = 0, vocab = 0;
  bool with_qkv = false;     // per-head Q/K/V kept
  bool with_raw_qk = false;  // and a rotary model's raw q/k projections (with_qkv only)
  bool with_scores = false;
  int threads = 1;           // heads computed at once, each in an (N, N) scratch when not recorded
  int cached_layers = 0;     // a generation's key/value cache: the layers whose K and V (N, KV·d) it keeps
  // Encoder-decoders: the source's tokens S and encoder layers, whose (S, S) attention is
  // recorded with each decoder layer's (N, S) cross-attention.
  int source_tokens = 0, encoder_layers = 0;
};

// The recording exactly; the working set as the forward pass allocates it: the hidden state,
// the normed input, Q (N, H·d), K and V (N, KV·d), the context, the MLP's two (N, intermediate)
// halves, one (N, N) scratch per thread and the logits rows.
MemoryEstimate estimate_run_memory(const RunShape& shape);

// Whether a run with estimate `e` may start: its recording and working set within `budget`,
// and together with the weights within `physical` memory (0: unknown, not checked).
bool memory_fits(const MemoryEstimate& e, uint64_t budget, uint64_t physical);

uint64_t physical_memory_bytes();   // 0 when unknown
uint64_t available_memory_bytes();  // MemAvailable from /proc/meminfo; 0 when unknown

// The budget a run may use: ATTNSCOPE_MEMORY_BUDGET (e.g. "6G", "512M", bytes) when set,
// else half of physical memory, never more than what is available now plus 10 %.
// Throws attn::Error naming the variable when it is set to nonsense.
uint64_t memory_budget();
// Where memory_budget() comes from, for messages: "set by ATTNSCOPE_MEMORY_BUDGET", or "half of
// this machine's memory (ATTNSCOPE_MEMORY_BUDGET sets another)".
std::string memory_budget_origin();
// Parses "512M", "6G", "1.5G", "1000000" (bytes). Throws attn::Error.
uint64_t parse_byte_size(const std::string& text);
// "1.5 GiB", "300 MiB", "12 KiB".
std::string format_bytes(uint64_t bytes);

// Keeps the engine's activations (a few MB to a few tens of MB each, allocated and freed
// layer after layer) in the C library's heap. With glibc's defaults a freed block at the top of
// the heap was handed back to the kernel (trimmed) and the next layer's faulted its pages in
// anew — in a virtual machine over half of a one-thread forward pass (GPT-2 small at 512
// tokens: 1.5–2.0 s → 0.7 s). Sets M_MMAP_THRESHOLD to 32 MB and M_TRIM_THRESHOLD to 256 MB,
// once per process: blocks above 32 MB (and recordings, util/zeroed_array.h) are still mapped
// and returned on release, and at most 256 MB of free heap is kept. Model::load calls it.
void keep_activations_in_heap();

// Maps the pages of [p, p + bytes) of a file mapping into the process in one call
// (MADV_POPULATE_READ), before code that reads all of them (packing a weight): touched one by
// one, each 4 kB page would cost a fault of its own (~20 µs each in this project's virtual
// machines). Advice only: does nothing where the kernel lacks it (before Linux 5.14).
void populate_for_reading(const void* p, size_t bytes);

}  // namespace attn
