#pragma once
// Tokenizer interface shared by WordPiece (BERT family) and byte-level BPE (GPT-2 family).
// Implementations are immutable after loading and safe to use from several threads.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn {

// The largest token id a tokenizer file may use. Tables are indexed by id, so one absurd id
// in a vocabulary would otherwise allocate gigabytes; the largest published vocabularies
// (Gemma 3, mT5, XLM-V) stay far below 2^22 = 4,194,304 tokens.
inline constexpr int32_t kMaxTokenId = (1 << 22) - 1;

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;  // vocabulary strings (e.g. "##ing", "Ġworld")
  // [begin, end) UTF-8 byte span of each token in the text it came from; {0, 0} for
  // special tokens that were added (e.g. [CLS]). For sentence pairs, tokens of the second
  // text index into the pair text: see `sequence_ids`.
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<int32_t> type_ids;     // token type (segment) ids, 0 or 1
  std::vector<int8_t> sequence_ids;  // 0 = first text, 1 = pair text, -1 = added special token
  std::vector<uint8_t> special;      // 1 for special tokens ([CLS], [SEP], <|endoftext|>, ...)

  size_t size() const { return ids.size(); }

  // Appends one token to every per-token list (type id 0; callers set pairs' type ids).
  void push(int32_t id, std::string token, std::pair<size_t, size_t> span, int8_t sequence, bool is_special) {
    ids.push_back(id);
    tokens.push_back(std::move(token));
    offsets.push_back(span);
    type_ids.push_back(0);
    sequence_ids.push_back(sequence);
    special.push_back(is_special ? 1 : 0);
  }
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Encodes `text` (and, for BERT-style models, an optional second sentence) into ids with
  // the model's special tokens added. Throws attn::Error for invalid UTF-8, naming the
  // byte offset. Empty text yields only the special tokens (possibly none).
  virtual Encoding encode(std::string_view text,
                          std::optional<std::string_view> pair = std::nullopt) const = 0;

  // "wordpiece", "bpe", "unigram", "wordlevel" (tokenizer.json models) or "sentencepiece"
  // (a .model file read by libsentencepiece).
  virtual std::string kind() const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of `id` ("" when out of range).
  virtual std::string id_to_token(int32_t id) const = 0;
  // Human-readable text of one token: "##ing" -> "ing", "Ġworld" -> " world" (GPT-2 byte
  // decoding; invalid UTF-8 bytes of a partial character become U+FFFD).
  virtual std::string token_text(int32_t id) const = 0;
  // The string views and recordings show for a token: for BPE the token's text (" world",
  // " Hello" for "▁Hello", "\n" for <0x0A>), where bytes of a partial UTF-8 character show
  // as "<0xE2>" rather than U+FFFD (a heatmap row then says which byte it is); the
  // vocabulary string otherwise ("##ing", "[CLS]").
  virtual std::string display_token(int32_t id, const std::string& vocab_token) const {
    return kind() == "bpe" ? token_text(id) : vocab_token;
  }
  // Decodes ids back to text (WordPiece joins "##" pieces; BPE decodes bytes).
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // Input given as ids rather than text: each id's vocabulary string ("" out of range), no
  // spans, none marked special.
  Encoding encode_ids(const std::vector<int32_t>& ids) const {
    Encoding out;
    for (int32_t id : ids) out.push(id, id_to_token(id), {0, 0}, 0, false);
    return out;
  }

  // Special tokens; absent when the tokenizer has none of that kind.
  virtual std::optional<int32_t> mask_id() const { return std::nullopt; }
  virtual bool supports_pairs() const { return false; }
};

// Which tokenizer files a model folder has, and options that come from its config files.
struct TokenizerOptions {
  std::optional<bool> do_lower_case;  // overrides tokenizer_config.json / tokenizer.json
  std::string model_type;             // from config.json: "bert", "distilbert", "gpt2", ...
};

// Loads the tokenizer of a Hugging Face model folder: tokenizer.json if present, else
// vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE), honouring
// tokenizer_config.json (do_lower_case, strip_accents, special tokens). Throws attn::Error
// naming the folder and the files it looked for when none is found, or naming the file and
// line/key when one is malformed.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir,
                                          const TokenizerOptions& options);

}  // namespace attn
