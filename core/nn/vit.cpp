// ViT (Dosovitskiy et al. 2021) and DeiT (Touvron et al. 2021): a Conv2d patch embedding,
// [CLS] (+ DeiT's distillation token) and learned positions, pre-LayerNorm encoder blocks
// with exact GELU, a final LayerNorm and linear heads on the first token(s).
// Reference: Hugging Face's modeling_vit.py / modeling_deit.py.
#include <optional>

#include "image/bicubic.h"
#include "io/json_fields.h"
#include "model/family_table.h"
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
    if (c.num_prefix_tokens() == 2) dist_.emplace(w.matrix(prefix_ + "embeddings.distillation_token", 1, C));
    auto qkv = [&](const std::string& name) {
      if (c.qkv_bias) return bind_linear(w, name, C, C);
      return Linear{&w.packed(name + ".weight", C, C, /*transposed=*/true), ConstVectorMap(zero_bias_.data(), C)};
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
  void run(const Encoding&, ForwardPass&) const override {
    throw Error(name_ + " is an image model: run it on a picture");
  }

  void run_image(const PixelValues& px, ForwardPass& pass) const override {
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
    const int first = pass.embedded(x);

    for (int l = first; l < c.num_layers; ++l) {
      const VitLayer& L = layers_[l];
      const RowMatrix a = layer_norm(x, L.ln_before.gamma, L.ln_before.beta, c.layer_norm_eps);
      const RowMatrix ctx = pass.attention(l, L.query(a), L.key(a), L.value(a), /*causal=*/false);
      x += L.attn_out(ctx);
      RowMatrix h = L.ffn_in(layer_norm(x, L.ln_after.gamma, L.ln_after.beta, c.layer_norm_eps));
      activate(h, c.activation);
      x += L.ffn_out(h);
      pass.layer_done(l, x);  // HF: hidden states before the final LayerNorm
    }

    if (classifier_) {
      const RowMatrix first = layer_norm(x.topRows(S), final_norm_.gamma, final_norm_.beta, c.layer_norm_eps);
      RowMatrix logits = (*classifier_)(first.topRows(1));
      if (distillation_classifier_)  // DeiT with teacher: the mean of both heads
        logits = (logits + (*distillation_classifier_)(first.middleRows(1, 1))) * 0.5f;
      pass.set_label_logits(std::move(logits));
    }
  }

 private:
  // "vit." / "deit." for the task models, none for a bare ViTModel / DeiTModel.
  static std::string pick_prefix(const ModelConfig& c, const WeightStore& w) {
    const std::string fam = c.family + ".";
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

// A positive integer or a [height, width] pair (ViTConfig's image_size / patch_size).
void read_pair(const JsonFields& r, const char* key, int fallback, int& height, int& width) {
  if (!r.has(key)) {
    height = width = fallback;
    return;
  }
  const auto& v = r.json()[key];
  const auto side = [](const nlohmann::json& x) { return json_int(x, 1, 65536); };
  if (const auto s = side(v)) {
    height = width = int(*s);
  } else if (v.is_array() && v.size() == 2 && side(v[0]) && side(v[1])) {
    height = int(*side(v[0])), width = int(*side(v[1]));
  } else {
    r.fail(std::string("key '") + key + "' must be a positive integer or [height, width]");
  }
}

// ViTConfig / DeiTConfig (their defaults are those of ViT-Base/16 at 224 pixels).
void read_vision_config(const JsonFields& r, ModelConfig& c) {
  c.hidden_size = r.required_int({"hidden_size"});
  c.num_layers = r.required_int({"num_hidden_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"num_attention_heads"});
  c.intermediate_size = r.required_int({"intermediate_size"});
  c.layer_norm_eps = r.optional_float("layer_norm_eps", 1e-12f);
  c.activation = r.optional_string("hidden_act", "gelu");
  read_pair(r, "image_size", 224, c.image_height, c.image_width);
  int patch_h = 0, patch_w = 0;
  read_pair(r, "patch_size", 16, patch_h, patch_w);
  if (patch_h != patch_w) r.fail("patch_size must be square (got " + std::to_string(patch_h) + "x" + std::to_string(patch_w) + ")");
  c.patch_size = patch_h;
  if (c.image_height < c.patch_size || c.image_width < c.patch_size)
    r.fail("image_size is smaller than patch_size " + std::to_string(c.patch_size));
  c.num_channels = r.optional_int("num_channels", 3);
  if (c.num_channels != 3) r.fail("num_channels " + std::to_string(c.num_channels) + " is not supported (only RGB, 3)");
  c.qkv_bias = r.optional_bool("qkv_bias", c.qkv_bias);
  c.max_positions = c.num_prefix_tokens() + (c.image_height / c.patch_size) * (c.image_width / c.patch_size);
  c.vocab_size = 0;
}

std::unique_ptr<Model> make_vit_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new VitModel(config, weights));
}

}  // namespace

extern const FamilySpec kVitFamily{"vit", "vit", read_vision_config, make_vit_model,
                                   /*causal=*/false, /*vision=*/true, /*[CLS]*/ 1, "none (preprocessor_config.json)"};
extern const FamilySpec kDeitFamily{"deit", "deit", read_vision_config, make_vit_model,
                                    /*causal=*/false, /*vision=*/true, /*[CLS] [DIST]*/ 2, "none (preprocessor_config.json)"};

}  // namespace attn
