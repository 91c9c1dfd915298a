#include "tokenize/word_level_model.h"

#include <algorithm>

#include "util/error.h"

namespace attn {

WordLevelModel::WordLevelModel(WordLevelModelConfig config)
    : unk_token_(std::move(config.unk_token)), file_(std::move(config.file)) {
  if (config.vocab.empty()) throw Error(file_ + ": key 'model.vocab' is empty");
  int32_t max_id = 0;
  for (const auto& entry : config.vocab) max_id = std::max(max_id, entry.second);
  id_to_token_.resize(size_t(max_id) + 1);
  used_.assign(id_to_token_.size(), 0);
  for (auto& [word, id] : config.vocab) {
    id_to_token_[size_t(id)] = std::move(word);
    used_[size_t(id)] = 1;
  }
  token_to_id_.build(&id_to_token_, used_);
  for (size_t id = 0; id < id_to_token_.size(); ++id) {  // an id whose word moved on
    if (used_[id] && token_to_id(id_to_token_[id]) != int32_t(id)) used_[id] = 0;
  }
  unk_id_ = token_to_id(unk_token_);
}

void WordLevelModel::tokenize(std::string_view piece, std::vector<ModelToken>& out) const {
  if (piece.empty()) return;
  if (const auto id = token_to_id(piece)) {
    out.push_back({*id, 0, piece.size()});
  } else if (unk_id_) {
    out.push_back({*unk_id_, 0, piece.size()});
  } else {
    throw Error(file_ + ": key 'model.unk_token' is '" + unk_token_ +
                "', which is not in model.vocab, and the text has a word ('" + std::string(piece) +
                "') that is not either");
  }
}

std::optional<int32_t> WordLevelModel::token_to_id(std::string_view token) const {
  return token_to_id_.find(token);
}

const std::string* WordLevelModel::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size() || !used_[size_t(id)]) return nullptr;
  return &id_to_token_[size_t(id)];
}

}  // namespace attn
