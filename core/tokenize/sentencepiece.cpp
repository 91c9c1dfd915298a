#include "tokenize/sentencepiece.h"

#include <sentencepiece_processor.h>

#include <unordered_map>

#include "tokenize/tokenizer_files.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {

namespace {

namespace fs = std::filesystem;

// A SentencePiece model file, or attn::Error naming it.
std::unique_ptr<sentencepiece::SentencePieceProcessor> load_model(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(file.string() + ": no such file (the SentencePiece model the tokenizer needs)");
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = sp->Load(file.string());
  if (!status.ok()) throw Error(file.string() + ": not a readable SentencePiece model (" + status.ToString() + ")");
  if (sp->GetPieceSize() <= 0 || sp->GetPieceSize() > kMaxTokenId)
    throw Error(file.string() + ": a SentencePiece model of " + std::to_string(sp->GetPieceSize()) + " pieces");
  return sp;
}

// "▁Hello" as views show it: " Hello".
std::string shown(std::string_view piece) {
  constexpr std::string_view kSpace = "\xE2\x96\x81";  // ▁
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kSpace.size()) == kSpace) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

// What both kinds share: pieces from a source model, numbered by `ids_of`, then </s>.
class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `vocab` maps id -> piece (every id), `source` segments, `target` decodes (may be `source`).
  SentencePieceTokenizer(std::shared_ptr<sentencepiece::SentencePieceProcessor> source,
                         std::shared_ptr<sentencepiece::SentencePieceProcessor> target, std::vector<std::string> vocab, int32_t unk,
                         int32_t eos, std::string kind)
      : source_(std::move(source)), target_(std::move(target)), vocab_(std::move(vocab)), unk_(unk), eos_(eos), kind_(std::move(kind)) {
    for (size_t i = 0; i < vocab_.size(); ++i)
      if (!vocab_[i].empty()) index_.emplace(vocab_[i], int32_t(i));
  }

  Encoding encode(std::string_view text, std::optional<std::string_view> pair) const override {
    if (pair) throw Error("SentencePiece tokenizers here take one text, not a pair");
    unicode::decode_utf8(text);  // invalid UTF-8 is an error naming its byte
    Encoding out;
    const auto spt = source_->EncodeAsImmutableProto(std::string(text));
    for (const auto& p : spt.pieces()) {
      const auto it = index_.find(p.piece());
      const int32_t id = it == index_.end() ? unk_ : it->second;
      out.push(id, p.piece(), {p.begin(), p.end()}, 0, source_->IsControl(int(p.id())));
    }
    out.push(eos_, vocab_[size_t(eos_)], {0, 0}, -1, true);
    return out;
  }

  std::string kind() const override { return kind_; }
  int32_t vocab_size() const override { return int32_t(vocab_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    const auto it = index_.find(std::string(token));
    return it == index_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }
  std::string id_to_token(int32_t id) const override { return id >= 0 && size_t(id) < vocab_.size() ? vocab_[size_t(id)] : ""; }
  std::string token_text(int32_t id) const override { return shown(id_to_token(id)); }
  std::string display_token(int32_t id, const std::string& vocab_token) const override {
    return shown(vocab_token.empty() ? id_to_token(id) : vocab_token);
  }

  // Runs of ordinary pieces through the target model; special tokens as they are written.
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    std::vector<std::string> run;
    auto flush = [&] {
      std::string part;
      if (!run.empty() && target_->Decode(run, &part).ok()) text += part;
      run.clear();
    };
    for (int32_t id : ids) {
      const std::string piece = id_to_token(id);
      const int spm_id = target_->PieceToId(piece);
      if (!piece.empty() && spm_id != target_->unk_id() && !target_->IsControl(spm_id)) {
        run.push_back(piece);
      } else {
        flush();
        text += piece.empty() ? "<id " + std::to_string(id) + ">" : piece;
      }
    }
    flush();
    return text;
  }

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> source_, target_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int32_t> index_;
  int32_t unk_, eos_;
  std::string kind_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_spiece_tokenizer(const fs::path& dir) {
  const fs::path file = dir / "spiece.model";
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp = load_model(file);
  // T5Tokenizer: the model's pieces, then <extra_id_N> counting down from the top (100 unless
  // tokenizer_config.json's extra_ids says otherwise).
  int extra = 100;
  if (std::error_code ec; fs::exists(dir / "tokenizer_config.json", ec)) {
    const auto config = tokenizer_files::read_json(dir / "tokenizer_config.json");
    if (config.is_object() && config.contains("extra_ids") && config["extra_ids"].is_number_integer()) {
      const auto n = config["extra_ids"].get<int64_t>();
      if (n < 0 || n > 100000) throw Error((dir / "tokenizer_config.json").string() + ": extra_ids must be between 0 and 100000");
      extra = int(n);
    }
  }
  const int pieces = sp->GetPieceSize();
  std::vector<std::string> vocab(size_t(pieces + extra));
  for (int i = 0; i < pieces; ++i) vocab[size_t(i)] = sp->IdToPiece(i);
  for (int i = 0; i < extra; ++i) vocab[size_t(pieces + extra - 1 - i)] = "<extra_id_" + std::to_string(i) + ">";
  const int eos = sp->eos_id() >= 0 ? sp->eos_id() : sp->PieceToId("</s>");
  if (eos < 0 || eos >= pieces || sp->IsUnknown(eos)) throw Error(file.string() + ": the model has no </s> piece to end a text with");
  return std::make_unique<SentencePieceTokenizer>(sp, sp, std::move(vocab), sp->unk_id(), eos, "sentencepiece");
}

std::unique_ptr<Tokenizer> load_marian_tokenizer(const fs::path& dir) {
  std::shared_ptr<sentencepiece::SentencePieceProcessor> source = load_model(dir / "source.spm");
  std::error_code ec;
  std::shared_ptr<sentencepiece::SentencePieceProcessor> target =
      fs::exists(dir / "target.spm", ec) ? std::shared_ptr<sentencepiece::SentencePieceProcessor>(load_model(dir / "target.spm")) : source;
  const fs::path file = dir / "vocab.json";
  if (!fs::exists(file, ec)) throw Error(file.string() + ": no such file (Marian numbers its SentencePiece pieces by vocab.json)");
  const auto json = tokenizer_files::read_json(file);
  if (!json.is_object()) throw Error(file.string() + ": expected a JSON object of piece -> id");
  const auto pairs = tokenizer_files::parse_vocab_object(&json, file, "vocab");
  std::vector<std::string> vocab = tokenizer_files::vocab_by_id(pairs);
  auto id_of = [&](const std::string& piece) -> int32_t {
    for (const auto& [p, id] : pairs)
      if (p == piece) return id;
    throw Error(file.string() + ": has no '" + piece + "' token, which MarianTokenizer needs");
  };
  return std::make_unique<SentencePieceTokenizer>(source, target, std::move(vocab), id_of("<unk>"), id_of("</s>"), "sentencepiece");
}

}  // namespace attn
