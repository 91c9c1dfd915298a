#include "nn/model.h"

#include "nn/families.h"
#include "util/error.h"

namespace attn {

Linear bind_linear(WeightStore& w, const std::string& name, int out, int in) {
  return Linear{w.matrix(name + ".weight", out, in), w.vector(name + ".bias", out)};
}

Linear bind_conv1d(WeightStore& w, const std::string& name, int in, int out) {
  return Linear{w.matrix(name + ".weight", in, out), w.vector(name + ".bias", out)};
}

Norm bind_norm(WeightStore& w, const std::string& name, int n) {
  if (!w.contains(name + ".weight") && w.contains(name + ".gamma"))
    return Norm{w.vector(name + ".gamma", n), w.vector(name + ".beta", n)};
  return Norm{w.vector(name + ".weight", n), w.vector(name + ".bias", n)};
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir) {
  ModelConfig config = ModelConfig::load(dir);
  WeightStore weights = WeightStore::open(dir);
  // Tokenizer first: a folder without one is unusable, and the message should say so
  // before any weight problem.
  TokenizerOptions topt;
  topt.model_type = config.model_type;
  auto tokenizer = load_tokenizer(dir, topt);

  std::unique_ptr<Model> model;
  switch (config.family) {
    case Family::Bert:
    case Family::DistilBert: model = make_encoder_model(config, weights); break;
    case Family::Gpt2: model = make_gpt2_model(config, weights); break;
  }
  model->config_ = config;
  model->tokenizer_ = std::move(tokenizer);
  model->parameter_count_ = weights.parameter_count();
  model->non_finite_ = weights.non_finite_count();
  model->weights_ = std::move(weights);  // the bound views stay valid: storage is not copied
  model->dir_ = dir;
  model->name_ = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (model->name_.empty()) model->name_ = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  if (model->tokenizer_->vocab_size() > config.vocab_size)
    throw Error((dir / "config.json").string() + ": vocab_size " + std::to_string(config.vocab_size) + " is smaller than the tokenizer's " +
                std::to_string(model->tokenizer_->vocab_size()) + " tokens (tokenizer files from another model?)");
  return model;
}

Encoding Model::encode(std::string_view text, std::optional<std::string_view> pair, bool truncate) const {
  if (pair && !tokenizer_->supports_pairs())
    throw Error(name_ + ": this model's tokenizer does not take sentence pairs (" + config_.model_type + ")");
  Encoding enc = tokenizer_->encode(text, pair);
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
  return tokenizer_->kind() == "bpe" ? tokenizer_->token_text(id) : vocab_token;
}

ForwardResult Model::forward(const Encoding& enc, const RunOptions& options) const {
  const int N = int(enc.size());
  if (N == 0) throw Error("the input is empty: type some text (the tokenizer produced no tokens)");
  if (N > config_.max_positions)
    throw Error("the input has " + std::to_string(N) + " tokens but " + name_ + " has only " + std::to_string(config_.max_positions) +
                " positions; shorten the text or truncate it");
  for (int32_t id : enc.ids)
    if (id < 0 || id >= config_.vocab_size)
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + name_ + " (" + std::to_string(config_.vocab_size) + ")");
  if (!enc.type_ids.empty() && config_.type_vocab_size > 0)
    for (int32_t t : enc.type_ids)
      if (t < 0 || t >= config_.type_vocab_size) throw Error("token type id " + std::to_string(t) + " is outside the model's type vocabulary");
  for (int r : options.logits_rows)
    if (r < 0 || r >= N) throw Error("logits row " + std::to_string(r) + " is outside the input");

  RecordingMeta meta;
  meta.model = name_;
  meta.family = family_name(config_.family);
  meta.num_layers = config_.num_layers;
  meta.num_heads = config_.num_heads;
  meta.num_tokens = N;
  meta.head_dim = config_.head_dim();
  meta.causal = config_.family == Family::Gpt2;
  for (int i = 0; i < N; ++i) {
    meta.tokens.push_back(display_token(enc.ids[i], i < int(enc.tokens.size()) ? enc.tokens[i] : tokenizer_->id_to_token(enc.ids[i])));
    meta.special.push_back(i < int(enc.special.size()) ? enc.special[i] : 0);
  }
  meta.extra["task"] = head_kind_name(config_.head);
  ForwardResult result;
  result.recording = AttentionRecording::create(std::move(meta), options.record_qkv, options.record_scores);
  report_progress(options.progress, 0.0, "embeddings");
  run(enc, options, result);
  report_progress(options.progress, 1.0, "done");
  return result;
}

}  // namespace attn
