#pragma once
// Random-weight models in the Hugging Face folder layout, for benchmarks: config.json,
// model.safetensors (F32) and a tokenizer the engine loads (vocab.txt for BERT; vocab.json +
// merges.txt for GPT-2). The tokens are synthetic; benchmarks feed ids directly.
#include <cstdint>
#include <filesystem>
#include <string>

namespace attn::bench {

struct ModelShape {
  std::string name;  // "bert-base", "gpt2-small"
  bool gpt2 = false;
  int layers = 12, heads = 12, hidden = 768, intermediate = 3072;
  int vocab = 30522, positions = 512;
};

// BERT-base (BertForMaskedLM) and GPT-2 small (GPT2LMHeadModel) shapes.
ModelShape bert_base();
ModelShape gpt2_small();

// Writes a model of `shape` into `dir` (created). Weights are uniform in ±0.05 (LayerNorm
// weights 1, biases 0), drawn from a generator seeded with `seed`. Throws attn::Error.
void write_random_model(const ModelShape& shape, const std::filesystem::path& dir, uint64_t seed = 1);

}  // namespace attn::bench
