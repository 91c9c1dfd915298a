// Whether AVX-512 BF16 arithmetic would pay for BF16 weights (issue 13): the engine's product
// with a BF16 weight (StoredMatrix::times_transposed: blocks of 128 rows converted to F32, then
// the F32 GEMM) against the dot-product instruction made for BF16, `vdpbf16ps` (two BF16
// products per F32 lane, 32 per instruction where an F32 FMA does 16).
//
// `vdpbf16ps` multiplies BF16 by BF16, so the activations must be BF16 too:
//   dpbf16_x1  rounds each activation to BF16 once (8 significant bits): the fast way, and
//              what BF16 inference does;
//   dpbf16_x2  splits each activation into two BF16 parts (hi + lo, 16 significant bits) and
//              runs the instruction twice;
//   dpbf16_x3  splits each activation into three BF16 parts (hi + mid + lo, 24 bits: the F32
//              value again) and runs the instruction three times: as accurate as the F32 GEMM.
// Each benchmark reports GFLOP/s and "max_rel_error": the largest |y − y_exact| / Σ_k |x·w|
// over the product, against a double-precision product of the same F32 activations and BF16
// weights. The weights are packed for the instruction before timing (a load would do that
// once); rounding or splitting the activations is timed.
//
// Shapes are Llama-3.2-1B's (hidden 2048, FFN 8192) at N = 512 and 128 tokens, and one of its
// heads' Q·Kᵀ (head_dim 64), where fewer terms average the split's rounding less.
#include <benchmark/benchmark.h>
// GCC 12's AVX-512 headers build some results from _mm512_undefined_*, which its flow analysis
// then reports as maybe-uninitialized where they inline.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/stored_matrix.h"
#include "util/half.h"

using namespace attn;

namespace {

struct Shape {
  const char* name;
  int64_t m, n, k;  // y (m × n) = x (m × k) · Wᵀ, W (n × k)
};
constexpr Shape kShapes[] = {
    {"proj_512", 512, 2048, 2048}, {"ffn_in_512", 512, 8192, 2048}, {"ffn_out_512", 512, 2048, 8192}, {"proj_128", 128, 2048, 2048}, {"qk_512", 512, 512, 64}};

constexpr int64_t kPanel = 32;  // output columns per packed panel (two vectors of 16 lanes)
constexpr int64_t kRows = 8;    // rows of the micro-kernel

bool cpu_has_bf16() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"); }

// W (n × k, BF16) packed for vdpbf16ps: per panel of 32 rows of W, per pair of k, 32 lanes of
// (W[j][2p], W[j][2p+1]) as one 32-bit word. n is a multiple of 32, k of 2.
std::vector<uint32_t> pack_pairs(const std::vector<uint16_t>& w, int64_t n, int64_t k) {
  std::vector<uint32_t> packed(size_t(n * k / 2));
  size_t at = 0;
  for (int64_t j0 = 0; j0 < n; j0 += kPanel)
    for (int64_t p = 0; p < k / 2; ++p)
      for (int64_t j = j0; j < j0 + kPanel; ++j)
        packed[at++] = uint32_t(w[size_t(j * k + 2 * p)]) | uint32_t(w[size_t(j * k + 2 * p + 1)]) << 16;
  return packed;
}

// x (m × k, F32) as `parts` BF16 matrices: part 0 is x rounded to nearest even, each next part
// the rounding of what is left.
__attribute__((target("avx512f,avx512bf16"))) void split_bf16(const float* x, int64_t count, int parts, uint16_t* out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i += 32) {
    __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
    for (int part = 0; part < parts; ++part) {
      const __m512bh h = _mm512_cvtne2ps_pbh(b, a);  // a in the low half
      _mm512_storeu_si512(out + size_t(part) * size_t(count) + i, reinterpret_cast<__m512i>(h));
      const __m512i wide = reinterpret_cast<__m512i>(h);
      const __m512 ha = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(wide)), 16));
      const __m512 hb = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(wide, 1)), 16));
      a = _mm512_sub_ps(a, ha);
      b = _mm512_sub_ps(b, hb);
    }
  }
}

// y = Σ_parts x_part · Wᵀ with vdpbf16ps. x_parts: `parts` BF16 matrices (m × k) one after the
// other; m a multiple of 8.
__attribute__((target("avx512f,avx512bf16"))) void dpbf16_gemm(const uint16_t* x_parts, int parts, const uint32_t* w_packed, int64_t m,
                                                                 int64_t n, int64_t k, float* y) {
  const int64_t pairs = k / 2;
#pragma omp parallel for schedule(static)
  for (int64_t panel = 0; panel < n / kPanel; ++panel) {
    const uint32_t* wp = w_packed + size_t(panel * pairs * kPanel);
    for (int64_t i0 = 0; i0 < m; i0 += kRows) {
      __m512 acc[kRows][2];
      for (auto& r : acc) r[0] = r[1] = _mm512_setzero_ps();
      for (int part = 0; part < parts; ++part) {
        const uint32_t* xr = reinterpret_cast<const uint32_t*>(x_parts + size_t(part) * size_t(m * k) + size_t(i0 * k));
        for (int64_t p = 0; p < pairs; ++p) {
          const __m512bh b0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(wp + p * kPanel));
          const __m512bh b1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(wp + p * kPanel + 16));
          for (int r = 0; r < kRows; ++r) {
            const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(int(xr[size_t(r * pairs + p)])));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
          }
        }
      }
      for (int r = 0; r < kRows; ++r) {
        _mm512_storeu_ps(y + (i0 + r) * n + panel * kPanel, acc[r][0]);
        _mm512_storeu_ps(y + (i0 + r) * n + panel * kPanel + 16, acc[r][1]);
      }
    }
  }
}

struct Problem {
  Shape shape;
  std::vector<float> x;
  std::vector<uint16_t> w;  // BF16, n × k
  std::vector<double> exact, scale;  // y in double, Σ|x·w| per element

  explicit Problem(const Shape& s) : shape(s) {
    std::mt19937 gen(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    x.resize(size_t(s.m * s.k));
    w.resize(size_t(s.n * s.k));
    for (float& v : x) v = normal(gen);
    for (uint16_t& v : w) v = float_to_bf16(0.02f * normal(gen));
  }

  // The exact product and its scale, for a sample of rows (every 16th: the check costs what a
  // few hundred products do).
  void compute_exact() {
    if (!exact.empty()) return;
    exact.assign(size_t(shape.m * shape.n), 0.0);
    scale.assign(exact.size(), 0.0);
    std::vector<double> wd(w.size());
    for (size_t i = 0; i < w.size(); ++i) wd[i] = bf16_to_float(w[i]);
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < shape.m; i += 16)
      for (int64_t j = 0; j < shape.n; ++j) {
        double s = 0, a = 0;
        for (int64_t q = 0; q < shape.k; ++q) {
          const double t = double(x[size_t(i * shape.k + q)]) * wd[size_t(j * shape.k + q)];
          s += t;
          a += std::abs(t);
        }
        exact[size_t(i * shape.n + j)] = s;
        scale[size_t(i * shape.n + j)] = a;
      }
  }

  double max_rel_error(const float* y) {
    compute_exact();
    double worst = 0;
    for (int64_t i = 0; i < shape.m; i += 16)
      for (int64_t j = 0; j < shape.n; ++j) {
        const size_t at = size_t(i * shape.n + j);
        worst = std::max(worst, std::abs(double(y[at]) - exact[at]) / scale[at]);
      }
    return worst;
  }
};

void finish(benchmark::State& state, const Shape& s, double error) {
  const double flops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["max_rel_error"] = error;
}

void BM_Engine(benchmark::State& state, Shape s) {
  Problem p(s);
  const StoredMatrix w(reinterpret_cast<const std::byte*>(p.w.data()), DType::BF16, s.n, s.k);
  const Eigen::Map<const RowMatrix> x(p.x.data(), s.m, s.k);
  RowMatrix y;
  for (auto _ : state) {
    y = w.times_transposed(x);
    benchmark::DoNotOptimize(y.data());
  }
  finish(state, s, p.max_rel_error(y.data()));
  state.SetLabel("BF16 blocks -> F32 GEMM");
}

void BM_Dpbf16(benchmark::State& state, Shape s, int parts) {
  if (!cpu_has_bf16()) {
    state.SkipWithError("this CPU has no AVX-512 BF16");
    return;
  }
  Problem p(s);
  const std::vector<uint32_t> packed = pack_pairs(p.w, s.n, s.k);
  std::vector<uint16_t> x_parts(p.x.size() * size_t(parts));
  std::vector<float> y(size_t(s.m * s.n));
  for (auto _ : state) {
    split_bf16(p.x.data(), int64_t(p.x.size()), parts, x_parts.data());
    dpbf16_gemm(x_parts.data(), parts, packed.data(), s.m, s.n, s.k, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  finish(state, s, p.max_rel_error(y.data()));
  state.SetLabel(parts == 1 ? "vdpbf16ps, activations rounded to BF16" : "vdpbf16ps, activations split in " + std::to_string(parts) + " BF16 parts");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const Shape& s : kShapes) {
    auto settings = [](benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime(); };
    settings(benchmark::RegisterBenchmark((std::string("BM_Bf16/engine/") + s.name).c_str(), BM_Engine, s));
    settings(benchmark::RegisterBenchmark((std::string("BM_Bf16/dpbf16_x1/") + s.name).c_str(), BM_Dpbf16, s, 1));
    settings(benchmark::RegisterBenchmark((std::string("BM_Bf16/dpbf16_x2/") + s.name).c_str(), BM_Dpbf16, s, 2));
    settings(benchmark::RegisterBenchmark((std::string("BM_Bf16/dpbf16_x3/") + s.name).c_str(), BM_Dpbf16, s, 3));
  }
  benchmark::AddCustomContext("avx512_bf16", cpu_has_bf16() ? "yes" : "no");
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
