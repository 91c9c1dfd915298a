#include "kernels/gemm.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "kernels/gemm_body.h"
#include "util/error.h"

#ifdef ATTN_HAVE_AVX512_GEMM
extern "C" void attn_kernels_avx512(attn::kernels::KernelTable* out);
#endif

namespace attn::kernels {

namespace {

bool cpu_has_avx512() {
#if defined(ATTN_HAVE_AVX512_GEMM) && (defined(__x86_64__) || defined(__i386__))
  // libgcc's check includes the operating system's support for the ZMM state (XGETBV).
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

Isa choose_isa() {
  const char* forced = std::getenv("ATTNSCOPE_ISA");
  if (forced && std::string(forced) == "baseline") return Isa::Baseline;
  return cpu_has_avx512() ? Isa::Avx512 : Isa::Baseline;
}

}  // namespace

Isa active_isa() {
  static const Isa isa = choose_isa();
  return isa;
}

bool isa_available(Isa isa) { return isa == Isa::Baseline || cpu_has_avx512(); }

const char* isa_name(Isa isa) {
  if (isa == Isa::Avx512) return "AVX-512";
#if defined(__AVX2__) && defined(__FMA__)
  return "AVX2 + FMA";
#elif defined(__x86_64__)
  return "SSE2";
#else
  return "baseline";
#endif
}

namespace {

// The kernels of `isa`, which the caller knows to be available.
const KernelTable& kernels(Isa isa) {
#ifdef ATTN_HAVE_AVX512_GEMM
  if (isa == Isa::Avx512) {
    static const KernelTable avx512 = [] {
      KernelTable t{};
      attn_kernels_avx512(&t);
      return t;
    }();
    return avx512;
  }
#endif
  static const KernelTable baseline = body::table();
  return baseline;
}

void require(Isa isa) {
  if (!isa_available(isa)) throw Error(std::string("this build or CPU has no ") + isa_name(isa) + " kernel");
}

// Splits n rows, in whole panels, between the threads of an OpenMP team (when `work`, the
// product's multiply-adds, is worth a second thread) and calls `part(first, last)` for each.
template <class Part>
void split_panels(int64_t n, int64_t panel, double work, const Part& part) {
  const int64_t panels = (n + panel - 1) / panel;
  const int threads = work < 2e6 ? 1 : int(std::min<int64_t>(omp_get_max_threads(), panels));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t first = panels * t / count * panel, last = std::min(n, panels * (t + 1) / count * panel);
    if (first < last) part(first, last);
  }
}

}  // namespace

void gemm_with(Isa isa, const Gemm& g) {
  require(isa);
  kernels(isa).gemm(g);
}

void gemm(const Gemm& g) { kernels(active_isa()).gemm(g); }

void PackedMatrix::Free::operator()(float* p) const { std::free(p); }

size_t PackedMatrix::storage_floats(int64_t n, int64_t k, Isa isa) {
  require(isa);
  return packed_floats(n, k, kernels(isa).layout(n, k).kc);
}

PackedMatrix::PackedMatrix(const float* b, int64_t ldb, int64_t n, int64_t k, bool b_transposed, Isa isa, float* storage)
    : isa_(isa), n_(n), k_(k), b_(b), ldb_(ldb), b_transposed_(b_transposed) {
  require(isa);
  const KernelTable& kt = kernels(isa);
  const PackLayout layout = kt.layout(n, k);
  kc_ = layout.kc;
  mc_ = layout.mc;
  panel_ = layout.panel;
  const size_t floats = packed_floats(n, k, kc_);
  if (!storage) {
    const size_t bytes = std::max<size_t>((floats * sizeof(float) + 63) / 64 * 64, 64);
    owned_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!owned_) throw Error("out of memory packing a " + std::to_string(n) + " × " + std::to_string(k) + " matrix");
    storage = owned_.get();
  }
  packed_ = storage;
  split_panels(n, panel_, double(n) * double(k), [&](int64_t first, int64_t last) {
    kt.pack(PackJob{b, ldb, n, k, b_transposed, layout, storage, first, last});
  });
}

void PackedMatrix::multiply(int64_t m, const float* a, int64_t lda, float* c, int64_t ldc, float alpha, bool accumulate) const {
  const KernelTable& kt = kernels(isa_);
  if (m < kPackedMinRows || !packed_) {
    kt.gemm(Gemm{.m = m, .n = n_, .k = k_, .a = a, .lda = lda, .b = b_, .ldb = ldb_, .b_transposed = b_transposed_, .c = c, .ldc = ldc,
                 .alpha = alpha, .accumulate = accumulate});
    return;
  }
  const PackedProduct product{packed_, n_, k_, PackLayout{kc_, mc_, panel_}, m, a, lda, c, ldc, alpha, accumulate};
  split_panels(n_, panel_, double(m) * double(n_) * double(k_), [&](int64_t first, int64_t last) { kt.multiply(product, first, last); });
}

}  // namespace attn::kernels
