// BERT and DistilBERT: post-LayerNorm encoders that differ only in weight names, token
// types and their heads. Reference: Hugging Face's modeling_bert.py / modeling_distilbert.py.
#include <optional>

#include "nn/attention.h"
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
    const bool bert = c.family == Family::Bert;
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
  void run(const Encoding& enc, const RunOptions& opt, ForwardResult& result) const override {
    const ModelConfig& c = config_;
    const int N = int(enc.size());
    RowMatrix x(N, c.hidden_size);
    for (int i = 0; i < N; ++i) {
      x.row(i) = word_.row(enc.ids[i]) + position_.row(i);
      if (token_type_) x.row(i) += token_type_->row(enc.type_ids.empty() ? 0 : enc.type_ids[i]);
    }
    x = layer_norm(x, embed_norm_.gamma, embed_norm_.beta, c.layer_norm_eps);
    if (opt.record_hidden) result.hidden.push_back(x);

    for (int l = 0; l < c.num_layers; ++l) {
      const EncoderLayer& L = layers_[l];
      const LayerCapture capture = capture_for(result.recording.get(), l, opt.layers, opt.disabled_heads);
      const RowMatrix ctx = multi_head_attention(linear(x, L.query.w, L.query.b), linear(x, L.key.w, L.key.b),
                                                 linear(x, L.value.w, L.value.b), c.num_heads, /*causal=*/false, capture);
      x = layer_norm(x + linear(ctx, L.attn_out.w, L.attn_out.b), L.attn_norm.gamma, L.attn_norm.beta, c.layer_norm_eps);
      RowMatrix h = linear(x, L.ffn_in.w, L.ffn_in.b);
      activate(h, c.activation);
      x = layer_norm(x + linear(h, L.ffn_out.w, L.ffn_out.b), L.out_norm.gamma, L.out_norm.beta, c.layer_norm_eps);
      if (opt.record_hidden) result.hidden.push_back(x);
      report_progress(opt.progress, double(l + 1) / c.num_layers, "layer " + std::to_string(l));
    }

    if (mlm_) {
      std::vector<int> rows = opt.logits_rows;
      if (opt.all_logits) {
        rows.resize(N);
        for (int i = 0; i < N; ++i) rows[i] = i;
      }
      RowMatrix sel(rows.size(), c.hidden_size);
      for (size_t r = 0; r < rows.size(); ++r) sel.row(r) = x.row(rows[r]);
      RowMatrix t = linear(sel, mlm_->transform.w, mlm_->transform.b);
      activate(t, c.activation);
      t = layer_norm(t, mlm_->norm.gamma, mlm_->norm.beta, c.family == Family::Bert ? c.layer_norm_eps : 1e-12f);
      result.logits = t * mlm_->decoder.transpose();
      result.logits.rowwise() += mlm_->bias.transpose();
      result.logits_rows = rows;
    } else if (cls_) {
      RowMatrix pooled = linear(x.topRows(1), cls_->pre.w, cls_->pre.b);
      if (c.family == Family::Bert)
        pooled = pooled.array().tanh().matrix();
      else
        relu(pooled);
      result.logits = linear(pooled, cls_->classifier.w, cls_->classifier.b);
      result.logits_rows = {0};
    }
  }

 private:
  // Picks the weight-name prefix ("bert." / "distilbert." or none) from what is stored.
  ConstMatrixMap bind_word(const ModelConfig& c, WeightStore& w) {
    const std::string fam = c.family == Family::Bert ? "bert." : "distilbert.";
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

}  // namespace

std::unique_ptr<Model> make_encoder_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new EncoderModel(config, weights));
}

}  // namespace attn
