// The Llama kind of decoder, as Hugging Face's *ForCausalLM of llama (Llama 2/3, TinyLlama,
// SmolLM), mistral, qwen2 (Qwen2, Qwen2.5), qwen3, gemma2, gemma3_text (and gemma3's text
// part) and phi3 (Phi-3, Phi-3.5, Phi-4-mini): pre-RMSNorm layers, rotary positions,
// grouped-query attention, a gated MLP (SwiGLU, or GeGLU for Gemma) and the families' extras —
// q/k/v biases (Qwen2), q/k norm per head (Qwen3, Gemma 3), sliding-window layers, Gemma's
// (1 + w) norms, sandwich norms, embedding scale, query_pre_attn_scalar and soft caps, Phi-3's
// fused qkv and gate_up projections, partial rotation and LongRoPE. Each choice follows the
// families' modeling files; tools/reference/llama.py is the PyTorch reference the golden tests
// hold this to.
#include <cmath>
#include <optional>

#include "io/json_fields.h"
#include "model/family_table.h"
#include "nn/families.h"
#include "nn/ops.h"
#include "nn/rope.h"
#include "util/error.h"

namespace attn {

namespace {

struct DecoderLayer {
  ConstVectorMap input_norm;
  Projection q, k, v, o;
  std::optional<ConstVectorMap> q_norm, k_norm;
  ConstVectorMap post_attention_norm;
  std::optional<ConstVectorMap> pre_ff_norm, post_ff_norm;  // Gemma's sandwich
  Projection gate, up, down;
};

class LlamaModel final : public Model {
 public:
  LlamaModel(const ModelConfig& c, WeightStore& w)
      : prefix_(weight_prefix(w)),
        embed_(w.stored(prefix_ + "embed_tokens.weight", c.vocab_size, c.hidden_size)),
        norm_(w.vector(prefix_ + "norm.weight", c.hidden_size)) {
    const DecoderSettings& s = c.decoder;
    const int C = c.hidden_size, I = c.intermediate_size, d = c.head_dim(), H = c.num_heads, KV = c.kv_heads();
    if (!is_known_activation(c.activation)) throw Error("config.json: unsupported hidden activation '" + c.activation + "'");
    for (int i = 0; i < c.num_layers; ++i) {
      const std::string p = prefix_ + "layers." + std::to_string(i) + ".";
      const std::string a = p + "self_attn.", m = p + "mlp.";
      std::optional<Projection> q, k, v, gate, up;  // (Projection's bias map cannot be reassigned)
      if (s.fused_projections) {  // Phi-3: q, k, v and gate, up are row blocks of one matrix each
        const StoredMatrix qkv = w.stored(a + "qkv_proj.weight", int64_t(H + 2 * KV) * d, C);
        q.emplace(Projection{qkv.middle_rows(0, int64_t(H) * d), std::nullopt});
        k.emplace(Projection{qkv.middle_rows(int64_t(H) * d, int64_t(KV) * d), std::nullopt});
        v.emplace(Projection{qkv.middle_rows(int64_t(H + KV) * d, int64_t(KV) * d), std::nullopt});
        const StoredMatrix gate_up = w.stored(m + "gate_up_proj.weight", 2 * int64_t(I), C);
        gate.emplace(Projection{gate_up.middle_rows(0, I), std::nullopt});
        up.emplace(Projection{gate_up.middle_rows(I, I), std::nullopt});
      } else {
        q.emplace(bind_projection(w, a + "q_proj", H * d, C, s.qkv_bias));
        k.emplace(bind_projection(w, a + "k_proj", KV * d, C, s.qkv_bias));
        v.emplace(bind_projection(w, a + "v_proj", KV * d, C, s.qkv_bias));
        gate.emplace(bind_projection(w, m + "gate_proj", I, C, s.mlp_bias));
        up.emplace(bind_projection(w, m + "up_proj", I, C, s.mlp_bias));
      }
      DecoderLayer L{w.vector(p + "input_layernorm.weight", C),
                     std::move(*q), std::move(*k), std::move(*v),
                     bind_projection(w, a + "o_proj", C, H * d, s.o_bias),
                     std::nullopt, std::nullopt,
                     w.vector(p + "post_attention_layernorm.weight", C),
                     std::nullopt, std::nullopt,
                     std::move(*gate), std::move(*up),
                     bind_projection(w, m + "down_proj", C, I, s.mlp_bias)};
      if (s.qk_norm) {
        L.q_norm.emplace(w.vector(a + "q_norm.weight", d));
        L.k_norm.emplace(w.vector(a + "k_norm.weight", d));
      }
      if (s.gemma) {
        L.pre_ff_norm.emplace(w.vector(p + "pre_feedforward_layernorm.weight", C));
        L.post_ff_norm.emplace(w.vector(p + "post_feedforward_layernorm.weight", C));
      }
      layers_.push_back(std::move(L));
    }
    // The output embedding: the input one when tied; else lm_head, which a bare *Model
    // folder (no head) lacks: it then gives no logits.
    const std::string head = prefix_ == "language_model.model." ? "language_model.lm_head.weight" : "lm_head.weight";
    if (s.tie_word_embeddings)
      lm_head_.emplace(embed_);
    else if (w.contains(head) || c.head == HeadKind::CausalLM)
      lm_head_.emplace(w.stored(head, c.vocab_size, C));
  }

 protected:
  // How the recorded Q/K came from the raw projections: the rotation's frequencies (as the run
  // builds its RopeTable) and the q/k norm gains, for the teaching mode to redo.
  void describe_recording(RecordingMeta& meta) const override {
    const ModelConfig& c = config_;
    const DecoderSettings& s = c.decoder;
    RotaryMeta& r = meta.rotary;
    const int N = meta.num_tokens;  // longrope's frequencies depend on the input's length
    r.inv_freq = RopeTable::inverse_frequencies(s.rope, c.head_dim(), c.max_positions, &r.attention_factor, N);
    if (separate_local_rope())
      r.local_inv_freq = RopeTable::inverse_frequencies(s.rope_local, c.head_dim(), c.max_positions, nullptr, N);
    if (!s.qk_norm) return;
    r.norm_eps = s.rms_norm_eps;
    r.norm_plus_one = s.gemma;
    for (int i = 0; i < meta.num_layers; ++i) {
      const DecoderLayer& L = layers_[size_t(meta.model_layer(i))];
      r.q_norm.emplace_back(L.q_norm->data(), L.q_norm->data() + L.q_norm->size());
      r.k_norm.emplace_back(L.k_norm->data(), L.k_norm->data() + L.k_norm->size());
    }
  }

  bool is_rotary() const override { return true; }

  // LongRoPE turns every position by factors chosen by the sequence's length: keys cached before
  // the length passes the pretrained context were turned by the other ones.
  bool cache_valid(int cached, int total) const override {
    const ModelConfig& c = config_;
    for (const RopeConfig* r : {&c.decoder.rope, &c.decoder.rope_local})
      if (RopeTable::inverse_frequencies(*r, c.head_dim(), c.max_positions, nullptr, cached) !=
          RopeTable::inverse_frequencies(*r, c.head_dim(), c.max_positions, nullptr, total))
        return false;
    return true;
  }

  void run(const Encoding& enc, ForwardPass& pass) const override {
    const ModelConfig& c = config_;
    const DecoderSettings& s = c.decoder;
    const int N = int(enc.size()), C = c.hidden_size, d = c.head_dim(), past = pass.past();
    const float eps = s.rms_norm_eps;
    RowMatrix x(N, C);
    for (int i = 0; i < N; ++i) embed_.row(enc.ids[i], x.row(i).data());
    if (s.gemma) x *= float(std::sqrt(double(C)));  // HF: hidden_size ** 0.5 in the hidden dtype
    const int first = pass.embedded(x);

    const RopeTable rope(s.rope, d, c.max_positions, past + N, past);
    std::optional<RopeTable> rope_local;
    if (separate_local_rope()) rope_local.emplace(s.rope_local, d, c.max_positions, past + N, past);

    for (int l = first; l < c.num_layers; ++l) {
      const DecoderLayer& L = layers_[size_t(l)];
      const RowMatrix a = rms_norm(x, L.input_norm, eps, s.gemma);
      RowMatrix q = L.q(a), k = L.k(a);
      const RowMatrix v = L.v(a);
      pass.raw_projections(l, q, k, c.kv_heads(), d);
      if (L.q_norm) {  // per head, before the rotation
        q = rms_norm(q, *L.q_norm, eps, s.gemma);
        k = rms_norm(k, *L.k_norm, eps, s.gemma);
      }
      const int window = c.window_of(l);
      const RopeTable& r = window > 0 && rope_local ? *rope_local : rope;
      r.apply(q);
      r.apply(k);
      AttentionSpec spec;
      spec.num_heads = c.num_heads;
      spec.num_kv_heads = c.kv_heads();
      spec.head_dim = d;
      spec.scale = s.attention_scale;
      spec.softcap = c.attn_softcap;
      spec.causal = true;
      spec.window = window;
      const RowMatrix attended = L.o(pass.attention(l, q, k, v, spec));
      if (s.gemma) {
        x += rms_norm(attended, L.post_attention_norm, eps, true);
        x += rms_norm(mlp(L, rms_norm(x, *L.pre_ff_norm, eps, true)), *L.post_ff_norm, eps, true);
      } else {
        x += attended;
        x += mlp(L, rms_norm(x, L.post_attention_norm, eps, false));
      }
      pass.layer_done(l, x);
    }
    x = rms_norm(x, norm_, eps, s.gemma);
    pass.final_norm_applied(x);
    if (!lm_head_) return;
    RowMatrix logits = lm_head_->times_transposed(pass.logits_input(x));
    if (s.final_softcap > 0) logits = ((logits.array() / s.final_softcap).tanh() * s.final_softcap).matrix();
    pass.result().logits = std::move(logits);
  }

 private:
  // Whether sliding-window layers turn by their own frequencies (Gemma 3's rope_local_base_freq).
  bool separate_local_rope() const {
    const DecoderSettings& s = config_.decoder;
    return s.rope_local.theta != s.rope.theta || s.rope_local.type != s.rope.type;
  }

  // down(act(gate(x)) · up(x))
  RowMatrix mlp(const DecoderLayer& L, const RowMatrix& x) const {
    RowMatrix g = L.gate(x);
    activate(g, config_.activation);
    g.array() *= L.up(x).array();
    return L.down(g);
  }

  // Where the decoder's tensors live: "model." (*ForCausalLM), "" (a bare *Model), or inside
  // a multimodal Gemma 3 checkpoint.
  static std::string weight_prefix(const WeightStore& w) {
    for (const char* p : {"model.", "", "model.language_model.", "language_model.model."})
      if (w.contains(std::string(p) + "embed_tokens.weight")) return p;
    return "model.";  // the missing-tensor message then names the usual place
  }

  std::string prefix_;
  StoredMatrix embed_;  // (vocab, C)
  ConstVectorMap norm_;
  std::optional<StoredMatrix> lm_head_;  // (vocab, C)
  std::vector<DecoderLayer> layers_;
};

// --- config.json ---------------------------------------------------------------------------

// A number key that is absent (the family's default), null (switched off: 0) or a number.
float nullable_float(const JsonFields& r, const char* key, float fallback) {
  if (!r.json().contains(key)) return fallback;
  if (r.json()[key].is_null()) return 0.0f;
  const float v = r.optional_float(key, fallback);
  if (v < 0) r.fail(std::string("key '") + key + "' must not be negative");
  return v;
}

// `key` of a longrope object: a list of numbers (their count is checked once the head size is known).
std::vector<float> float_list(const JsonFields& r, const char* key) {
  if (!r.has(key) || !r.json()[key].is_array()) r.fail(std::string("longrope needs '") + key + "', a list of numbers");
  std::vector<float> out;
  for (const nlohmann::json& v : r.json()[key]) {
    const auto f = json_float(v);
    if (!f || !(*f > 0)) r.fail(std::string("'") + key + "' must hold positive numbers");
    out.push_back(*f);
  }
  return out;
}

// One rope_scaling (v4) or rope_parameters (v5) object; null or absent keeps `rope`'s type.
void read_rope_object(const nlohmann::json& o, const std::string& source, const std::string& model_type, RopeConfig& rope) {
  if (o.is_null()) return;
  const JsonFields r(o, source);
  if (!o.is_object()) r.fail("must be an object");
  rope.type = r.optional_string("rope_type", r.optional_string("type", "default"));
  // Phi3Config reads the old names "su" and "yarn" as longrope.
  if (model_type == "phi3" && (rope.type == "su" || rope.type == "yarn")) rope.type = "longrope";
  if (r.has("partial_rotary_factor")) rope.partial_rotary_factor = r.optional_number("partial_rotary_factor", 1.0);
  if (rope.type == "default") return;
  if (rope.type == "longrope") {
    rope.short_factor = float_list(r, "short_factor");
    rope.long_factor = float_list(r, "long_factor");
    rope.attention_factor = r.has("attention_factor") ? r.optional_number("attention_factor", 1.0) : -1.0;
    if (r.has("attention_factor") && !(rope.attention_factor > 0)) r.fail("attention_factor must be positive");
    rope.factor = r.optional_number("factor", 1.0);
    return;
  }
  if (model_type == "phi3") r.fail("phi3 takes default or longrope rotary scaling, not '" + rope.type + "'");
  if (rope.type != "linear" && rope.type != "llama3" && rope.type != "yarn")
    r.fail("rope type '" + rope.type + "' is not supported (supported: default, linear, llama3, yarn, longrope)");
  rope.factor = r.optional_number("factor", 0.0);
  if (!(rope.factor >= 1.0) && !(rope.type == "yarn" && rope.factor == 0.0)) r.fail("factor must be at least 1");
  rope.original_max_positions = r.optional_int("original_max_position_embeddings", 0, 0, 1 << 30);
  if (rope.type == "llama3") {
    rope.low_freq_factor = r.optional_number("low_freq_factor", 1.0);
    rope.high_freq_factor = r.optional_number("high_freq_factor", 4.0);
    if (rope.original_max_positions == 0) r.fail("llama3 rope scaling needs original_max_position_embeddings");
    if (!(rope.high_freq_factor > rope.low_freq_factor) || !(rope.low_freq_factor > 0))
      r.fail("llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor");
  }
  if (rope.type == "yarn") {
    rope.attention_factor = r.has("attention_factor") ? r.optional_number("attention_factor", 1.0) : -1.0;
    rope.beta_fast = r.optional_number("beta_fast", 32.0);
    rope.beta_slow = r.optional_number("beta_slow", 1.0);
    rope.mscale = r.optional_number("mscale", 0.0);
    rope.mscale_all_dim = r.optional_number("mscale_all_dim", 0.0);
    rope.truncate = r.optional_bool("truncate", true);
    if (rope.factor == 0.0 && rope.original_max_positions == 0) r.fail("yarn rope scaling needs factor");
    if (!(rope.beta_fast > 0) || !(rope.beta_slow > 0)) r.fail("yarn beta_fast and beta_slow must be positive");
  }
}

// LongRoPE's context lengths (_compute_longrope_parameters): a config that names its pretrained
// length (original_max_position_embeddings beside max_position_embeddings; Phi3Config's default
// 4096) takes factor = max / original; else the original length is max_position_embeddings.
void finish_longrope(const JsonFields& r, const std::string& model_type, int max_positions, int head_dim, RopeConfig& rope) {
  if (rope.type != "longrope") return;
  const int original = r.has("original_max_position_embeddings")
                           ? r.optional_int("original_max_position_embeddings", 0, 1, 1 << 30)
                           : model_type == "phi3" ? 4096 : 0;
  if (original > 0) {
    rope.original_max_positions = original;
    rope.factor = double(max_positions) / original;
  } else {
    rope.original_max_positions = max_positions;
  }
  const size_t pairs = size_t(rope.rotary_dim(head_dim) / 2);
  if (rope.short_factor.size() != pairs || rope.long_factor.size() != pairs)
    r.fail("longrope's short_factor and long_factor must hold " + std::to_string(pairs) + " numbers each (half the rotated channels), not " +
           std::to_string(rope.short_factor.size()) + " and " + std::to_string(rope.long_factor.size()));
}

// The rotary settings of full layers and of sliding ones (Gemma 3's rope_local_base_freq),
// from v4's rope_theta / rope_scaling or v5's rope_parameters.
void read_rope(const JsonFields& r, const std::string& model_type, double default_theta, int max_positions, int head_dim,
               DecoderSettings& s) {
  const std::string where = r.source();
  const double partial = r.optional_number("partial_rotary_factor", 1.0);
  if (r.has("rope_parameters")) {
    const nlohmann::json& p = r.json()["rope_parameters"];
    const bool per_type = p.is_object() && (p.contains("full_attention") || p.contains("sliding_attention"));
    const nlohmann::json& full = per_type && p.contains("full_attention") ? p["full_attention"] : p;
    const nlohmann::json& local = per_type && p.contains("sliding_attention") ? p["sliding_attention"] : full;
    for (auto [o, rope] : {std::pair{&full, &s.rope}, {&local, &s.rope_local}}) {
      const JsonFields f(*o, where + " rope_parameters");
      if (!o->is_object()) f.fail("must be an object");
      rope->theta = f.optional_number("rope_theta", default_theta);
      rope->partial_rotary_factor = partial;
      read_rope_object(*o, where + " rope_parameters", model_type, *rope);
    }
  } else {
    s.rope.theta = r.optional_number("rope_theta", default_theta);
    s.rope.partial_rotary_factor = partial;
    if (r.has("rope_scaling")) read_rope_object(r.json()["rope_scaling"], where + " rope_scaling", model_type, s.rope);
    s.rope_local = s.rope;
    if (model_type == "gemma3_text") {  // sliding layers: their own base, never scaled
      s.rope_local = RopeConfig{};
      s.rope_local.theta = r.optional_number("rope_local_base_freq", 10000.0);
    }
  }
  for (RopeConfig* rope : {&s.rope, &s.rope_local}) {
    if (!(rope->theta > 1.0)) r.fail("rope_theta must be greater than 1");
    if (rope->partial_rotary_factor != 1.0 && model_type != "phi3")
      r.fail(model_type + " rotates whole heads; partial_rotary_factor must be 1");
    const int turned = rope->rotary_dim(head_dim);
    if (rope->partial_rotary_factor == 1.0 && head_dim % 2 != 0)
      r.fail("head_dim " + std::to_string(head_dim) + " must be even for rotary embeddings");
    if (!(rope->partial_rotary_factor > 0 && rope->partial_rotary_factor <= 1) || turned < 2 || turned % 2 != 0)
      r.fail("partial_rotary_factor " + nlohmann::json(rope->partial_rotary_factor).dump() + " must turn an even number of head_dim " +
             std::to_string(head_dim) + "'s channels (it turns " + std::to_string(turned) + ")");
    finish_longrope(r, model_type, max_positions, head_dim, *rope);
  }
}

// Which layers slide, and their window, as each family's configuration class resolves it.
std::vector<int> read_windows(const JsonFields& r, const std::string& mt, int layers) {
  int window = r.has("sliding_window") ? r.optional_int("sliding_window", 0, 1, 1 << 30) : 0;
  if ((mt == "qwen2" || mt == "qwen3") && !r.optional_bool("use_sliding_window", false)) window = 0;
  if (mt == "gemma2" || mt == "gemma3_text") {
    if (!r.json().contains("sliding_window")) window = 4096;  // the configs' default
  }
  std::vector<bool> slides(size_t(layers), false);
  if (r.has("layer_types")) {
    const nlohmann::json& t = r.json()["layer_types"];
    if (!t.is_array() || int(t.size()) != layers) r.fail("layer_types must list num_hidden_layers entries");
    for (int i = 0; i < layers; ++i) {
      const nlohmann::json& e = t[size_t(i)];
      if (e == "sliding_attention") slides[size_t(i)] = true;
      else if (e != "full_attention") r.fail("layer_types[" + std::to_string(i) + "] must be \"full_attention\" or \"sliding_attention\"");
    }
  } else if (mt == "mistral" || mt == "phi3") {  // every layer, when the config gives a window
    slides.assign(size_t(layers), window > 0);
  } else if (mt == "qwen2" || mt == "qwen3") {
    const int first_sliding = r.optional_int("max_window_layers", 28, 0, 1 << 30);
    for (int i = 0; i < layers; ++i) slides[size_t(i)] = window > 0 && i >= first_sliding;
  } else if (mt == "gemma2") {
    for (int i = 0; i < layers; ++i) slides[size_t(i)] = i % 2 == 0;
  } else if (mt == "gemma3_text") {
    const int pattern = r.optional_int("sliding_window_pattern", 6, 1, 1 << 20);
    for (int i = 0; i < layers; ++i) slides[size_t(i)] = (i + 1) % pattern != 0;
  }
  std::vector<int> windows(size_t(layers), 0);
  bool any = false;
  for (int i = 0; i < layers; ++i) {
    if (!slides[size_t(i)]) continue;
    if (window == 0) r.fail("layer " + std::to_string(i) + " is a sliding-window layer but the config gives no sliding_window");
    windows[size_t(i)] = window;
    any = true;
  }
  if (!any) windows.clear();
  return windows;
}

void read_decoder_config(const JsonFields& r, ModelConfig& c, const std::string& mt) {
  const bool gemma = mt == "gemma2" || mt == "gemma3_text";
  c.hidden_size = r.required_int({"hidden_size"});
  c.num_layers = r.required_int({"num_hidden_layers"}, 1, kMaxLayers);
  c.num_heads = r.required_int({"num_attention_heads"});
  c.num_kv_heads = r.optional_int("num_key_value_heads", c.num_heads, 1, 1 << 20);
  if (c.num_heads % c.num_kv_heads != 0)
    r.fail("num_attention_heads " + std::to_string(c.num_heads) + " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  c.intermediate_size = r.required_int({"intermediate_size"});
  c.max_positions = r.required_int({"max_position_embeddings"});
  c.vocab_size = r.required_int({"vocab_size"});
  if (r.has("head_dim")) c.explicit_head_dim = r.optional_int("head_dim", 0, 2, 1 << 16);
  if (gemma) {
    c.activation = r.optional_string("hidden_activation", r.optional_string("hidden_act", "gelu_pytorch_tanh"));
  } else {
    c.activation = r.optional_string("hidden_act", "silu");
  }
  if (r.optional_bool("use_bidirectional_attention", false)) r.fail("use_bidirectional_attention (EmbeddingGemma) is not supported");

  DecoderSettings& s = c.decoder;
  s.gemma = gemma;
  s.rms_norm_eps = r.optional_float("rms_norm_eps", mt == "phi3" ? 1e-5f : 1e-6f);
  if (!(s.rms_norm_eps >= 0)) r.fail("rms_norm_eps must not be negative");
  s.qk_norm = mt == "qwen3" || mt == "gemma3_text";
  const bool attention_bias = r.optional_bool("attention_bias", false);
  if (mt == "qwen2") {
    s.qkv_bias = true;
  } else if (mt == "phi3") {
    s.fused_projections = true;
  } else if (mt != "mistral") {
    s.qkv_bias = s.o_bias = attention_bias;
  }
  if (mt == "llama") s.mlp_bias = r.optional_bool("mlp_bias", false);
  s.tie_word_embeddings = r.optional_bool("tie_word_embeddings", gemma);
  if (gemma) {
    const float scalar = r.optional_float("query_pre_attn_scalar", 256.0f);
    if (!(scalar > 0)) r.fail("query_pre_attn_scalar must be positive");
    s.attention_scale = 1.0f / std::sqrt(scalar);
  }
  if (mt == "gemma2") {
    c.attn_softcap = nullable_float(r, "attn_logit_softcapping", 50.0f);
    s.final_softcap = nullable_float(r, "final_logit_softcapping", 30.0f);
  } else if (mt == "gemma3_text") {
    s.final_softcap = nullable_float(r, "final_logit_softcapping", 0.0f);  // Gemma 3 never caps attention
  }
  read_rope(r, mt, mt == "gemma3_text" ? 1000000.0 : 10000.0, c.max_positions, c.head_dim(), s);
  c.layer_windows = read_windows(r, mt, c.num_layers);
  // Decoders predict the next token: even a bare *Model can, with a tied embedding.
  if (c.head == HeadKind::Base && s.tie_word_embeddings) c.head = HeadKind::CausalLM;
}

void read_llama_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "llama"); }
void read_mistral_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "mistral"); }
void read_qwen2_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "qwen2"); }
void read_qwen3_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "qwen3"); }
void read_gemma2_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "gemma2"); }
void read_gemma3_text_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "gemma3_text"); }
void read_phi3_config(const JsonFields& r, ModelConfig& c) { read_decoder_config(r, c, "phi3"); }

// gemma3 (Gemma3ForConditionalGeneration): the text model's keys are in text_config. Only the
// text part runs (its tensors under model.language_model. or language_model.model.).
void read_gemma3_config(const JsonFields& r, ModelConfig& c) {
  if (!r.has("text_config") || !r.json()["text_config"].is_object()) r.fail("gemma3 needs a text_config object");
  nlohmann::json text = r.json()["text_config"];
  // Hugging Face leaves out the keys that keep Gemma3TextConfig's defaults.
  const std::pair<const char*, nlohmann::json> defaults[] = {
      {"vocab_size", 262208}, {"hidden_size", 2304}, {"intermediate_size", 9216}, {"num_hidden_layers", 26},
      {"num_attention_heads", 8}, {"num_key_value_heads", 4}, {"head_dim", 256}, {"max_position_embeddings", 131072},
      {"query_pre_attn_scalar", 256}, {"sliding_window", 4096}};
  for (const auto& [key, value] : defaults)
    if (!text.contains(key)) text[key] = value;
  read_decoder_config(JsonFields(text, r.source() + " text_config"), c, "gemma3_text");
  if (c.head == HeadKind::Base) c.head = HeadKind::CausalLM;
}

std::unique_ptr<Model> make_llama_model(const ModelConfig& config, WeightStore& weights) {
  return std::unique_ptr<Model>(new LlamaModel(config, weights));
}

constexpr const char* kDecoderTokenizer = "tokenizer.json: byte-level BPE (Llama 3, Qwen) or SentencePiece-style BPE (Llama 2, Mistral, Gemma)";

}  // namespace

extern const FamilySpec kLlamaFamily{"llama", "llama", read_llama_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kMistralFamily{"mistral", "mistral", read_mistral_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kQwen2Family{"qwen2", "qwen2", read_qwen2_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kQwen3Family{"qwen3", "qwen3", read_qwen3_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kGemma2Family{"gemma2", "gemma2", read_gemma2_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kGemma3TextFamily{"gemma3_text", "gemma3", read_gemma3_text_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kGemma3Family{"gemma3", "gemma3", read_gemma3_config, make_llama_model, true, false, 0, kDecoderTokenizer};
extern const FamilySpec kPhi3Family{"phi3", "phi3", read_phi3_config, make_llama_model, true, false, 0, kDecoderTokenizer};

}  // namespace attn
