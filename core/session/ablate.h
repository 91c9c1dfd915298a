#pragma once
// Interventions as experiments, on the run pipeline: run a model with heads switched off,
// mean-ablated or patched from a clean input and compare the prediction with the plain run's;
// sweep every head (or every layer) alone and measure how far a chosen target moves. A sweep
// keeps the plain run's hidden states and recomputes only from the ablated layer on.
// Synchronous; progress and cancel through the request's ProgressFn. Throws attn::Error for
// inputs the model cannot take (and for a patch whose inputs differ in length), and
// attn::Cancelled when the progress callback says stop.
#include <optional>
#include <string>
#include <vector>

#include "nn/interventions.h"
#include "session/run.h"

namespace attn {

// What an intervention is measured by: the log-probability of a token (or label) at a position,
// or, with a contrast token, the logit difference token − contrast.
struct AblationTarget {
  int position = -1;                  // -1: the prediction's (the last token, the mask, the class)
  std::optional<std::string> token;   // a vocabulary string (" was", "##ing") or label; nullopt with no id: the top prediction
  std::optional<int> token_id;        // or the id
  std::optional<std::string> contrast;
  std::optional<int> contrast_id;
  int step = -1;  // the generation's step (0-based) this target is (target_generation_step), for saying so
};

// A target made concrete for one model and input.
struct ResolvedTarget {
  std::string task;  // as PredictionTarget's
  int position = -1;
  int token = 0;
  std::string label;  // the token's text or the label
  std::optional<int> contrast;
  std::string contrast_label;
  int step = -1;  // a generation's step (0-based), or -1

  // "log p(' was' at 7)" or "logit(' was') − logit(' is') at 7"; ", step 3" for a generation's (1-based).
  std::string describe() const;
  // The measure on one row of logits (log-softmax of the row, or the logit difference).
  double measure(const Eigen::Ref<const RowMatrix>& logits) const;
};

struct AblationRequest {
  RunRequest run;  // the input (for a patch, the corrupted one); its options' intervention is ignored
  Ablation mode = Ablation::Zero;
  std::optional<std::string> clean_text;  // a patch's clean input, as long as run.text in tokens
  AblationTarget target;
  ProgressFn progress;
};

// The plain run's predictions, kept in the metadata of an ablated run's recording.
inline constexpr const char* kPredictionsBeforeKey = "attnscope.predictions_before";

// One intervention on `heads`: the plain run (its recording holds only the last layer) and the
// changed one, whose recording names the heads in its metadata and keeps the plain run's
// predictions (kPredictionsBeforeKey); their predictions, and the target measured on both.
// Each list of predictions (and its metadata) also holds, after its own top k, the tokens
// only the other list has, so that every token shown has a before and an after.
struct AblationOutcome {
  ResolvedTarget target;
  double before = 0, after = 0;
  std::optional<Predictions> predictions_before, predictions_after;
  RunResult plain, changed;
};
AblationOutcome run_ablation(const Model& model, const AblationRequest& request, const std::vector<HeadRef>& heads);

// Makes a generation's step the input and target of `request`: the input becomes the prompt
// (the recording's text encoded again, as the generation did; checked against its prompt
// tokens) and the tokens generated before `step` (0-based), as ids; the target the token chosen
// at `step`, at the last position. A decoder's pass over that prefix gives there exactly the
// logits the step saw; the measure is the model's own log-probability, before the logits rules
// (repetition penalty, …) and sampling. Throws attn::Error when the recording is no generation
// of `model`, the step is out of range, or the model is an encoder-decoder (a translation's
// step cannot be swept yet) or the request a patch.
void target_generation_step(const Model& model, const AttentionRecording& generation, int step, AblationRequest& request);

enum class SweepUnit { Heads, Layers };

struct SweepResult {
  SweepUnit unit = SweepUnit::Heads;
  Ablation mode = Ablation::Zero;
  ResolvedTarget target;
  std::string model, text, clean_text;
  std::vector<std::string> tokens;
  double baseline = 0;               // the target with nothing changed (a patch: on the corrupted input)
  std::optional<double> clean;       // a patch: the target on the clean input
  RowMatrix effect;                  // (layers, heads) or (layers, 1): the target with that head (layer) changed − baseline

  // The strongest effects first: (layer, head or -1, effect).
  std::vector<std::tuple<int, int, double>> ranked() const;
  // {"model", "unit", "mode", "target", "baseline", "effect": [[…]], …}.
  std::string to_json() const;
};
SweepResult sweep_heads(const Model& model, const AblationRequest& request, SweepUnit unit);

}  // namespace attn
