#pragma once
// The parts of a Hugging Face config.json that AttnScope's model families use, normalised
// across families (BERT's hidden_size, DistilBERT's dim and GPT-2's n_embd are all
// `hidden_size` here). Vision families (ViT, DeiT) have no vocabulary: vocab_size is 0 and
// the image_* / patch_size fields describe their input instead.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace attn {

// The most layers a config may declare. Loops over layers run before any weight is read, so a
// config claiming 777 million layers would otherwise spin for seconds (the fuzzer's finding);
// the deepest published models have under 200.
inline constexpr int kMaxLayers = 4096;

struct FamilySpec;  // model/family_table.h

// Rotary position embeddings as Hugging Face's modeling_rope_utils.py computes them.
struct RopeConfig {
  std::string type = "default";  // default, linear, llama3, yarn or longrope
  double theta = 10000.0;        // rope_theta
  // The share of each head's channels that turn (Phi-3's partial_rotary_factor): the first
  // int(head_dim · this) channels rotate, the rest pass through.
  double partial_rotary_factor = 1.0;
  double factor = 1.0;           // linear, llama3, yarn, longrope
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int original_max_positions = 0;  // llama3, yarn, longrope (0: absent)
  // yarn, longrope: attention_factor (< 0: the type's default); yarn: beta_fast / beta_slow,
  // mscale, mscale_all_dim.
  double attention_factor = -1.0, beta_fast = 32.0, beta_slow = 1.0, mscale = 0.0, mscale_all_dim = 0.0;
  bool truncate = true;
  // longrope: per-frequency divisors for inputs up to original_max_positions tokens (short) and
  // longer ones (long), rotary_dim / 2 each.
  std::vector<float> short_factor, long_factor;
  // Channels that turn per head of `head_dim`.
  int rotary_dim(int head_dim) const { return int(double(head_dim) * partial_rotary_factor); }
};

// What the Llama-kind decoders (llama, mistral, qwen2, qwen3, gemma2, gemma3, phi3) add to a
// config (nn/llama.cpp reads and uses them).
struct DecoderSettings {
  RopeConfig rope;                  // full-attention layers
  RopeConfig rope_local;            // sliding layers (Gemma 3's rope_local_base_freq; else = rope)
  float rms_norm_eps = 1e-6f;
  bool gemma = false;               // RMSNorm scale 1 + w, sandwich norms, embeddings × √hidden
  bool qk_norm = false;             // RMSNorm of q and k per head (Qwen3, Gemma 3)
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  bool fused_projections = false;   // one qkv_proj and one gate_up_proj (Phi-3)
  bool tie_word_embeddings = false;
  float attention_scale = 0.0f;     // scores = Q·Kᵀ × this (Gemma: query_pre_attn_scalar^-½)
  float final_softcap = 0.0f;       // logits = tanh(l / cap) · cap; 0 = none
};

// Seq2SeqLM: an encoder-decoder's language-model head (*ForConditionalGeneration, MarianMTModel).
// Encoder-decoders' own settings (BART, Marian, T5).
struct Seq2SeqSettings {
  int encoder_ffn = 0;             // the encoder layers' feed-forward width (intermediate_size is the decoder's)
  bool scale_embedding = false;    // embeddings · √d_model (Marian)
  bool tie_word_embeddings = true; // the head is the shared embedding
  // T5: relative position buckets, the key/value width per head, a gated feed-forward.
  int relative_buckets = 32, relative_max_distance = 128;
  int d_kv = 0;
  bool gated_ffn = false;
  float attention_scale = 0.0f;    // scores = Q·Kᵀ × this in every attention (T5: 1); 0 = 1/√d
};

enum class HeadKind { Base, MaskedLM, CausalLM, SequenceClassification, ImageClassification, Seq2SeqLM };

std::string head_kind_name(HeadKind head);

// Hugging Face's logits processors that a model's generation settings switch on, applied to
// each step's logits before the token is chosen (session/generate.h apply_logits_rules). The
// defaults switch everything off.
struct LogitsRules {
  double repetition_penalty = 1.0;               // > 0; 1 = off
  int no_repeat_ngram_size = 0;                  // 0 = off
  std::vector<std::vector<int>> bad_words_ids;   // token sequences never to generate
  int min_length = 0;                            // of the whole sequence, prompt included
  int min_new_tokens = 0;
  int forced_bos_token_id = -1;                  // -1 = none
  std::vector<int> forced_eos_token_ids;         // forced as the last token allowed
  std::vector<int> suppress_tokens, begin_suppress_tokens;
  bool any() const;
  // The rules that are on, as a JSON object (empty when none is).
  std::string to_json() const;
};

// How a model's folder says to generate (generation_config.json, Hugging Face's
// GenerationConfig defaults for what it leaves out; without generation_config.json the
// generation keys of config.json, as GenerationConfig.from_model_config reads them).
struct GenerationDefaults {
  bool do_sample = false;
  double temperature = 1.0;
  int top_k = 50;
  double top_p = 1.0;
  int max_new_tokens = 0;  // 0 = not given
  LogitsRules rules;
};

struct ModelConfig {
  std::string model_type;    // as written in config.json
  std::string architecture;  // first entry of "architectures", or "" when absent
  std::string family;        // the family table's name for it ("bert", "gpt2", ...)
  const FamilySpec* spec = nullptr;  // its row of the family table
  HeadKind head = HeadKind::Base;

  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;   // 0 when the family has no token types
  float layer_norm_eps = 1e-12f;
  std::string activation;    // "gelu", "gelu_new", "relu", ...
  std::vector<std::string> labels;  // id2label in id order (classifiers)

  // Vision families: the training resolution, square patches, and whether query/key/value
  // have biases. max_positions counts the special tokens plus the training patch grid.
  int image_height = 0, image_width = 0;
  int patch_size = 0;
  int num_channels = 0;
  bool qkv_bias = true;

  // Grouped-query attention: query head h uses key/value head h / (num_heads / num_kv_heads).
  int num_kv_heads = 0;          // 0: as many as query heads
  int explicit_head_dim = 0;     // config.json head_dim, when given (may differ from hidden / heads)
  // Per layer, the sliding window: a query sees itself and the window - 1 keys before it;
  // 0 = the whole (causal) context. Empty: no layer slides.
  std::vector<int> layer_windows;
  float attn_softcap = 0.0f;     // Gemma 2: scores = tanh(s / cap) · cap before the mask; 0 = none
  DecoderSettings decoder;       // Llama-kind decoders only

  // Generation stops after any of these (generation_config.json's eos_token_id, else
  // config.json's); empty when neither names one.
  std::vector<int> eos_token_ids;
  GenerationDefaults generation;

  int head_dim() const { return explicit_head_dim ? explicit_head_dim : num_heads ? hidden_size / num_heads : 0; }
  int kv_heads() const { return num_kv_heads ? num_kv_heads : num_heads; }
  int window_of(int layer) const { return layer >= 0 && layer < int(layer_windows.size()) ? layer_windows[size_t(layer)] : 0; }
  bool is_vision() const;
  bool is_causal() const;
  bool is_encoder_decoder() const;  // BART, Marian, T5: an encoder, and a decoder that also attends to it
  // Encoder-decoders: the encoder's layers, and the token the decoder starts from.
  int num_encoder_layers = 0;
  int decoder_start_token_id = 0;
  Seq2SeqSettings seq2seq;
  // Tokens before the patches: [CLS] (ViT), [CLS] [DIST] (DeiT); 0 for text models.
  int num_prefix_tokens() const;

  // Parses a config.json object: the keys every family shares here, the family's own through
  // its row of the family table. `source` names the file in error messages. Throws
  // attn::Error for an unknown model_type, missing required keys or inconsistent sizes.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  // Reads DIR/config.json, and DIR/generation_config.json when present.
  static ModelConfig load(const std::filesystem::path& model_dir);
  // The family row of DIR/config.json's model_type, without checking anything else; null when
  // the file is missing, unreadable or names no known family. For choosing how to show a
  // folder before loading it.
  static const FamilySpec* peek_family(const std::filesystem::path& model_dir);
};

}  // namespace attn
