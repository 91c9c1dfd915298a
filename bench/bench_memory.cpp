// Resident memory of one forward pass, for scripts/bench.sh --llama: loads a model folder,
// runs N random ids with attention recorded for every layer (or only the last one) and
// prints one JSON line: the load's and the run's seconds, the weights file's size, the
// recording's attention bytes, and the process's resident memory from /proc/self/status (VmHWM:
// the peak; RssFile: mapped files, i.e. the weights; RssAnon: the heap) after loading and after
// the run, while its result is still held. Run one process per measurement: VmHWM never falls.
// With a last argument FILE the run streams its recording to FILE (record --stream) instead of
// holding it.
//   attn_bench_memory MODEL_DIR N [all|last] [f32|f16] [FILE]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/model.h"
#include "record/recording_stream.h"
#include "resident_memory.h"

namespace fs = std::filesystem;
using namespace attn;
using nlohmann::json;
using attn::bench::resident_memory;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: attn_bench_memory MODEL_DIR N [all|last] [f32|f16] [FILE]\n");
    return 2;
  }
  try {
    const fs::path dir = argv[1];
    const int n = std::stoi(argv[2]);
    const bool last_only = argc > 3 && std::string(argv[3]) == "last";
    const bool f16 = argc > 4 && std::string(argv[4]) == "f16";
    const fs::path stream_to = argc > 5 ? fs::path(argv[5]) : fs::path();

    const auto load_start = std::chrono::steady_clock::now();
    const auto model = Model::load(dir);
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const json loaded = resident_memory();
    const ModelConfig& c = model->config();

    Encoding enc;
    std::mt19937 gen(42);
    std::uniform_int_distribution<int32_t> id(0, c.vocab_size - 1);
    for (int i = 0; i < n; ++i) enc.ids.push_back(id(gen));
    RunOptions opt;
    opt.logits_rows = {n - 1};
    opt.storage = f16 ? DType::F16 : DType::F32;
    opt.memory_budget = 16ull << 30;  // as bench_forward.cpp
    if (last_only) opt.layers = {c.num_layers - 1};
    opt.stream_to = stream_to;
    const auto start = std::chrono::steady_clock::now();
    const ForwardResult r = model->forward(enc, opt);
    if (r.stream) r.stream->finish(*r.recording);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const uint64_t layers = last_only ? 1 : uint64_t(c.num_layers);
    const uint64_t recording = layers * uint64_t(c.num_heads) * uint64_t(n) * uint64_t(n) * (f16 ? 2 : 4);
    uint64_t file_bytes = 0;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".safetensors") file_bytes += entry.file_size();
    const json out = {{"model", model->name()},
                      {"n", n},
                      {"layers_recorded", layers},
                      {"storage", f16 ? "f16" : "f32"},
                      {"streamed", !stream_to.empty()},
                      {"load_seconds", load_seconds},
                      {"seconds", seconds},
                      {"threads", omp_get_max_threads()},
                      {"file_bytes", file_bytes},
                      {"recording_bytes", recording},
                      {"estimate_bytes", model->estimate_memory(n, opt).total()},
                      {"after_load", loaded},
                      {"after_run", resident_memory()}};
    std::printf("%s\n", out.dump().c_str());
    return r.logits.size() > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn_bench_memory: %s\n", e.what());
    return 1;
  }
}
