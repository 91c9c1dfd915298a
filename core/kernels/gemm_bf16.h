#pragma once
// Products with BF16 weights on AVX-512 BF16 (vdpbf16ps: two BF16 products summed into each
// F32 lane, 32 multiply-adds per instruction where an F32 FMA does 16), chosen by the user:
// ATTNSCOPE_BF16=dot. The instruction multiplies BF16 by BF16, so the F32 activations are split
// into two BF16 parts — hi, their leading 8 significant bits, and lo, the next 8 — each
// multiplied by the weights as stored, with F32 sums. Each activation loses at most about 2⁻¹⁸
// of itself, so a product may be off by a few 10⁻⁶ of Σ|a·w| where converting the weights for
// the F32 GEMM (the default) stays near 10⁻⁷; in exchange it is 1.3–1.6× as fast on
// Llama-3.2-1B's products (bench/bench_bf16.cpp, numbers in the README).
#include <cstddef>
#include <cstdint>

namespace attn::kernels {

// Whether gemm_bf16 runs here: an x86-64 build and a CPU with AVX-512 BF16.
bool bf16_dot_supported();
// Whether BF16 weights are multiplied with gemm_bf16: supported, and ATTNSCOPE_BF16=dot.
bool bf16_dot_chosen();
// Products of fewer rows than this keep converting the weights (StoredMatrix): gemm_bf16 packs
// each panel of W afresh, which only many rows repay.
constexpr int64_t kBf16DotMinRows = 16;

// C (m × n, rows ldc floats apart) = A (m × k, rows lda apart) · Wᵀ for W (n × k): BF16 values
// stored row after row, little-endian, at any alignment. Deterministic: each value of C is
// computed the same way whatever the threads. Uses OpenMP's threads. Throws attn::Error when
// !bf16_dot_supported().
void gemm_bf16(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const std::byte* w, float* c, int64_t ldc);

}  // namespace attn::kernels
