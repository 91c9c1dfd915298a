#include "session/ablate.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "session/generate.h"
#include "util/error.h"

namespace attn {

namespace {

bool is_label_task(const std::string& task) { return task != "next-token" && task != "fill-mask"; }

std::string token_label(const Model& model, const std::string& task, int id) {
  if (task == "next-token") return model.tokenizer().token_text(id);
  if (task == "fill-mask") return model.tokenizer().id_to_token(id);
  const auto& labels = model.config().labels;
  return size_t(id) < labels.size() ? labels[size_t(id)] : "LABEL_" + std::to_string(id);
}

// The id of the token or label `name` (or `id`) for `task`: a vocabulary string, else a token's
// text (" was"), for language models; a label name for classifiers.
int resolve_token(const Model& model, const std::string& task, const std::string& name, int outputs) {
  if (is_label_task(task)) {
    const auto& labels = model.config().labels;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == name) return int(i);
    std::string known;
    for (const auto& l : labels) known += (known.empty() ? "" : ", ") + l;
    throw Error("'" + name + "' is not one of " + model.name() + "'s labels" + (known.empty() ? "" : " (" + known + ")"));
  }
  const Tokenizer& tok = model.tokenizer();
  if (const auto id = tok.token_to_id(name); id && *id < outputs) return *id;
  for (int id = 0; id < outputs; ++id)
    if (tok.token_text(id) == name) return id;
  throw Error("'" + name + "' is not one token of " + model.name() + "'s vocabulary; give a vocabulary entry (\"Ġwas\", \"##ing\") or its id");
}

int checked_id(const Model& model, int id, int outputs) {
  if (id < 0 || id >= outputs)
    throw Error("id " + std::to_string(id) + " is outside " + model.name() + "'s " + std::to_string(outputs) + " outputs");
  return id;
}

// The run's logits row for `position` (classifiers: their one row).
Eigen::Ref<const RowMatrix> logits_row(const RunResult& r, int position) {
  if (position < 0) return r.logits.topRows(1);
  for (size_t i = 0; i < r.logits_rows.size(); ++i)
    if (r.logits_rows[i] == position) return r.logits.middleRows(Eigen::Index(i), 1);
  throw Error("internal error: the run kept no logits for position " + std::to_string(position));
}

// The input made ready, its logits row for the target's position kept.
PreparedRun prepare(const Model& model, const AblationRequest& request, int* position) {
  RunRequest run = request.run;
  run.options.intervention = {};
  run.options.resume = {};
  if (model.config().is_encoder_decoder())
    throw Error(model.name() + " is an encoder-decoder: heads can be switched off, patched and swept in decoder-only and "
                "encoder-only models, not yet in a translator");
  PreparedRun p = prepare_run(model, std::move(run));
  if (!p.target)
    throw Error(model.name() + " makes no prediction for this input (no prediction head, or a masked LM's text without a mask): "
                "there is nothing for an ablation to change");
  *position = request.target.position >= 0 ? request.target.position : p.target->position;
  if (p.target->position < 0 && request.target.position >= 0)
    throw Error(model.name() + " is a classifier: its prediction is about the whole input, not a position");
  if (*position >= p.tokens)
    throw Error("position " + std::to_string(*position) + " is outside the input's " + std::to_string(p.tokens) + " tokens");
  auto& rows = p.options.logits_rows;
  if (*position >= 0 && !p.options.all_logits && std::find(rows.begin(), rows.end(), *position) == rows.end()) rows.push_back(*position);
  return p;
}

ResolvedTarget resolve(const Model& model, const PreparedRun& p, int position, const AblationTarget& want, const RunResult& plain) {
  ResolvedTarget t;
  t.task = p.target->task;
  t.position = position;
  const auto row = logits_row(plain, position);
  const int outputs = int(row.cols());
  if (want.token_id) t.token = checked_id(model, *want.token_id, outputs);
  else if (want.token) t.token = resolve_token(model, t.task, *want.token, outputs);
  else row.row(0).maxCoeff(&t.token);
  t.label = token_label(model, t.task, t.token);
  if (want.contrast_id) t.contrast = checked_id(model, *want.contrast_id, outputs);
  else if (want.contrast) t.contrast = resolve_token(model, t.task, *want.contrast, outputs);
  if (t.contrast) t.contrast_label = token_label(model, t.task, *t.contrast);
  t.step = want.step;
  return t;
}

// Progress of run `index` of `count`, each reporting its own fraction.
ProgressFn part(const ProgressFn& progress, int index, int count) {
  if (!progress) return {};
  return [=](double f, std::string_view stage) { return progress((index + std::clamp(f, 0.0, 1.0)) / count, stage); };
}

// A patch's clean run: its head outputs, and its logits.
struct CleanRun {
  std::shared_ptr<const HeadOutputs> outputs;
  RunResult run;
};

CleanRun clean_run(const Model& model, const AblationRequest& request, const PreparedRun& corrupted, ProgressFn progress) {
  if (!request.clean_text) throw Error("patching needs a clean input (--clean TEXT) of the same length as the text");
  RunRequest clean = request.run;
  clean.text = *request.clean_text;
  clean.options = corrupted.options;
  clean.options.record_hidden = clean.options.record_qkv = clean.options.record_scores = false;
  clean.options.stream_to.clear();
  clean.options.layers = {model.config().num_layers - 1};  // only its head outputs and logits are read
  clean.options.progress = std::move(progress);
  clean.top_k = 0;
  PreparedRun c = prepare_run(model, std::move(clean));
  if (c.tokens != corrupted.tokens)
    throw Error("the clean input has " + std::to_string(c.tokens) + " tokens and the text " + std::to_string(corrupted.tokens) +
                ": patching needs two inputs of the same length in tokens");
  HeadOutputCapture capture(model.config().num_layers, model.config().num_heads);
  c.options.hook = &capture;
  RunResult run = execute_run(model, c);
  return {capture.outputs(), std::move(run)};
}

// `p` with the ids of `other` it lacks added at its end, their probabilities from `logits` (one
// row): a before/after pair then gives both numbers for every token either lists.
void add_missing(Predictions& p, const Predictions& other, const Eigen::Ref<const RowMatrix>& logits) {
  const auto row = logits.row(0).cast<double>();
  const double max = row.maxCoeff(), sum = (row.array() - max).exp().sum();
  for (const Prediction& e : other.top)
    if (std::none_of(p.top.begin(), p.top.end(), [&](const Prediction& x) { return x.id == e.id; }) && e.id < row.size())
      p.top.push_back({e.label, e.id, std::exp(row(e.id) - max) / sum});
}

}  // namespace

std::string ResolvedTarget::describe() const {
  const std::string at = (position >= 0 ? " at " + std::to_string(position) : "") + (step >= 0 ? ", step " + std::to_string(step + 1) : "");
  if (contrast) return "logit('" + label + "') − logit('" + contrast_label + "')" + at;
  return "log p('" + label + "')" + at;
}

double ResolvedTarget::measure(const Eigen::Ref<const RowMatrix>& logits) const {
  const auto row = logits.row(0);
  if (contrast) return double(row(token)) - double(row(*contrast));
  const double max = row.maxCoeff();
  const double sum = (row.cast<double>().array() - max).exp().sum();
  return double(row(token)) - max - std::log(sum);
}

void target_generation_step(const Model& model, const AttentionRecording& generation, int step, AblationRequest& request) {
  const auto info = read_generation(generation);
  if (!info) throw Error("the recording holds no generation: a step can only be chosen in a generation's recording");
  if (model.config().is_encoder_decoder())
    throw Error(model.name() + " is an encoder-decoder: a translation's step cannot be swept yet (sweep the source text instead)");
  if (request.mode == Ablation::Patch)
    throw Error("a generation's step can be ablated (zero or mean) but not patched: the clean input would have to match its prompt and tokens");
  const int steps = int(info->steps.size());
  if (step < 0 || step >= steps)
    throw Error("step " + std::to_string(step + 1) + " is outside the generation's " + std::to_string(steps) + " generated tokens");
  const RecordingMeta& meta = generation.meta();
  const Encoding prompt = model.encode(meta.text);
  bool same = int(prompt.size()) == info->prompt_length && int(meta.tokens.size()) >= info->prompt_length;
  for (int i = 0; same && i < info->prompt_length; ++i) same = model.display_token(prompt, size_t(i)) == meta.tokens[size_t(i)];
  if (!same)
    throw Error("the generation's prompt (" + std::to_string(info->prompt_length) + " tokens) is not what " + model.name() +
                " makes of its text: was it generated by another model?");
  std::vector<int32_t> ids = prompt.ids, generated;
  for (int s = 0; s < step; ++s) generated.push_back(info->steps[size_t(s)].chosen.id);
  ids.insert(ids.end(), generated.begin(), generated.end());
  request.run.ids = std::move(ids);
  request.run.text = meta.text + model.tokenizer().decode(generated);  // what the model has read, as text
  request.run.pair.reset();
  request.target.token.reset();
  request.target.token_id = info->steps[size_t(step)].chosen.id;
  request.target.position = -1;
  request.target.step = step;
}

AblationOutcome run_ablation(const Model& model, const AblationRequest& request, const std::vector<HeadRef>& heads) {
  const int runs = request.mode == Ablation::Patch ? 3 : 2;
  int position = -1;
  PreparedRun p = prepare(model, request, &position);
  HeadIntervention intervention{request.mode, heads, nullptr};
  if (request.mode == Ablation::Patch) intervention.clean = clean_run(model, request, p, part(request.progress, 2, runs)).outputs;
  AblationOutcome out;
  PreparedRun plain = p;  // only its predictions and logits are read: one layer of attention is enough
  plain.options.layers = {model.config().num_layers - 1};
  plain.options.record_qkv = plain.options.record_scores = false;
  plain.options.stream_to.clear();
  plain.options.progress = part(request.progress, 0, runs);
  out.plain = execute_run(model, plain);
  out.target = resolve(model, p, position, request.target, out.plain);
  PreparedRun q = p;
  q.options.intervention = std::move(intervention);
  q.options.progress = part(request.progress, 1, runs);
  out.changed = execute_run(model, q);
  auto& extra = out.changed.recording->meta_mutable().extra;
  if (request.mode == Ablation::Patch) extra["ablation_clean_text"] = *request.clean_text;
  out.before = out.target.measure(logits_row(out.plain, position));
  out.after = out.target.measure(logits_row(out.changed, position));
  out.predictions_before = out.plain.predictions;
  out.predictions_after = out.changed.predictions;
  if (out.predictions_before && out.predictions_after) {
    const Predictions before = *out.predictions_before;
    add_missing(*out.predictions_before, *out.predictions_after, logits_row(out.plain, position));
    add_missing(*out.predictions_after, before, logits_row(out.changed, position));
    extra[kPredictionsKey] = out.predictions_after->to_json();
  }
  if (out.predictions_before) extra[kPredictionsBeforeKey] = out.predictions_before->to_json();
  return out;
}

SweepResult sweep_heads(const Model& model, const AblationRequest& request, SweepUnit unit) {
  const int L = model.config().num_layers, H = model.config().num_heads;
  const int cols = unit == SweepUnit::Heads ? H : 1, runs = 1 + L * cols + (request.mode == Ablation::Patch);
  int position = -1;
  PreparedRun p = prepare(model, request, &position);
  p.options.layers = {L - 1};  // the sweep reads logits; one layer of attention is all it keeps
  p.options.record_qkv = p.options.record_scores = false;
  p.options.stream_to.clear();
  p.request.top_k = 0;
  SweepResult out;
  out.unit = unit;
  out.mode = request.mode;
  out.model = model.name();
  out.text = request.run.text;
  std::optional<CleanRun> clean;
  if (request.mode == Ablation::Patch) {
    clean = clean_run(model, request, p, part(request.progress, runs - 1, runs));
    out.clean_text = *request.clean_text;
  }

  p.options.record_hidden = true;
  p.options.progress = part(request.progress, 0, runs);
  const RunResult plain = execute_run(model, p);
  out.target = resolve(model, p, position, request.target, plain);
  out.baseline = out.target.measure(logits_row(plain, position));
  out.tokens = plain.recording->meta().tokens;
  std::vector<std::shared_ptr<const RowMatrix>> hidden;
  for (const RowMatrix& h : plain.hidden) hidden.push_back(std::make_shared<const RowMatrix>(h));
  if (clean) out.clean = out.target.measure(logits_row(clean->run, position));  // for normalising a patch's effects

  p.options.record_hidden = false;
  out.effect.resize(L, cols);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < cols; ++h) {
      PreparedRun q = p;
      q.options.intervention = {request.mode, {}, clean ? clean->outputs : nullptr};
      for (int k = 0; k < H; ++k)
        if (unit == SweepUnit::Layers || k == h) q.options.intervention.heads.push_back({l, k});
      if (l > 0) q.options.resume = {l, hidden[size_t(l)]};
      q.options.progress = part(request.progress, 1 + l * cols + h, runs);
      out.effect(l, h) = float(out.target.measure(logits_row(execute_run(model, q), position)) - out.baseline);
    }
  return out;
}

std::vector<std::tuple<int, int, double>> SweepResult::ranked() const {
  std::vector<std::tuple<int, int, double>> out;
  for (int l = 0; l < effect.rows(); ++l)
    for (int h = 0; h < effect.cols(); ++h) out.emplace_back(l, unit == SweepUnit::Heads ? h : -1, effect(l, h));
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return std::abs(std::get<2>(a)) > std::abs(std::get<2>(b)); });
  return out;
}

std::string SweepResult::to_json() const {
  nlohmann::json effects = nlohmann::json::array();
  for (int l = 0; l < effect.rows(); ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (int h = 0; h < effect.cols(); ++h) row.push_back(effect(l, h));
    effects.push_back(row);
  }
  nlohmann::json ranking = nlohmann::json::array();
  for (const auto& [l, h, e] : ranked()) {
    nlohmann::json item = {{"layer", l}, {"effect", e}};
    if (h >= 0) item["head"] = h;
    ranking.push_back(item);
  }
  nlohmann::json target = {{"task", this->target.task}, {"position", this->target.position}, {"token", this->target.token},
                           {"label", this->target.label}, {"measure", this->target.describe()}};
  if (this->target.contrast) target["contrast"] = *this->target.contrast, target["contrast_label"] = this->target.contrast_label;
  if (this->target.step >= 0) target["step"] = this->target.step + 1;
  nlohmann::json j = {{"model", model},     {"text", text},         {"tokens", tokens},     {"unit", unit == SweepUnit::Heads ? "heads" : "layers"},
                      {"mode", ablation_name(mode)}, {"target", target}, {"baseline", baseline}, {"effect", effects}, {"ranked", ranking}};
  if (!clean_text.empty()) j["clean_text"] = clean_text;
  if (clean) j["clean"] = *clean;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace attn
