#pragma once
// What a model predicts from a run, for the prediction panel: the top classes of an image or
// text classifier, the filler of the first mask token (masked LMs) or the next token (causal
// LMs), as probabilities (softmax of the forward pass's logits). Kept in the recording's
// metadata under kPredictionsKey (JSON), so a saved recording shows them without the model.
#include <QList>
#include <QString>
#include <optional>

#include "nn/model.h"

namespace attn::ui {

inline constexpr const char* kPredictionsKey = "attnscope.predictions";

// Which logits a run must produce for a prediction: the task and the position (-1 for
// classifiers). nullopt when the model has no prediction head, or a masked LM's text has no
// mask token. `enc` is null for image models.
struct PredictionTarget {
  std::string task;  // image-classification | classification | fill-mask | next-token
  int position = -1;
};
std::optional<PredictionTarget> prediction_target(const Model& model, const Encoding* enc);

// The top `k` of `result`'s first logits row as JSON:
// {"task", "position", "top": [{"label", "id", "prob"}, …]}.
std::string predictions_json(const Model& model, const ForwardResult& result, const PredictionTarget& target, int k = 5);

struct Prediction {
  QString label;
  int id = 0;
  double prob = 0;
};
struct Predictions {
  QString task;
  int position = -1;
  QList<Prediction> top;  // most probable first
};
// The predictions stored in a recording, if any (unreadable ones count as none).
std::optional<Predictions> read_predictions(const RecordingMeta& meta);
// "image classification", "next token after “·sat” (6)", …
QString prediction_caption(const Predictions& p, const RecordingMeta& meta);

}  // namespace attn::ui
