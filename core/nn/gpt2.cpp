// GPT-2: a pre-LayerNorm decoder with causal attention, Conv1D weights stored (in, out),
// tanh-approximated GELU and an output embedding tied to the input embedding.
// Reference: Hugging Face's modeling_gpt2.py.
#include "io/json_fields.h"
#include "model/family_table.h"
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
  void run(const Encoding& enc, ForwardPass& pass) const override {
    const ModelConfig& c = config_;
    const int N = int(enc.size()), C = c.hidden_size, past = pass.past();
    RowMatrix x(N, C);
    for (int i = 0; i < N; ++i) x.row(i) = wte_.row(enc.ids[i]) + wpe_.row(past + i);
    const int first = pass.embedded(x);

    for (int l = first; l < c.num_layers; ++l) {
      const Gpt2Block& B = blocks_[l];
      const RowMatrix a = layer_norm(x, B.ln_1.gamma, B.ln_1.beta, c.layer_norm_eps);
      const RowMatrix qkv = B.c_attn(a);  // (N, 3C): q | k | v
      const RowMatrix ctx = pass.attention(l, qkv.leftCols(C), qkv.middleCols(C, C), qkv.rightCols(C), /*causal=*/true);
      x += B.c_proj(ctx);
      RowMatrix h = B.c_fc(layer_norm(x, B.ln_2.gamma, B.ln_2.beta, c.layer_norm_eps));
      activate(h, c.activation);
      x += B.mlp_proj(h);
      pass.layer_done(l, x);
    }
    x = layer_norm(x, ln_f_.gamma, ln_f_.beta, c.layer_norm_eps);
    pass.final_norm_applied(x);
    pass.result().logits = matmul_transposed(pass.logits_input(x), lm_head_);
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

void read_gpt2_config(const JsonFields& r, ModelConfig& c) {
  c.hidden_size = r.required_int({"n_embd", "hidden_size"});
  c.num_layers = r.required_int({"n_layer", "num_hidden_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"n_head", "num_attention_heads"});
  c.intermediate_size = r.optional_int("n_inner", 0);
  if (c.intermediate_size == 0) c.intermediate_size = 4 * c.hidden_size;
  c.max_positions = r.required_int({"n_positions", "n_ctx", "max_position_embeddings"});
  c.layer_norm_eps = r.optional_float("layer_norm_epsilon", 1e-5f);
  c.activation = r.optional_string("activation_function", "gelu_new");
  if (!r.optional_bool("scale_attn_weights", true)) r.fail("scale_attn_weights = false is not supported");
  // GPT-2's output embedding is tied to its input embedding, so even a bare GPT2Model can
  // predict the next token.
  if (c.head == HeadKind::Base) c.head = HeadKind::CausalLM;
}

std::unique_ptr<Model> make_gpt2_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new Gpt2Model(config, weights));
}

}  // namespace

extern const FamilySpec kGpt2Family{"gpt2", "gpt2", read_gpt2_config, make_gpt2_model,
                                    /*causal=*/true, /*vision=*/false, 0, "byte-level BPE: tokenizer.json or vocab.json + merges.txt"};

}  // namespace attn
