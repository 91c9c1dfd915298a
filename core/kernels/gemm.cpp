#include "kernels/gemm.h"

#include <cstdlib>
#include <string>

#include "kernels/gemm_body.h"
#include "util/error.h"

#ifdef ATTN_HAVE_AVX512_GEMM
extern "C" void attn_gemm_avx512(const attn::kernels::Gemm* g);
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

// The kernel of `isa`, which the caller knows to be available.
void run(Isa isa, const Gemm& g) {
#ifdef ATTN_HAVE_AVX512_GEMM
  if (isa == Isa::Avx512) return attn_gemm_avx512(&g);
#endif
  body::gemm(g);
}

}  // namespace

void gemm_with(Isa isa, const Gemm& g) {
  if (!isa_available(isa)) throw Error(std::string("this build or CPU has no ") + isa_name(isa) + " kernel");
  run(isa, g);
}

void gemm(const Gemm& g) { run(active_isa(), g); }

}  // namespace attn::kernels
