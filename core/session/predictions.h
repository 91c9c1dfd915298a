#pragma once
// What a model predicts from a run: the top classes of an image or text classifier, the
// filler of the first mask token (masked LMs) or the next token (causal LMs), as
// probabilities (softmax of the run's logits). Kept in a recording's metadata under
// kPredictionsKey, so a saved recording shows them without the model.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/tensor_types.h"
#include "tokenize/tokenizer.h"

namespace attn {

class Model;
struct RecordingMeta;

inline constexpr const char* kPredictionsKey = "attnscope.predictions";

// Which logits a prediction needs: the task and the position (-1 for classifiers).
struct PredictionTarget {
  std::string task;  // image-classification | classification | fill-mask | next-token
  int position = -1;
};

// nullopt when the model has no prediction head, or a masked LM's text has no mask token.
// `enc` is null for image models.
std::optional<PredictionTarget> prediction_target(const Model& model, const Encoding* enc);
// The same, but a missing target is an attn::Error saying why (no mask token: where to put
// one; a bare model: that it has no head) — for `attnscope predict`.
PredictionTarget require_prediction_target(const Model& model, const Encoding* enc);

struct Prediction {
  std::string label;  // the token (next-token: its text, " world"; fill-mask: the vocabulary entry) or class label
  int id = 0;
  double prob = 0;
};

struct Predictions {
  std::string task;
  int position = -1;
  std::vector<Prediction> top;  // most probable first

  // {"task", "position", "top": [{"label", "id", "prob"}, …]}: the metadata form.
  std::string to_json() const;
  // From the metadata form; nullopt when it is malformed or empty.
  static std::optional<Predictions> from_json(const std::string& text);
};

// The top `k` of the softmax of `logits` (one row) for `target`.
Predictions top_predictions(const Model& model, const Eigen::Ref<const RowMatrix>& logits, const PredictionTarget& target, int k);
// The predictions stored in a recording's metadata, if any (unreadable ones count as none).
std::optional<Predictions> read_predictions(const RecordingMeta& meta);

}  // namespace attn
