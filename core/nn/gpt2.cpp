// GPT-2: a pre-LayerNorm decoder with causal attention, Conv1D weights stored (in, out),
// tanh-approximated GELU and an output embedding tied to the input embedding.
// Reference: Hugging Face's modeling_gpt2.py.
#include "nn/attention.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "util/error.h"

namespace attn {

namespace {

struct Gpt2Block {
  Norm ln_1;
  Linear c_attn;  // (C, 3C)
  Linear c_proj;  // (C, C)
  Norm ln_2;
  Linear c_fc;    // (C, I)
  Linear mlp_proj;  // (I, C)
};

class Gpt2Model final : public Model {
 public:
  Gpt2Model(const ModelConfig& c, WeightStore& w)
      : wte_(bind_wte(c, w)),
        wpe_(w.matrix(prefix_ + "wpe.weight", c.max_positions, c.hidden_size)),
        ln_f_(bind_norm(w, prefix_ + "ln_f", c.hidden_size)),
        lm_head_(w.contains("lm_head.weight") ? w.matrix("lm_head.weight", c.vocab_size, c.hidden_size) : wte_) {
    const int C = c.hidden_size, I = c.intermediate_size;
    if (!is_known_activation(c.activation)) throw Error("config.json: unsupported activation_function '" + c.activation + "'");
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix_ + "h." + std::to_string(i) + ".";
      blocks_.push_back(Gpt2Block{bind_norm(w, p + "ln_1", C), bind_conv1d(w, p + "attn.c_attn", C, 3 * C),
                                  bind_conv1d(w, p + "attn.c_proj", C, C), bind_norm(w, p + "ln_2", C),
                                  bind_conv1d(w, p + "mlp.c_fc", C, I), bind_conv1d(w, p + "mlp.c_proj", I, C)});
    }
  }

 protected:
  void run(const Encoding& enc, const RunOptions& opt, ForwardResult& result) const override {
    const ModelConfig& c = config_;
    const int N = int(enc.size()), C = c.hidden_size;
    RowMatrix x(N, C);
    for (int i = 0; i < N; ++i) x.row(i) = wte_.row(enc.ids[i]) + wpe_.row(i);
    if (opt.record_hidden) result.hidden.push_back(x);

    for (int l = 0; l < c.num_layers; ++l) {
      const Gpt2Block& B = blocks_[l];
      const RowMatrix a = layer_norm(x, B.ln_1.gamma, B.ln_1.beta, c.layer_norm_eps);
      const RowMatrix qkv = conv1d(a, B.c_attn.w, B.c_attn.b);  // (N, 3C): q | k | v
      const LayerCapture capture = capture_for(result.recording.get(), l, opt.layers, opt.disabled_heads);
      const RowMatrix ctx = multi_head_attention(qkv.leftCols(C), qkv.middleCols(C, C), qkv.rightCols(C), c.num_heads,
                                                 /*causal=*/true, capture);
      x += conv1d(ctx, B.c_proj.w, B.c_proj.b);
      RowMatrix h = conv1d(layer_norm(x, B.ln_2.gamma, B.ln_2.beta, c.layer_norm_eps), B.c_fc.w, B.c_fc.b);
      activate(h, c.activation);
      x += conv1d(h, B.mlp_proj.w, B.mlp_proj.b);
      // Hugging Face reports the last layer's hidden state after ln_f instead.
      if (opt.record_hidden && l + 1 < c.num_layers) result.hidden.push_back(x);
      report_progress(opt.progress, double(l + 1) / c.num_layers, "layer " + std::to_string(l));
    }
    x = layer_norm(x, ln_f_.gamma, ln_f_.beta, c.layer_norm_eps);
    if (opt.record_hidden) result.hidden.push_back(x);

    std::vector<int> rows = opt.logits_rows;
    if (opt.all_logits) {
      rows.resize(N);
      for (int i = 0; i < N; ++i) rows[i] = i;
    }
    RowMatrix sel(rows.size(), C);
    for (size_t r = 0; r < rows.size(); ++r) sel.row(r) = x.row(rows[r]);
    result.logits = sel * lm_head_.transpose();
    result.logits_rows = rows;
  }

 private:
  ConstMatrixMap bind_wte(const ModelConfig& c, WeightStore& w) {
    prefix_ = w.contains("transformer.wte.weight") ? "transformer." : "";
    return w.matrix(prefix_ + "wte.weight", c.vocab_size, c.hidden_size);
  }

  std::string prefix_;
  ConstMatrixMap wte_;  // (vocab, C)
  ConstMatrixMap wpe_;  // (positions, C)
  Norm ln_f_;
  ConstMatrixMap lm_head_;  // (vocab, C), tied to wte_ unless stored
  std::vector<Gpt2Block> blocks_;
};

}  // namespace

std::unique_ptr<Model> make_gpt2_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new Gpt2Model(config, weights));
}

}  // namespace attn
