#include "util/zeroed_array.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace attn::detail {

namespace {

constexpr size_t kMapAtLeast = size_t(4) << 20;  // below this, the heap
constexpr size_t kAlign = 64;
constexpr size_t kHugePage = size_t(2) << 20;

size_t round_up(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

}  // namespace

void* allocate_zeroed(size_t bytes, bool& mapped) {
  mapped = bytes >= kMapAtLeast;
  if (!mapped) {
    // Cache-line aligned, as Eigen's own matrices are at least: vectorised sums over a row peel
    // a different head when the start's alignment differs, so a buffer at whatever address
    // malloc returns would make two identical runs round differently.
    const size_t size = round_up(bytes, kAlign);
    void* p = std::aligned_alloc(kAlign, size);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, size);
    return p;
  }
  // Over-map by a huge page, keep the 2 MB-aligned middle and unmap the rest, so that the
  // kernel can back it with huge pages.
  const size_t size = round_up(bytes, kHugePage), span = size + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw), aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  if (const size_t tail = start + span - (aligned + size)) munmap(reinterpret_cast<void*>(aligned + size), tail);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice only: ignored where huge pages are off
#endif
  return reinterpret_cast<void*>(aligned);
}

void release_zeroed(void* p, size_t bytes, bool mapped) noexcept {
  if (mapped) munmap(p, round_up(bytes, kHugePage));
  else std::free(p);
}

}  // namespace attn::detail
