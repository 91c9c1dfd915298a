// Google Benchmark of the engine on BERT-base and GPT-2-small shaped models with random
// weights: loading the Hugging Face folder, a forward pass with every layer's and head's
// attention recorded, and one layer's attention capture alone. scripts/bench.sh runs it
// and compares the forward pass with PyTorch (bench/torch_peer.py).
//
// --llama_dir=DIR adds a Llama-3.2-1B-shaped model (BF16, 2.5 GB; written into DIR unless
// DIR already holds it) at N = 512 and 2048: BM_Forward/llama_1b. It is opt-in because
// those passes take seconds to a minute each (scripts/bench.sh --llama).
#include <benchmark/benchmark.h>
#include <omp.h>
#include <unistd.h>

#include <Eigen/Core>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string_view>

#include "kernels/gemm.h"
#include "nn/attention.h"
#include "nn/model.h"
#include "random_model.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace attn;
using attn::bench::ModelShape;

namespace {

// The random model folders, written on first use into one temporary folder per process
// (removed at exit), and the models loaded from them.
class ModelCache {
 public:
  static ModelCache& get() {
    static ModelCache cache;
    return cache;
  }
  ~ModelCache() {
    models_.clear();
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  // Uses `dir` for `shape`, writing the model there first unless it holds a config.json.
  void use_folder(const ModelShape& shape, const fs::path& dir) {
    if (!fs::exists(dir / "config.json")) attn::bench::write_random_model(shape, dir);
    folders_[shape.name] = dir;
  }

  const fs::path& folder(const ModelShape& shape) {
    auto it = folders_.find(shape.name);
    if (it != folders_.end()) return it->second;
    if (root_.empty()) root_ = fs::temp_directory_path() / ("attnscope-bench-" + std::to_string(::getpid()));
    const fs::path dir = root_ / shape.name;
    attn::bench::write_random_model(shape, dir);
    return folders_.emplace(shape.name, dir).first->second;
  }

  const Model& model(const ModelShape& shape) {
    auto& m = models_[shape.name];
    if (!m) m = Model::load(folder(shape));
    return *m;
  }

 private:
  fs::path root_;
  std::map<std::string, fs::path> folders_;
  std::map<std::string, std::unique_ptr<Model>> models_;
};

// N random ids; BERT-style inputs get a sentence pair's token types (first half 0, then 1).
Encoding random_encoding(const ModelConfig& c, int n) {
  std::mt19937 gen(42);
  std::uniform_int_distribution<int32_t> id(0, c.vocab_size - 1);
  Encoding enc;
  for (int i = 0; i < n; ++i) enc.ids.push_back(id(gen));
  if (c.type_vocab_size > 0)
    for (int i = 0; i < n; ++i) enc.type_ids.push_back(i < n / 2 ? 0 : 1);
  return enc;
}

constexpr uint64_t kForwardMemoryBudget = 16ull << 30;

double attention_bytes(int layers, int heads, int64_t n) { return double(layers) * heads * n * n * sizeof(float); }

void BM_Load(benchmark::State& state, ModelShape shape) {
  fs::path dir;
  try {
    dir = ModelCache::get().folder(shape);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    auto model = Model::load(dir);
    benchmark::DoNotOptimize(model.get());
  }
  state.counters["weight_bytes"] = double(fs::file_size(dir / "model.safetensors"));
}

// One forward pass with attention recorded for every layer and head (F32), and LM logits for
// one position as `attnscope predict` computes them (GPT-2, Llama: the last token; BERT: a
// mask in the middle). Items are tokens.
void BM_Forward(benchmark::State& state, ModelShape shape) {
  const int n = int(state.range(0));
  const Model* model = nullptr;
  try {
    model = &ModelCache::get().model(shape);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const ModelConfig& c = model->config();
  const Encoding enc = random_encoding(c, n);
  RunOptions opt;
  opt.logits_rows = {shape.causal() ? n - 1 : n / 2};
  // Set, not left to the guard's default (half of RAM): the Llama shape at N = 2048 records
  // 16 × 32 × 2048² floats (8 GiB), more than half of a 16 GB machine.
  opt.memory_budget = kForwardMemoryBudget;

  static std::set<std::pair<std::string, int>> warmed;  // one untimed pass per shape and N
  if (warmed.insert({shape.name, n}).second) benchmark::DoNotOptimize(model->forward(enc, opt).recording.get());

  for (auto _ : state) {
    ForwardResult r = model->forward(enc, opt);
    benchmark::DoNotOptimize(r.recording.get());
    benchmark::DoNotOptimize(r.logits.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["attention_bytes"] = attention_bytes(c.num_layers, c.num_heads, n);
}

// multi_head_attention alone: one layer of 12 heads (d = 64) writing its (H, N, N)
// probabilities into a recording allocated once, outside the timing.
void BM_AttentionCapture(benchmark::State& state) {
  const int n = int(state.range(0)), heads = 12, hidden = 768;
  const bool causal = state.range(1) != 0;
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto random = [&] { return RowMatrix(RowMatrix::NullaryExpr(n, hidden, [&] { return u(gen); })); };
  const RowMatrix q = random(), k = random(), v = random();  // (N, H·d)
  RecordingMeta meta;
  meta.num_layers = 1, meta.num_heads = heads, meta.num_tokens = n, meta.head_dim = hidden / heads;
  auto rec = AttentionRecording::create(meta, /*with_qkv=*/false, /*with_scores=*/false);
  RecordingHook recorder(*rec, {});
  AttentionSpec spec;
  spec.num_heads = heads;
  spec.causal = causal;
  for (auto _ : state) {
    RowMatrix ctx = multi_head_attention(q, k, v, spec, recorder, 0);
    benchmark::DoNotOptimize(ctx.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["attention_bytes"] = attention_bytes(1, heads, n);
}

// What a forward pass spends on allocating (and zero-filling) its recording, BERT-base shape.
void BM_RecordingCreate(benchmark::State& state) {
  RecordingMeta meta;
  meta.num_layers = 12, meta.num_heads = 12, meta.num_tokens = int(state.range(0)), meta.head_dim = 64;
  for (auto _ : state) {
    auto rec = AttentionRecording::create(meta, false, false);
    benchmark::DoNotOptimize(rec.get());
  }
  state.counters["attention_bytes"] = attention_bytes(12, 12, state.range(0));
}

// kernels::gemm alone, per instruction set: C (M×N) = A (M×K) · Bᵀ, as a projection computes
// x · Wᵀ. "peak" is a large square product (the most a GEMM gets out of this CPU: the forward
// pass's GEMM-bound parts are compared with it); the others are BERT-base / GPT-2 small's
// products at N = 512 and 128 (and 16, a typed sentence): Q/K/V/output projections, the FFN's
// two, and one head's Q·Kᵀ.
// "<isa>_packed" is the same product with B packed beforehand (kernels::PackedMatrix, as the
// engine holds its F32 weights).
struct GemmShape {
  const char* name;
  int64_t m, n, k;
};
constexpr GemmShape kGemmShapes[] = {
    {"peak", 2048, 2048, 2048}, {"proj_512", 512, 768, 768}, {"ffn_in_512", 512, 3072, 768},
    {"ffn_out_512", 512, 768, 3072}, {"qk_512", 512, 512, 64},  {"proj_128", 128, 768, 768},
    {"ffn_in_128", 128, 3072, 768},  {"ffn_out_128", 128, 768, 3072}, {"ffn_in_16", 16, 3072, 768},
};

void BM_Gemm(benchmark::State& state, kernels::Isa isa, GemmShape shape, bool packed) {
  if (!kernels::isa_available(isa)) {
    state.SkipWithError((std::string("no ") + kernels::isa_name(isa) + " kernel in this build or CPU").c_str());
    return;
  }
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> a(size_t(shape.m * shape.k)), b(size_t(shape.n * shape.k)), c(size_t(shape.m * shape.n));
  for (float& x : a) x = u(gen);
  for (float& x : b) x = u(gen);
  const kernels::Gemm g{.m = shape.m, .n = shape.n, .k = shape.k, .a = a.data(), .lda = shape.k, .b = b.data(), .ldb = shape.k,
                        .b_transposed = true, .c = c.data(), .ldc = shape.n};
  if (packed) {
    const kernels::PackedMatrix p(b.data(), shape.k, shape.n, shape.k, /*b_transposed=*/true, isa);
    for (auto _ : state) {
      p.multiply(shape.m, a.data(), shape.k, c.data(), shape.n);
      benchmark::DoNotOptimize(c.data());
    }
  } else {
    for (auto _ : state) {
      kernels::gemm_with(isa, g);
      benchmark::DoNotOptimize(c.data());
    }
  }
  const double flops = 2.0 * double(shape.m) * double(shape.n) * double(shape.k);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(kernels::isa_name(isa));
}

void register_gemm_benchmarks() {
  for (const auto isa : {kernels::Isa::Baseline, kernels::Isa::Avx512})
    for (const bool packed : {false, true})
      for (const GemmShape& shape : kGemmShapes)
        benchmark::RegisterBenchmark((std::string("BM_Gemm/") + (isa == kernels::Isa::Avx512 ? "avx512" : "baseline") + (packed ? "_packed/" : "/") +
                                      shape.name).c_str(),
                                     BM_Gemm, isa, shape, packed)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.5)
          ->UseRealTime();
}

// Forward passes take 0.1–1 s: the median of 5 repetitions, each of at least 1 s.
void forward_settings(benchmark::internal::Benchmark* b) {
  b->Arg(128)->Arg(512)->ArgName("N")->Unit(benchmark::kMillisecond)->MinTime(1.0)->Repetitions(5)->ReportAggregatesOnly(true);
}

// The 1B shape's passes take 5–60 s: one untimed pass (BM_Forward's warm-up), then 3 timed.
void llama_settings(benchmark::internal::Benchmark* b) {
  b->Arg(512)->Arg(2048)->ArgName("N")->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3)->ReportAggregatesOnly(true);
}

// Takes --llama_dir=DIR out of argv (Google Benchmark rejects flags it does not know).
std::string take_llama_dir(int& argc, char** argv) {
  constexpr std::string_view flag = "--llama_dir=";
  std::string dir;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with(flag))
      dir = arg.substr(flag.size());
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  return dir;
}

}  // namespace

BENCHMARK_CAPTURE(BM_Load, bert_base, attn::bench::bert_base())->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, gpt2_small, attn::bench::gpt2_small())->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Forward, bert_base, attn::bench::bert_base())->Apply(forward_settings);
BENCHMARK_CAPTURE(BM_Forward, gpt2_small, attn::bench::gpt2_small())->Apply(forward_settings);
BENCHMARK(BM_AttentionCapture)
    ->ArgsProduct({{512, 2048}, {0, 1}})
    ->ArgNames({"N", "causal"})
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_RecordingCreate)->Arg(128)->Arg(512)->ArgName("N")->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  const std::string llama_dir = take_llama_dir(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!llama_dir.empty()) {
    const ModelShape llama = attn::bench::llama_1b();
    try {
      ModelCache::get().use_folder(llama, llama_dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "attn_bench_forward: %s\n", e.what());
      return 1;
    }
    benchmark::RegisterBenchmark("BM_Forward/llama_1b", BM_Forward, llama)->Apply(llama_settings);
    benchmark::AddCustomContext("llama_dir", llama_dir);
  }
  register_gemm_benchmarks();
  benchmark::AddCustomContext("gemm_isa", kernels::isa_name(kernels::active_isa()));
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
