#pragma once
// A loaded model: config, tokenizer (or, for image models, image preprocessing) and weights
// of a Hugging Face folder, and a forward pass that records every layer's and head's
// attention. Loading checks every tensor's name and
// shape up front. forward() is const and may run from a worker thread; it is synchronous and
// reports progress per layer through RunOptions::progress, which can cancel it.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "model/model_config.h"
#include "model/tensor_types.h"
#include "model/weights.h"
#include "nn/attention.h"
#include "nn/interventions.h"
#include "nn/kv_cache.h"
#include "nn/layer_hook.h"
#include "record/recording.h"
#include "tokenize/tokenizer.h"
#include "util/memory.h"
#include "util/progress.h"

namespace attn {

struct RunOptions {
  bool record_qkv = false;     // per-head query / key / value vectors
  bool record_scores = false;  // pre-softmax Q·Kᵀ/√d, before masking
  bool record_hidden = false;  // hidden states, Hugging Face's output_hidden_states convention
  // Which positions get LM logits: every position, or only `logits_rows` (may be empty).
  // Classifiers always produce one row of label logits.
  bool all_logits = false;
  std::vector<int> logits_rows;
  // Heads switched off (zero: Hugging Face's head_mask), mean-ablated or patched
  // (nn/interventions.h); named in the recording's metadata (`ablated_heads`, `ablation`).
  HeadIntervention intervention;
  // Start at model layer `resume.layer` from `resume.hidden` (N, hidden), the state entering
  // that layer (RunResult::hidden[layer] of a run with record_hidden on the same input), instead
  // of from the embeddings: the layers before it are neither run nor recorded. Single-stack
  // whole-sequence passes only (not generation steps or encoder-decoders).
  struct Resume {
    int layer = 0;
    std::shared_ptr<const RowMatrix> hidden;
  } resume;
  // The caller's own per-layer hook, or null. The run calls the intervention first, then
  // this hook, then the recorder: the recording shows what the values saw.
  LayerHook* hook = nullptr;
  // The model layers whose attention is recorded (ascending, distinct); empty = every layer.
  // The others are computed but not kept: the recording's layer i is model layer layers[i]
  // (RecordingMeta::model_layers), and needs that share of the memory.
  std::vector<int> layers;
  // How the recording holds the attention: F32, or F16 (half the memory; values rounded to
  // about 3 significant digits). The computation is F32 either way.
  DType storage = DType::F32;
  // Stream the recording to this file as the layers end (RecordingStream, in `storage`)
  // instead of holding it: the run then keeps one layer's attention in memory, and its
  // result's recording holds only the metadata until finish_stream (session/run.h).
  std::filesystem::path stream_to;
  ProgressFn progress;
  // The memory guard: a run whose estimate (estimate_memory) exceeds this many bytes is
  // refused before anything is allocated. 0 = memory_budget() (util/memory.h); use
  // kNoMemoryLimit to force a run.
  uint64_t memory_budget = 0;
  // A generation (session/generate.h): the memory guard also counts its key/value cache.
  bool kv_cache = false;
};

inline constexpr uint64_t kNoMemoryLimit = ~uint64_t(0);

// What forward() says for input that tokenizes to nothing.
inline constexpr const char* kEmptyInput = "the input is empty: type some text (the tokenizer produced no tokens)";

struct ForwardResult {
  std::shared_ptr<AttentionRecording> recording;
  std::shared_ptr<RecordingStream> stream;  // with RunOptions::stream_to: the file being written
  RowMatrix logits;              // (rows, vocab) for LMs, (1, labels) for classifiers
  std::vector<int> logits_rows;  // the position of each logits row (classifiers: [0])
  std::vector<RowMatrix> hidden; // (L + 1) × (N, hidden) when requested
};

// What a family's forward pass uses to talk to its run: the layer hook, progress, hidden
// states and the logits rows. The per-layer epilogue lives here, once, for every family.
class ForwardPass {
 public:
  ForwardPass(const RunOptions& options, ForwardResult& result, LayerHook& hook, int num_layers, int num_heads, KvCache* cache = nullptr)
      : options_(options), result_(result), hook_(hook), num_layers_(num_layers), num_heads_(num_heads), cache_(cache) {}

  // The positions before this pass's first token (a cached pass runs only the new ones; the
  // family adds this to its positions), 0 for a whole-sequence pass.
  int past() const { return cache_ ? cache_->length() : 0; }

  // One layer's multi-head attention (nn/attention.h) through the run's hook. In a cached
  // pass the keys and values join the cache's, and the queries attend to all of them.
  RowMatrix attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                      const Eigen::Ref<const RowMatrix>& v, bool causal);
  // The same with grouped key/value heads, a window, a scale or a soft cap (AttentionSpec).
  RowMatrix attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                      const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec);
  // Encoder-decoders. One encoder layer's self-attention, recorded as the encoder's.
  RowMatrix encoder_attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                              const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec);
  // The encoder's output for the pass's source: `encode` runs once per generation (the cache
  // keeps it), every time in a plain pass.
  const RowMatrix& encoder_output(const std::function<RowMatrix()>& encode);
  // Decoder layer `layer`'s cross-attention: queries q (M, H·d) against the keys and values
  // `project` makes from the encoder's output (once per generation).
  RowMatrix cross_attention(int layer, const Eigen::Ref<const RowMatrix>& q, const std::function<std::pair<RowMatrix, RowMatrix>()>& project,
                            const AttentionSpec& spec);
  // The source ids of an encoder-decoder's pass.
  const std::vector<int32_t>& source() const;
  void set_source(const std::vector<int32_t>* source) { source_ = source; }
  // Rotary models, before q/k norm and rotation: each query head's raw projections (q: (N,
  // H·d), k: (N, KV·d)) to the hook, when it wants Q/K/V.
  void raw_projections(int layer, const RowMatrix& q, const RowMatrix& k, int num_kv_heads, int head_dim);
  // The embeddings: hidden state 0. Returns the first layer to run: 0, or with
  // RunOptions::resume its layer, `x` then replaced by the state it resumes from.
  [[nodiscard]] int embedded(RowMatrix& x);
  // After layer `layer`: the hook, the hidden state, progress (which may cancel the run).
  void layer_done(int layer, const RowMatrix& x);
  // Decoders report the last hidden state after their final norm (Hugging Face's
  // convention): replaces the last layer's.
  void final_norm_applied(const RowMatrix& x);
  // The rows of `x` (N, C) that get LM logits (every row with all_logits); records their
  // positions in the result.
  RowMatrix logits_input(const RowMatrix& x);
  // Classifiers: one row of label logits, for position 0.
  void set_label_logits(RowMatrix logits);
  ForwardResult& result() { return result_; }

 private:
  const RunOptions& options_;
  ForwardResult& result_;
  LayerHook& hook_;
  int num_layers_, num_heads_;
  KvCache* cache_;
  const std::vector<int32_t>* source_ = nullptr;
  std::optional<RowMatrix> encoder_output_;  // a plain pass's
};

class Model {
 public:
  virtual ~Model() = default;

  // Loads a model folder. Throws attn::Error naming the file and the problem.
  static std::unique_ptr<Model> load(const std::filesystem::path& dir);

  const ModelConfig& config() const { return config_; }
  // Image models (vit, deit) take pictures through forward_image() and have no tokenizer.
  bool takes_images() const { return config_.is_vision(); }
  // Throws attn::Error for image models.
  const Tokenizer& tokenizer() const;
  const std::string& name() const { return name_; }
  const std::filesystem::path& dir() const { return dir_; }
  int64_t parameter_count() const { return parameter_count_; }
  // Number of NaN/Inf values in the weights (a warning, not an error).
  int64_t non_finite_weights() const { return non_finite_; }

  // Tokenizes and checks the length against the model's positions: longer input is an
  // error naming both lengths, unless `truncate`, which keeps the first tokens (and a final
  // special token such as [SEP]). `full_tokens`, when given, receives the length before
  // truncation.
  Encoding encode(std::string_view text, std::optional<std::string_view> pair = std::nullopt, bool truncate = false,
                  size_t* full_tokens = nullptr) const;
  // The string shown for a token in views and recordings ("##ing", " world").
  std::string display_token(int32_t id, const std::string& vocab_token) const;
  // The string shown for token `i` of `enc` (its vocabulary string when it carries one, else the id's).
  std::string display_token(const Encoding& enc, size_t i) const;

  // What a run over `tokens` tokens with `options` will need (util/memory.h).
  // An encoder-decoder's `source_tokens` add its encoder's and cross-attention.
  MemoryEstimate estimate_memory(int tokens, const RunOptions& options, int source_tokens = 0) const;
  // Throws attn::MemoryBudgetError (util/error.h) with the estimate, the budget and what to
  // do when a run would exceed options.memory_budget.
  void check_memory(int tokens, const RunOptions& options, int source_tokens = 0) const;
  // The most layers (spread evenly over the model, the last always among them) whose run
  // with `options` fits in `budget` bytes; empty when all fit, or when not even one does
  // (check estimate_memory to tell which).
  std::vector<int> layers_that_fit(int tokens, RunOptions options, uint64_t budget) const;

  // Runs the model on `enc`. Throws attn::Error for empty input, ids outside the vocabulary or
  // more tokens than positions; attn::Cancelled when the progress callback says stop.
  ForwardResult forward(const Encoding& enc, const RunOptions& options) const;

  // Encoder-decoders (BART, Marian, T5): runs the encoder on `source` and the decoder on
  // `target` (teacher-forced; target[0] is the decoder's start token). The recording holds the
  // decoder's self-attention as `attention`, the encoder's and the cross-attention
  // (RecordingMeta::encoder_decoder); logits rows as forward()'s, over the target. Throws as
  // forward(), and for a model that is not an encoder-decoder.
  ForwardResult forward_seq2seq(const Encoding& source, const std::vector<int32_t>& target, const RunOptions& options) const;

  // Generation (session/generate.h) runs a decoder a token at a time on a key/value cache.
  // Whether this model can: a text decoder with a language-model head.
  bool can_generate() const;
  // An empty recording with room for `capacity` tokens, its metadata as forward()'s (tokens
  // left for the caller); the memory guard counts the cache as well. An encoder-decoder's also
  // has the `source`'s tokens. Throws as forward().
  std::shared_ptr<AttentionRecording> generation_recording(int capacity, const RunOptions& options, const Encoding* source = nullptr) const;
  // Runs `ids` at the positions after the `cache`'s, which it extends, and writes their rows of
  // attention into `recording` (rows cache.length() onwards). Returns the logits of the
  // last position (RunOptions::logits_rows and all_logits are ignored). Throws attn::Error
  // when the model cannot generate, the cache or recording is full, an id is outside the
  // vocabulary, or options ask for more than attention (Q/K/V, scores, hidden states,
  // streaming); attn::Cancelled as forward(), leaving the cache as it was.
  RowMatrix forward_cached(const std::vector<int32_t>& ids, KvCache& cache, AttentionRecording& recording, const RunOptions& options) const;
  // Whether keys and values cached for `cached` positions still hold when the sequence has
  // grown to `total` (not when positions are turned by factors chosen by the length:
  // LongRoPE); when not, the generation runs the whole sequence again.
  virtual bool cache_valid(int /*cached*/, int /*total*/) const { return true; }

  // Image models: how a picture becomes pixel values (preprocessor_config.json, or the
  // family's defaults when the folder has none). Throws attn::Error for text models.
  const ImageProcessorConfig& image_processor() const;
  // image_processor() applied to RGB8 pixels. Throws attn::Error for an empty image.
  PreprocessedImage preprocess(const Rgb8View& image) const;
  // Runs an image model on pixel values (3, H, W). The tokens are [CLS] ([DIST] for DeiT)
  // and one "p(row,col)" per patch; position embeddings are interpolated (bicubic, as
  // Hugging Face's interpolate_pos_encoding) when the patch grid differs from training.
  // The recording's metadata gets image_grid "HxW" (patches) and, from a PreprocessedImage,
  // the source size and crop box (see docs/recording-format.md); image_path is the caller's.
  // Throws attn::Error for text models, fewer pixels than one patch, a grid too large to
  // record, or wrong channel counts; attn::Cancelled as forward().
  ForwardResult forward_image(const PreprocessedImage& image, const RunOptions& options) const;
  ForwardResult forward_image(const PixelValues& pixels, const RunOptions& options) const;

 protected:
  Model() = default;
  // The family's forward pass over text: through `pass`, it fills the logits and hidden states
  // and reaches the run's hook.
  virtual void run(const Encoding& enc, ForwardPass& pass) const = 0;
  // Checks a run over N tokens (logits rows, memory guard) and fills the metadata every
  // recording of this model shares; the caller adds tokens and the rest. An encoder-decoder's
  // `source` adds its tokens and encoder layers.
  RecordingMeta recording_meta(int N, const RunOptions& options, const Encoding* source = nullptr) const;
  // What only the family knows about its recordings (e.g. a rotary model's RotaryMeta), for
  // the recorded layers `meta.model_layer(i)`; the default adds nothing.
  virtual void describe_recording(RecordingMeta& /*meta*/) const {}
  // Whether queries and keys are rotated by position (a Q/K/V recording then also keeps the
  // raw projections).
  virtual bool is_rotary() const { return false; }
  // The image models' forward pass; the default throws.
  virtual void run_image(const PixelValues& pixels, ForwardPass& pass) const;
  // Runs `body` (the family's pass) with the hook chain the options ask for: head mask, the
  // caller's hook, the recorder. With a `cache`, the pass is a cached one (ForwardPass::past)
  // and the recorder writes its rows from cache->length() on.
  void run_pass(const RunOptions& options, ForwardResult& result, const std::function<void(ForwardPass&)>& body,
                KvCache* cache = nullptr) const;

  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;  // null for image models
  std::optional<ImageProcessorConfig> image_processor_;  // image models only
  WeightStore weights_;
  std::string name_;
  std::filesystem::path dir_;
  int64_t parameter_count_ = 0;
  int64_t non_finite_ = 0;

};

}  // namespace attn
