// T5 (v1.0; v1.1 and Flan-T5 with a gated feed-forward and an untied head): a pre-RMSNorm
// encoder-decoder without absolute positions. Scores are q·kᵀ without scaling plus a learned
// bias per relative-position bucket (bidirectional in the encoder, causal in the decoder), the
// table of each stack's first block shared by all its blocks; the cross-attention has none.
// A tied head rescales by d_model^-0.5. Reference: Hugging Face's modeling_t5.py;
// tools/reference/t5.py is the PyTorch reference the golden tests hold this to.
#include <cmath>
#include <optional>

#include "io/json_fields.h"
#include "model/family_table.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

namespace {

struct T5Attention {
  Projection q, k, v, o;
};

struct T5FeedForward {
  std::optional<Projection> wi, wi_0, wi_1;  // wi (v1.0), or wi_0 · wi_1 (gated)
  Projection wo;
};

struct T5Block {
  ConstVectorMap self_norm;
  T5Attention self;
  std::optional<ConstVectorMap> cross_norm;  // decoder blocks
  std::optional<T5Attention> cross;
  ConstVectorMap ff_norm;
  T5FeedForward ff;
};

// T5Attention._relative_position_bucket: the bucket of key - query = `relative`.
int relative_bucket(int relative, bool bidirectional, int buckets, int max_distance) {
  int bucket = 0;
  if (bidirectional) {
    buckets /= 2;
    if (relative > 0) bucket += buckets;
    relative = std::abs(relative);
  } else {
    relative = std::max(-relative, 0);
  }
  const int max_exact = buckets / 2;
  if (relative < max_exact) return bucket + relative;
  // float32, as torch computes it: log(n / max_exact) / log(max_distance / max_exact) · (buckets - max_exact)
  const float scaled = std::log(float(relative) / float(max_exact)) / float(std::log(double(max_distance) / max_exact)) * float(buckets - max_exact);
  return bucket + std::min(max_exact + int(scaled), buckets - 1);
}

class T5Model final : public Model {
 public:
  T5Model(const ModelConfig& c, WeightStore& w) {
    const int C = c.hidden_size, H = c.num_heads, inner = H * c.head_dim(), F = c.intermediate_size;
    const std::string table = w.first_present({"shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"});
    embed_ = w.stored(table.empty() ? "shared.weight" : table, c.vocab_size, C);
    const int buckets = c.seq2seq.relative_buckets;
    encoder_bias_.emplace(w.matrix("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", buckets, H));
    decoder_bias_.emplace(w.matrix("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", buckets, H));
    auto attention = [&](const std::string& p) {
      return T5Attention{bind_projection(w, p + "q", inner, C, false), bind_projection(w, p + "k", inner, C, false),
                         bind_projection(w, p + "v", inner, C, false), bind_projection(w, p + "o", C, inner, false)};
    };
    auto feed_forward = [&](const std::string& p) {
      T5FeedForward ff{std::nullopt, std::nullopt, std::nullopt, bind_projection(w, p + "wo", C, F, false)};
      if (c.seq2seq.gated_ffn) {
        ff.wi_0.emplace(bind_projection(w, p + "wi_0", F, C, false));
        ff.wi_1.emplace(bind_projection(w, p + "wi_1", F, C, false));
      } else {
        ff.wi.emplace(bind_projection(w, p + "wi", F, C, false));
      }
      return ff;
    };
    for (int i = 0; i < c.num_encoder_layers; ++i) {
      const std::string p = "encoder.block." + std::to_string(i) + ".layer.";
      encoder_.push_back({w.vector(p + "0.layer_norm.weight", C), attention(p + "0.SelfAttention."), std::nullopt, std::nullopt,
                          w.vector(p + "1.layer_norm.weight", C), feed_forward(p + "1.DenseReluDense.")});
    }
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = "decoder.block." + std::to_string(i) + ".layer.";
      decoder_.push_back({w.vector(p + "0.layer_norm.weight", C), attention(p + "0.SelfAttention."), w.vector(p + "1.layer_norm.weight", C),
                          attention(p + "1.EncDecAttention."), w.vector(p + "2.layer_norm.weight", C), feed_forward(p + "2.DenseReluDense.")});
    }
    encoder_norm_.emplace(w.vector("encoder.final_layer_norm.weight", C));
    decoder_norm_.emplace(w.vector("decoder.final_layer_norm.weight", C));
    if (!c.seq2seq.tie_word_embeddings) lm_head_.emplace(w.stored("lm_head.weight", c.vocab_size, C));
  }

 protected:
  void run(const Encoding& enc, ForwardPass& pass) const override {
    const ModelConfig& c = config_;
    const RowMatrix& memory = pass.encoder_output([&] { return encode(pass.source(), pass); });
    const int M = int(enc.size()), past = pass.past();
    RowMatrix x = embed(enc.ids);
    (void)pass.embedded(x);  // encoder-decoders never resume (recording_meta refuses)
    const std::vector<RowMatrix> bias = position_bias(*decoder_bias_, past, M, past + M, /*bidirectional=*/false);
    AttentionSpec self = spec();
    self.causal = true;
    self.bias = &bias;
    const AttentionSpec cross = spec();
    for (int l = 0; l < c.num_layers; ++l) {
      const T5Block& B = decoder_[size_t(l)];
      const RowMatrix h = norm(x, B.self_norm);
      x += B.self.o(pass.attention(l, B.self.q(h), B.self.k(h), B.self.v(h), self));
      const T5Attention& A = *B.cross;
      x += A.o(pass.cross_attention(l, A.q(norm(x, *B.cross_norm)), [&] { return std::pair{A.k(memory), A.v(memory)}; }, cross));
      x += feed_forward(B.ff, norm(x, B.ff_norm));
      pass.layer_done(l, x);
    }
    x = norm(x, *decoder_norm_);
    pass.final_norm_applied(x);
    const RowMatrix rows = pass.logits_input(x);
    pass.result().logits = lm_head_ ? lm_head_->times_transposed(rows) : embed_.times_transposed(rows * float(1.0 / std::sqrt(double(c.hidden_size))));
  }

 private:
  AttentionSpec spec() const {
    AttentionSpec s;
    s.num_heads = config_.num_heads;
    s.head_dim = config_.head_dim();
    s.scale = config_.seq2seq.attention_scale;
    return s;
  }

  RowMatrix norm(const RowMatrix& x, const ConstVectorMap& w) const { return rms_norm(x, w, config_.layer_norm_eps, false); }

  RowMatrix embed(const std::vector<int32_t>& ids) const {
    RowMatrix x(int(ids.size()), config_.hidden_size);
    for (size_t i = 0; i < ids.size(); ++i) embed_.row(ids[i], x.row(Eigen::Index(i)).data());
    return x;
  }

  // Per head, (rows, keys) of the stack's table for queries at positions first.. and keys 0..
  std::vector<RowMatrix> position_bias(const ConstMatrixMap& table, int first, int rows, int keys, bool bidirectional) const {
    const int H = config_.num_heads;
    std::vector<RowMatrix> bias(size_t(H), RowMatrix(rows, keys));
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < keys; ++j) {
        const int b = relative_bucket(j - (first + i), bidirectional, config_.seq2seq.relative_buckets, config_.seq2seq.relative_max_distance);
        for (int h = 0; h < H; ++h) bias[size_t(h)](i, j) = table(b, h);
      }
    return bias;
  }

  RowMatrix feed_forward(const T5FeedForward& ff, const RowMatrix& x) const {
    RowMatrix h = ff.wi ? (*ff.wi)(x) : (*ff.wi_0)(x);
    activate(h, config_.activation);
    if (ff.wi_1) h.array() *= (*ff.wi_1)(x).array();
    return ff.wo(h);
  }

  RowMatrix encode(const std::vector<int32_t>& source, ForwardPass& pass) const {
    const int S = int(source.size());
    RowMatrix x = embed(source);
    const std::vector<RowMatrix> bias = position_bias(*encoder_bias_, 0, S, S, /*bidirectional=*/true);
    AttentionSpec s = spec();
    s.bias = &bias;
    for (int l = 0; l < config_.num_encoder_layers; ++l) {
      const T5Block& B = encoder_[size_t(l)];
      const RowMatrix h = norm(x, B.self_norm);
      x += B.self.o(pass.encoder_attention(l, B.self.q(h), B.self.k(h), B.self.v(h), s));
      x += feed_forward(B.ff, norm(x, B.ff_norm));
    }
    return norm(x, *encoder_norm_);
  }

  StoredMatrix embed_;  // (vocab, C): shared
  std::optional<ConstMatrixMap> encoder_bias_, decoder_bias_;  // (buckets, H)
  std::vector<T5Block> encoder_, decoder_;
  std::optional<ConstVectorMap> encoder_norm_, decoder_norm_;
  std::optional<StoredMatrix> lm_head_;  // untied (v1.1)
};

void read_t5_config(const JsonFields& r, ModelConfig& c) {
  c.hidden_size = r.required_int({"d_model"});
  c.num_encoder_layers = r.required_int({"num_layers"}, 1, kMaxLayers);
  c.num_layers = r.optional_int("num_decoder_layers", c.num_encoder_layers, 1, kMaxLayers);
  c.num_heads = r.required_int({"num_heads"});
  c.explicit_head_dim = r.required_int({"d_kv"});
  c.intermediate_size = r.required_int({"d_ff"});
  c.seq2seq.encoder_ffn = c.intermediate_size;
  c.vocab_size = r.required_int({"vocab_size"});
  c.max_positions = r.optional_int("n_positions", 512, 1, 1 << 20);  // no position table: the tokenizer's usual limit
  c.layer_norm_eps = r.optional_float("layer_norm_epsilon", 1e-6f);
  c.seq2seq.attention_scale = 1.0f;  // no 1/√d: Mesh TensorFlow folds it into the initialisation
  c.seq2seq.relative_buckets = r.optional_int("relative_attention_num_buckets", 32, 2, 1 << 16);
  c.seq2seq.relative_max_distance = r.optional_int("relative_attention_max_distance", 128, 1, 1 << 24);
  if (c.seq2seq.relative_buckets < 4) r.fail("relative_attention_num_buckets must be at least 4");
  // feed_forward_proj "relu" or "gated-<act>" ("gated-gelu" means the tanh GELU); dense_act_fn
  // and is_gated_act, when written, win (T5Config).
  const std::string proj = r.optional_string("feed_forward_proj", "relu");
  const bool gated = proj.rfind("gated-", 0) == 0;
  std::string act = gated ? proj.substr(6) : proj;
  if (act == "gelu" && gated) act = "gelu_new";
  c.seq2seq.gated_ffn = r.optional_bool("is_gated_act", gated);
  c.activation = r.optional_string("dense_act_fn", act);
  if (!is_known_activation(c.activation)) r.fail("unsupported feed-forward activation '" + c.activation + "'");
  c.seq2seq.tie_word_embeddings = r.optional_bool("tie_word_embeddings", true);
  const int pad = r.optional_int("pad_token_id", 0, 0, c.vocab_size - 1);
  c.decoder_start_token_id = r.optional_int("decoder_start_token_id", pad, 0, c.vocab_size - 1);
  if (c.head == HeadKind::Base) c.head = HeadKind::Seq2SeqLM;
}

std::unique_ptr<Model> make_t5_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new T5Model(config, weights));
}

}  // namespace

extern const FamilySpec kT5Family{"t5", "t5", read_t5_config, make_t5_model, /*causal=*/true, /*vision=*/false, 0,
                                  "SentencePiece: spiece.model (tokenizer.json's Unigram beside it is read from the .model)", /*encoder_decoder=*/true};

}  // namespace attn
