#include "nn/interventions.h"

#include <charconv>

#include "util/error.h"

namespace attn {

const char* ablation_name(Ablation mode) {
  switch (mode) {
    case Ablation::Zero: return "zero";
    case Ablation::Mean: return "mean";
    case Ablation::Patch: return "patch";
  }
  return "?";
}

std::optional<Ablation> parse_ablation(std::string_view name) {
  for (Ablation mode : {Ablation::Zero, Ablation::Mean, Ablation::Patch})
    if (name == ablation_name(mode)) return mode;
  return std::nullopt;
}

std::string format_heads(const std::vector<HeadRef>& heads) {
  std::string out;
  for (const HeadRef& h : heads) out += (out.empty() ? "" : ",") + std::to_string(h.layer) + "." + std::to_string(h.head);
  return out;
}

namespace {

bool parse_int(std::string_view text, int& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string model_shape(int num_layers, int num_heads) {
  return "the model has layers 0-" + std::to_string(num_layers - 1) + " and heads 0-" + std::to_string(num_heads - 1);
}

}  // namespace

std::vector<HeadRef> parse_heads(std::string_view text, int num_layers, int num_heads) {
  std::vector<HeadRef> heads;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t dot = item.find('.');
    HeadRef h;
    if (dot == std::string_view::npos || !parse_int(item.substr(0, dot), h.layer) || !parse_int(item.substr(dot + 1), h.head))
      throw Error("'" + std::string(item) + "' is not a head: write layer.head, e.g. 1.0 for layer 1 head 0");
    if (h.layer < 0 || h.layer >= num_layers || h.head < 0 || h.head >= num_heads)
      throw Error("there is no head " + std::string(item) + ": " + model_shape(num_layers, num_heads));
    heads.push_back(h);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return heads;
}

void check_intervention(const HeadIntervention& intervention, int num_layers, int num_heads, int head_dim, int tokens) {
  for (const HeadRef& h : intervention.heads)
    if (h.layer < 0 || h.layer >= num_layers || h.head < 0 || h.head >= num_heads)
      throw Error("cannot ablate head " + std::to_string(h.layer) + "." + std::to_string(h.head) + ": " + model_shape(num_layers, num_heads));
  if (intervention.mode != Ablation::Patch || intervention.empty()) return;
  if (!intervention.clean) throw Error("patching needs the clean run's head outputs (--clean TEXT)");
  const HeadOutputs& clean = *intervention.clean;
  for (const HeadRef& h : intervention.heads) {
    const RowMatrix* out = size_t(h.layer) < clean.size() && size_t(h.head) < clean[size_t(h.layer)].size()
                               ? &clean[size_t(h.layer)][size_t(h.head)]
                               : nullptr;
    if (!out || out->cols() != head_dim) throw Error("the clean run holds no output for head " + format_heads({h}));
    if (out->rows() != tokens)
      throw Error("the clean input has " + std::to_string(out->rows()) + " tokens and this one " + std::to_string(tokens) +
                  ": patching needs two inputs of the same length");
  }
}

InterventionHook::InterventionHook(const HeadIntervention& intervention, int num_layers, int num_heads)
    : intervention_(intervention), num_heads_(num_heads), chosen_(size_t(num_layers) * size_t(num_heads), 0) {
  for (const HeadRef& h : intervention.heads) chosen_[size_t(h.layer) * size_t(num_heads) + size_t(h.head)] = 1;
}

bool InterventionHook::chosen(int layer, int head) const { return chosen_[size_t(layer) * size_t(num_heads_) + size_t(head)] != 0; }

void InterventionHook::on_attention(int layer, int head, MatrixRef probs) {
  if (intervention_.mode == Ablation::Zero && chosen(layer, head)) probs.setZero();
}

bool InterventionHook::wants_head_output(int layer) const {
  if (intervention_.mode == Ablation::Zero) return false;
  for (int h = 0; h < num_heads_; ++h)
    if (chosen(layer, h)) return true;
  return false;
}

void InterventionHook::on_head_output(int layer, int head, MatrixRef output) {
  if (!chosen(layer, head)) return;
  if (intervention_.mode == Ablation::Mean)
    output.rowwise() = output.colwise().mean().eval();
  else  // Patch
    output = (*intervention_.clean)[size_t(layer)][size_t(head)];
}

HeadOutputCapture::HeadOutputCapture(int num_layers, int num_heads)
    : outputs_(std::make_shared<HeadOutputs>(size_t(num_layers), std::vector<RowMatrix>(size_t(num_heads)))) {}

void HeadOutputCapture::on_head_output(int layer, int head, MatrixRef output) { (*outputs_)[size_t(layer)][size_t(head)] = output; }

}  // namespace attn
