#pragma once
// A tokenizer.json tokenizer run as the Hugging Face tokenizers library runs it, one small
// component per stage:
//   added tokens split out of the raw text -> normalizer -> pre-tokenizer -> model (BPE,
//   Unigram or WordLevel) -> post-processor (special tokens, type ids); decoder for decode()
//   and display.
// Used for every tokenizer.json except WordPiece ones: GPT-2 and RoBERTa style byte-level BPE,
// Llama 3 and Qwen (Split regex + ByteLevel), Llama 2 / Mistral / Gemma (SentencePiece-style
// BPE with '▁' and <0xNN> byte fallback), T5 / ALBERT / XLM-R style Unigram (Precompiled
// charsmap + Metaspace) and WordLevel vocabularies. Offsets are byte spans of the original text; a
// token holding part of a multi-byte character spans that whole character.
// Immutable after construction; thread-safe.
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/decoders.h"
#include "tokenize/normalizers.h"
#include "tokenize/post_processors.h"
#include "tokenize/pre_tokenizers.h"
#include "tokenize/token_model.h"
#include "tokenize/tokenizer.h"

namespace attn {

struct PipelineParts {
  std::string source;  // the file, for messages
  std::unique_ptr<Normalizer> normalizer;        // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;   // may be null: the text is one piece
  std::unique_ptr<TokenModel> model;             // required: BPE, Unigram or WordLevel
  std::unique_ptr<PostProcessor> post_processor; // may be null: A then B (type id 1)
  std::unique_ptr<Decoder> decoder;              // may be null: tokens joined with ' '
  std::vector<AddedToken> added_tokens;
  std::string mask_token;  // empty: none
};

class PipelineTokenizer final : public Tokenizer {
 public:
  // Throws attn::Error naming parts.source when a special token the post-processor adds is
  // outside the vocabulary.
  explicit PipelineTokenizer(PipelineParts parts);

  Encoding encode(std::string_view text,
                  std::optional<std::string_view> pair = std::nullopt) const override;
  std::string kind() const override { return parts_.model->kind(); }
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  // The token alone: " world", " Hello" for "▁Hello", "\n" for <0x0A>; U+FFFD for bytes of a
  // partial character.
  std::string token_text(int32_t id) const override;
  // As token_text, but a partial character's bytes show as "<0xE2>" (what a heatmap row
  // should say: which byte it is, not a replacement mark).
  std::string display_token(int32_t id, const std::string& vocab_token) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::optional<int32_t> mask_id() const override { return mask_id_; }
  bool supports_pairs() const override { return false; }

 private:
  void encode_sequence(std::string_view text, int8_t sequence, Encoding& out) const;
  std::string decode_tokens(std::vector<std::string> tokens, DecodeMode mode) const;

  PipelineParts parts_;
  std::unordered_map<int32_t, size_t> added_by_id_;  // id -> index into added_tokens
  int32_t vocab_size_ = 0;
  std::optional<int32_t> mask_id_;
};

}  // namespace attn
