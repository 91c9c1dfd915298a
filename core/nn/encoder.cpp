// BERT and DistilBERT: post-LayerNorm encoders that differ only in weight names, token
// types and their heads. Reference: Hugging Face's modeling_bert.py / modeling_distilbert.py.
#include <optional>

#include "io/json_fields.h"
#include "model/family_table.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

namespace {

struct EncoderLayer {
  Linear query, key, value, attn_out;
  Norm attn_norm;
  Linear ffn_in, ffn_out;
  Norm out_norm;
};

struct MaskedLMHead {
  Linear transform;
  Norm norm;
  ConstMatrixMap decoder;  // (vocab, hidden): tied to the word embeddings unless stored
  ConstVectorMap bias;
};

struct ClassifierHead {
  Linear pre;         // BERT: pooler (tanh); DistilBERT: pre_classifier (ReLU)
  Linear classifier;  // (labels, hidden)
};

class EncoderModel final : public Model {
 public:
  EncoderModel(const ModelConfig& c, WeightStore& w)
      : word_(bind_word(c, w)),
        position_(w.matrix(prefix_ + "embeddings.position_embeddings.weight", c.max_positions, c.hidden_size)),
        embed_norm_(bind_norm(w, prefix_ + "embeddings.LayerNorm", c.hidden_size)) {
    const int C = c.hidden_size, I = c.intermediate_size;
    const bool bert = c.family == "bert";
    if (!is_known_activation(c.activation)) throw Error("config.json: unsupported activation '" + c.activation + "'");
    if (bert && c.type_vocab_size > 0)
      token_type_.emplace(w.matrix(prefix_ + "embeddings.token_type_embeddings.weight", c.type_vocab_size, C));
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix_ + (bert ? "encoder.layer." : "transformer.layer.") + std::to_string(i) + ".";
      if (bert) {
        layers_.push_back(EncoderLayer{
            bind_linear(w, p + "attention.self.query", C, C), bind_linear(w, p + "attention.self.key", C, C),
            bind_linear(w, p + "attention.self.value", C, C), bind_linear(w, p + "attention.output.dense", C, C),
            bind_norm(w, p + "attention.output.LayerNorm", C), bind_linear(w, p + "intermediate.dense", I, C),
            bind_linear(w, p + "output.dense", C, I), bind_norm(w, p + "output.LayerNorm", C)});
      } else {
        layers_.push_back(EncoderLayer{
            bind_linear(w, p + "attention.q_lin", C, C), bind_linear(w, p + "attention.k_lin", C, C),
            bind_linear(w, p + "attention.v_lin", C, C), bind_linear(w, p + "attention.out_lin", C, C),
            bind_norm(w, p + "sa_layer_norm", C), bind_linear(w, p + "ffn.lin1", I, C), bind_linear(w, p + "ffn.lin2", C, I),
            bind_norm(w, p + "output_layer_norm", C)});
      }
    }
    if (c.head == HeadKind::MaskedLM) {
      const std::string dec = bert ? "cls.predictions.decoder.weight" : "vocab_projector.weight";
      const ConstMatrixMap decoder = w.contains(dec) ? w.matrix(dec, c.vocab_size, C) : word_;
      if (bert) {
        const std::string bias = w.first_present({"cls.predictions.bias", "cls.predictions.decoder.bias"});
        mlm_.emplace(MaskedLMHead{bind_linear(w, "cls.predictions.transform.dense", C, C),
                                  bind_norm(w, "cls.predictions.transform.LayerNorm", C), decoder,
                                  w.vector(bias.empty() ? "cls.predictions.bias" : bias, c.vocab_size)});
      } else {
        mlm_.emplace(MaskedLMHead{bind_linear(w, "vocab_transform", C, C), bind_norm(w, "vocab_layer_norm", C), decoder,
                                  w.vector("vocab_projector.bias", c.vocab_size)});
      }
    } else if (c.head == HeadKind::SequenceClassification) {
      const int labels = int(c.labels.size());
      cls_.emplace(ClassifierHead{bert ? bind_linear(w, prefix_ + "pooler.dense", C, C) : bind_linear(w, "pre_classifier", C, C),
                                  bind_linear(w, "classifier", labels, C)});
    }
  }

 protected:
  void run(const Encoding& enc, ForwardPass& pass) const override {
    const ModelConfig& c = config_;
    const int N = int(enc.size());
    RowMatrix x(N, c.hidden_size);
    for (int i = 0; i < N; ++i) {
      x.row(i) = word_.row(enc.ids[i]) + position_.row(i);
      if (token_type_) x.row(i) += token_type_->row(enc.type_ids.empty() ? 0 : enc.type_ids[i]);
    }
    x = layer_norm(x, embed_norm_.gamma, embed_norm_.beta, c.layer_norm_eps);
    const int first = pass.embedded(x);

    for (int l = first; l < c.num_layers; ++l) {
      const EncoderLayer& L = layers_[l];
      const RowMatrix ctx = pass.attention(l, L.query(x), L.key(x), L.value(x), /*causal=*/false);
      x = layer_norm(x + L.attn_out(ctx), L.attn_norm.gamma, L.attn_norm.beta, c.layer_norm_eps);
      RowMatrix h = L.ffn_in(x);
      activate(h, c.activation);
      x = layer_norm(x + L.ffn_out(h), L.out_norm.gamma, L.out_norm.beta, c.layer_norm_eps);
      pass.layer_done(l, x);
    }

    if (mlm_) {
      RowMatrix t = mlm_->transform(pass.logits_input(x));
      activate(t, c.activation);
      t = layer_norm(t, mlm_->norm.gamma, mlm_->norm.beta, c.family == "bert" ? c.layer_norm_eps : 1e-12f);
      RowMatrix logits = matmul_transposed(t, mlm_->decoder);
      logits.rowwise() += mlm_->bias.transpose();
      pass.result().logits = std::move(logits);
    } else if (cls_) {
      RowMatrix pooled = cls_->pre(x.topRows(1));
      if (c.family == "bert")
        pooled = pooled.array().tanh().matrix();
      else
        relu(pooled);
      pass.set_label_logits(cls_->classifier(pooled));
    }
  }

 private:
  // Picks the weight-name prefix ("bert." / "distilbert." or none) from what is stored.
  ConstMatrixMap bind_word(const ModelConfig& c, WeightStore& w) {
    const std::string fam = c.family + ".";
    prefix_ = w.contains(fam + "embeddings.word_embeddings.weight") ? fam : "";
    return w.matrix(prefix_ + "embeddings.word_embeddings.weight", c.vocab_size, c.hidden_size);
  }

  std::string prefix_;  // declared before the views that use it
  ConstMatrixMap word_;      // (vocab, hidden)
  ConstMatrixMap position_;  // (positions, hidden)
  std::optional<ConstMatrixMap> token_type_;
  Norm embed_norm_;
  std::vector<EncoderLayer> layers_;
  std::optional<MaskedLMHead> mlm_;
  std::optional<ClassifierHead> cls_;
};

void read_bert_config(const JsonFields& r, ModelConfig& c) {
  c.hidden_size = r.required_int({"hidden_size"});
  c.num_layers = r.required_int({"num_hidden_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"num_attention_heads"});
  c.intermediate_size = r.required_int({"intermediate_size"});
  c.max_positions = r.required_int({"max_position_embeddings"});
  c.type_vocab_size = r.optional_int("type_vocab_size", 2, 0, 1 << 20);
  c.layer_norm_eps = r.optional_float("layer_norm_eps", 1e-12f);
  c.activation = r.optional_string("hidden_act", "gelu");
  const auto pos = r.optional_string("position_embedding_type", "absolute");
  if (pos != "absolute") r.fail("position_embedding_type '" + pos + "' is not supported (only 'absolute')");
}

void read_distilbert_config(const JsonFields& r, ModelConfig& c) {
  c.hidden_size = r.required_int({"dim", "hidden_size"});
  c.num_layers = r.required_int({"n_layers", "num_hidden_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"n_heads", "num_attention_heads"});
  c.intermediate_size = r.required_int({"hidden_dim", "intermediate_size"});
  c.max_positions = r.required_int({"max_position_embeddings"});
  c.layer_norm_eps = 1e-12f;  // fixed in DistilBERT's implementation
  c.activation = r.optional_string("activation", "gelu");
}

std::unique_ptr<Model> make_encoder_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new EncoderModel(config, weights));
}

}  // namespace

extern const FamilySpec kBertFamily{"bert", "bert", read_bert_config, make_encoder_model,
                                    /*causal=*/false, /*vision=*/false, 0, "WordPiece: tokenizer.json or vocab.txt"};
extern const FamilySpec kDistilBertFamily{"distilbert", "distilbert", read_distilbert_config, make_encoder_model,
                                          /*causal=*/false, /*vision=*/false, 0, "WordPiece: tokenizer.json or vocab.txt"};

}  // namespace attn
