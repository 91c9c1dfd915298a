#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "util/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ATTN_BF16_DOT 1
#if !defined(__clang__)
// GCC 12's AVX-512 headers build some results from _mm512_undefined_*, which its flow analysis
// then reports as maybe-uninitialized where they inline.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define ATTN_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

namespace attn::kernels {

bool bf16_dot_chosen() {
  static const bool chosen = [] {
    const char* asked = std::getenv("ATTNSCOPE_BF16");
    return asked && std::string(asked) == "dot" && bf16_dot_supported();
  }();
  return chosen;
}

#ifdef ATTN_BF16_DOT

namespace {

constexpr int64_t kPanel = 32;  // columns of C per panel: two vectors of 16 lanes
constexpr int kRows = 8;        // rows of C per micro-kernel call

// Splits 16 floats (those `tail` selects) into their hi and lo BF16 parts.
ATTN_TARGET_BF16 inline void split16(__m512 x, __mmask16 tail, uint16_t* hi, uint16_t* lo) {
  const __m256bh h = _mm512_cvtneps_pbh(x);
  const __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16));
  const __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(x, back));
  _mm256_mask_storeu_epi16(hi, tail, (__m256i)h);
  _mm256_mask_storeu_epi16(lo, tail, (__m256i)l);
}

// A row's words: pair p's hi part at [2p], its lo part at [2p + 1]. Rows are a little more than
// a power of two apart, so a micro-kernel's 8 rows do not all fall in one set of the L1 cache
// (4 KB apart, hi and lo in separate rows, they were 16 streams in a 12-way cache: the kernel
// ran at half speed).
int64_t row_stride(int64_t k) { return 2 * ((k + 1) / 2) + 16; }

// One row of A (k floats) as its hi and lo parts, interleaved by pair; an odd k ends with zeros.
// hi and lo: scratch of k + 1 values.
ATTN_TARGET_BF16 void split_row(int64_t k, const float* row, uint16_t* hi, uint16_t* lo, uint32_t* words) {
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) split16(_mm512_loadu_ps(row + i), __mmask16(0xFFFF), hi + i, lo + i);
  if (i < k) {
    const __mmask16 tail = __mmask16((1u << (k - i)) - 1);
    split16(_mm512_maskz_loadu_ps(tail, row + i), tail, hi + i, lo + i);
  }
  if (k % 2) hi[k] = lo[k] = 0;
  for (int64_t p = 0; p < (k + 1) / 2; ++p) {
    words[2 * p] = uint32_t(hi[2 * p]) | uint32_t(hi[2 * p + 1]) << 16;
    words[2 * p + 1] = uint32_t(lo[2 * p]) | uint32_t(lo[2 * p + 1]) << 16;
  }
}

// A's rows split, row r at words[r · row_stride(k)]. (The parallel loop's body is outlined
// without the target attribute, so vectors stay inside split_row.)
void split_activations(int64_t m, int64_t k, const float* a, int64_t lda, uint32_t* words) {
#pragma omp parallel if (m * k > 65536)
  {
    std::vector<uint16_t> hi(size_t(k + 1)), lo(size_t(k + 1));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < m; ++r) split_row(k, a + r * lda, hi.data(), lo.data(), words + r * row_stride(k));
  }
}

// Rows j0 .. j0 + 31 of W as one panel: pair p of row j0 + lane is panel[p · 32 + lane]; rows
// past n and an odd k's last half are zero.
void pack_panel(const std::byte* w, int64_t n, int64_t k, int64_t j0, uint32_t* panel) {
  const int64_t pairs = (k + 1) / 2, full = k / 2;
  for (int64_t lane = 0; lane < kPanel; ++lane) {
    const int64_t j = j0 + lane;
    if (j >= n) {
      for (int64_t p = 0; p < pairs; ++p) panel[p * kPanel + lane] = 0;
      continue;
    }
    const std::byte* row = w + j * k * 2;
    for (int64_t p = 0; p < full; ++p) std::memcpy(&panel[p * kPanel + lane], row + p * 4, 4);
    if (k % 2) {
      uint16_t last;
      std::memcpy(&last, row + (k - 1) * 2, 2);
      panel[full * kPanel + lane] = last;
    }
  }
}

// R rows of C from c, the panel's first `cols` columns; a: the first row's split words, rows
// `stride` words apart.
template <int R>
ATTN_TARGET_BF16 void micro_kernel(const uint32_t* a, int64_t stride, int64_t pairs, const uint32_t* panel, float* c, int64_t ldc,
                                   int64_t cols) {
  __m512 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * kPanel);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + p * kPanel + 16);
    for (int r = 0; r < R; ++r) {
      const __m512bh h = (__m512bh)_mm512_set1_epi32(int(a[r * stride + 2 * p]));
      const __m512bh l = (__m512bh)_mm512_set1_epi32(int(a[r * stride + 2 * p + 1]));
      acc[r][0] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc[r][0], h, b0), l, b0);
      acc[r][1] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc[r][1], h, b1), l, b1);
    }
  }
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols > 16 ? __mmask16((1u << (cols - 16)) - 1) : __mmask16(0);
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
  }
}

using MicroKernel = void (*)(const uint32_t*, int64_t, int64_t, const uint32_t*, float*, int64_t, int64_t);
constexpr MicroKernel kMicroKernels[kRows + 1] = {nullptr,         micro_kernel<1>, micro_kernel<2>, micro_kernel<3>, micro_kernel<4>,
                                                  micro_kernel<5>, micro_kernel<6>, micro_kernel<7>, micro_kernel<8>};

}  // namespace

bool bf16_dot_supported() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return supported;
}

void gemm_bf16(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const std::byte* w, float* c, int64_t ldc) {
  if (!bf16_dot_supported()) throw Error("this CPU has no AVX-512 BF16");
  if (m <= 0 || n <= 0) return;
  const int64_t pairs = (k + 1) / 2;
  const int64_t stride = row_stride(k);
  std::vector<uint32_t> parts(size_t(m * stride));
  split_activations(m, k, a, lda, parts.data());
  const int64_t panels = (n + kPanel - 1) / kPanel;
#pragma omp parallel if (m * n * k > 4'000'000)
  {
    std::vector<uint32_t> panel(size_t(pairs * kPanel));
#pragma omp for schedule(dynamic)
    for (int64_t q = 0; q < panels; ++q) {
      const int64_t j0 = q * kPanel, cols = std::min(kPanel, n - j0);
      pack_panel(w, n, k, j0, panel.data());
      for (int64_t i0 = 0; i0 < m; i0 += kRows) {
        const int rows = int(std::min<int64_t>(kRows, m - i0));
        kMicroKernels[rows](parts.data() + i0 * stride, stride, pairs, panel.data(), c + i0 * ldc + j0, ldc, cols);
      }
    }
  }
}

#else

bool bf16_dot_supported() { return false; }

void gemm_bf16(int64_t, int64_t, int64_t, const float*, int64_t, const std::byte*, float*, int64_t) {
  throw Error("this build has no AVX-512 BF16 kernel");
}

#endif

}  // namespace attn::kernels
