// ViT (Dosovitskiy et al. 2021) and DeiT (Touvron et al. 2021): a Conv2d patch embedding,
// [CLS] (+ DeiT's distillation token) and learned positions, pre-LayerNorm encoder blocks
// with exact GELU, a final LayerNorm and linear heads on the first token(s).
// Reference: Hugging Face's modeling_vit.py / modeling_deit.py.
#include <optional>

#include "image/bicubic.h"
#include "nn/attention.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

namespace {

struct VitLayer {
  Norm ln_before;
  Linear query, key, value, attn_out;
  Norm ln_after;
  Linear ffn_in, ffn_out;
};

class VitModel final : public Model {
 public:
  VitModel(const ModelConfig& c, WeightStore& w)
      : prefix_(pick_prefix(c, w)),
        zero_bias_(Vector::Zero(c.hidden_size)),
        cls_(w.matrix(prefix_ + "embeddings.cls_token", 1, c.hidden_size)),
        position_(w.matrix(prefix_ + "embeddings.position_embeddings", c.max_positions, c.hidden_size)),
        patch_w_(w.reshaped(prefix_ + "embeddings.patch_embeddings.projection.weight",
                            {c.hidden_size, c.num_channels, c.patch_size, c.patch_size}, c.hidden_size,
                            int64_t(c.num_channels) * c.patch_size * c.patch_size)),
        patch_b_(w.vector(prefix_ + "embeddings.patch_embeddings.projection.bias", c.hidden_size)),
        final_norm_(bind_norm(w, prefix_ + "layernorm", c.hidden_size)) {
    const int C = c.hidden_size, I = c.intermediate_size;
    if (!is_known_activation(c.activation)) throw Error("config.json: unsupported hidden_act '" + c.activation + "'");
    if (c.family == Family::Deit) dist_.emplace(w.matrix(prefix_ + "embeddings.distillation_token", 1, C));
    auto qkv = [&](const std::string& name) {
      if (c.qkv_bias) return bind_linear(w, name, C, C);
      return Linear{w.matrix(name + ".weight", C, C), ConstVectorMap(zero_bias_.data(), C)};
    };
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix_ + "encoder.layer." + std::to_string(i) + ".";
      layers_.push_back(VitLayer{bind_norm(w, p + "layernorm_before", C), qkv(p + "attention.attention.query"),
                                 qkv(p + "attention.attention.key"), qkv(p + "attention.attention.value"),
                                 bind_linear(w, p + "attention.output.dense", C, C), bind_norm(w, p + "layernorm_after", C),
                                 bind_linear(w, p + "intermediate.dense", I, C), bind_linear(w, p + "output.dense", C, I)});
    }
    if (c.head == HeadKind::ImageClassification) {
      const int labels = int(c.labels.size());
      if (c.architecture.ends_with("WithTeacher")) {
        classifier_.emplace(bind_linear(w, "cls_classifier", labels, C));
        distillation_classifier_.emplace(bind_linear(w, "distillation_classifier", labels, C));
      } else {
        classifier_.emplace(bind_linear(w, "classifier", labels, C));
      }
    }
  }

 protected:
  void run(const Encoding&, const RunOptions&, ForwardResult&) const override {
    throw Error(name_ + " is an image model: run it on a picture");
  }

  void run_image(const PixelValues& px, const RunOptions& opt, ForwardResult& result) const override {
    const ModelConfig& c = config_;
    const int p = c.patch_size, C = c.hidden_size, S = c.num_prefix_tokens();
    const int gh = px.height / p, gw = px.width / p, P = gh * gw, N = S + P;

    // Patch embedding: Conv2d(3, C, kernel p, stride p) as a matrix product. Each patch
    // flattened as (channel, ky, kx), the weight's layout.
    RowMatrix patches(P, 3 * p * p);  // (P, 3·p·p)
    for (int r = 0; r < gh; ++r)
      for (int col = 0; col < gw; ++col) {
        float* dst = patches.row(r * gw + col).data();
        for (int ch = 0; ch < 3; ++ch)
          for (int ky = 0; ky < p; ++ky)
            for (int kx = 0; kx < p; ++kx) *dst++ = px.at(ch, r * p + ky, col * p + kx);
      }
    RowMatrix x(N, C);  // (N, C)
    x.bottomRows(P) = linear(patches, patch_w_, patch_b_);
    x.row(0) = cls_.row(0);
    if (dist_) x.row(1) = dist_->row(0);
    x.topRows(S) += position_.topRows(S);
    const int th = c.image_height / p, tw = c.image_width / p;  // the training grid
    if (gh == th && gw == tw)
      x.bottomRows(P) += position_.bottomRows(P);
    else
      x.bottomRows(P) += torch_bicubic_resize(position_.bottomRows(position_.rows() - S), th, tw, gh, gw);
    if (opt.record_hidden) result.hidden.push_back(x);

    for (int l = 0; l < c.num_layers; ++l) {
      const VitLayer& L = layers_[l];
      const RowMatrix a = layer_norm(x, L.ln_before.gamma, L.ln_before.beta, c.layer_norm_eps);
      const LayerCapture capture = capture_for(result.recording.get(), l, opt.layers, opt.disabled_heads);
      const RowMatrix ctx = multi_head_attention(linear(a, L.query.w, L.query.b), linear(a, L.key.w, L.key.b),
                                                 linear(a, L.value.w, L.value.b), c.num_heads, /*causal=*/false, capture);
      x += linear(ctx, L.attn_out.w, L.attn_out.b);
      RowMatrix h = linear(layer_norm(x, L.ln_after.gamma, L.ln_after.beta, c.layer_norm_eps), L.ffn_in.w, L.ffn_in.b);
      activate(h, c.activation);
      x += linear(h, L.ffn_out.w, L.ffn_out.b);
      if (opt.record_hidden) result.hidden.push_back(x);  // HF: before the final LayerNorm
      report_progress(opt.progress, double(l + 1) / c.num_layers, "layer " + std::to_string(l));
    }

    if (classifier_) {
      const RowMatrix first = layer_norm(x.topRows(S), final_norm_.gamma, final_norm_.beta, c.layer_norm_eps);
      result.logits = linear(first.topRows(1), classifier_->w, classifier_->b);
      if (distillation_classifier_)  // DeiT with teacher: the mean of both heads
        result.logits = (result.logits + linear(first.middleRows(1, 1), distillation_classifier_->w, distillation_classifier_->b)) * 0.5f;
      result.logits_rows = {0};
    }
  }

 private:
  // "vit." / "deit." for the task models, none for a bare ViTModel / DeiTModel.
  static std::string pick_prefix(const ModelConfig& c, const WeightStore& w) {
    const std::string fam = family_name(c.family) + ".";
    return w.contains(fam + "embeddings.cls_token") ? fam : "";
  }

  std::string prefix_;  // declared before the views that use it
  Vector zero_bias_;    // (C): the query/key/value bias when qkv_bias is false
  ConstMatrixMap cls_;       // (1, C)
  ConstMatrixMap position_;  // (S + th·tw, C)
  std::optional<ConstMatrixMap> dist_;  // (1, C), DeiT
  ConstMatrixMap patch_w_;   // (C, 3·p·p)
  ConstVectorMap patch_b_;   // (C)
  Norm final_norm_;
  std::vector<VitLayer> layers_;
  std::optional<Linear> classifier_, distillation_classifier_;  // (labels, C)
};

}  // namespace

std::unique_ptr<Model> make_vit_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new VitModel(config, weights));
}

}  // namespace attn
