#pragma once
// Single-precision matrix products, the engine's GEMM-bound work (projections, Q·Kᵀ, P·V,
// output heads). The body is Eigen's GEMM, compiled once for the build's baseline (AVX2 + FMA
// in the portable x86-64 build) and once more for AVX-512 where the compiler can; the CPU picks
// on first use. ATTNSCOPE_ISA=baseline forces the baseline (to compare, or on a CPU that
// misreports its features).
#include <cstdint>

namespace attn::kernels {

// C = alpha · A · op(B), or C += … when `accumulate`. Every matrix is row-major with the given
// leading dimension (the distance between rows, in floats): A is m × k; B is k × n, or n × k
// when `b_transposed` (a weight stored [out, in]); C is m × n and must not overlap A or B.
struct Gemm {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  bool b_transposed = false;
  float* c = nullptr;
  int64_t ldc = 0;
  float alpha = 1;
  bool accumulate = false;
};

enum class Isa { Baseline, Avx512 };

// The instruction set gemm() uses: chosen once, from the CPU and ATTNSCOPE_ISA.
Isa active_isa();
// Whether this build has a kernel for `isa` and this CPU can run it.
bool isa_available(Isa isa);
// "AVX-512", "AVX2 + FMA" or "SSE2" (what the baseline build targets).
const char* isa_name(Isa isa);

void gemm(const Gemm& g);
// With a given instruction set (tests and benchmarks compare them); throws attn::Error when
// `isa` is not available.
void gemm_with(Isa isa, const Gemm& g);

}  // namespace attn::kernels
