#include "run/predictions.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <numeric>

#include "qt_convert.h"

namespace attn::ui {

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
    case HeadKind::Base: break;
  }
  return std::nullopt;
}

std::string predictions_json(const Model& model, const ForwardResult& result, const PredictionTarget& target, int k) {
  if (result.logits.rows() == 0 || result.logits.cols() == 0) return {};
  const Eigen::VectorXf logits = result.logits.row(0).transpose();
  Eigen::VectorXf p = (logits.array() - logits.maxCoeff()).exp();
  p /= p.sum();
  std::vector<int> order(size_t(p.size()));
  std::iota(order.begin(), order.end(), 0);
  k = std::min<int>(k, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return p[a] > p[b]; });
  const auto& labels = model.config().labels;
  QJsonArray top;
  for (int i = 0; i < k; ++i) {
    const int id = order[size_t(i)];
    std::string label;
    if (target.task == "next-token") label = model.tokenizer().token_text(id);
    else if (target.task == "fill-mask") label = model.tokenizer().id_to_token(id);
    else label = size_t(id) < labels.size() ? labels[size_t(id)] : "LABEL_" + std::to_string(id);
    top.append(QJsonObject{{"label", qstr(label)}, {"id", id}, {"prob", double(p[id])}});
  }
  const QJsonObject o{{"task", qstr(target.task)}, {"position", target.position}, {"top", top}};
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

std::optional<Predictions> read_predictions(const RecordingMeta& meta) {
  const auto it = meta.extra.find(kPredictionsKey);
  if (it == meta.extra.end()) return std::nullopt;
  const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).object();
  Predictions p;
  p.task = o.value("task").toString();
  p.position = o.value("position").toInt(-1);
  for (const QJsonValue& v : o.value("top").toArray()) {
    const QJsonObject e = v.toObject();
    p.top.push_back({e.value("label").toString(), e.value("id").toInt(), e.value("prob").toDouble()});
  }
  if (p.task.isEmpty() || p.top.isEmpty()) return std::nullopt;
  return p;
}

QString prediction_caption(const Predictions& p, const RecordingMeta& meta) {
  if (p.task == QLatin1String("image-classification")) return QStringLiteral("Image classification");
  if (p.task == QLatin1String("classification")) return QStringLiteral("Text classification");
  if (p.task == QLatin1String("fill-mask")) return QStringLiteral("Filling the mask %1").arg(token_quoted(meta, p.position));
  if (p.task == QLatin1String("next-token")) return QStringLiteral("Next token after %1").arg(token_quoted(meta, p.position));
  return p.task;
}

}  // namespace attn::ui
