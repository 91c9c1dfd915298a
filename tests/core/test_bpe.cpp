// Byte-level BPE (GPT-2) on a tiny hand-made vocabulary: the pre-tokenizer regex, the byte
// table, merge order, offsets, added tokens, decoding, and loading from vocab.json +
// merges.txt / tokenizer.json written by the test. Real-data checks live in
// test_tokenizer_real.cpp. Expected pre-tokenizer splits were checked against the regex
// in JavaScript (the engine gpt-3-encoder uses).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/bpe.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using Span = std::pair<size_t, size_t>;
using Strings = std::vector<std::string>;

Strings split(std::string_view text) {
  const auto cps = unicode::decode_utf8(text);
  std::u32string u;
  for (const auto& c : cps) u += c.cp;
  Strings out;
  for (const auto& [b, e] : gpt2_pre_tokenize(u))
    out.push_back(unicode::to_utf8(u.substr(b, e - b)));
  return out;
}

TEST(Gpt2PreTokenizer, MatchesTheRegex) {
  EXPECT_EQ(split("Hello world"), (Strings{"Hello", " world"}));
  EXPECT_EQ(split("I'll don't we've"), (Strings{"I", "'ll", " don", "'t", " we", "'ve"}));
  EXPECT_EQ(split("a  \n\n  b   "), (Strings{"a", "  \n\n ", " b", "   "}));
  EXPECT_EQ(split("hello123world 42x"), (Strings{"hello", "123", "world", " 42", "x"}));
  EXPECT_EQ(split("!!!? !! x"), (Strings{"!!!?", " !!", " x"}));
  EXPECT_EQ(split("'s'S x'sy 're're'"),
            (Strings{"'s", "'", "S", " x", "'s", "y", " '", "re", "'re", "'"}));
  EXPECT_EQ(split("\U0001F600 \U0001F600"), (Strings{"\U0001F600", " \U0001F600"}));
  EXPECT_EQ(split("\t\tx"), (Strings{"\t", "\t", "x"}));
  EXPECT_EQ(split("  "), (Strings{"  "}));
  EXPECT_EQ(split("a\u00a0b"), (Strings{"a", "\u00a0", "b"}));  // only U+0020 prefixes words
  EXPECT_EQ(split("x \u3000y"), (Strings{"x", " ", "\u3000", "y"}));
  EXPECT_EQ(split(" \u00e9t\u00e9 caf\u00e9!"), (Strings{" \u00e9t\u00e9", " caf\u00e9", "!"}));
  EXPECT_EQ(split("'"), (Strings{"'"}));
  EXPECT_EQ(split("'l"), (Strings{"'", "l"}));
  EXPECT_EQ(split("1,000.5"), (Strings{"1", ",", "000", ".", "5"}));
  EXPECT_EQ(split("\u00fc\u0308ber"), (Strings{"\u00fc", "\u0308", "ber"}));  // Mn is not \p{L}
  EXPECT_TRUE(split("").empty());
}

TEST(ByteTable, MatchesGpt2BytesToUnicode) {
  EXPECT_EQ(byte_to_unicode(' '), char32_t{0x120});   // 'Ġ'
  EXPECT_EQ(byte_to_unicode('\n'), char32_t{0x10A});  // 'Ċ'
  EXPECT_EQ(byte_to_unicode(0), char32_t{0x100});
  EXPECT_EQ(byte_to_unicode(0x7F), char32_t{0x121});
  EXPECT_EQ(byte_to_unicode(0xAD), char32_t{0x143});  // soft hyphen: the last moved byte
  EXPECT_EQ(byte_to_unicode('A'), U'A');
  EXPECT_EQ(byte_to_unicode(0xE9), char32_t{0xE9});
}

// Vocabulary: byte b has id b; then merged tokens 256... in merge order.
enum : int32_t { HE = 256, LL, HELL, HELLO, G_W, OR, G_WOR, LD, G_WORLD, BC, AB, AA, EOT };
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"h", "e"},   {"l", "l"}, {"he", "ll"},   {"hell", "o"}, {"Ġ", "w"}, {"o", "r"},
    {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"}, {"b", "c"},    {"a", "b"}, {"a", "a"}};

std::vector<std::pair<std::string, int32_t>> byte_vocab() {
  std::vector<std::pair<std::string, int32_t>> vocab;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    unicode::append_utf8(s, byte_to_unicode(static_cast<uint8_t>(b)));
    vocab.emplace_back(s, b);
  }
  int32_t id = 256;
  for (const auto& [a, b] : kMerges) vocab.emplace_back(a + b, id++);
  return vocab;
}

BpeConfig make_config() {
  BpeConfig c;
  c.vocab = byte_vocab();
  c.merges = kMerges;
  c.source = "test vocab";
  c.added_tokens.push_back({"<|endoftext|>", EOT});
  return c;
}

TEST(Bpe, MergesLowestRankFirst) {
  const ByteLevelBpeTokenizer tok(make_config());
  const Encoding e = tok.encode("hello world");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{HELLO, G_WORLD}));
  EXPECT_EQ(e.tokens, (Strings{"hello", "Ġworld"}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 5}, {5, 11}}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{0, 0}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{0, 0}));
  // "b c" has a lower rank than "a b", so "abc" -> a + bc, not ab + c.
  EXPECT_EQ(tok.encode("abc").ids, (std::vector<int32_t>{'a', BC}));
  // Every occurrence of the best pair merges, left to right.
  EXPECT_EQ(tok.encode("aaaa").ids, (std::vector<int32_t>{AA, AA}));
  EXPECT_EQ(tok.encode("aaa").ids, (std::vector<int32_t>{AA, 'a'}));
  std::vector<int32_t> long_word(500, AA);
  long_word.push_back('a');
  EXPECT_EQ(tok.encode(std::string(1001, 'a')).ids, long_word);
  // Words never merge across pre-tokenizer boundaries.
  EXPECT_EQ(tok.encode("he llo").ids, (std::vector<int32_t>{HE, ' ', LL, 'o'}));
}

TEST(Bpe, MultiByteCharactersSplitIntoBytesWithTheCharacterSpan) {
  const ByteLevelBpeTokenizer tok(make_config());
  const Encoding e = tok.encode("x\u00e9");  // é = C3 A9, no merges for it
  EXPECT_EQ(e.ids, (std::vector<int32_t>{'x', 0xC3, 0xA9}));
  EXPECT_EQ(e.tokens, (Strings{"x", "Ã", "©"}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 1}, {1, 3}, {1, 3}}));
  EXPECT_EQ(tok.decode(e.ids), "x\u00e9");
  EXPECT_EQ(tok.token_text(0xC3), "\ufffd");  // half a character
  EXPECT_EQ(tok.token_text(G_WORLD), " world");
  EXPECT_EQ(tok.token_text('\n'), "\n");
}

TEST(Bpe, AddedTokensInTheTextBecomeTheirId) {
  const ByteLevelBpeTokenizer tok(make_config());
  const Encoding e = tok.encode("a<|endoftext|>b");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{'a', EOT, 'b'}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 1}, {1, 14}, {14, 15}}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(tok.decode(e.ids), "a<|endoftext|>b");
  EXPECT_EQ(tok.token_text(EOT), "<|endoftext|>");
  EXPECT_EQ(tok.encode("<|endoftext|> hello").ids, (std::vector<int32_t>{EOT, ' ', HELLO}));
  EXPECT_EQ(tok.encode("<|endoftext").ids.size(), 11u);  // incomplete: ordinary text
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), std::optional<int32_t>(EOT));
  EXPECT_EQ(tok.vocab_size(), EOT + 1);
  EXPECT_EQ(tok.mask_id(), std::nullopt);
  EXPECT_FALSE(tok.supports_pairs());
}

TEST(Bpe, NoSpecialTokensAreAddedAndEmptyTextIsEmpty) {
  const ByteLevelBpeTokenizer tok(make_config());
  EXPECT_TRUE(tok.encode("").ids.empty());
  const Encoding pair = tok.encode("a", std::string_view("b"));
  EXPECT_EQ(pair.ids, (std::vector<int32_t>{'a', 'b'}));
  EXPECT_EQ(pair.type_ids, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(pair.sequence_ids, (std::vector<int8_t>{0, 1}));
}

TEST(Bpe, AddPrefixSpaceOption) {
  BpeConfig config = make_config();
  config.add_prefix_space = true;
  const ByteLevelBpeTokenizer tok(config);
  const Encoding e = tok.encode("hello");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{' ', HELLO}));
  EXPECT_EQ(e.offsets[1], Span(0, 5));
  EXPECT_EQ(tok.encode(" hello").ids, (std::vector<int32_t>{' ', HELLO}));  // no second space
  EXPECT_EQ(tok.encode(" hello").offsets, (std::vector<Span>{{0, 1}, {1, 6}}));
}

TEST(Bpe, DecodeRoundTripsBytes) {
  const ByteLevelBpeTokenizer tok(make_config());
  const std::string text = "hello  world\n\t\u4e2d\U0001F600 caf\u00e9 <|endoftext|>";
  EXPECT_EQ(tok.decode(tok.encode(text).ids), text);
  EXPECT_EQ(tok.decode({-5, 100000}), "");  // out-of-range ids are skipped
  EXPECT_EQ(tok.id_to_token(100000), "");
}

TEST(Bpe, InvalidUtf8NamesTheByteOffset) {
  const ByteLevelBpeTokenizer tok(make_config());
  try {
    tok.encode("abc\xe2\x28");
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
}

TEST(Bpe, RejectsIncompleteVocabularies) {
  BpeConfig config = make_config();
  config.vocab.erase(config.vocab.begin());  // byte 0's symbol
  try {
    ByteLevelBpeTokenizer tok(config);
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte 0"), std::string::npos) << e.what();
  }
  config = make_config();
  config.merges.push_back({"x", "yz"});
  config.merges_source = "m/merges.txt";
  config.merges_first_line = 2;
  try {
    ByteLevelBpeTokenizer tok(config);
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("m/merges.txt line 14"), std::string::npos) << what;
    EXPECT_NE(what.find("'yz'"), std::string::npos) << what;
  }
}

// ---- loading from files --------------------------------------------------------------------

using test::TempDir;

nlohmann::json vocab_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (const auto& [token, id] : byte_vocab()) vocab[token] = id;
  vocab["<|endoftext|>"] = EOT;
  return vocab;
}

std::string merges_txt() {
  std::string text = "#version: 0.2\n";
  for (const auto& [a, b] : kMerges) text += a + " " + b + "\n";
  return text;
}

nlohmann::json tokenizer_json(bool merges_as_arrays) {
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : kMerges) {
    if (merges_as_arrays)
      merges.push_back({a, b});
    else
      merges.push_back(a + " " + b);
  }
  nlohmann::json vocab = vocab_json();
  return {{"version", "1.0"},
          {"added_tokens",
           {{{"id", EOT},
             {"content", "<|endoftext|>"},
             {"single_word", false},
             {"lstrip", false},
             {"rstrip", false},
             {"normalized", true},
             {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", true},
            {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

std::string load_error(const fs::path& dir) {
  return test::error_of([&] { load_tokenizer(dir, {}); });
}

void expect_hello_world(const Tokenizer& tok) {
  EXPECT_EQ(tok.kind(), "bpe");
  EXPECT_EQ(tok.encode("hello world<|endoftext|>").ids,
            (std::vector<int32_t>{HELLO, G_WORLD, EOT}));
  EXPECT_EQ(tok.encode("abc").ids, (std::vector<int32_t>{'a', BC}));
}

TEST(BpeLoader, LoadsVocabJsonAndMergesTxt) {
  TempDir dir;
  dir.write("vocab.json", vocab_json().dump());
  dir.write("merges.txt", merges_txt());
  expect_hello_world(*load_tokenizer(dir.path(), {}));
  dir.write("merges.txt", merges_txt().substr(merges_txt().find('\n') + 1));  // no #version
  expect_hello_world(*load_tokenizer(dir.path(), {}));

  // Special tokens named in tokenizer_config.json are split out of the text too.
  nlohmann::json vocab = vocab_json();
  vocab["<s>"] = EOT + 1;
  vocab["<mask>"] = EOT + 2;
  dir.write("vocab.json", vocab.dump());
  dir.write("tokenizer_config.json",
            R"({"bos_token": "<s>", "mask_token": {"content": "<mask>"}})");
  const auto tok = load_tokenizer(dir.path(), {});
  const Encoding e = tok->encode("<s>hello<mask>");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{EOT + 1, HELLO, EOT + 2}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(tok->mask_id(), std::optional<int32_t>(EOT + 2));
}

// add_bos_token (Hugging Face's GPT2Tokenizer option) puts bos_token before each sequence,
// from either file kind; a bos_token outside the vocabulary is named.
TEST(BpeLoader, AddBosTokenPutsTheBosBeforeEachSequence) {
  TempDir dir;
  dir.write("vocab.json", vocab_json().dump());
  dir.write("merges.txt", merges_txt());
  dir.write("tokenizer_config.json", R"({"bos_token": "<|endoftext|>", "add_bos_token": true})");
  for (int kind = 0; kind < 2; ++kind) {
    if (kind == 1) dir.write("tokenizer.json", tokenizer_json(false).dump());  // preferred when present
    const auto tok = load_tokenizer(dir.path(), {});
    const Encoding e = tok->encode("hello world");
    EXPECT_EQ(e.ids, (std::vector<int32_t>{EOT, HELLO, G_WORLD})) << kind;
    EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 0})) << kind;
    EXPECT_EQ(e.offsets[0], (std::pair<size_t, size_t>{0, 0})) << kind;
    EXPECT_EQ(e.offsets[1], (std::pair<size_t, size_t>{0, 5})) << kind;
    const Encoding pair = tok->encode("hello", std::string_view("world"));
    const Encoding second = tok->encode("world");  // <|endoftext|> world
    std::vector<int32_t> ids{EOT, HELLO};
    ids.insert(ids.end(), second.ids.begin(), second.ids.end());
    EXPECT_EQ(pair.ids, ids) << kind;
    EXPECT_EQ(pair.type_ids, (std::vector<int32_t>{0, 0, 1, 1, 1, 1})) << kind;
  }
  dir.write("tokenizer_config.json", R"({"add_bos_token": true})");
  std::string what = load_error(dir.path());
  EXPECT_NE(what.find("tokenizer_config.json"), std::string::npos) << what;
  EXPECT_NE(what.find("no bos_token"), std::string::npos) << what;
  dir.write("tokenizer_config.json", R"({"bos_token": "<s>", "add_bos_token": true})");
  what = load_error(dir.path());
  EXPECT_NE(what.find("'<s>'"), std::string::npos) << what;
  EXPECT_NE(what.find("not in the vocabulary"), std::string::npos) << what;
}

TEST(BpeLoader, LoadsTokenizerJsonWithEitherMergeForm) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json(false).dump());
  expect_hello_world(*load_tokenizer(dir.path(), {}));
  dir.write("tokenizer.json", tokenizer_json(true).dump());
  expect_hello_world(*load_tokenizer(dir.path(), {}));
}

TEST(BpeLoader, MalformedFilesAreNamed) {
  TempDir dir;
  dir.write("vocab.json", vocab_json().dump());
  std::string what = load_error(dir.path());
  EXPECT_NE(what.find("merges.txt"), std::string::npos) << what;

  dir.write("merges.txt", "#version: 0.2\nh e\nbad\n");
  what = load_error(dir.path());
  EXPECT_NE(what.find("merges.txt line 3"), std::string::npos) << what;

  dir.write("merges.txt", "#version: 0.2\nh e\nq zz\n");
  what = load_error(dir.path());
  EXPECT_NE(what.find("merges.txt line 3"), std::string::npos) << what;
  EXPECT_NE(what.find("'zz'"), std::string::npos) << what;

  dir.write("merges.txt", merges_txt());
  dir.write("vocab.json", "[1, 2");
  what = load_error(dir.path());
  EXPECT_NE(what.find("vocab.json: invalid JSON"), std::string::npos) << what;

  nlohmann::json unknown = tokenizer_json(false);
  unknown["pre_tokenizer"] = {{"type", "Frobnicate"}};
  dir.write("tokenizer.json", unknown.dump());
  what = load_error(dir.path());
  EXPECT_NE(what.find("tokenizer.json"), std::string::npos) << what;
  EXPECT_NE(what.find("pre_tokenizer"), std::string::npos) << what;

  nlohmann::json bad_merge = tokenizer_json(false);
  bad_merge["model"]["merges"][1] = 42;
  dir.write("tokenizer.json", bad_merge.dump());
  what = load_error(dir.path());
  EXPECT_NE(what.find("model.merges[1]"), std::string::npos) << what;
}

}  // namespace
}  // namespace attn
