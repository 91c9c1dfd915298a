#pragma once
// Random-weight models in the Hugging Face folder layout, for benchmarks: config.json,
// model.safetensors (F32, or BF16 for the Llama shape, as Llama 3.2 ships) and a tokenizer
// the engine loads (vocab.txt for BERT; vocab.json + merges.txt for GPT-2 and Llama). The
// tokens are synthetic; benchmarks feed ids directly.
#include <cstdint>
#include <filesystem>
#include <string>

#include "io/safetensors.h"

namespace attn::bench {

enum class Family { Bert, Gpt2, Llama };

struct ModelShape {
  std::string name;  // "bert-base", "gpt2-small", "llama-1b"
  Family family = Family::Bert;
  int layers = 12, heads = 12, hidden = 768, intermediate = 3072;
  int vocab = 30522, positions = 512;
  int kv_heads = 0;  // Llama: grouped key/value heads (0: as many as query heads)
  int head_dim = 0;  // Llama: 0 = hidden / heads
  DType dtype = DType::F32;  // of the stored weights: F32, or BF16 (Llama)

  // Decoders predict from the last token; BERT from a mask in the middle.
  bool causal() const { return family != Family::Bert; }
};

// BERT-base (BertForMaskedLM) and GPT-2 small (GPT2LMHeadModel) shapes.
ModelShape bert_base();
ModelShape gpt2_small();
// Llama 3.2 1B (LlamaForCausalLM): 16 layers, 32 query heads sharing 8 key/value heads,
// hidden 2048, FFN 8192, head_dim 64, vocabulary 128,256 tied to the output, BF16 weights:
// 1.24 B parameters, a 2.5 GB file.
ModelShape llama_1b();

// Writes a model of `shape` into `dir` (created). Weights are uniform in ±0.05 (LayerNorm /
// RMSNorm weights 1, biases 0), drawn from a generator seeded with `seed`. Throws attn::Error.
void write_random_model(const ModelShape& shape, const std::filesystem::path& dir, uint64_t seed = 1);

}  // namespace attn::bench
