#include "nn/layer_hook.h"

#include <algorithm>

#include "record/recording.h"
#include "record/recording_stream.h"

namespace attn {

bool HookChain::wants_scores(int layer) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [&](const LayerHook* h) { return h->wants_scores(layer); });
}

bool HookChain::wants_qkv(int layer) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [&](const LayerHook* h) { return h->wants_qkv(layer); });
}

float* HookChain::attention_buffer(int layer, int head) {
  for (LayerHook* h : hooks_)
    if (float* b = h->attention_buffer(layer, head)) return b;
  return nullptr;
}

void HookChain::on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) {
  for (LayerHook* h : hooks_) h->on_qkv(layer, head, q, k, v);
}

void HookChain::on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) {
  for (LayerHook* h : hooks_) h->on_raw_qk(layer, head, q, k);
}

void HookChain::on_scores(int layer, int head, const ConstMatrixRef& scores) {
  for (LayerHook* h : hooks_) h->on_scores(layer, head, scores);
}

void HookChain::on_attention(int layer, int head, MatrixRef probs) {
  for (LayerHook* h : hooks_) h->on_attention(layer, head, probs);
}

bool HookChain::wants_head_output(int layer) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [&](const LayerHook* h) { return h->wants_head_output(layer); });
}

void HookChain::on_head_output(int layer, int head, MatrixRef output) {
  for (LayerHook* h : hooks_)
    if (h->wants_head_output(layer)) h->on_head_output(layer, head, output);
}

void HookChain::on_layer_end(int layer, const RowMatrix& hidden) {
  for (LayerHook* h : hooks_) h->on_layer_end(layer, hidden);
}

void HookChain::on_stack_attention(AttentionStack stack, int layer, int head, MatrixRef probs) {
  for (LayerHook* h : hooks_) h->on_stack_attention(stack, layer, head, probs);
}

bool HookChain::wants_stack_qkv(AttentionStack stack, int layer) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [&](const LayerHook* h) { return h->wants_stack_qkv(stack, layer); });
}

void HookChain::on_stack_qkv(AttentionStack stack, int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) {
  for (LayerHook* h : hooks_)
    if (h->wants_stack_qkv(stack, layer)) h->on_stack_qkv(stack, layer, head, q, k, v);
}

RecordingHook::RecordingHook(AttentionRecording& recording, std::vector<int> model_layers, int first_row)
    : rec_(recording), model_layers_(std::move(model_layers)), first_row_(first_row) {}

namespace {

// The recorded layer that model layer `layer` is, or -1: `model_layers` lists the recorded
// model layers in order (empty: all `recorded` of them).
int recorded_slot(const std::vector<int>& model_layers, int layer, int recorded) {
  if (model_layers.empty()) return layer < recorded ? layer : -1;
  const auto it = std::lower_bound(model_layers.begin(), model_layers.end(), layer);
  return it != model_layers.end() && *it == layer ? int(it - model_layers.begin()) : -1;
}

}  // namespace

int RecordingHook::slot(int layer) const { return recorded_slot(model_layers_, layer, rec_.num_layers()); }

bool RecordingHook::wants_scores(int layer) const { return first_row_ < 0 && rec_.has_scores() && slot(layer) >= 0; }

bool RecordingHook::wants_qkv(int layer) const { return first_row_ < 0 && rec_.has_qkv() && slot(layer) >= 0; }

float* RecordingHook::attention_buffer(int layer, int head) {
  // F32 recordings are written in place; F16 ones are rounded from the scratch in on_attention.
  const int s = slot(layer);
  if (s < 0 || rec_.storage() != DType::F32 || first_row_ >= 0) return nullptr;
  return rec_.mutable_matrix(AttentionRecording::Part::Attention, s, head).data();
}

void RecordingHook::on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) {
  const int s = slot(layer);
  if (s < 0 || !rec_.has_qkv() || first_row_ >= 0) return;
  rec_.write_matrix(AttentionRecording::Part::Query, s, head, q);
  rec_.write_matrix(AttentionRecording::Part::Key, s, head, k);
  rec_.write_matrix(AttentionRecording::Part::Value, s, head, v);
}

void RecordingHook::on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) {
  const int s = slot(layer);
  if (s < 0 || !rec_.has_raw_qk() || first_row_ >= 0) return;
  rec_.write_matrix(AttentionRecording::Part::QueryRaw, s, head, q);
  rec_.write_matrix(AttentionRecording::Part::KeyRaw, s, head, k);
}

void RecordingHook::on_scores(int layer, int head, const ConstMatrixRef& scores) {
  const int s = slot(layer);
  if (s >= 0 && rec_.has_scores() && first_row_ < 0) rec_.write_matrix(AttentionRecording::Part::Scores, s, head, scores);
}

void RecordingHook::on_attention(int layer, int head, MatrixRef probs) {
  const int s = slot(layer);
  if (s < 0) return;
  if (first_row_ >= 0) return rec_.write_rows(AttentionRecording::Part::Attention, s, head, first_row_, probs);
  if (rec_.storage() == DType::F32 && probs.data() == rec_.mutable_matrix(AttentionRecording::Part::Attention, s, head).data()) return;
  rec_.write_matrix(AttentionRecording::Part::Attention, s, head, probs);
}

void RecordingHook::on_stack_attention(AttentionStack stack, int layer, int head, MatrixRef probs) {
  if (!rec_.meta().encoder_decoder()) return;
  if (stack == AttentionStack::Encoder) {  // every encoder layer, once
    if (layer < rec_.meta().num_encoder_layers) rec_.write_rows(AttentionRecording::Part::EncoderAttention, layer, head, 0, probs);
    return;
  }
  const int s = slot(layer);
  if (s >= 0) rec_.write_rows(AttentionRecording::Part::CrossAttention, s, head, std::max(0, first_row_), probs);
}

StreamingHook::StreamingHook(RecordingStream& stream, std::vector<int> model_layers)
    : stream_(stream), model_layers_(std::move(model_layers)) {
  for (auto part : stream_.parts()) {
    if (size_t(part) >= buffers_.size()) buffers_.resize(size_t(part) + 1);
    buffers_[size_t(part)].assign(size_t(stream_.meta().num_heads) * stream_.head_values(part), 0.0f);
  }
}

int StreamingHook::slot(int layer) const { return recorded_slot(model_layers_, layer, stream_.meta().num_layers); }

bool StreamingHook::wants_scores(int layer) const { return stream_.has(AttentionRecording::Part::Scores) && slot(layer) >= 0; }

bool StreamingHook::wants_qkv(int layer) const { return stream_.has(AttentionRecording::Part::Query) && slot(layer) >= 0; }

float* StreamingHook::head_buffer(int part, int head) {
  return buffers_[size_t(part)].data() + size_t(head) * stream_.head_values(AttentionRecording::Part(part));
}

float* StreamingHook::attention_buffer(int layer, int head) {
  return slot(layer) >= 0 ? head_buffer(int(AttentionRecording::Part::Attention), head) : nullptr;
}

void StreamingHook::keep(int part, int layer, int head, const ConstMatrixRef& values) {
  if (slot(layer) < 0 || size_t(part) >= buffers_.size() || buffers_[size_t(part)].empty()) return;
  float* to = head_buffer(part, head);
  if (to != values.data()) MatrixMap(to, values.rows(), values.cols()) = values;
}

void StreamingHook::on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) {
  keep(int(AttentionRecording::Part::Query), layer, head, q);
  keep(int(AttentionRecording::Part::Key), layer, head, k);
  keep(int(AttentionRecording::Part::Value), layer, head, v);
}

void StreamingHook::on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) {
  keep(int(AttentionRecording::Part::QueryRaw), layer, head, q);
  keep(int(AttentionRecording::Part::KeyRaw), layer, head, k);
}

void StreamingHook::on_scores(int layer, int head, const ConstMatrixRef& scores) {
  keep(int(AttentionRecording::Part::Scores), layer, head, scores);
}

void StreamingHook::on_attention(int layer, int head, MatrixRef probs) {
  keep(int(AttentionRecording::Part::Attention), layer, head, probs);
}

void StreamingHook::on_layer_end(int layer, const RowMatrix& /*hidden*/) {
  const int s = slot(layer);
  if (s < 0) return;
  for (auto part : stream_.parts()) stream_.write(part, s, buffers_[size_t(part)].data());
}

}  // namespace attn
