#pragma once
// Generation: a decoder writes text after a prompt, a token at a time, each step running only
// its new token on a key/value cache (Model::forward_cached). An encoder-decoder (BART,
// Marian, T5) translates: the text is its source, encoded once, and its decoder writes from its
// start token. The result is the recording of
// the whole sequence (prompt + generated tokens), equal to a run over the same ids, with
// each step's top candidates; see docs/recording-format.md ("Generations"). Synchronous;
// progress and cancel go through RunOptions::progress (cancel keeps the tokens generated so
// far whose attention is complete).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/model.h"
#include "session/predictions.h"

namespace attn {

// How each token is chosen: the most probable one, or drawn from the model's distribution
// warped as Hugging Face's generate() does for sampling: logits / temperature, then only the
// top_k most probable kept (0: all), then the smallest set whose probability reaches top_p.
struct Sampling {
  bool greedy = true;
  double temperature = 1.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;

  // {"mode": "greedy"} or {"mode": "sample", "temperature", "top_k", "top_p", "seed"}.
  std::string to_json() const;
  // Throws attn::Error naming the setting that is out of range.
  void check() const;
};

// The distribution a sampled step draws from (one row of logits): the warpers above, then a
// softmax in double precision; removed tokens have probability 0.
std::vector<double> sampling_distribution(const Eigen::Ref<const Eigen::RowVectorXf>& logits, const Sampling& sampling);

// Applies Hugging Face's logits processors that `rules` switch on to one row of logits, for the
// token after `ids` (the decoder's tokens so far, the first `prompt_length` its prompt), in the
// order its generate() runs them: repetition penalty, no repeated n-grams, bad words, minimum
// length and new tokens (EOS = `eos_ids` held back), forced BOS (after the first token), forced
// EOS (when the next token is the last allowed, at `max_length` - 1 tokens), suppressed tokens.
// Forbidden entries become -inf. tools/reference/generation.py process() is the reference.
void apply_logits_rules(Eigen::Ref<Eigen::RowVectorXf> logits, const std::vector<int32_t>& ids, int prompt_length, int max_length,
                        const LogitsRules& rules, const std::vector<int>& eos_ids);

struct CandidateToken {
  int id = 0;
  std::string token;  // as views show it
  double prob = 0;    // the model's probability: softmax of the logits after the rules, before sampling's warping
};

// One generated token.
struct GenerationStep {
  CandidateToken chosen;
  std::vector<CandidateToken> candidates;  // most probable first
};

struct GenerateRequest {
  std::string text;  // the prompt, tokenized as a run's text (special tokens added)
  std::optional<std::vector<int32_t>> prompt_ids;  // the prompt as ids instead (text is then only noted)
  int max_new_tokens = 20;
  Sampling sampling;
  // Stop after generating any of these; nullopt: the model's end-of-sequence ids
  // (ModelConfig::eos_token_ids). The stop token is kept.
  std::optional<std::vector<int>> stop_ids;
  int candidates = 5;  // top candidates kept per step
  // The logits processors; nullopt: the model's own (ModelConfig::generation.rules).
  std::optional<LogitsRules> rules;
  // Head mask, recorded layers, storage (F32/F16), memory budget, the caller's hook, progress
  // (over the whole generation; returning false cancels). Q/K/V, scores, hidden states and
  // streaming are refused.
  RunOptions options;
  // Called from the generating thread after each token is chosen (e.g. to show the text so far).
  std::function<void(const GenerationStep&)> on_step;
};

struct GenerateResult {
  std::shared_ptr<AttentionRecording> recording;  // prompt + generated tokens
  // The decoder's prompt: the text's ids, or an encoder-decoder's start token (the text's ids
  // are then source_ids, which the decoder attends to).
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> source_ids;
  std::vector<GenerationStep> steps;  // the generated tokens, in order
  std::string text;                   // the generated tokens decoded, without the stop token that ended them
  // Why it stopped: "eos" (a stop id), "max-new-tokens", "positions" (the model's last
  // position), "cancelled".
  std::string stop;
  std::optional<Predictions> predictions;  // the next token after the last (as a run's); none after a stop token

  std::vector<int32_t> generated_ids() const;
};

// Throws attn::Error when the model cannot generate, the prompt is empty or fills the
// model's positions, or a setting is out of range; attn::Cancelled when cancelled before the
// first token; attn::MemoryBudgetError as a run.
GenerateResult generate(const Model& model, GenerateRequest request);

// What a recording says about the generation it holds (metadata prompt_length and
// generation, tensors step_candidate_ids/probs, step_chosen_probs); nullopt for a recording
// of a plain run. Malformed entries count as absent.
struct GenerationInfo {
  int prompt_length = 0;
  std::string settings;  // Sampling::to_json, with max_new_tokens and stop
  std::vector<GenerationStep> steps;  // one per generated token in the recording
};
std::optional<GenerationInfo> read_generation(const AttentionRecording& recording);

}  // namespace attn
