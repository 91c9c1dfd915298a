#include "nn/model.h"

#include <omp.h>

#include <nlohmann/json.hpp>

#include "nn/attention.h"
#include "model/family_table.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "record/recording_stream.h"
#include "util/error.h"
#include "util/memory.h"

namespace attn {

RowMatrix Linear::operator()(const ConstMatrixRef& x) const {
  RowMatrix y = matmul(x, *w);
  y.rowwise() += b.transpose();
  return y;
}

RowMatrix Projection::operator()(const ConstMatrixRef& x) const {
  RowMatrix y = packed ? matmul(x, *packed) : w.times_transposed(x);
  if (b) y.rowwise() += b->transpose();
  return y;
}

Projection bind_projection(WeightStore& w, const std::string& name, int out, int in, bool bias) {
  Projection p{w.stored(name + ".weight", out, in), std::nullopt};
  if (p.w.dtype() == DType::F32) p.packed = &w.packed(name + ".weight", out, in, /*transposed=*/true);
  if (bias) p.b.emplace(w.vector(name + ".bias", out));
  return p;
}

Linear bind_linear(WeightStore& w, const std::string& name, int out, int in) {
  return Linear{&w.packed(name + ".weight", out, in, /*transposed=*/true), w.vector(name + ".bias", out)};
}

Linear bind_conv1d(WeightStore& w, const std::string& name, int in, int out) {
  return Linear{&w.packed(name + ".weight", in, out, /*transposed=*/false), w.vector(name + ".bias", out)};
}

Norm bind_norm(WeightStore& w, const std::string& name, int n) {
  if (!w.contains(name + ".weight") && w.contains(name + ".gamma"))
    return Norm{w.vector(name + ".gamma", n), w.vector(name + ".beta", n)};
  return Norm{w.vector(name + ".weight", n), w.vector(name + ".bias", n)};
}

RowMatrix ForwardPass::attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                                 const Eigen::Ref<const RowMatrix>& v, bool causal) {
  AttentionSpec spec;
  spec.num_heads = num_heads_;
  spec.causal = causal;
  return attention(layer, q, k, v, spec);
}

RowMatrix ForwardPass::attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                                 const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec) {
  if (!cache_) return multi_head_attention(q, k, v, spec, hook_, layer);
  const KvCache::View all = cache_->append(layer, k, v);
  AttentionSpec cached = spec;
  cached.query_offset = cache_->length();
  return multi_head_attention(q, all.k, all.v, cached, hook_, layer);
}

namespace {

// Passes an encoder's or a cross-attention's probabilities (and Q/K/V) to the run's hook as that stack's.
class StackHook final : public LayerHook {
 public:
  StackHook(LayerHook& inner, AttentionStack stack) : inner_(inner), stack_(stack) {}
  void on_attention(int layer, int head, MatrixRef probs) override { inner_.on_stack_attention(stack_, layer, head, probs); }
  bool wants_qkv(int layer) const override { return inner_.wants_stack_qkv(stack_, layer); }
  void on_qkv(int layer, int head, const ConstMatrixRef& q, const ConstMatrixRef& k, const ConstMatrixRef& v) override {
    inner_.on_stack_qkv(stack_, layer, head, q, k, v);
  }

 private:
  LayerHook& inner_;
  AttentionStack stack_;
};

}  // namespace

RowMatrix ForwardPass::encoder_attention(int layer, const Eigen::Ref<const RowMatrix>& q, const Eigen::Ref<const RowMatrix>& k,
                                         const Eigen::Ref<const RowMatrix>& v, const AttentionSpec& spec) {
  StackHook hook(hook_, AttentionStack::Encoder);
  return multi_head_attention(q, k, v, spec, hook, layer);
}

const RowMatrix& ForwardPass::encoder_output(const std::function<RowMatrix()>& encode) {
  if (cache_) {
    if (!cache_->encoder_output) cache_->encoder_output = encode();
    return *cache_->encoder_output;
  }
  if (!encoder_output_) encoder_output_ = encode();
  return *encoder_output_;
}

RowMatrix ForwardPass::cross_attention(int layer, const Eigen::Ref<const RowMatrix>& q,
                                       const std::function<std::pair<RowMatrix, RowMatrix>()>& project, const AttentionSpec& spec) {
  StackHook hook(hook_, AttentionStack::Cross);
  if (cache_) {
    const auto& kv = cache_->cross(layer, project);
    return multi_head_attention(q, kv.first, kv.second, spec, hook, layer);
  }
  const auto kv = project();
  return multi_head_attention(q, kv.first, kv.second, spec, hook, layer);
}

const std::vector<int32_t>& ForwardPass::source() const {
  if (source_) return *source_;
  if (cache_) return cache_->source;
  throw Error("this pass has no source: the model is not an encoder-decoder");
}

void ForwardPass::raw_projections(int layer, const RowMatrix& q, const RowMatrix& k, int num_kv_heads, int head_dim) {
  if (!hook_.wants_qkv(layer)) return;
  const int group = num_heads_ / std::max(1, num_kv_heads);
  for (int h = 0; h < num_heads_; ++h)
    hook_.on_raw_qk(layer, h, q.middleCols(Eigen::Index(h) * head_dim, head_dim), k.middleCols(Eigen::Index(h / group) * head_dim, head_dim));
}

int ForwardPass::embedded(RowMatrix& x) {
  const auto& resume = options_.resume;
  if (resume.layer > 0) {
    x = *resume.hidden;
    return resume.layer;
  }
  if (options_.record_hidden) result_.hidden.push_back(x);
  return 0;
}

void ForwardPass::layer_done(int layer, const RowMatrix& x) {
  hook_.on_layer_end(layer, x);
  if (options_.record_hidden) result_.hidden.push_back(x);
  report_progress(options_.progress, double(layer + 1) / num_layers_, "layer " + std::to_string(layer));
}

void ForwardPass::final_norm_applied(const RowMatrix& x) {
  if (options_.record_hidden && !result_.hidden.empty()) result_.hidden.back() = x;
}

RowMatrix ForwardPass::logits_input(const RowMatrix& x) {
  std::vector<int> rows = options_.logits_rows;
  if (options_.all_logits) {
    rows.resize(size_t(x.rows()));
    for (int i = 0; i < int(x.rows()); ++i) rows[size_t(i)] = i;
  }
  RowMatrix sel(rows.size(), x.cols());
  for (size_t r = 0; r < rows.size(); ++r) sel.row(Eigen::Index(r)) = x.row(rows[r]);
  result_.logits_rows = std::move(rows);
  return sel;
}

void ForwardPass::set_label_logits(RowMatrix logits) {
  result_.logits = std::move(logits);
  result_.logits_rows = {0};
}

void Model::run_pass(const RunOptions& options, ForwardResult& result, const std::function<void(ForwardPass&)>& body, KvCache* cache) const {
  std::optional<InterventionHook> intervention;
  std::vector<LayerHook*> hooks;
  if (!options.intervention.empty()) hooks.push_back(&intervention.emplace(options.intervention, config_.num_layers, config_.num_heads));
  if (options.hook) hooks.push_back(options.hook);
  std::optional<RecordingHook> recorder;
  std::optional<StreamingHook> streamer;
  if (result.stream)
    hooks.push_back(&streamer.emplace(*result.stream, options.layers));
  else
    hooks.push_back(&recorder.emplace(*result.recording, options.layers, cache ? cache->length() : -1));
  HookChain chain(std::move(hooks));
  ForwardPass pass(options, result, chain, config_.num_layers, config_.num_heads, cache);
  report_progress(options.progress, 0.0, "embeddings");
  body(pass);
  report_progress(options.progress, 1.0, "done");
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir) {
  keep_activations_in_heap();
  ModelConfig config = ModelConfig::load(dir);
  WeightStore weights = WeightStore::open(dir);
  // Tokenizer (or image preprocessing) first: a folder without one is unusable, and the
  // message should say so before any weight problem.
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ImageProcessorConfig> image_processor;
  if (config.is_vision()) {
    image_processor = ImageProcessorConfig::load(
        dir, ImageProcessorConfig::defaults(config.family, config.image_height, config.image_width));
  } else {
    TokenizerOptions topt;
    topt.model_type = config.model_type;
    tokenizer = load_tokenizer(dir, topt);
  }

  std::unique_ptr<Model> model = config.spec->make(config, weights);
  model->config_ = config;
  model->tokenizer_ = std::move(tokenizer);
  model->image_processor_ = std::move(image_processor);
  model->parameter_count_ = weights.parameter_count();
  model->non_finite_ = weights.non_finite_count();
  model->weights_ = std::move(weights);  // the bound views stay valid: storage is not copied
  model->dir_ = dir;
  model->name_ = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (model->name_.empty()) model->name_ = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  if (model->tokenizer_ && model->tokenizer_->vocab_size() > config.vocab_size)
    throw Error((dir / "config.json").string() + ": vocab_size " + std::to_string(config.vocab_size) + " is smaller than the tokenizer's " +
                std::to_string(model->tokenizer_->vocab_size()) + " tokens (tokenizer files from another model?)");
  return model;
}

const Tokenizer& Model::tokenizer() const {
  if (!tokenizer_) throw Error(name_ + " is an image model (" + config_.model_type + "): it takes a picture, not text");
  return *tokenizer_;
}

Encoding Model::encode(std::string_view text, std::optional<std::string_view> pair, bool truncate, size_t* full_tokens) const {
  tokenizer();  // throws for image models
  if (pair && !tokenizer_->supports_pairs())
    throw Error(name_ + ": this model's tokenizer does not take sentence pairs (" + config_.model_type + ")");
  Encoding enc = tokenizer_->encode(text, pair);
  if (full_tokens) *full_tokens = enc.size();
  const size_t limit = size_t(config_.max_positions);
  if (enc.size() > limit) {
    if (!truncate)
      throw Error("the input has " + std::to_string(enc.size()) + " tokens but " + name_ + " has only " + std::to_string(limit) +
                  " positions; shorten the text or truncate it (--truncate)");
    const bool keep_last = enc.special.back() != 0;
    auto cut = [&](auto& v) {
      auto last = v.back();
      v.resize(limit);
      if (keep_last) v.back() = last;
    };
    cut(enc.ids), cut(enc.tokens), cut(enc.offsets), cut(enc.type_ids), cut(enc.sequence_ids), cut(enc.special);
  }
  return enc;
}

std::string Model::display_token(int32_t id, const std::string& vocab_token) const {
  return tokenizer_->display_token(id, vocab_token);
}

std::string Model::display_token(const Encoding& enc, size_t i) const {
  return display_token(enc.ids[i], i < enc.tokens.size() ? enc.tokens[i] : tokenizer_->id_to_token(enc.ids[i]));
}

// How many layers a run with `options` records.
static int recorded_layer_count(const ModelConfig& config, const RunOptions& options) {
  return options.layers.empty() ? config.num_layers : int(options.layers.size());
}

MemoryEstimate Model::estimate_memory(int tokens, const RunOptions& options, int source_tokens) const {
  const auto& c = config_;
  const int rows = options.all_logits ? tokens : int(options.logits_rows.size()) + 1;
  RunShape s;
  s.layers = options.stream_to.empty() ? recorded_layer_count(c, options) : 1;  // streamed: one layer at a time, as F32
  s.heads = c.num_heads;
  s.kv_heads = c.kv_heads();
  s.head_dim = c.head_dim();
  s.hidden = c.hidden_size;
  s.intermediate = c.intermediate_size;
  s.tokens = tokens;
  s.logits_rows = rows;
  s.vocab = c.vocab_size > 0 ? c.vocab_size : int(c.labels.size());
  s.with_qkv = options.record_qkv;
  s.with_raw_qk = options.record_qkv && is_rotary();
  s.with_scores = options.record_scores;
  s.threads = omp_get_max_threads();
  if (options.kv_cache) s.cached_layers = c.num_layers;
  if (source_tokens > 0) {
    s.source_tokens = source_tokens;
    s.encoder_layers = c.num_encoder_layers;
  }
  MemoryEstimate e = estimate_run_memory(s);
  if (options.storage == DType::F16 && options.stream_to.empty()) e.recording /= 2;
  e.weights = weights_.resident_bytes();
  return e;
}

void Model::check_memory(int tokens, const RunOptions& options, int source_tokens) const {
  if (options.memory_budget == kNoMemoryLimit) return;
  const uint64_t budget = options.memory_budget ? options.memory_budget : memory_budget();
  const MemoryEstimate e = estimate_memory(tokens, options, source_tokens);
  const uint64_t physical = physical_memory_bytes();
  if (memory_fits(e, budget, physical)) return;
  const std::string needs = "recording " + std::to_string(tokens) + " tokens with " + name_ + " needs about " + format_bytes(e.total());
  const std::string remedy = "Use shorter input, record fewer layers (--layers) or at half precision (--dtype f16), write the recording "
                             "to its file layer by layer (record --stream), or force the run (--force) if you are sure";
  if (e.total() <= budget)
    throw MemoryBudgetError(needs + " besides the model's " + format_bytes(e.weights) + " of weights: together more than this machine's " +
                                format_bytes(physical) + " of memory, so the weights would be read from disk again for every layer. " + remedy,
                            e.total() + e.weights, physical);
  throw MemoryBudgetError(needs + " (" + std::to_string(recorded_layer_count(config_, options)) + " layers x " +
                              std::to_string(config_.num_heads) + " heads x " + std::to_string(tokens) + "² attention weights" +
                              (options.record_qkv || options.record_scores ? ", plus Q/K/V and scores" : "") +
                              "), above the memory budget of " + format_bytes(budget) + " (" + memory_budget_origin() + "). " + remedy,
                          e.total(), budget);
}

std::vector<int> Model::layers_that_fit(int tokens, RunOptions options, uint64_t budget) const {
  const int L = config_.num_layers;
  const uint64_t physical = physical_memory_bytes();
  for (int k = L; k >= 1; --k) {
    options.layers.clear();
    for (int i = 0; i < k; ++i)  // spread evenly, first and last included
      options.layers.push_back(k == 1 ? L - 1 : int((int64_t(i) * (L - 1) + (k - 1) / 2) / (k - 1)));
    if (memory_fits(estimate_memory(tokens, options), budget, physical)) return k == L ? std::vector<int>{} : options.layers;
  }
  return {};
}

RecordingMeta Model::recording_meta(int N, const RunOptions& options, const Encoding* source) const {
  for (int r : options.logits_rows)
    if (r < 0 || r >= N) throw Error("logits row " + std::to_string(r) + " is outside the input");
  for (size_t i = 0; i < options.layers.size(); ++i)
    if (options.layers[i] < 0 || options.layers[i] >= config_.num_layers || (i > 0 && options.layers[i] <= options.layers[i - 1]))
      throw Error("layers to record must be distinct, ascending and between 0 and " + std::to_string(config_.num_layers - 1) + " for " + name_);
  check_memory(N, options, source ? int(source->size()) : 0);
  RecordingMeta meta;
  meta.model = name_;
  meta.family = config_.family;
  meta.num_layers = recorded_layer_count(config_, options);
  meta.model_layers = options.layers;
  meta.num_heads = config_.num_heads;
  meta.num_tokens = N;
  meta.head_dim = config_.head_dim();
  meta.causal = config_.is_causal();
  if (config_.num_kv_heads > 0 && config_.num_kv_heads != config_.num_heads) meta.num_kv_heads = config_.num_kv_heads;
  if (!config_.layer_windows.empty())
    for (int l = 0; l < meta.num_layers; ++l) meta.windows.push_back(config_.window_of(meta.model_layer(l)));
  // What the teaching steps need to recompute the scores from the recorded Q and K.
  // (as JSON numbers, which round-trip a float exactly; std::to_string keeps only 6 decimals)
  if (const float scale = config_.decoder.attention_scale > 0 ? config_.decoder.attention_scale : config_.seq2seq.attention_scale; scale > 0)
    meta.extra["attention_scale"] = nlohmann::json(scale).dump();
  if (config_.attn_softcap > 0) meta.extra["attn_logit_softcapping"] = nlohmann::json(config_.attn_softcap).dump();
  describe_recording(meta);
  check_intervention(options.intervention, config_.num_layers, config_.num_heads, config_.head_dim(), N);
  if (!options.intervention.empty()) {
    if (options.kv_cache && options.intervention.mode != Ablation::Zero)
      throw Error("a generation can switch heads off (zero) but not mean-ablate or patch them: both need the whole input at once");
    meta.extra["ablated_heads"] = format_heads(options.intervention.heads);
    meta.extra["ablation"] = ablation_name(options.intervention.mode);
  }
  if (const auto& resume = options.resume; resume.layer != 0) {
    if (options.kv_cache || source) throw Error("only a whole-input pass of a one-stack model can resume from a layer");
    if (resume.layer < 0 || resume.layer >= config_.num_layers || !resume.hidden || resume.hidden->rows() != N ||
        resume.hidden->cols() != config_.hidden_size)
      throw Error("cannot resume " + name_ + " at layer " + std::to_string(resume.layer) + ": it needs the (" + std::to_string(N) + ", " +
                  std::to_string(config_.hidden_size) + ") hidden state entering a layer between 1 and " + std::to_string(config_.num_layers - 1));
  }
  if (source) {
    meta.num_encoder_layers = config_.num_encoder_layers;
    for (size_t i = 0; i < source->size(); ++i) {
      meta.source_tokens.push_back(display_token(*source, i));
      meta.source_special.push_back(i < source->special.size() ? source->special[i] : 0);
    }
  }
  return meta;
}

// The run's recording: held in memory, or streamed to options.stream_to (its header written
// now) with a stand-in that holds the metadata.
static ForwardResult start_recording(RecordingMeta meta, const RunOptions& options) {
  ForwardResult result;
  if (options.stream_to.empty()) {
    result.recording = AttentionRecording::create(std::move(meta), options.record_qkv, options.record_scores, options.storage);
  } else {
    result.stream = std::make_shared<RecordingStream>(options.stream_to, meta, options.record_qkv, options.record_scores, options.storage);
    result.recording = AttentionRecording::metadata_only(std::move(meta), options.record_qkv, options.record_scores, options.storage);
  }
  return result;
}

// Throws attn::Error for an id outside the model's vocabulary.
static void check_ids(const std::vector<int32_t>& ids, const ModelConfig& config, const std::string& name) {
  for (int32_t id : ids)
    if (id < 0 || id >= config.vocab_size)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + name + " (" + std::to_string(config.vocab_size) + ")");
}

ForwardResult Model::forward(const Encoding& enc, const RunOptions& options) const {
  tokenizer();  // throws for image models
  if (config_.is_encoder_decoder())
    throw Error(name_ + " is an encoder-decoder (" + config_.model_type + "): it translates its text; use 'attnscope generate' (or Generate "
                "in the window) to write the translation and record its attention");
  const int N = int(enc.size());
  if (N == 0) throw Error(kEmptyInput);
  if (N > config_.max_positions)
    throw Error("the input has " + std::to_string(N) + " tokens but " + name_ + " has only " + std::to_string(config_.max_positions) +
                " positions; shorten the text or truncate it");
  check_ids(enc.ids, config_, name_);
  if (!enc.type_ids.empty() && config_.type_vocab_size > 0)
    for (int32_t t : enc.type_ids)
      if (t < 0 || t >= config_.type_vocab_size) throw Error("token type id " + std::to_string(t) + " is outside the model's type vocabulary");
  RecordingMeta meta = recording_meta(N, options);
  for (int i = 0; i < N; ++i) {
    meta.tokens.push_back(display_token(enc, size_t(i)));
    meta.special.push_back(i < int(enc.special.size()) ? enc.special[i] : 0);
  }
  meta.extra["task"] = head_kind_name(config_.head);
  ForwardResult result = start_recording(std::move(meta), options);
  run_pass(options, result, [&](ForwardPass& pass) { run(enc, pass); });
  return result;
}

ForwardResult Model::forward_seq2seq(const Encoding& source, const std::vector<int32_t>& target, const RunOptions& options) const {
  if (!config_.is_encoder_decoder()) throw Error(name_ + " is not an encoder-decoder (" + config_.model_type + "): run it on its text alone");
  const int S = int(source.size()), T = int(target.size());
  if (S == 0 || T == 0) throw Error(kEmptyInput);
  if (S > config_.max_positions || T > config_.max_positions)
    throw Error("the input has " + std::to_string(std::max(S, T)) + " tokens but " + name_ + " has only " + std::to_string(config_.max_positions) +
                " positions; shorten the text");
  check_ids(source.ids, config_, name_);
  check_ids(target, config_, name_);
  if (!options.stream_to.empty() || options.record_qkv || options.record_scores)
    throw Error("an encoder-decoder's run records attention only (no Q/K/V, scores or streaming yet)");
  RecordingMeta meta = recording_meta(T, options, &source);
  for (int32_t id : target) {
    meta.tokens.push_back(display_token(id, tokenizer_->id_to_token(id)));
    meta.special.push_back(0);
  }
  meta.extra["task"] = head_kind_name(config_.head);
  ForwardResult result = start_recording(std::move(meta), options);
  Encoding dec;
  dec.ids = target;
  run_pass(options, result, [&](ForwardPass& pass) {
    pass.set_source(&source.ids);
    run(dec, pass);
  });
  return result;
}

bool Model::can_generate() const {
  return !takes_images() && ((config_.is_causal() && config_.head == HeadKind::CausalLM) ||
                             (config_.is_encoder_decoder() && config_.head == HeadKind::Seq2SeqLM));
}

std::shared_ptr<AttentionRecording> Model::generation_recording(int capacity, const RunOptions& options, const Encoding* source) const {
  if (!can_generate()) throw Error(name_ + " cannot generate text: it is not a decoder with a language-model head (" + config_.model_type + ")");
  if (capacity < 1 || capacity > config_.max_positions)
    throw Error("a generation of " + std::to_string(capacity) + " tokens does not fit " + name_ + "'s " + std::to_string(config_.max_positions) +
                " positions");
  if (options.record_qkv || options.record_scores || options.record_hidden || !options.stream_to.empty())
    throw Error("a generation records attention only (no Q/K/V, scores, hidden states or streaming)");
  RunOptions guard = options;
  guard.logits_rows.clear();
  guard.all_logits = false;
  guard.kv_cache = true;
  if (config_.is_encoder_decoder() && (!source || source->size() == 0)) throw Error(name_ + " translates: give it a source text");
  RecordingMeta meta = recording_meta(capacity, guard, config_.is_encoder_decoder() ? source : nullptr);
  meta.extra["task"] = head_kind_name(config_.head);
  return AttentionRecording::create(std::move(meta), false, false, options.storage);
}

RowMatrix Model::forward_cached(const std::vector<int32_t>& ids, KvCache& cache, AttentionRecording& recording, const RunOptions& options) const {
  if (!can_generate()) throw Error(name_ + " cannot generate text: it is not a decoder with a language-model head (" + config_.model_type + ")");
  const int M = int(ids.size()), total = cache.length() + M;
  if (M == 0) throw Error(kEmptyInput);
  if (total > recording.num_tokens() || total > config_.max_positions || total > cache.capacity())
    throw Error("a generation step at position " + std::to_string(total - 1) + " passes the room of its recording (" +
                std::to_string(recording.num_tokens()) + " tokens) or " + name_ + "'s " + std::to_string(config_.max_positions) + " positions");
  if (recording.has_qkv() || recording.has_scores() || options.record_hidden || !options.stream_to.empty())
    throw Error("a generation records attention only (no Q/K/V, scores, hidden states or streaming)");
  if (config_.is_encoder_decoder() && cache.source.empty()) throw Error(name_ + " translates: the cache holds no source");
  check_ids(ids, config_, name_);
  check_ids(cache.source, config_, name_);
  Encoding enc;
  enc.ids = ids;
  RunOptions step = options;
  step.all_logits = false;
  step.logits_rows = {M - 1};
  ForwardResult result;
  result.recording = std::shared_ptr<AttentionRecording>(&recording, [](AttentionRecording*) {});  // not owned: the caller's
  run_pass(step, result, [&](ForwardPass& pass) { run(enc, pass); }, &cache);
  cache.commit(M);
  return std::move(result.logits);
}

const ImageProcessorConfig& Model::image_processor() const {
  if (!image_processor_) throw Error(name_ + " is a text model (" + config_.model_type + "): it takes text, not a picture");
  return *image_processor_;
}

PreprocessedImage Model::preprocess(const Rgb8View& image) const { return preprocess_image(image, image_processor()); }

void Model::run_image(const PixelValues&, ForwardPass&) const {
  throw Error(name_ + " is a text model (" + config_.model_type + "): it takes text, not a picture");
}

ForwardResult Model::forward_image(const PixelValues& pixels, const RunOptions& options) const {
  PreprocessedImage image;
  image.pixels = pixels;  // a copy; cheap next to the forward pass
  image.source_width = image.resized_width = pixels.width;
  image.source_height = image.resized_height = pixels.height;
  image.crop = {0, 0, double(pixels.width), double(pixels.height)};
  return forward_image(image, options);
}

ForwardResult Model::forward_image(const PreprocessedImage& image, const RunOptions& options) const {
  image_processor();  // throws for text models
  const PixelValues& px = image.pixels;
  const int p = config_.patch_size;
  if (px.channels != config_.num_channels)
    throw Error(name_ + " takes " + std::to_string(config_.num_channels) + "-channel images, not " + std::to_string(px.channels));
  if (px.data.size() != size_t(px.channels) * px.height * px.width) throw Error("pixel values do not match their stated size");
  if (px.height < p || px.width < p)
    throw Error("the image is " + std::to_string(px.width) + "x" + std::to_string(px.height) + " pixels, smaller than one " +
                std::to_string(p) + "x" + std::to_string(p) + " patch of " + name_);
  const int gh = px.height / p, gw = px.width / p;
  const int prefix = config_.num_prefix_tokens();
  const int64_t n64 = prefix + int64_t(gh) * gw;
  if (n64 > (1 << 20))
    throw Error("the image gives " + std::to_string(gh) + "x" + std::to_string(gw) + " patches (" + std::to_string(n64) +
                " tokens): far too many to record; resize it (enable do_resize in preprocessor_config.json)");
  const int N = int(n64);
  RecordingMeta meta = recording_meta(N, options);
  meta.tokens.push_back("[CLS]");
  if (config_.num_prefix_tokens() == 2) meta.tokens.push_back("[DIST]");
  meta.special.assign(prefix, 1);
  for (int r = 0; r < gh; ++r)
    for (int c = 0; c < gw; ++c) meta.tokens.push_back("p(" + std::to_string(r) + "," + std::to_string(c) + ")");
  meta.special.resize(N, 0);
  meta.extra["task"] = head_kind_name(config_.head);
  meta.extra["image_grid"] = std::to_string(gh) + "x" + std::to_string(gw);
  meta.extra["image_patch_size"] = std::to_string(p);
  meta.extra["image_input_size"] = std::to_string(px.height) + "x" + std::to_string(px.width);
  meta.extra["image_size"] = std::to_string(image.source_height) + "x" + std::to_string(image.source_width);
  meta.extra["image_crop"] = nlohmann::json::array({image.crop.left, image.crop.top, image.crop.right, image.crop.bottom}).dump();
  // How the stored `image` tensor maps back to 0..255 pixels: pixel = (v · std + mean) / rescale.
  const ImageProcessorConfig& ip = image_processor();
  const auto mean = ip.do_normalize ? ip.image_mean : std::array<double, 3>{0, 0, 0};
  const auto stdev = ip.do_normalize ? ip.image_std : std::array<double, 3>{1, 1, 1};
  meta.extra["image_mean"] = nlohmann::json(mean).dump();
  meta.extra["image_std"] = nlohmann::json(stdev).dump();
  meta.extra["image_rescale_factor"] = nlohmann::json(ip.do_rescale ? ip.rescale_factor : 1.0).dump();
  ForwardResult result = start_recording(std::move(meta), options);
  result.recording->set_image(px);
  run_pass(options, result, [&](ForwardPass& pass) { run_image(px, pass); });
  return result;
}

}  // namespace attn
