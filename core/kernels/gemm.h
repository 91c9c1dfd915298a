#pragma once
// Single-precision matrix products, the engine's GEMM-bound work (projections, Q·Kᵀ, P·V,
// output heads). The body is Eigen's GEMM, compiled once for the build's baseline (AVX2 + FMA
// in the portable x86-64 build) and once more for AVX-512 where the compiler can; the CPU picks
// on first use. ATTNSCOPE_ISA=baseline forces the baseline (to compare, or on a CPU that
// misreports its features).
#include <cstddef>
#include <cstdint>
#include <memory>

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

// B of C = A · op(B) packed once into the kernel's own layout, for the many products that
// share it (a layer's weight, one product per run). gemm() re-packs B on every call: at 128
// tokens that is a quarter of a projection's time, as each weight value then takes part in
// only 2 · 128 operations. Packed, the threads also split B's columns between them with no
// synchronisation inside the product. The layout belongs to the instruction set it was packed
// for; a packed matrix reads B only while it is built, except for products of fewer than
// kPackedMinRows rows, which use B as given (so B must outlive it).
class PackedMatrix {
 public:
  static constexpr int64_t kPackedMinRows = 8;

  PackedMatrix() = default;
  // Packs B (as in Gemm: k × n row-major with leading dimension ldb, or n × k when
  // `b_transposed`) into `storage`: storage_floats(n, k, isa) floats, 64-byte aligned, kept
  // alive and unchanged by the caller. Without `storage` the matrix owns its memory. Throws
  // attn::Error when `isa` is not available.
  PackedMatrix(const float* b, int64_t ldb, int64_t n, int64_t k, bool b_transposed, Isa isa = active_isa(), float* storage = nullptr);
  static size_t storage_floats(int64_t n, int64_t k, Isa isa = active_isa());

  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  Isa isa() const { return isa_; }
  bool empty() const { return packed_ == nullptr; }

  // C = alpha · A · B, or C += … when `accumulate`: A is m × k() (leading dimension lda), C is
  // m × n() (ldc), both row-major; C must not overlap A. Uses OpenMP's threads.
  void multiply(int64_t m, const float* a, int64_t lda, float* c, int64_t ldc, float alpha = 1, bool accumulate = false) const;

 private:
  struct Free {
    void operator()(float* p) const;
  };
  Isa isa_ = Isa::Baseline;
  int64_t n_ = 0, k_ = 0, kc_ = 0, mc_ = 0, panel_ = 0;  // block sizes along k and n; the kernel's panel height
  const float* b_ = nullptr;
  int64_t ldb_ = 0;
  bool b_transposed_ = false;
  std::unique_ptr<float, Free> owned_;
  const float* packed_ = nullptr;
};

}  // namespace attn::kernels
