// load_tokenizer(): reads a Hugging Face model folder's tokenizer files into a
// WordPieceTokenizer or ByteLevelBpeTokenizer. Order of preference: tokenizer.json
// (tokenizer_json.cpp), then vocab.txt (+ tokenizer_config.json), then vocab.json + merges.txt.
#include <unordered_map>

#include "tokenize/bpe.h"
#include "tokenize/tokenizer.h"
#include "tokenize/sentencepiece.h"
#include "tokenize/tokenizer_files.h"
#include "tokenize/wordpiece.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using namespace tokenizer_files;

// --- vocab.txt -----------------------------------------------------------------------------

std::unique_ptr<Tokenizer> load_vocab_txt(const fs::path& dir, const TokenizerOptions& options) {
  const fs::path file = dir / "vocab.txt";
  const ConfigTokens c = read_tokenizer_config(dir);
  WordPieceConfig config;
  config.source = file.string();
  config.vocab = read_lines(file);
  // Like the tokenizers library, ignore trailing whitespace on a line.
  for (std::string& token : config.vocab) {
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
  }
  config.lowercase = options.do_lower_case.value_or(c.do_lower_case.value_or(true));
  config.strip_accents = c.strip_accents;
  config.handle_chinese_chars = c.tokenize_chinese_chars.value_or(true);
  config.unk_token = c.unk;
  config.cls_token = c.cls;
  config.sep_token = c.sep;
  config.mask_token = c.mask;
  config.added_tokens = c.added;
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < config.vocab.size(); ++i) index[config.vocab[i]] = static_cast<int32_t>(i);
  std::vector<std::string> names = {c.pad, c.unk, c.cls, c.sep, c.mask};
  names.insert(names.end(), c.named.begin(), c.named.end());
  add_named_specials(config.added_tokens, names, [&](const std::string& name) {
    const auto it = index.find(name);
    return it == index.end() ? std::nullopt : std::optional<int32_t>(it->second);
  });
  return std::make_unique<WordPieceTokenizer>(std::move(config));
}

// --- vocab.json + merges.txt ---------------------------------------------------------------

std::unique_ptr<Tokenizer> load_vocab_json(const fs::path& dir, const TokenizerOptions& options) {
  const fs::path vocab_file = dir / "vocab.json";
  const fs::path merges_file = dir / "merges.txt";
  std::error_code ec;
  if (!fs::exists(merges_file, ec)) {
    throw Error(dir.string() +
                ": found vocab.json but not merges.txt, which byte-level BPE "
                "(GPT-2 family) needs beside it");
  }
  const ConfigTokens c = read_tokenizer_config(dir);
  BpeConfig config;
  config.source = vocab_file.string();
  config.merges_source = merges_file.string();
  const json vocab_json = read_json(vocab_file);
  config.vocab = parse_vocab_object(&vocab_json, vocab_file, "(top level)");

  const std::vector<std::string> lines = read_lines(merges_file);
  size_t first = 0;
  if (!lines.empty() && lines[0].starts_with("#version")) first = 1;
  config.merges_first_line = first + 1;
  for (size_t i = first; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t space = line.find(' ');
    if (line.empty() && i + 1 == lines.size()) break;  // a blank last line
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw Error(merges_file.string() + " line " + std::to_string(i + 1) +
                  ": expected two symbols separated by one space, got '" + line + "'");
    }
    config.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }

  config.added_tokens = c.added;
  std::unordered_map<std::string, int32_t> index(config.vocab.begin(), config.vocab.end());
  std::vector<std::string> names = {"<|endoftext|>"};
  names.insert(names.end(), c.named.begin(), c.named.end());
  add_named_specials(config.added_tokens, names, [&](const std::string& name) {
    const auto it = index.find(name);
    return it == index.end() ? std::nullopt : std::optional<int32_t>(it->second);
  });
  if (c.bpe_mask) config.mask_token = *c.bpe_mask;
  if (c.bpe_bos) config.bos_token = *c.bpe_bos;
  // RobertaTokenizer / BartTokenizer: <s> … </s> (their cls and sep tokens).
  const bool roberta = c.tokenizer_class.rfind("Roberta", 0) == 0 || c.tokenizer_class.rfind("Bart", 0) == 0 ||
                       options.model_type == "bart" || options.model_type == "roberta";
  if (roberta) {
    config.bos_token = c.bos.value_or("<s>");
    config.eos_token = c.eos.value_or("</s>");
  }
  return std::make_unique<ByteLevelBpeTokenizer>(std::move(config));
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& model_dir,
                                          const TokenizerOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    throw Error("tokenizer folder '" + model_dir.string() + "' does not exist or is not a folder");
  }
  try {
    // Marian: SentencePiece models numbered by vocab.json (before vocab.json means BPE).
    if (fs::exists(model_dir / "source.spm", ec)) return load_marian_tokenizer(model_dir);
    // A Unigram tokenizer.json beside its spiece.model (T5): the SentencePiece model, read by
    // its own library. A Unigram tokenizer.json alone is read like any other (unigram_model.h).
    if (fs::exists(model_dir / "spiece.model", ec) &&
        (!fs::exists(model_dir / "tokenizer.json", ec) || tokenizer_files::json_model_type(model_dir / "tokenizer.json") == "Unigram"))
      return load_spiece_tokenizer(model_dir);
    if (fs::exists(model_dir / "tokenizer.json", ec)) {
      return tokenizer_files::load_tokenizer_json(model_dir, options);
    }
    if (fs::exists(model_dir / "vocab.txt", ec)) return load_vocab_txt(model_dir, options);
    if (fs::exists(model_dir / "vocab.json", ec)) return load_vocab_json(model_dir, options);
  } catch (const nlohmann::json::exception& e) {  // a value of an unexpected type
    throw Error(model_dir.string() + ": unexpected value in a tokenizer file (" + e.what() + ")");
  }
  throw Error("no tokenizer files in '" + model_dir.string() +
              "': looked for tokenizer.json, vocab.txt (WordPiece), vocab.json + merges.txt "
              "(byte-level BPE), spiece.model (T5) and source.spm + vocab.json (Marian)");
}

}  // namespace attn
