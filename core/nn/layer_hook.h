#pragma once
// The one seam between a forward pass and whoever watches or changes it (gemma.cpp's
// layers_output). A run hands the model one LayerHook; the model calls it for every head of
// every layer with what attention computed, and once per layer with the layer's output.
// Recording attention (RecordingHook), switching heads off, mean ablation and patching
// (nn/interventions.h) are implementations; the families never know which one they
// talk to.
//
// Threads: calls for different heads of one layer may come from several threads at once;
// the calls for one head come in order (qkv → scores → attention → head output), and on_layer_end comes
// after every head of its layer, from the thread that runs the model.
#include <memory>
#include <vector>

#include "model/tensor_types.h"

namespace attn {

class AttentionRecording;
class RecordingStream;

// An encoder-decoder's attentions besides the decoder's self-attention (which goes through
// on_attention like any decoder's): the encoder's self-attention and the decoder's
// cross-attention to the encoder.
enum class AttentionStack { Encoder, Cross };

using ConstMatrixRef = Eigen::Ref<const RowMatrix>;
using MatrixRef = Eigen::Ref<RowMatrix>;

class LayerHook {
 public:
  virtual ~LayerHook() = default;

  // Whether on_scores / on_qkv are wanted for `layer` (the model skips them otherwise).
  virtual bool wants_scores(int /*layer*/) const { return false; }
  virtual bool wants_qkv(int /*layer*/) const { return false; }
  // Memory the hook owns where head `head`'s (N, N) probabilities may be computed in place
  // (the recording's own block), or null for the model's scratch.
  virtual float* attention_buffer(int /*layer*/, int /*head*/) { return nullptr; }

  // Per-head query, key and value vectors, each (N, d).
  virtual void on_qkv(int /*layer*/, int /*head*/, const ConstMatrixRef& /*q*/, const ConstMatrixRef& /*k*/,
                      const ConstMatrixRef& /*v*/) {}
  // Rotary models: the head's raw projections before q/k norm and rotation, each (N, d) (k
  // is its key/value group's). Only called when wants_qkv(layer).
  virtual void on_raw_qk(int /*layer*/, int /*head*/, const ConstMatrixRef& /*q*/, const ConstMatrixRef& /*k*/) {}
  // Pre-softmax scores Q·Kᵀ (scaled as the family scales them), before any mask: (N, N).
  virtual void on_scores(int /*layer*/, int /*head*/, const ConstMatrixRef& /*scores*/) {}
  // The head's attention probabilities (N, N) after softmax and mask, before they weight the
  // values. The hook may change them in place; what it leaves is what the values see.
  virtual void on_attention(int /*layer*/, int /*head*/, MatrixRef /*probs*/) {}
  // Whether on_head_output is wanted for `layer`.
  virtual bool wants_head_output(int /*layer*/) const { return false; }
  // The head's output (M, d): its probabilities times its values, what it hands the layer's
  // output projection (TransformerLens' hook_z). The hook may change it in place.
  virtual void on_head_output(int /*layer*/, int /*head*/, MatrixRef /*output*/) {}
  // The layer's output hidden state (N, hidden).
  virtual void on_layer_end(int /*layer*/, const RowMatrix& /*hidden*/) {}
  // Encoder-decoders: encoder layer `layer`'s self-attention (S, S), or decoder layer `layer`'s
  // cross-attention (M, S), after softmax; what the hook leaves weights the values.
  virtual void on_stack_attention(AttentionStack /*stack*/, int /*layer*/, int /*head*/, MatrixRef /*probs*/) {}
  // Encoder-decoders: whether on_stack_qkv is wanted for that stack's layer, and its per-head
  // queries and keys and values — for the cross-attention the queries (M, d) are the decoder's,
  // the keys and values (S, d) the encoder output's.
  virtual bool wants_stack_qkv(AttentionStack /*stack*/, int /*layer*/) const { return false; }
  virtual void on_stack_qkv(AttentionStack /*stack*/, int /*layer*/, int /*head*/, const ConstMatrixRef& /*q*/, const ConstMatrixRef& /*k*/,
                            const ConstMatrixRef& /*v*/) {}
};

// Calls several hooks in order: each sees the probabilities the ones before it left.
class HookChain final : public LayerHook {
 public:
  explicit HookChain(std::vector<LayerHook*> hooks) : hooks_(std::move(hooks)) {}
  bool wants_scores(int layer) const override;
  bool wants_qkv(int layer) const override;
  float* attention_buffer(int layer, int head) override;
  void on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override;
  void on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) override;
  void on_scores(int layer, int head, const ConstMatrixRef& scores) override;
  void on_attention(int layer, int head, MatrixRef probs) override;
  bool wants_head_output(int layer) const override;
  void on_head_output(int layer, int head, MatrixRef output) override;
  void on_layer_end(int layer, const RowMatrix& hidden) override;
  void on_stack_attention(AttentionStack stack, int layer, int head, MatrixRef probs) override;
  bool wants_stack_qkv(AttentionStack stack, int layer) const override;
  void on_stack_qkv(AttentionStack stack, int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override;

 private:
  std::vector<LayerHook*> hooks_;
};

// Writes attention (and, when the recording holds them, scores and Q/K/V) into a recording.
// `model_layers` are the model layers it keeps (ascending; empty = all): recording layer i
// is model layer model_layers[i]; the others pass by unrecorded. With `first_row` >= 0 the
// pass covers only some rows of the recording (a cached pass of a generation): its
// attention rows are written from that row on, and nothing else is recorded.
class RecordingHook final : public LayerHook {
 public:
  RecordingHook(AttentionRecording& recording, std::vector<int> model_layers, int first_row = -1);
  bool wants_scores(int layer) const override;
  bool wants_qkv(int layer) const override;
  float* attention_buffer(int layer, int head) override;
  void on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override;
  void on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) override;
  void on_scores(int layer, int head, const ConstMatrixRef& scores) override;
  void on_attention(int layer, int head, MatrixRef probs) override;
  void on_stack_attention(AttentionStack stack, int layer, int head, MatrixRef probs) override;

 private:
  int slot(int layer) const;  // the recording's layer for model layer `layer`, or -1
  AttentionRecording& rec_;
  std::vector<int> model_layers_;
  int first_row_;
};

// Writes attention (and scores, Q/K/V when the stream holds them) to a RecordingStream one
// layer at a time: the layer is gathered in buffers of one layer's size, written when the
// layer ends, and the buffers serve the next layer. `model_layers` as RecordingHook's.
class StreamingHook final : public LayerHook {
 public:
  StreamingHook(RecordingStream& stream, std::vector<int> model_layers);
  bool wants_scores(int layer) const override;
  bool wants_qkv(int layer) const override;
  float* attention_buffer(int layer, int head) override;
  void on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override;
  void on_raw_qk(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k) override;
  void on_scores(int layer, int head, const ConstMatrixRef& scores) override;
  void on_attention(int layer, int head, MatrixRef probs) override;
  void on_layer_end(int layer, const RowMatrix& hidden) override;

 private:
  int slot(int layer) const;
  float* head_buffer(int part, int head);  // the part's buffer for one head
  void keep(int part, int layer, int head, const ConstMatrixRef& values);
  RecordingStream& stream_;
  std::vector<int> model_layers_;
  std::vector<std::vector<float>> buffers_;  // per AttentionRecording::Part, one layer (H, N, cols); empty when not streamed
};

}  // namespace attn
