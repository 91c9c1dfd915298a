// Whole tokenizer.json pipelines on small hand-made files written by the test: a Llama-3
// style byte-level BPE (Split regex + ByteLevel, ignore_merges, TemplateProcessing), a
// SentencePiece-style BPE (Prepend/Replace '▁', byte fallback, unk, <s> template), the
// tokenizer_config.json options that change special tokens, display strings, and the errors
// for bad files and text. Real files: test_tokenizer_real.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/bpe.h"
#include "tokenize/tokenizer.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Ids = std::vector<int32_t>;
using Strings = std::vector<std::string>;
using Spans = std::vector<std::pair<size_t, size_t>>;

class Folder {
 public:
  Folder() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("attn-pipe-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  void write(const std::string& name, const json& j) const {
    std::ofstream(path_ / name, std::ios::binary) << j.dump();
  }
  std::unique_ptr<Tokenizer> load() const { return load_tokenizer(path_, {}); }
  const fs::path& path() const { return path_; }
  std::string error() const {
    return test::error_of([&] { load(); });
  }

 private:
  fs::path path_;
};

std::string byte_char(uint8_t b) {
  std::string s;
  const char32_t c = byte_to_unicode(b);
  if (c < 0x80) {
    s += char(c);
  } else {
    s += char(0xC0 | (c >> 6));
    s += char(0x80 | (c & 0x3F));
  }
  return s;
}

json added(int id, const char* content, bool special = true) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

// Byte-level: ids 0..255 are the byte characters, then merged tokens.
constexpr int kBos = 300;
json llama_style() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(uint8_t(b))] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"3", "4"}, {"1", "2"}, {"12", "3"}, {"4", "5"}, {"h", "e"}, {"l", "l"}, {"he", "ll"},
      {"hell", "o"}, {"\u0120", "w"}, {"o", "r"}, {"\u0120w", "or"}, {"\u0120wor", "l"}, {"\u0120worl", "d"}};
  json merge_list = json::array();
  int next = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = next++;
    merge_list.push_back({a, b});
  }
  vocab["abc"] = next++;  // reachable only through ignore_merges
  const char* regex =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return {
      {"added_tokens", {added(kBos, "<|begin_of_text|>"), added(kBos + 1, "<|eot_id|>"), added(kBos + 2, "<think>", false)}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "Sequence"},
        {"processors",
         {{{"type", "ByteLevel"}, {"trim_offsets", false}},
          {{"type", "TemplateProcessing"},
           {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
           {"pair",
            {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
             {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 1}}}},
             {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
           {"special_tokens", {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {kBos}}, {"tokens", {"<|begin_of_text|>"}}}}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", true},
        {"vocab", vocab}, {"merges", merge_list}}}};
}

TEST(LlamaStylePipeline, SplitRegexByteLevelTemplate) {
  Folder dir;
  dir.write("tokenizer.json", llama_style());
  const auto tok = dir.load();
  EXPECT_EQ(tok->kind(), "bpe");
  const Encoding e = tok->encode("hello world");
  EXPECT_EQ(e.tokens, (Strings{"<|begin_of_text|>", "hello", "\u0120world"}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(e.offsets, (Spans{{0, 0}, {0, 5}, {5, 11}}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{-1, 0, 0}));
  // Digits in threes before BPE: "12345" -> "123" "45" (without the split, "34" merges first).
  EXPECT_EQ(tok->encode("12345").tokens, (Strings{"<|begin_of_text|>", "123", "45"}));
  // ignore_merges: a word that is in the vocabulary is one token, merges or not.
  EXPECT_EQ(tok->encode("abc").tokens, (Strings{"<|begin_of_text|>", "abc"}));
  EXPECT_EQ(tok->decode(tok->encode("hello world").ids), "<|begin_of_text|>hello world");
}

TEST(LlamaStylePipeline, AddedTokensPairsAndDisplay) {
  Folder dir;
  dir.write("tokenizer.json", llama_style());
  const auto tok = dir.load();
  const Encoding e = tok->encode("hi<|eot_id|><think>");
  EXPECT_EQ(e.tokens, (Strings{"<|begin_of_text|>", "h", "i", "<|eot_id|>", "<think>"}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 0, 1, 0}));  // <think> is not special
  EXPECT_EQ(e.offsets[3], (std::pair<size_t, size_t>{2, 12}));
  const Encoding p = tok->encode("hello", std::string_view("hello"));
  EXPECT_EQ(p.tokens, (Strings{"<|begin_of_text|>", "hello", "<|begin_of_text|>", "hello"}));
  EXPECT_EQ(p.type_ids, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(p.sequence_ids, (std::vector<int8_t>{-1, 0, -1, 1}));
  // A byte of a partial character: U+FFFD as text, its byte in a view.
  const Encoding euro = tok->encode("\u20ac");
  ASSERT_EQ(euro.size(), 4u);
  EXPECT_EQ(tok->token_text(euro.ids[1]), "\ufffd");
  EXPECT_EQ(tok->display_token(euro.ids[1], euro.tokens[1]), "<0xE2>");
  EXPECT_EQ(euro.offsets[1], (std::pair<size_t, size_t>{0, 3}));  // the whole character
  EXPECT_EQ(tok->decode(euro.ids), "<|begin_of_text|>\u20ac");
  EXPECT_EQ(tok->display_token(*tok->token_to_id("\u0120world"), "\u0120world"), " world");
}

TEST(LlamaStylePipeline, BadFilesAndTextAreNamed) {
  Folder dir;
  json j = llama_style();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  dir.write("tokenizer.json", j);
  std::string what = dir.error();
  EXPECT_NE(what.find("tokenizer.json: key 'pre_tokenizer.pretokenizers[0].pattern.Regex'"), std::string::npos) << what;
  EXPECT_NE(what.find("invalid regex"), std::string::npos) << what;

  j = llama_style();
  j["model"]["merges"][1] = {"1", "\u2603"};
  dir.write("tokenizer.json", j);
  what = dir.error();
  EXPECT_NE(what.find("model.merges[1]"), std::string::npos) << what;
  EXPECT_NE(what.find("'\u2603' is not in model.vocab"), std::string::npos) << what;

  j = llama_style();
  j["post_processor"]["processors"][1]["type"] = "Frobnicate";
  dir.write("tokenizer.json", j);
  what = dir.error();
  EXPECT_NE(what.find("post_processor.processors[1].type"), std::string::npos) << what;
  EXPECT_NE(what.find("TemplateProcessing"), std::string::npos) << what;

  j = llama_style();
  j["post_processor"]["processors"][1]["special_tokens"]["<|begin_of_text|>"]["ids"] = {99999};
  dir.write("tokenizer.json", j);
  what = dir.error();
  EXPECT_NE(what.find("99999"), std::string::npos) << what;

  // Tables are indexed by id: an absurd id is the file's error, not a 9 GB allocation (the
  // fuzzer's finding: one vocabulary id near 2^31).
  for (const char* where : {"vocab", "added", "special", "decoder"}) {
    j = llama_style();
    if (std::string(where) == "vocab") j["model"]["vocab"]["abc"] = 2000000000;
    if (std::string(where) == "added") j["added_tokens"][2]["id"] = 2000000000;
    if (std::string(where) == "special")
      j["post_processor"]["processors"][1]["special_tokens"]["<|begin_of_text|>"]["ids"] = {4194304};
    dir.write("tokenizer.json", j);
    if (std::string(where) == "decoder")
      dir.write("tokenizer_config.json", {{"added_tokens_decoder", {{"4194304", added(4194304, "<x>")}}}});
    what = dir.error();
    EXPECT_NE(what.find("must be an integer token id from 0 to 4194303"), std::string::npos) << where << ": " << what;
    const char* key = std::string(where) == "vocab"     ? "model.vocab.abc"
                      : std::string(where) == "added"   ? "added_tokens[2].id"
                      : std::string(where) == "special" ? "special_tokens.<|begin_of_text|>.ids"
                                                        : "added_tokens_decoder.4194304.id";
    EXPECT_NE(what.find(key), std::string::npos) << where << ": " << what;
    fs::remove(dir.path() / "tokenizer_config.json");
  }
  j = llama_style();
  j["model"]["vocab"]["abc"] = 4194303;  // the largest id allowed loads (its table has holes)
  dir.write("tokenizer.json", j);
  EXPECT_EQ(dir.load()->vocab_size(), 4194304);

  j = llama_style();
  j["model"]["type"] = "Unigram";  // a BPE-style {token: id} vocabulary is no Unigram one
  dir.write("tokenizer.json", j);
  what = dir.error();
  EXPECT_NE(what.find("key 'model.vocab' must be an array of [piece, score] pairs"), std::string::npos) << what;

  dir.write("tokenizer.json", llama_style());
  const auto tok = dir.load();
  try {
    tok->encode("ok \xff bad");
    ADD_FAILURE() << "no error for invalid UTF-8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid UTF-8 at byte offset 3"), std::string::npos) << e.what();
  }
}

// SentencePiece style: characters are symbols; a missing one falls back to <0xNN> bytes.
json sentencepiece_style(bool byte_fallback) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  int next = 3;
  if (byte_fallback)
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      vocab[name] = next++;
    }
  for (const char* t : {"\u2581", "H", "i", "a", "b", "\u2581H", "\u2581Hi", "\u00e9"}) vocab[t] = next++;
  return {
      {"added_tokens", {added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\u2581"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", byte_fallback},
        {"vocab", vocab}, {"merges", {"\u2581 H", "\u2581H i"}}}}};
}

TEST(SentencePieceStylePipeline, ByteFallbackAndSpaces) {
  Folder dir;
  dir.write("tokenizer.json", sentencepiece_style(true));
  const auto tok = dir.load();
  const Encoding e = tok->encode("Hi \u20ac");
  EXPECT_EQ(e.tokens, (Strings{"<s>", "\u2581Hi", "\u2581", "<0xE2>", "<0x82>", "<0xAC>"}));
  EXPECT_EQ(e.offsets, (Spans{{0, 0}, {0, 2}, {2, 3}, {3, 6}, {3, 6}, {3, 6}}));
  EXPECT_EQ(tok->decode(e.ids), "<s> Hi \u20ac");
  EXPECT_EQ(tok->display_token(e.ids[1], e.tokens[1]), " Hi");
  EXPECT_EQ(tok->display_token(e.ids[3], e.tokens[3]), "<0xE2>");
  EXPECT_EQ(tok->token_text(*tok->token_to_id("<0x41>")), "A");
  std::vector<int32_t> text_ids(e.ids.begin() + 1, e.ids.end());
  EXPECT_EQ(tok->decode(text_ids), "Hi \u20ac");  // Strip takes the prepended space off
  EXPECT_EQ(tok->encode("").tokens, (Strings{"<s>"}));
}

TEST(SentencePieceStylePipeline, UnknownCharactersFuse) {
  Folder dir;
  dir.write("tokenizer.json", sentencepiece_style(false));
  const auto tok = dir.load();
  const Encoding e = tok->encode("a\u20ac\u20acb");
  EXPECT_EQ(e.tokens, (Strings{"<s>", "\u2581", "a", "<unk>", "b"}));
  EXPECT_EQ(e.offsets[3], (std::pair<size_t, size_t>{1, 7}));
}

TEST(SentencePieceStylePipeline, LlamaTokenizerClassHonoursAddBosAndEos) {
  Folder dir;
  dir.write("tokenizer.json", sentencepiece_style(true));
  dir.write("tokenizer_config.json", {{"tokenizer_class", "LlamaTokenizer"}, {"add_bos_token", true},
                                      {"add_eos_token", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"}});
  auto e = dir.load()->encode("Hi");
  EXPECT_EQ(e.tokens, (Strings{"<s>", "\u2581Hi", "</s>"}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 1}));
  dir.write("tokenizer_config.json", {{"tokenizer_class", "GemmaTokenizerFast"}, {"add_bos_token", false}, {"bos_token", "<s>"}});
  EXPECT_EQ(dir.load()->encode("Hi").tokens, (Strings{"\u2581Hi"}));
  // Other classes keep the file's post-processor.
  dir.write("tokenizer_config.json", {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"add_eos_token", true}, {"eos_token", "</s>"}});
  EXPECT_EQ(dir.load()->encode("Hi").tokens, (Strings{"<s>", "\u2581Hi"}));
  dir.write("tokenizer_config.json", {{"tokenizer_class", "LlamaTokenizer"}, {"add_eos_token", true}, {"eos_token", "<nope>"}, {"bos_token", "<s>"}});
  const std::string what = dir.error();
  EXPECT_NE(what.find("tokenizer_config.json: key 'add_eos_token'"), std::string::npos) << what;
  EXPECT_NE(what.find("'<nope>'"), std::string::npos) << what;
}

TEST(SentencePieceStylePipeline, MetaspacePreTokenizerInsteadOfNormalizer) {
  Folder dir;
  json j = sentencepiece_style(true);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
  dir.write("tokenizer.json", j);
  const auto tok = dir.load();
  EXPECT_EQ(tok->encode("Hi Hi").tokens, (Strings{"<s>", "\u2581Hi", "\u2581Hi"}));
  // "first": text after an added token gets no '▁' of its own.
  EXPECT_EQ(tok->encode("<s>Hi").tokens, (Strings{"<s>", "<s>", "H", "i"}));
  const Encoding e = tok->encode("Hi Hi");
  EXPECT_EQ(tok->decode({e.ids.begin() + 1, e.ids.end()}), "Hi Hi");
}

}  // namespace
}  // namespace attn
