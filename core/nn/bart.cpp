// BART and Marian (MarianMT, the OPUS-MT translation models): post-LayerNorm encoder-decoders
// whose decoder layers attend to themselves (causally) and then to the encoder's output.
// BART: learned positions read at p + 2 (fairseq's offset) and a LayerNorm over the embeddings
// (layernorm_embedding). Marian: fixed sinusoidal positions (sin half, then cos half), embeddings
// scaled by √d_model, no embedding LayerNorm, decoder started from the pad token. Both: logits =
// h · Eᵀ + final_logits_bias with the head tied to the shared embedding unless lm_head is stored.
// Reference: Hugging Face's modeling_bart.py / modeling_marian.py; tools/reference/bart.py and
// marian.py are the PyTorch references the golden tests hold this to.
#include <cmath>
#include <optional>

#include "io/json_fields.h"
#include "model/family_table.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

namespace {

struct AttentionBlock {
  Linear q, k, v, out;
};

struct EncoderLayer {
  AttentionBlock self;
  Norm self_norm;
  Linear fc1, fc2;
  Norm final_norm;
};

struct DecoderLayer {
  AttentionBlock self;
  Norm self_norm;
  AttentionBlock cross;
  Norm cross_norm;
  Linear fc1, fc2;
  Norm final_norm;
};

AttentionBlock bind_attention(WeightStore& w, const std::string& p, int C) {
  return {bind_linear(w, p + "q_proj", C, C), bind_linear(w, p + "k_proj", C, C), bind_linear(w, p + "v_proj", C, C),
          bind_linear(w, p + "out_proj", C, C)};
}

// Marian's table (MarianSinusoidalPositionalEmbedding): column i < ⌈dim/2⌉ is sin(p / 10000^(2i/dim)),
// the rest cos of the odd columns' angles; float64, rounded to float32.
RowMatrix sinusoidal_positions(int positions, int dim) {
  RowMatrix table(positions, dim);
  const int sines = (dim + 1) / 2;
  for (int p = 0; p < positions; ++p)
    for (int j = 0; j < dim; ++j) {
      const double angle = double(p) / std::pow(10000.0, 2.0 * (j / 2) / dim);
      if (j % 2 == 0) table(p, j / 2) = float(std::sin(angle));
      else table(p, sines + j / 2) = float(std::cos(angle));
    }
  return table;
}

class BartModel final : public Model {
 public:
  BartModel(const ModelConfig& c, WeightStore& w) : marian_(c.family == "marian") {
    const int C = c.hidden_size, V = c.vocab_size;
    prefix_ = w.contains("model.shared.weight") || w.contains("model.encoder.embed_tokens.weight") || w.contains("model.decoder.embed_tokens.weight")
                  ? "model."
                  : "";
    const std::string table = w.first_present({prefix_ + "shared.weight", prefix_ + "decoder.embed_tokens.weight", prefix_ + "encoder.embed_tokens.weight"});
    embed_.emplace(w.matrix(table.empty() ? prefix_ + "shared.weight" : table, V, C));
    if (marian_) {
      positions_ = sinusoidal_positions(c.max_positions, C);
    } else {
      encoder_positions_.emplace(w.matrix(prefix_ + "encoder.embed_positions.weight", c.max_positions + 2, C));
      decoder_positions_.emplace(w.matrix(prefix_ + "decoder.embed_positions.weight", c.max_positions + 2, C));
      encoder_embed_norm_.emplace(bind_norm(w, prefix_ + "encoder.layernorm_embedding", C));
      decoder_embed_norm_.emplace(bind_norm(w, prefix_ + "decoder.layernorm_embedding", C));
    }
    const int Fe = c.seq2seq.encoder_ffn, Fd = c.intermediate_size;
    for (int i = 0; i < c.num_encoder_layers; ++i) {
      const std::string p = prefix_ + "encoder.layers." + std::to_string(i) + ".";
      encoder_.push_back({bind_attention(w, p + "self_attn.", C), bind_norm(w, p + "self_attn_layer_norm", C), bind_linear(w, p + "fc1", Fe, C),
                          bind_linear(w, p + "fc2", C, Fe), bind_norm(w, p + "final_layer_norm", C)});
    }
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix_ + "decoder.layers." + std::to_string(i) + ".";
      decoder_.push_back({bind_attention(w, p + "self_attn.", C), bind_norm(w, p + "self_attn_layer_norm", C),
                          bind_attention(w, p + "encoder_attn.", C), bind_norm(w, p + "encoder_attn_layer_norm", C),
                          bind_linear(w, p + "fc1", Fd, C), bind_linear(w, p + "fc2", C, Fd), bind_norm(w, p + "final_layer_norm", C)});
    }
    if (c.seq2seq.tie_word_embeddings || !w.contains("lm_head.weight")) lm_head_.emplace(*embed_);
    else lm_head_.emplace(w.matrix("lm_head.weight", V, C));
    if (w.contains("final_logits_bias")) final_logits_bias_.emplace(w.reshaped("final_logits_bias", {1, V}, 1, V));
  }

 protected:
  // The decoder over enc.ids at positions pass.past() on; the encoder first, once.
  void run(const Encoding& enc, ForwardPass& pass) const override {
    const ModelConfig& c = config_;
    const RowMatrix& memory = pass.encoder_output([&] { return encode(pass.source(), pass); });
    RowMatrix x = embed(enc.ids, pass.past(), /*decoder=*/true);
    (void)pass.embedded(x);  // encoder-decoders never resume (recording_meta refuses)
    AttentionSpec self;
    self.num_heads = c.num_heads;
    self.causal = true;
    AttentionSpec cross;
    cross.num_heads = c.num_heads;
    for (int l = 0; l < c.num_layers; ++l) {
      const DecoderLayer& L = decoder_[size_t(l)];
      const RowMatrix q = L.self.q(x), k = L.self.k(x), v = L.self.v(x);
      x = layer_norm(x + L.self.out(pass.attention(l, q, k, v, self)), L.self_norm.gamma, L.self_norm.beta, kEps);
      const RowMatrix attended = pass.cross_attention(l, L.cross.q(x), [&] { return std::pair{L.cross.k(memory), L.cross.v(memory)}; }, cross);
      x = layer_norm(x + L.cross.out(attended), L.cross_norm.gamma, L.cross_norm.beta, kEps);
      x = feed_forward(L.fc1, L.fc2, L.final_norm, x);
      pass.layer_done(l, x);
    }
    RowMatrix logits = matmul_transposed(pass.logits_input(x), *lm_head_);
    if (final_logits_bias_) logits.rowwise() += final_logits_bias_->row(0);
    pass.result().logits = std::move(logits);
  }

 private:
  static constexpr float kEps = 1e-5f;  // every LayerNorm: nn.LayerNorm(d_model)

  // Token embeddings (scaled for Marian) plus positions first.. (BART: rows p + 2, then its LayerNorm).
  RowMatrix embed(const std::vector<int32_t>& ids, int first, bool decoder) const {
    const int N = int(ids.size()), C = config_.hidden_size;
    if (first + N > config_.max_positions)
      throw Error(name_ + " has " + std::to_string(config_.max_positions) + " positions; the sequence needs " + std::to_string(first + N));
    const float scale = config_.seq2seq.scale_embedding ? float(std::sqrt(double(C))) : 1.0f;
    RowMatrix x(N, C);
    for (int i = 0; i < N; ++i) {
      x.row(i) = embed_->row(ids[size_t(i)]) * scale;
      if (marian_) x.row(i) += positions_.row(first + i);
      else x.row(i) += (decoder ? *decoder_positions_ : *encoder_positions_).row(first + i + 2);
    }
    if (marian_) return x;
    const Norm& n = decoder ? *decoder_embed_norm_ : *encoder_embed_norm_;
    return layer_norm(x, n.gamma, n.beta, kEps);
  }

  // LayerNorm(x + fc2(act(fc1(x)))): every layer's last part.
  RowMatrix feed_forward(const Linear& fc1, const Linear& fc2, const Norm& norm, const RowMatrix& x) const {
    RowMatrix h = fc1(x);
    activate(h, config_.activation);
    return layer_norm(x + fc2(h), norm.gamma, norm.beta, kEps);
  }

  RowMatrix encode(const std::vector<int32_t>& source, ForwardPass& pass) const {
    const ModelConfig& c = config_;
    RowMatrix x = embed(source, 0, /*decoder=*/false);
    AttentionSpec spec;
    spec.num_heads = c.num_heads;
    for (int l = 0; l < c.num_encoder_layers; ++l) {
      const EncoderLayer& L = encoder_[size_t(l)];
      const RowMatrix q = L.self.q(x), k = L.self.k(x), v = L.self.v(x);
      x = layer_norm(x + L.self.out(pass.encoder_attention(l, q, k, v, spec)), L.self_norm.gamma, L.self_norm.beta, kEps);
      x = feed_forward(L.fc1, L.fc2, L.final_norm, x);
    }
    return x;
  }

  bool marian_;
  std::string prefix_;
  std::optional<ConstMatrixMap> embed_;  // (vocab, C): model.shared, tied to both stacks
  std::optional<ConstMatrixMap> encoder_positions_, decoder_positions_;  // BART: (positions + 2, C)
  RowMatrix positions_;   // Marian: (positions, C)
  std::optional<Norm> encoder_embed_norm_, decoder_embed_norm_;
  std::vector<EncoderLayer> encoder_;
  std::vector<DecoderLayer> decoder_;
  std::optional<ConstMatrixMap> lm_head_;
  std::optional<ConstMatrixMap> final_logits_bias_;  // (1, vocab)
};

void read_bart_like_config(const JsonFields& r, ModelConfig& c, bool marian) {
  c.hidden_size = r.required_int({"d_model"});
  c.num_encoder_layers = r.required_int({"encoder_layers"}, 1, kMaxLayers);
  c.num_layers = r.required_int({"decoder_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"decoder_attention_heads"});
  if (r.required_int({"encoder_attention_heads"}) != c.num_heads)
    r.fail("encoder_attention_heads and decoder_attention_heads differ; AttnScope records one head count for both stacks");
  c.intermediate_size = r.required_int({"decoder_ffn_dim"});
  c.seq2seq.encoder_ffn = r.required_int({"encoder_ffn_dim"});
  c.max_positions = r.required_int({"max_position_embeddings"});
  c.vocab_size = r.required_int({"vocab_size"});
  c.activation = r.optional_string("activation_function", marian ? "swish" : "gelu");
  if (c.activation == "swish") c.activation = "silu";
  if (!is_known_activation(c.activation)) r.fail("unsupported activation_function '" + c.activation + "'");
  c.layer_norm_eps = 1e-5f;
  c.seq2seq.scale_embedding = r.optional_bool("scale_embedding", false);
  c.seq2seq.tie_word_embeddings = r.optional_bool("tie_word_embeddings", true);
  const int pad = r.optional_int("pad_token_id", marian ? c.vocab_size - 1 : 1, 0, c.vocab_size - 1);
  c.decoder_start_token_id = r.optional_int("decoder_start_token_id", marian ? pad : 2, 0, c.vocab_size - 1);
  if (marian) {
    if (!r.optional_bool("share_encoder_decoder_embeddings", true))
      r.fail("separate source and target vocabularies (share_encoder_decoder_embeddings = false) are not supported yet");
    if (r.has("decoder_vocab_size") && r.optional_int("decoder_vocab_size", c.vocab_size) != c.vocab_size)
      r.fail("decoder_vocab_size differs from vocab_size: separate target vocabularies are not supported yet");
  }
  if (c.head == HeadKind::Base) c.head = HeadKind::Seq2SeqLM;  // the tied embedding predicts
}

void read_bart_config(const JsonFields& r, ModelConfig& c) { read_bart_like_config(r, c, false); }
void read_marian_config(const JsonFields& r, ModelConfig& c) { read_bart_like_config(r, c, true); }

std::unique_ptr<Model> make_bart_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new BartModel(config, weights));
}

}  // namespace

extern const FamilySpec kBartFamily{"bart", "bart", read_bart_config, make_bart_model, /*causal=*/true, /*vision=*/false, 0,
                                    "byte-level BPE with <s> … </s>: tokenizer.json or vocab.json + merges.txt", /*encoder_decoder=*/true};
extern const FamilySpec kMarianFamily{"marian", "marian", read_marian_config, make_bart_model, true, false, 0,
                                      "SentencePiece: source.spm + target.spm + vocab.json", true};

}  // namespace attn
