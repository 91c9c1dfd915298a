#include "random_model.h"

#include <cstring>
#include <fstream>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "tokenize/bpe.h"
#include "tokenize/unicode.h"
#include "util/error.h"
#include "util/half.h"

namespace attn::bench {

namespace fs = std::filesystem;
using nlohmann::json;

ModelShape bert_base() { return ModelShape{"bert-base", Family::Bert, 12, 12, 768, 3072, 30522, 512}; }
ModelShape gpt2_small() { return ModelShape{"gpt2-small", Family::Gpt2, 12, 12, 768, 3072, 50257, 1024}; }
ModelShape llama_1b() {
  return ModelShape{"llama-1b", Family::Llama, 16, 32, 2048, 8192, 128256, 131072, /*kv_heads=*/8, /*head_dim=*/64, DType::BF16};
}

namespace {

enum class Init { Random, Ones, Zeros };

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  Init init = Init::Random;
};

// splitmix64: fast, and good enough for weights nobody reads.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform(float a) { return (float(next() >> 40) / float(1 << 24) * 2.0f - 1.0f) * a; }
};

void add_norm(std::vector<Spec>& s, const std::string& name, int64_t n) {
  s.push_back({name + ".weight", {n}, Init::Ones});
  s.push_back({name + ".bias", {n}, Init::Zeros});
}

std::vector<Spec> bert_specs(const ModelShape& m) {
  const int64_t C = m.hidden, I = m.intermediate;
  std::vector<Spec> s;
  // nn.Linear weight (out, in) with bias (out).
  auto linear = [&](const std::string& name, int64_t out, int64_t in) {
    s.push_back({name + ".weight", {out, in}});
    s.push_back({name + ".bias", {out}});
  };
  s.push_back({"bert.embeddings.word_embeddings.weight", {m.vocab, C}});
  s.push_back({"bert.embeddings.position_embeddings.weight", {m.positions, C}});
  s.push_back({"bert.embeddings.token_type_embeddings.weight", {2, C}});
  add_norm(s, "bert.embeddings.LayerNorm", C);
  for (int l = 0; l < m.layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    linear(p + "attention.self.query", C, C);
    linear(p + "attention.self.key", C, C);
    linear(p + "attention.self.value", C, C);
    linear(p + "attention.output.dense", C, C);
    add_norm(s, p + "attention.output.LayerNorm", C);
    linear(p + "intermediate.dense", I, C);
    linear(p + "output.dense", C, I);
    add_norm(s, p + "output.LayerNorm", C);
  }
  linear("cls.predictions.transform.dense", C, C);
  add_norm(s, "cls.predictions.transform.LayerNorm", C);
  s.push_back({"cls.predictions.bias", {m.vocab}, Init::Zeros});  // decoder tied to word embeddings
  return s;
}

std::vector<Spec> gpt2_specs(const ModelShape& m) {
  const int64_t C = m.hidden, I = m.intermediate;
  std::vector<Spec> s;
  // Conv1D weight (in, out) with bias (out).
  auto conv1d = [&](const std::string& name, int64_t in, int64_t out) {
    s.push_back({name + ".weight", {in, out}});
    s.push_back({name + ".bias", {out}});
  };
  s.push_back({"transformer.wte.weight", {m.vocab, C}});
  s.push_back({"transformer.wpe.weight", {m.positions, C}});
  for (int l = 0; l < m.layers; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    add_norm(s, p + "ln_1", C);
    conv1d(p + "attn.c_attn", C, 3 * C);
    conv1d(p + "attn.c_proj", C, C);
    add_norm(s, p + "ln_2", C);
    conv1d(p + "mlp.c_fc", C, I);
    conv1d(p + "mlp.c_proj", I, C);
  }
  add_norm(s, "transformer.ln_f", C);
  return s;  // lm_head tied to wte
}

// LlamaForCausalLM's names; the output embedding is tied to embed_tokens (no lm_head).
std::vector<Spec> llama_specs(const ModelShape& m) {
  const int64_t C = m.hidden, I = m.intermediate, d = m.head_dim > 0 ? m.head_dim : m.hidden / m.heads;
  const int64_t H = m.heads, KV = m.kv_heads > 0 ? m.kv_heads : m.heads;
  std::vector<Spec> s;
  // nn.Linear weight (out, in), no biases.
  auto linear = [&](const std::string& name, int64_t out, int64_t in) { s.push_back({name + ".weight", {out, in}}); };
  s.push_back({"model.embed_tokens.weight", {m.vocab, C}});
  for (int l = 0; l < m.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    s.push_back({p + "input_layernorm.weight", {C}, Init::Ones});
    linear(p + "self_attn.q_proj", H * d, C);
    linear(p + "self_attn.k_proj", KV * d, C);
    linear(p + "self_attn.v_proj", KV * d, C);
    linear(p + "self_attn.o_proj", C, H * d);
    s.push_back({p + "post_attention_layernorm.weight", {C}, Init::Ones});
    linear(p + "mlp.gate_proj", I, C);
    linear(p + "mlp.up_proj", I, C);
    linear(p + "mlp.down_proj", C, I);
  }
  s.push_back({"model.norm.weight", {C}, Init::Ones});
  return s;
}

json bert_config(const ModelShape& m) {
  return {{"architectures", {"BertForMaskedLM"}},
          {"model_type", "bert"},
          {"hidden_act", "gelu"},
          {"hidden_size", m.hidden},
          {"intermediate_size", m.intermediate},
          {"layer_norm_eps", 1e-12},
          {"max_position_embeddings", m.positions},
          {"num_attention_heads", m.heads},
          {"num_hidden_layers", m.layers},
          {"pad_token_id", 0},
          {"position_embedding_type", "absolute"},
          {"torch_dtype", "float32"},
          {"type_vocab_size", 2},
          {"vocab_size", m.vocab}};
}

json gpt2_config(const ModelShape& m) {
  return {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"activation_function", "gelu_new"},
          {"bos_token_id", m.vocab - 1},
          {"eos_token_id", m.vocab - 1},
          {"layer_norm_epsilon", 1e-5},
          {"n_ctx", m.positions},
          {"n_embd", m.hidden},
          {"n_head", m.heads},
          {"n_inner", nullptr},
          {"n_layer", m.layers},
          {"n_positions", m.positions},
          {"torch_dtype", "float32"},
          {"vocab_size", m.vocab}};
}

// Llama 3.2 1B's config.json with the shape's numbers (its llama3 rope scaling included).
json llama_config(const ModelShape& m) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"attention_bias", false},
          {"bos_token_id", m.vocab - 1},
          {"eos_token_id", m.vocab - 1},
          {"head_dim", m.head_dim > 0 ? m.head_dim : m.hidden / m.heads},
          {"hidden_act", "silu"},
          {"hidden_size", m.hidden},
          {"intermediate_size", m.intermediate},
          {"max_position_embeddings", m.positions},
          {"mlp_bias", false},
          {"num_attention_heads", m.heads},
          {"num_hidden_layers", m.layers},
          {"num_key_value_heads", m.kv_heads > 0 ? m.kv_heads : m.heads},
          {"rms_norm_eps", 1e-5},
          {"rope_scaling",
           {{"factor", 32.0}, {"high_freq_factor", 4.0}, {"low_freq_factor", 1.0},
            {"original_max_position_embeddings", 8192}, {"rope_type", "llama3"}}},
          {"rope_theta", 500000.0},
          {"tie_word_embeddings", true},
          {"torch_dtype", m.dtype == DType::BF16 ? "bfloat16" : "float32"},
          {"vocab_size", m.vocab}};
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write the file");
}

// vocab.txt: BERT's special tokens at their usual ids, synthetic tokens elsewhere.
void write_wordpiece_vocab(const ModelShape& m, const fs::path& dir) {
  std::string text;
  for (int i = 0; i < m.vocab; ++i) {
    if (i == 0) text += "[PAD]";
    else if (i == 100) text += "[UNK]";
    else if (i == 101) text += "[CLS]";
    else if (i == 102) text += "[SEP]";
    else if (i == 103) text += "[MASK]";
    else text += (i % 2 ? "##t" : "t") + std::to_string(i);
    text += '\n';
  }
  write_text(dir / "vocab.txt", text);
}

// vocab.json + merges.txt: the 256 byte symbols, then one merge per further id and
// <|endoftext|> last. The first 65,536 merges join two byte symbols (GPT-2 has 50,000);
// the next ones join such a pair with a third byte (Llama 3 has 128,256 ids).
void write_bpe_vocab(const ModelShape& m, const fs::path& dir) {
  std::vector<std::string> bytes(256);
  for (int b = 0; b < 256; ++b) unicode::append_utf8(bytes[b], byte_to_unicode(uint8_t(b)));
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[bytes[b]] = b;
  std::string merges = "#version: 0.2\n";
  const int num_merges = m.vocab - 256 - 1;
  if (num_merges > 2 * 256 * 256) throw Error("a synthetic BPE vocabulary holds at most 131,329 ids");
  for (int k = 0; k < num_merges; ++k) {
    const int j = k % (256 * 256);
    const std::string pair = bytes[j / 256] + bytes[j % 256];
    const std::string a = k < 256 * 256 ? bytes[j / 256] : pair;
    const std::string& b = bytes[j % 256];
    vocab[a + b] = 256 + k;
    merges += a + " " + b + "\n";
  }
  vocab["<|endoftext|>"] = m.vocab - 1;
  write_text(dir / "vocab.json", vocab.dump());
  write_text(dir / "merges.txt", merges);
}

}  // namespace

void write_random_model(const ModelShape& shape, const fs::path& dir, uint64_t seed) {
  fs::create_directories(dir);
  if (shape.dtype != DType::F32 && shape.dtype != DType::BF16) throw Error("random models are F32 or BF16");
  const bool bf16 = shape.dtype == DType::BF16;
  const std::vector<Spec> specs = shape.family == Family::Bert   ? bert_specs(shape)
                                  : shape.family == Family::Gpt2 ? gpt2_specs(shape)
                                                                 : llama_specs(shape);
  std::vector<std::vector<std::byte>> storage;  // every tensor's bytes, as written
  std::vector<TensorToWrite> tensors;
  storage.reserve(specs.size());
  Rng rng{seed};
  for (const Spec& s : specs) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    std::vector<std::byte>& bytes = storage.emplace_back(size_t(n) * (bf16 ? 2 : 4));
    for (int64_t i = 0; i < n; ++i) {
      const float x = s.init == Init::Ones ? 1.0f : s.init == Init::Zeros ? 0.0f : rng.uniform(0.05f);
      if (bf16) {
        const uint16_t b = float_to_bf16(x);
        std::memcpy(bytes.data() + 2 * i, &b, 2);
      } else {
        std::memcpy(bytes.data() + 4 * i, &x, 4);
      }
    }
    tensors.push_back({s.name, shape.dtype, s.shape, std::span<const std::byte>(bytes)});
  }
  write_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  const json config = shape.family == Family::Bert   ? bert_config(shape)
                      : shape.family == Family::Gpt2 ? gpt2_config(shape)
                                                     : llama_config(shape);
  write_text(dir / "config.json", config.dump(2));
  if (shape.family == Family::Bert)
    write_wordpiece_vocab(shape, dir);
  else
    write_bpe_vocab(shape, dir);
}

}  // namespace attn::bench
