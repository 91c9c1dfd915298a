#pragma once
// Interventions on attention heads, as implementations of the run's LayerHook: switching
// heads off (their probabilities zero: Hugging Face's head_mask), replacing a head's output by
// its mean over the positions, or patching in the head's output from another input of the
// same length (TransformerLens' activation patching of hook_z). The run pipeline applies the
// RunOptions' HeadIntervention; the ablation session (session/ablate.h) builds sweeps on it.
#include <compare>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nn/layer_hook.h"

namespace attn {

struct HeadRef {
  int layer = 0, head = 0;  // model layer, query head
  auto operator<=>(const HeadRef&) const = default;
};

enum class Ablation { Zero, Mean, Patch };
const char* ablation_name(Ablation mode);  // "zero" | "mean" | "patch"
// nullopt for another word.
std::optional<Ablation> parse_ablation(std::string_view name);

// Every head's output of one run, [layer][head], each (N, d): a patch's clean run.
using HeadOutputs = std::vector<std::vector<RowMatrix>>;

struct HeadIntervention {
  Ablation mode = Ablation::Zero;
  std::vector<HeadRef> heads;                // none: no intervention
  std::shared_ptr<const HeadOutputs> clean;  // Patch: the clean run's head outputs

  bool empty() const { return heads.empty(); }
};

// "0.3,1.0" (layer.head, comma-separated) for `heads`, and back. parse_heads throws
// attn::Error naming the item that is not a head of a model with that many layers and heads.
std::string format_heads(const std::vector<HeadRef>& heads);
std::vector<HeadRef> parse_heads(std::string_view text, int num_layers, int num_heads);

// Throws attn::Error when `intervention` does not fit a model of `num_layers` × `num_heads`
// heads of `head_dim` on `tokens` tokens: a head outside it, a patch without a clean run, or a
// clean run of another length or shape.
void check_intervention(const HeadIntervention& intervention, int num_layers, int num_heads, int head_dim, int tokens);

// Applies a checked HeadIntervention.
class InterventionHook final : public LayerHook {
 public:
  InterventionHook(const HeadIntervention& intervention, int num_layers, int num_heads);
  // Zero: the chosen heads' probabilities become zero (so their outputs are zero too).
  void on_attention(int layer, int head, MatrixRef probs) override;
  // Mean: each row of the output becomes the mean of its rows; Patch: the clean run's output.
  bool wants_head_output(int layer) const override;
  void on_head_output(int layer, int head, MatrixRef output) override;

 private:
  bool chosen(int layer, int head) const;
  const HeadIntervention& intervention_;
  int num_heads_;
  std::vector<char> chosen_;  // (layers × heads)
};

// Keeps every head's output of a run (the clean run of a patch).
class HeadOutputCapture final : public LayerHook {
 public:
  HeadOutputCapture(int num_layers, int num_heads);
  bool wants_head_output(int /*layer*/) const override { return true; }
  void on_head_output(int layer, int head, MatrixRef output) override;
  std::shared_ptr<const HeadOutputs> outputs() const { return outputs_; }

 private:
  std::shared_ptr<HeadOutputs> outputs_;
};

}  // namespace attn
