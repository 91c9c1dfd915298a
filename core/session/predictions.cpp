#include "session/predictions.h"

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "nn/model.h"
#include "record/recording.h"
#include "util/error.h"

namespace attn {

std::optional<PredictionTarget> prediction_target(const Model& model, const Encoding* enc) {
  switch (model.config().head) {
    case HeadKind::ImageClassification: return PredictionTarget{"image-classification", -1};
    case HeadKind::SequenceClassification: return PredictionTarget{"classification", -1};
    case HeadKind::MaskedLM: {
      const auto mask = model.tokenizer().mask_id();
      if (!enc || !mask) return std::nullopt;
      const auto it = std::find(enc->ids.begin(), enc->ids.end(), *mask);
      if (it == enc->ids.end()) return std::nullopt;
      return PredictionTarget{"fill-mask", int(it - enc->ids.begin())};
    }
    case HeadKind::CausalLM:
      if (!enc || enc->size() == 0) return std::nullopt;
      return PredictionTarget{"next-token", int(enc->size()) - 1};
    case HeadKind::Seq2SeqLM:  // what a translation writes next: generate()'s steps
    case HeadKind::Base: break;
  }
  return std::nullopt;
}

PredictionTarget require_prediction_target(const Model& model, const Encoding* enc) {
  if (auto t = prediction_target(model, enc)) return *t;
  const auto& c = model.config();
  if (c.head == HeadKind::MaskedLM) {
    const auto mask = model.tokenizer().mask_id();
    throw Error("the text has no mask token: put " + (mask ? model.tokenizer().id_to_token(*mask) : std::string("[MASK]")) +
                " where " + model.name() + " should fill in a word");
  }
  throw Error(model.name() + " is a bare " + c.model_type + " model (" + (c.architecture.empty() ? "no head" : c.architecture) +
              "): it has no prediction head; its attention can still be recorded");
}

Predictions top_predictions(const Model& model, const Eigen::Ref<const RowMatrix>& logits, const PredictionTarget& target, int k) {
  Predictions out;
  out.task = target.task;
  out.position = target.position;
  if (logits.rows() == 0 || logits.cols() == 0) return out;
  const Eigen::VectorXf row = logits.row(0).transpose();
  Eigen::VectorXf p = (row.array() - row.maxCoeff()).exp();
  p /= p.sum();
  std::vector<int> order(size_t(p.size()));
  std::iota(order.begin(), order.end(), 0);
  k = std::clamp(k, 0, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return p[a] > p[b]; });
  const auto& labels = model.config().labels;
  for (int i = 0; i < k; ++i) {
    const int id = order[size_t(i)];
    std::string label;
    if (target.task == "next-token") label = model.tokenizer().token_text(id);
    else if (target.task == "fill-mask") label = model.tokenizer().id_to_token(id);
    else label = size_t(id) < labels.size() ? labels[size_t(id)] : "LABEL_" + std::to_string(id);
    out.top.push_back({label, id, double(p[id])});
  }
  return out;
}

std::string Predictions::to_json() const {
  nlohmann::json top_list = nlohmann::json::array();
  for (const auto& p : top) top_list.push_back({{"label", p.label}, {"id", p.id}, {"prob", p.prob}});
  const nlohmann::json j = {{"task", task}, {"position", position}, {"top", top_list}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Predictions> Predictions::from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("task") || !j["task"].is_string() || !j.contains("top") || !j["top"].is_array()) return std::nullopt;
  Predictions p;
  p.task = j["task"].get<std::string>();
  if (j.contains("position")) p.position = int(json_int(j["position"], -1, 1 << 30).value_or(-1));
  for (const auto& e : j["top"]) {
    if (!e.is_object() || !e.contains("label") || !e["label"].is_string()) return std::nullopt;
    const auto id = e.contains("id") ? json_int(e["id"], 0, 1 << 30) : std::nullopt;
    const auto prob = e.contains("prob") ? json_number(e["prob"]) : std::nullopt;
    if (!id || !prob) return std::nullopt;
    p.top.push_back({e["label"].get<std::string>(), int(*id), *prob});
  }
  if (p.task.empty() || p.top.empty()) return std::nullopt;
  return p;
}

std::optional<Predictions> read_predictions(const RecordingMeta& meta) {
  const auto it = meta.extra.find(kPredictionsKey);
  if (it == meta.extra.end()) return std::nullopt;
  return Predictions::from_json(it->second);
}

}  // namespace attn
