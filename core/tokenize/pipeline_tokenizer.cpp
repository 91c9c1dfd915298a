#include "tokenize/pipeline_tokenizer.h"

#include <algorithm>

#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {

PipelineTokenizer::PipelineTokenizer(PipelineParts parts) : parts_(std::move(parts)) {
  vocab_size_ = parts_.model->size();
  for (size_t k = 0; k < parts_.added_tokens.size(); ++k) {
    const AddedToken& t = parts_.added_tokens[k];
    added_by_id_[t.id] = k;
    vocab_size_ = std::max(vocab_size_, t.id + 1);
  }
  if (parts_.post_processor) {
    for (int32_t id : parts_.post_processor->special_ids()) {
      if (id_to_token(id).empty())
        throw Error(parts_.source + ": key 'post_processor' adds token id " + std::to_string(id) +
                    ", which is not in the vocabulary");
    }
  }
  if (!parts_.mask_token.empty()) mask_id_ = token_to_id(parts_.mask_token);
}

std::optional<int32_t> PipelineTokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& t : parts_.added_tokens)
    if (t.content == token) return t.id;
  return parts_.model->token_to_id(token);
}

std::string PipelineTokenizer::id_to_token(int32_t id) const {
  if (const auto it = added_by_id_.find(id); it != added_by_id_.end())
    return parts_.added_tokens[it->second].content;
  const std::string* token = parts_.model->id_to_token(id);
  return token ? *token : std::string();
}

Encoding PipelineTokenizer::encode(std::string_view text,
                                   std::optional<std::string_view> pair) const {
  Encoding a;
  encode_sequence(text, 0, a);
  std::optional<Encoding> b;
  if (pair) {
    b.emplace();
    encode_sequence(*pair, 1, *b);
  }
  if (parts_.post_processor) return parts_.post_processor->process(std::move(a), std::move(b));
  if (b) append_encoding(a, *b, 1);
  return a;
}

void PipelineTokenizer::encode_sequence(std::string_view text, int8_t sequence,
                                        Encoding& out) const {
  unicode::decode_utf8(text, sequence == 0 ? "text" : "pair text");  // names a bad byte
  std::vector<ModelToken> tokens;
  for (const TextPiece& piece : split_on_added_tokens(text, parts_.added_tokens)) {
    if (piece.token) {
      out.push(piece.token->id, piece.token->content, {piece.begin, piece.end}, sequence,
               piece.token->special);
      continue;
    }
    std::vector<NormalizedText> pieces{NormalizedText::from_original(text, piece.begin, piece.end)};
    if (parts_.normalizer) parts_.normalizer->normalize(pieces[0]);
    if (pieces[0].empty()) continue;
    if (parts_.pre_tokenizer) parts_.pre_tokenizer->pre_tokenize(pieces);
    for (const NormalizedText& p : pieces) {
      tokens.clear();
      parts_.model->tokenize(p.text, tokens);
      for (const ModelToken& t : tokens)
        out.push(t.id, id_to_token(t.id), p.original_span(t.begin, t.end), sequence, false);
    }
  }
}

std::string PipelineTokenizer::decode_tokens(std::vector<std::string> tokens, DecodeMode mode) const {
  std::string out;
  if (!parts_.decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  parts_.decoder->decode_chain(tokens, mode);
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids) const {
  // As transformers.js: every token, added ones included, goes through the decoder.
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    std::string token = id_to_token(id);
    if (!token.empty()) tokens.push_back(std::move(token));
  }
  return decode_tokens(std::move(tokens), DecodeMode::Text);
}

std::string PipelineTokenizer::token_text(int32_t id) const {
  if (added_by_id_.count(id)) return id_to_token(id);
  const std::string token = id_to_token(id);
  return token.empty() ? token : decode_tokens({token}, DecodeMode::Token);
}

std::string PipelineTokenizer::display_token(int32_t id, const std::string& vocab_token) const {
  if (added_by_id_.count(id)) return id_to_token(id);
  const std::string token = id_to_token(id);
  return decode_tokens({token.empty() ? vocab_token : token}, DecodeMode::Display);
}

}  // namespace attn
