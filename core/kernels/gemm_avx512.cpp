// attn::kernels built with AVX-512 (see gemm_body.h). Only attn_kernels_avx512 leaves this
// object under its own name; gemm.cpp asks it for the kernels when the CPU has AVX-512.
#include "kernels/gemm_body.h"

extern "C" void attn_kernels_avx512(attn::kernels::KernelTable* out) { *out = attn::kernels::body::table(); }
