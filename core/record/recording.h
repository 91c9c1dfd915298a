#pragma once
// AttentionRecording: every layer's and head's attention probabilities for one input,
// with the tokens and model facts needed to show them without the model.
// Layout: attention is one contiguous block (L, H, N, N); optional per-head query, key and
// value vectors (L, H, N, d) and pre-softmax scores Q·Kᵀ/√d before masking (L, H, N, N).
// On disk it is a safetensors file (docs/recording-format.md); opening one is lazy: the file
// is mapped and a layer is converted (F16 → F32) only when first asked for.
// Reading from several threads is safe; writing (mutable_*) is for the engine only.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "model/image_types.h"
#include "io/safetensors.h"
#include "util/zeroed_array.h"
#include "model/tensor_types.h"

namespace attn {

// Where a head is chosen: one head (>= 0), or the mean / max over a layer's heads.
inline constexpr int kHeadMean = -1;
inline constexpr int kHeadMax = -2;

// The mean (kHeadMean) or max (kHeadMax) over `heads` (>= 1) heads of what `read(h)` gives for
// each: whole heads, or windows or pyramid levels of one shape, so that a long recording's mean
// or max is made from what a frame shows.
RowMatrix fuse_heads(int heads, int fusion, const std::function<RowMatrix(int head)>& read);

// Rotary models (the Llama kind): how the recorded Q and K came from each head's raw
// projection, so that the teaching mode can redo it: q/k RMSNorm (Qwen3, Gemma 3), then the
// rotation. Saved as the `rotary` metadata key (docs/recording-format.md).
struct RotaryMeta {
  // (r/2): channels c and c + r/2 turn by position · inv_freq[c]; r = d unless only the first r
  // channels of each head turn (partial rotary, Phi-3), the rest passing through.
  std::vector<float> inv_freq;
  std::vector<float> local_inv_freq;  // sliding-window layers' own (Gemma 3); empty: inv_freq
  float attention_factor = 1.0f;      // cos and sin are scaled by it (yarn)
  // Per-head RMSNorm of q and k before the rotation: one gain vector (d) per recorded layer;
  // empty when the model has none. x / √(mean x² + eps) · w, or · (1 + w) (Gemma).
  std::vector<std::vector<float>> q_norm, k_norm;
  float norm_eps = 0.0f;
  bool norm_plus_one = false;
  bool empty() const { return inv_freq.empty(); }
  // The inverse frequencies layer `layer` turns by (`sliding`: a sliding-window layer).
  const std::vector<float>& frequencies(bool sliding) const { return sliding && !local_inv_freq.empty() ? local_inv_freq : inv_freq; }
};

struct RecordingMeta {
  std::string model;   // model folder name or identifier
  std::string family;  // "bert", "gpt2", ...
  int num_layers = 0;
  int num_heads = 0;
  int num_tokens = 0;
  int head_dim = 0;                 // 0 when unknown (no Q/K/V)
  std::vector<std::string> tokens;  // display strings, one per token
  std::vector<uint8_t> special;     // 1 for special tokens ([CLS], [SEP], ...), may be empty
  bool causal = false;
  std::string text;  // the input, when known
  std::string pair;
  // The model layer each recorded layer is, when only some were recorded; empty = all, in
  // order. Saved as the `layers` metadata key.
  std::vector<int> model_layers;
  int model_layer(int layer) const { return layer >= 0 && layer < int(model_layers.size()) ? model_layers[size_t(layer)] : layer; }
  // Grouped-query attention: the key/value heads (0 = one per query head). Query head h
  // shares key/value head kv_group(h) with the other heads of its group. Saved as
  // `num_key_value_heads`.
  int num_kv_heads = 0;
  int kv_group(int head) const { return num_kv_heads > 0 && num_heads % num_kv_heads == 0 ? head / (num_heads / num_kv_heads) : head; }
  // Per recorded layer, its sliding window (a query sees itself and window - 1 keys before
  // it), 0 for a layer that sees the whole context; empty when no layer slides. Saved as
  // `sliding_windows`.
  std::vector<int> windows;
  int window(int layer) const { return layer >= 0 && layer < int(windows.size()) ? windows[size_t(layer)] : 0; }
  // Rotary models only; with Q/K/V the recording then also holds the raw projections
  // (Part::QueryRaw, Part::KeyRaw).
  RotaryMeta rotary;
  // Encoder-decoder models (translation): the encoder's tokens S and layers. `tokens` are then
  // the decoder's, from its start token on; the recording also holds the encoder's
  // self-attention (Part::EncoderAttention, [H, S, S] per encoder layer) and each decoder
  // layer's cross-attention to the encoder (Part::CrossAttention, [H, N, S]). Saved as
  // `source_tokens`, `source_special_tokens`, `num_encoder_layers` and `architecture`.
  std::vector<std::string> source_tokens;
  std::vector<uint8_t> source_special;
  int num_encoder_layers = 0;
  bool encoder_decoder() const { return num_encoder_layers > 0; }
  std::map<std::string, std::string> extra;  // any other metadata, kept on save
};

// "window 4 on layers 0, 2; full attention on 1" for per-layer windows (0 = full); "" when
// none slides. `layer_name` numbers layer i (e.g. the model layer a recorded layer is).
std::string describe_windows(const std::vector<int>& windows, const std::vector<int>& layer_names = {});
// "2 key/value heads, each shared by 4 query heads"; "" without grouped heads.
std::string describe_kv_groups(int num_heads, int num_kv_heads);

class AttentionRecording {
 public:
  // QueryRaw / KeyRaw: a rotary model's per-head projections before q/k norm and rotation
  // (Query / Key are what attention used: after them), one (N, d) matrix per query head.
  // EncoderAttention / CrossAttention: an encoder-decoder's encoder self-attention [S, S] and
  // decoder-to-encoder attention [N, S] (RecordingMeta::encoder_decoder).
  enum class Part { Attention, Scores, Query, Key, Value, QueryRaw, KeyRaw, EncoderAttention, CrossAttention };

  // An in-memory recording, zero-filled, to be written by the engine. `with_qkv` for a rotary
  // model (meta.rotary) also makes room for the raw projections. With `storage` F16 the
  // values are kept as half floats (half the memory, rounded); a layer is converted to F32
  // when a view first asks for it (matrix(), head()), while head_copy() converts one head
  // without keeping it.
  static std::shared_ptr<AttentionRecording> create(RecordingMeta meta, bool with_qkv, bool with_scores, DType storage = DType::F32);
  // A recording that holds only its metadata and flags: the run's stand-in when its values
  // stream to a file (RecordingStream); it has no values to show.
  static std::shared_ptr<AttentionRecording> metadata_only(RecordingMeta meta, bool with_qkv, bool with_scores, DType storage);
  // Opens a recording file lazily. Throws attn::Error naming the file when it is not a
  // recording, of an unsupported version, or its tensors disagree with its metadata.
  static std::shared_ptr<const AttentionRecording> open(const std::filesystem::path& path);
  // The same from a safetensors file already opened (e.g. from memory).
  static std::shared_ptr<const AttentionRecording> open(std::shared_ptr<const SafetensorsFile> file);

  const RecordingMeta& meta() const { return meta_; }
  RecordingMeta& meta_mutable() { return meta_; }  // e.g. to attach the input text
  int num_layers() const { return meta_.num_layers; }
  int num_heads() const { return meta_.num_heads; }
  int num_tokens() const { return meta_.num_tokens; }
  bool has_qkv() const { return has_qkv_; }
  bool has_scores() const { return has_scores_; }
  // Whether Part::QueryRaw and Part::KeyRaw are here (a rotary model's Q/K/V recording).
  bool has_raw_qk() const { return has_raw_qk_; }
  // How the values are held: F32, or F16 (an F16 recording in memory, or an opened F16 file).
  DType storage() const { return storage_; }

  // One head's attention [N, N] (rows: queries, columns: keys).
  ConstMatrixMap head(int layer, int head) const { return matrix(Part::Attention, layer, head); }
  // Any recorded part of one head: [N, N] for attention and scores, [N, d] for Q/K/V, [S, S]
  // and [N, S] for an encoder-decoder's encoder and cross attention.
  ConstMatrixMap matrix(Part part, int layer, int head) const;
  // A copy of one head's values that keeps no converted layer behind: for sweeps over every
  // layer (statistics, rollout, exports) of an F16 recording.
  RowMatrix head_copy(int layer, int head, Part part = Part::Attention) const;
  // One head for a sweep over many: the values in place when held as F32, else converted
  // into `scratch` (head_copy). The map is valid while `scratch` is.
  ConstMatrixMap head_for_sweep(int layer, int head, RowMatrix& scratch) const {
    if (storage_ == DType::F32) return this->head(layer, head);
    scratch = head_copy(layer, head);
    return ConstMatrixMap(scratch.data(), scratch.rows(), scratch.cols());
  }
  // Bytes of values this recording holds converted to F32 for views (what opening a
  // half-precision file costs in memory beyond the mapping), or owns in memory as F32.
  size_t converted_bytes() const;
  // The mean over heads of one layer [N, N] (no converted layer kept).
  RowMatrix layer_mean(int layer) const;
  RowMatrix layer_max(int layer) const;

  // Writable views for the engine (in-memory F32 recordings only).
  MatrixMap mutable_matrix(Part part, int layer, int head);
  float* mutable_layer(Part part, int layer);  // (H, N, N) or (H, N, d)
  // Stores one head's values, for any in-memory recording (rounded to F16 when stored so).
  void write_matrix(Part part, int layer, int head, const Eigen::Ref<const RowMatrix>& values);
  // Stores rows first_row.. of one head, their first values.cols() columns (the rest of each
  // row keeps its values): a cached pass's rows of a generation.
  void write_rows(Part part, int layer, int head, int first_row, const Eigen::Ref<const RowMatrix>& values);
  // Keeps the first `tokens` tokens of an in-memory recording (its rows and columns, and their
  // metadata), e.g. a generation that stopped before the room it was given. Each layer is
  // copied to a smaller block, one at a time.
  void keep_first_tokens(int tokens);

  // Optional logits [rows, vocab or labels].
  const std::optional<RowMatrix>& logits() const { return logits_; }
  void set_logits(RowMatrix logits) { logits_ = std::move(logits); }
  // Optional: an image model's input as it saw it, (channels, H, W) normalised; saved as the
  // `image` tensor. Its size must be the metadata's image_input_size when that is given.
  const std::optional<PixelValues>& image() const { return image_; }
  void set_image(std::optional<PixelValues> image) { image_ = std::move(image); }

  // A generation's steps (session/generate.h): for generated token t, the model's most probable
  // candidates (ids and probabilities, [steps, k], most probable first) and the token chosen
  // and its probability [steps]. Saved as the step_candidate_ids, step_candidate_probs,
  // step_chosen_ids and step_chosen_probs tensors.
  struct StepCandidates {
    int steps = 0, k = 0;
    std::vector<int32_t> ids;
    std::vector<float> probs;
    std::vector<int32_t> chosen_ids;
    std::vector<float> chosen_probs;
  };
  const std::optional<StepCandidates>& step_candidates() const { return steps_; }
  void set_step_candidates(std::optional<StepCandidates> steps) { steps_ = std::move(steps); }

  // A long recording's file carries each head's attention max-pooled by the factors of
  // pyramid_factors(num_tokens) (record/pyramid.h): "attention_max4.layer3" is [H, ⌈N/4⌉, ⌈N/4⌉].
  // The factors this recording can read (empty for in-memory recordings and files without).
  const std::vector<int>& pyramid() const { return pyramid_; }
  // One head's attention pooled by pyramid()[level], as floats.
  RowMatrix pyramid_level(int layer, int head, size_t level) const;
  static std::string pyramid_tensor_name(int factor, int layer);
  // Forgets the pyramid (views then read whole heads): for benchmarks that compare the two.
  void drop_pyramid() {
    pyramid_.clear();
    pyramid_tensors_.clear();
  }
  // One value of one head, read where it is (no head or layer is converted).
  float value(Part part, int layer, int head, int row, int col) const;
  // Rows [r0, r1) × cols [c0, c1) of one head, read where they are.
  RowMatrix block(Part part, int layer, int head, int r0, int r1, int c0, int c1) const;

  // The parts this recording holds for every layer (Attention first), in the file's order.
  std::vector<Part> parts() const;
  // A part's rows and columns per head, and its layers (the encoder's for EncoderAttention).
  int rows(Part part) const;
  int cols(Part part) const;
  int layers(Part part) const;
  // The file's tensor for one part of one layer: "attention.layer3".
  static std::string tensor_name(Part part, int layer);
  // The file's metadata: `meta` in the format's keys, over `extra` (which cannot replace them).
  static std::map<std::string, std::string> file_metadata(const RecordingMeta& meta, const std::map<std::string, std::string>& extra = {});

  // Writes the recording (atomic replace). F16 halves the size; values are rounded.
  // `extra` adds metadata to this file only (e.g. the viewer's state); it cannot replace the
  // keys the format defines.
  void save(const std::filesystem::path& path, DType dtype = DType::F32, const std::map<std::string, std::string>& extra = {}) const;

 private:
  struct Block {  // one (part, layer): (H, N, N) or (H, N, d) floats
    mutable ZeroedArray<float> data;     // owned values (in memory, or converted from F16)
    ZeroedArray<uint16_t> half;          // an F16 recording's values in memory
    mutable const float* view = nullptr; // where the values are; null until first use
    const TensorInfo* source = nullptr;  // the tensor of an opened file
    // Half-precision values are converted a head at a time, as views ask for them: a view of
    // one head of a long recording does not convert its layer.
    mutable std::vector<std::vector<float>> heads;
  };
  const Block& block(Part part, int layer) const;
  // Converts one head of a half-precision block (in memory or in the file) into `out`.
  void convert_head(const Block& b, Part part, int head, float* out) const;

  RecordingMeta meta_;
  bool has_qkv_ = false;
  bool has_scores_ = false;
  bool has_raw_qk_ = false;
  DType storage_ = DType::F32;
  std::map<std::pair<int, int>, Block> blocks_;  // (part, layer) -> block
  std::vector<int> pyramid_;
  std::map<std::pair<size_t, int>, const TensorInfo*> pyramid_tensors_;  // (level, layer) -> tensor
  std::optional<RowMatrix> logits_;
  std::optional<PixelValues> image_;
  std::optional<StepCandidates> steps_;
  std::shared_ptr<const SafetensorsFile> file_;
  std::shared_ptr<std::mutex> mutex_;
};

}  // namespace attn
