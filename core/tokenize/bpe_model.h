#pragma once
// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}), as the tokenizers
// library runs it on one pre-tokenized piece:
//   - ignore_merges: a piece that is itself in the vocabulary is one token;
//   - every character is a symbol; one missing from the vocabulary becomes its UTF-8 bytes as
//     <0xNN> tokens (byte_fallback), else the unknown token (consecutive ones fused into one
//     with fuse_unk), else it is dropped;
//   - merges apply lowest rank first (ties: leftmost) until none applies.
// Byte-level models (GPT-2, Llama 3, Qwen) get pieces already made of byte characters; the
// SentencePiece style (Llama 2, Mistral, Gemma) gets text with '▁' for spaces.
// Immutable after construction; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenize/id_tables.h"
#include "tokenize/token_model.h"

namespace attn {

struct BpeModelConfig {
  std::vector<std::pair<std::string, int32_t>> vocab;       // token -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::string file;  // tokenizer.json, for messages ("model.merges[i]")
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel final : public TokenModel {
 public:
  // Throws attn::Error naming the file and key when the vocabulary is empty, a merge names
  // a token that is not in it, or the unknown token is missing.
  explicit BpeModel(BpeModelConfig config);

  // Appends the tokens of one piece (valid UTF-8).
  void tokenize(std::string_view piece, std::vector<ModelToken>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  int32_t size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  const char* kind() const override { return "bpe"; }

 private:
  struct Symbol {
    int32_t id;
    size_t begin, end;
  };
  void initial_symbols(std::string_view piece, std::vector<Symbol>& word) const;
  void merge(std::vector<Symbol>& word) const;

  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> used_;  // id_to_token_[id] is a vocabulary entry
  TokenIdTable token_to_id_;  // over id_to_token_
  MergeTable merges_;
  std::optional<int32_t> unk_id_;
  std::vector<int32_t> byte_ids_;  // <0xNN> ids for byte fallback (-1: missing)
  bool fuse_unk_, byte_fallback_, ignore_merges_;
};

}  // namespace attn
