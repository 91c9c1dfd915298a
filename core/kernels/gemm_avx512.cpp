// attn::kernels::gemm built with AVX-512 (see gemm_body.h). Only attn_gemm_avx512 leaves this
// object under its own name; gemm.cpp calls it when the CPU has AVX-512.
#include "kernels/gemm_body.h"

extern "C" void attn_gemm_avx512(const attn::kernels::Gemm* g) { attn::kernels::body::gemm(*g); }
