#pragma once
// The Unigram model of a tokenizer.json ("model": {"type": "Unigram", "unk_id", "vocab":
// [[piece, score], ...], "byte_fallback"}): SentencePiece's unigram language model as the
// tokenizers library runs it on one pre-tokenized piece (models/unigram/model.rs,
// encode_optimized):
//   - Viterbi: the segmentation whose pieces' scores (log-probabilities) sum highest; pieces are
//     tried left to right, shorter ones first, and a later candidate wins only when strictly
//     better, so ties resolve exactly as the library resolves them;
//   - a character that no piece covers by itself is unknown: it scores the lowest piece score
//     minus 10 and becomes unk_id; consecutive unknown characters are fused into one token;
//   - byte_fallback: an unknown run becomes the <0xNN> pieces of its UTF-8 bytes instead (when
//     the vocabulary has all of them).
// Immutable after construction; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/id_tables.h"
#include "tokenize/token_model.h"

namespace attn {

struct UnigramModelConfig {
  std::vector<std::pair<std::string, double>> vocab;  // (piece, score), by id
  std::optional<int64_t> unk_id;
  bool byte_fallback = false;
  std::string file;  // tokenizer.json, for messages
};

class UnigramModel final : public TokenModel {
 public:
  // Throws attn::Error naming the file and key when the vocabulary is empty or unk_id is not
  // one of its ids.
  explicit UnigramModel(UnigramModelConfig config);

  void tokenize(std::string_view piece, std::vector<ModelToken>& out) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  const std::string* id_to_token(int32_t id) const override;
  int32_t size() const override { return static_cast<int32_t>(pieces_.size()); }
  const char* kind() const override { return "unigram"; }

 private:
  // A byte trie over the pieces, children sorted by byte: calls f(id, length) for every piece
  // that is a prefix of `text`, shortest first.
  struct Node {
    int32_t id = -1;  // the piece ending here, or -1
    uint32_t first_child = 0, child_count = 0;
  };
  template <typename F>
  void for_each_prefix(std::string_view text, F&& f) const;
  void build_trie();

  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  TokenIdTable token_to_id_;  // over pieces_; a piece listed twice keeps its last id
  std::vector<Node> nodes_;          // nodes_[0] is the root
  std::vector<uint8_t> child_byte_;  // (nodes_.size()) the byte leading to each node
  std::optional<int32_t> unk_id_;
  double unk_score_ = 0.0;
  bool byte_fallback_ = false;
  std::vector<int32_t> byte_ids_;  // <0xNN> ids (-1: missing)
  std::string file_;
};

}  // namespace attn
