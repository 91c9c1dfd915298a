#include "ablate_command.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>

#include "record/recording.h"
#include "session/ablate.h"
#include "util/error.h"

namespace attn::cli {

namespace {

using Json = nlohmann::json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json predictions_json(const std::optional<Predictions>& p) {
  Json list = Json::array();
  if (p)
    for (const auto& e : p->top) list.push_back({{"label", e.label}, {"id", e.id}, {"prob", e.prob}});
  return list;
}

int print_sweep(const Args& a, const SweepResult& s) {
  if (a.flag("json")) {
    std::cout << s.to_json() << "\n";
    return 0;
  }
  const bool heads = s.unit == SweepUnit::Heads;
  std::printf("%s: %s each %s alone; target %s = %.4f%s\n", s.model.c_str(), ablation_name(s.mode), heads ? "head" : "layer",
              s.target.describe().c_str(), s.baseline, s.clean ? (" (clean input: " + std::to_string(*s.clean) + ")").c_str() : "");
  std::printf("change of the target (%s):\n%8s", "rows: layers", "");
  for (int h = 0; h < s.effect.cols(); ++h) std::printf("  %-8s", heads ? ("head " + std::to_string(h)).c_str() : "layer");
  std::printf("\n");
  for (int l = 0; l < s.effect.rows(); ++l) {
    std::printf("layer %-3d", l);
    for (int h = 0; h < s.effect.cols(); ++h) std::printf(" %+9.4f", double(s.effect(l, h)));
    std::printf("\n");
  }
  std::printf("largest effects:\n");
  const auto ranked = s.ranked();
  for (size_t i = 0; i < ranked.size() && i < 5; ++i) {
    const auto& [l, h, e] = ranked[i];
    std::printf("  %s %+.4f\n", (h >= 0 ? "head " + std::to_string(l) + "." + std::to_string(h) : "layer " + std::to_string(l)).c_str(), e);
  }
  return 0;
}

}  // namespace

AblationRequest ablation_request(const Args& a, const Model& model) {
  check_input_kind(a, model);
  AblationRequest req;
  const auto generation = a.get("generation");
  if (generation.has_value() != a.get("step").has_value())
    throw UsageError("--generation FILE and --step T go together: the generated token T of that recording is measured");
  if (generation) {
    if (a.get("text") || a.get("pair") || a.get("target") || a.get("target-id") || a.get("position"))
      throw UsageError("--generation sets the input (its prompt and tokens) and the target (the token chosen at --step): "
                       "leave out --text, --target and --position");
    req.run.options = run_options(a);
  } else {
    req.run = run_request(a, model);
  }
  req.run.top_k = a.get_int("top", 5, 1, 1000);
  const std::string mode = a.get("mode").value_or(a.get("clean") ? "patch" : "zero");
  const auto parsed = parse_ablation(mode);
  if (!parsed) throw UsageError("--mode " + mode + ": expected zero, mean or patch");
  req.mode = *parsed;
  req.clean_text = a.get("clean");
  if (req.mode == Ablation::Patch && !req.clean_text) throw UsageError("--mode patch needs the clean input: --clean TEXT (as many tokens as --text)");
  if (req.mode != Ablation::Patch && req.clean_text) throw UsageError("--clean is the clean input of a patch: give it with --mode patch");
  if (a.get("target") && a.get("target-id")) throw UsageError("give either --target or --target-id, not both");
  if (a.get("contrast") && a.get("contrast-id")) throw UsageError("give either --contrast or --contrast-id, not both");
  req.target.token = a.get("target");
  if (a.get("target-id")) req.target.token_id = a.get_int("target-id", 0, 0, 1 << 30);
  req.target.contrast = a.get("contrast");
  if (a.get("contrast-id")) req.target.contrast_id = a.get_int("contrast-id", 0, 0, 1 << 30);
  if (a.get("position")) req.target.position = a.get_int("position", 0, 0, 1 << 30);
  if (generation) {
    const auto rec = AttentionRecording::open(*generation);
    target_generation_step(model, *rec, a.get_int("step", 1, 1, 1 << 30) - 1, req);
  }
  if (::isatty(STDERR_FILENO))
    req.progress = [](double done, std::string_view what) {
      std::fprintf(stderr, "\rablating: %3.0f%% (%.*s)   ", 100 * done, int(what.size()), what.data());
      return true;
    };
  return req;
}

void clear_progress() {
  if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%60s\r", "");
}

SweepUnit sweep_unit(const std::string& name) {
  if (name != "heads" && name != "layers") throw UsageError("--sweep " + name + ": expected heads or layers");
  return name == "heads" ? SweepUnit::Heads : SweepUnit::Layers;
}

const std::vector<OptionSpec>& ablate_options() {
  static const std::vector<OptionSpec> list = {
      {"model", true, "DIR", "Hugging Face model folder (config.json, model.safetensors, tokenizer)"},
      {"text", true, "STR", "input text (for a patch: the corrupted input)"},
      {"pair", true, "STR", "second sentence (BERT-style pairs)"},
      {"image", true, "FILE", "input picture (PNG, JPEG, BMP) for image models instead of --text"},
      {"heads", true, "L.H,…", "the heads to change together, e.g. 1.0,0.3 (layer.head); required without --sweep"},
      {"mode", true, "zero|mean|patch",
       "zero: switch the heads off (Hugging Face's head_mask); mean: replace each head's output by its mean over the positions; "
       "patch: put in the head's output on --clean (default: zero, or patch with --clean)"},
      {"clean", true, "STR", "the clean input of a patch, as many tokens as --text"},
      {"sweep", true, "heads|layers", "change every head (or every layer's heads together) alone and measure the target's change"},
      {"target", true, "TOKEN", "the token (vocabulary entry or its text, e.g. \" was\") or label measured (default: the top prediction)"},
      {"target-id", true, "N", "the target's id instead"},
      {"contrast", true, "TOKEN", "measure the logit difference target − contrast instead of the target's log-probability"},
      {"contrast-id", true, "N", "the contrast's id instead"},
      {"position", true, "P", "the position whose prediction is measured (default: the last token, or the mask)"},
      {"generation", true, "FILE",
       "a generation's recording (attnscope generate --out): its prompt and the tokens before --step are the input, the token "
       "chosen at --step the target (zero or mean)"},
      {"step", true, "T", "with --generation: the generated token measured, 1 = the first"},
      {"top", true, "K", "how many predictions to show before and after (default 5)"},
      {"out", true, "FILE", "write the changed run's recording (.safetensors; the heads are named in its metadata)"},
      {"json", false, "", "print JSON instead of text"},
      {"truncate", false, "", "cut input longer than the model's positions instead of failing"},
      {"force", false, "", "run even when the memory estimate exceeds the budget (ATTNSCOPE_MEMORY_BUDGET)"},
  };
  return list;
}

std::vector<OptionSpec> sweep_options() {
  static const std::set<std::string> names = {"sweep", "mode", "clean", "target", "target-id", "contrast", "contrast-id", "position", "generation"};
  std::vector<OptionSpec> out;
  for (const OptionSpec& o : ablate_options())
    if (names.count(o.name)) out.push_back(o);
  return out;
}

int cmd_ablate(const Args& a) {
  const auto model = Model::load(a.require("model"));
  AblationRequest req = ablation_request(a, *model);
  if (const auto sweep = a.get("sweep")) {
    if (a.get("heads") || a.get("out")) throw UsageError("--sweep changes every head in turn: leave out --heads and --out");
    const SweepResult s = sweep_heads(*model, req, sweep_unit(*sweep));
    clear_progress();
    return print_sweep(a, s);
  }
  if (!a.get("heads")) throw UsageError("--heads is required (or --sweep heads|layers)");
  const auto heads = parse_heads(*a.get("heads"), model->config().num_layers, model->config().num_heads);
  if (heads.empty()) throw UsageError("--heads names no head");
  const AblationOutcome o = run_ablation(*model, req, heads);
  clear_progress();
  if (const auto out = a.get("out")) o.changed.recording->save(*out, DType::F32);
  if (a.flag("json")) {
    Json j = {{"model", model->name()}, {"mode", ablation_name(req.mode)}, {"heads", format_heads(heads)}, {"target", o.target.describe()},
              {"before", o.before}, {"after", o.after}, {"change", o.after - o.before},
              {"predictions_before", predictions_json(o.predictions_before)}, {"predictions_after", predictions_json(o.predictions_after)}};
    std::cout << dump(j) << "\n";
    return 0;
  }
  std::printf("%s: %s heads %s\n%s: %.4f → %.4f (%+.4f)\n", model->name().c_str(), ablation_name(req.mode), format_heads(heads).c_str(),
              o.target.describe().c_str(), o.before, o.after, o.after - o.before);
  const auto& before = o.predictions_before ? o.predictions_before->top : std::vector<Prediction>{};
  const auto& after = o.predictions_after ? o.predictions_after->top : std::vector<Prediction>{};
  std::printf("  %-28s %s\n", "before", "after");
  for (size_t i = 0; i < std::max(before.size(), after.size()); ++i) {
    auto cell = [](const std::vector<Prediction>& v, size_t i) {
      return i < v.size() ? (std::to_string(v[i].prob * 100).substr(0, 5) + "%  " + dump(Json(v[i].label))) : std::string();
    };
    std::printf("  %-28s %s\n", cell(before, i).c_str(), cell(after, i).c_str());
  }
  if (const auto out = a.get("out")) std::printf("wrote %s\n", out->c_str());
  return 0;
}

}  // namespace attn::cli
