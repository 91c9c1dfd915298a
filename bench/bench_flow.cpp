// Attention flow next to rollout (core/analysis/flow.h, rollout.h) on the bundled models
// (resources/models): bert-mini and gpt2-small at an example sentence and at N = 128,
// gpt2-small also at 256 (its maximum: a long text truncated; bert-mini's full 256 would take
// minutes, flow growing as N⁴ when not causal), vit-fashion at an example picture
// (49 patches + [CLS]). Each recording is made once, outside the timing; mean head fusion, no
// discard. Google Benchmark; run by scripts/bench.sh (OMP_NUM_THREADS=2, as the GUI's worker).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <string>

#include "analysis/flow.h"
#include "picture_file.h"
#include "session/run.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

const fs::path kModels = fs::path(ATTN_RESOURCES_DIR) / "models";

// `words` words of plain English (one token each in both vocabularies), for the long runs.
std::string long_text(int words) {
  static const char* vocabulary[] = {"the", "cat", "sat", "on", "a", "mat", "and", "the", "dog", "ran", "to", "the", "house", "in", "the", "rain"};
  std::string t;
  for (int w = 0; w < words; ++w) t += std::string(w ? " " : "") + vocabulary[w % 16];
  return t;
}

// The recording of `model` on `input` (a sentence, "long:N" or a picture path), made once.
const AttentionRecording& recording(const std::string& model, const std::string& input) {
  static std::map<std::string, std::shared_ptr<const AttentionRecording>> made;
  auto& r = made[model + "|" + input];
  if (!r) {
    const auto m = Model::load(kModels / model);
    RunRequest req;
    if (input.rfind("examples/", 0) == 0) {
      req.image = imageio::decode_image_file(kModels / model / input);
      req.image_path = kModels / model / input;
    } else if (input.rfind("long:", 0) == 0) {
      req.text = long_text(std::stoi(input.substr(5)));
      req.truncate = true;  // to the model's 256 positions
    } else {
      req.text = input;
    }
    req.top_k = 0;
    r = run_model(*m, req).recording;
  }
  return *r;
}

void run(benchmark::State& state, const std::string& model, const std::string& input, RolloutMethod method) {
  const AttentionRecording& rec = recording(model, input);
  RolloutOptions options;
  options.method = method;
  for (auto _ : state) benchmark::DoNotOptimize(attention_attribution(rec, options));
  state.counters["N"] = rec.num_tokens();
  state.counters["layers"] = rec.num_layers();
}

void register_all() {
  const struct {
    const char* name;
    const char* model;
    std::string input;
  } cases[] = {
      {"bert-mini/example", "attnscope-bert-mini", "The [MASK] is the star that is the source of light and heat for the planets."},
      {"bert-mini/128", "attnscope-bert-mini", "long:126"},
      {"gpt2-small/example", "attnscope-gpt2-small", "Once upon a time, there was a"},
      {"gpt2-small/128", "attnscope-gpt2-small", "long:128"},
      {"gpt2-small/256", "attnscope-gpt2-small", "long:300"},
      {"vit-fashion/coat", "attnscope-vit-fashion", "examples/coat.png"},
  };
  for (const auto& c : cases) {
    const std::string model = c.model, input = c.input;
    benchmark::RegisterBenchmark((std::string("BM_Rollout/") + c.name).c_str(),
                                 [=](benchmark::State& s) { run(s, model, input, RolloutMethod::Rollout); })
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("BM_Flow/") + c.name).c_str(), [=](benchmark::State& s) { run(s, model, input, RolloutMethod::Flow); })
        ->Unit(benchmark::kMillisecond)
        ->MeasureProcessCPUTime()
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
