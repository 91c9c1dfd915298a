// The tokenizers on the REAL published files in ../shared/models, compared with independent
// references: tests/fixtures/tokenizer/*_expected.json were written by
// tools/tokenizer_reference/make_expected.mjs (npm gpt-3-encoder for GPT-2, transformers.js
// for BERT, Llama 3, Qwen 3, Gemma 3 and the SentencePiece-style 32k vocabulary). Skips,
// saying why, when ../shared/models is absent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/tokenizer.h"
#include "tokenize/unicode.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json expected(const std::string& name) {
  return json::parse(test::read_file(test::fixtures_dir() / "tokenizer" / name));
}

std::string show(const std::string& text) { return json(text).dump(); }

// Offsets of tokens taken from the text lie on character boundaries, in order.
void expect_sane_offsets(const std::string& text, const Encoding& e, int8_t sequence) {
  size_t last_begin = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e.sequence_ids[i] != sequence) continue;
    const auto [b, end] = e.offsets[i];
    EXPECT_LT(b, end) << show(text) << " token " << i;
    EXPECT_LE(end, text.size()) << show(text) << " token " << i;
    EXPECT_GE(b, last_begin) << show(text) << " token " << i;
    last_begin = b;
    EXPECT_EQ(unicode::find_invalid_utf8(text.substr(b, end - b)), std::string::npos)
        << show(text) << " token " << i << " does not cover whole characters";
  }
}

// ---- GPT-2 -------------------------------------------------------------------------------

TEST(RealGpt2, KnownAnswer) {
  ATTN_REQUIRE_SHARED(dir, "gpt2-tokenizer");
  const auto tok = load_tokenizer(dir, {});
  EXPECT_EQ(tok->kind(), "bpe");
  EXPECT_EQ(tok->vocab_size(), 50257);
  EXPECT_EQ(tok->token_to_id("<|endoftext|>"), std::optional<int32_t>(50256));
  const Encoding e = tok->encode("Hello world");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"Hello", "\u0120world"}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<size_t, size_t>>{{0, 5}, {5, 11}}));
  EXPECT_EQ(tok->token_text(995), " world");
}

TEST(RealGpt2, MatchesGpt3EncoderOnTrickyText) {
  ATTN_REQUIRE_SHARED(dir, "gpt2-tokenizer");
  const auto tok = load_tokenizer(dir, {});
  const json cases = expected("gpt2_expected.json")["cases"];
  ASSERT_GE(cases.size(), 40u);
  for (const json& c : cases) {
    const std::string text = c["text"];
    const auto want = c["ids"].get<std::vector<int32_t>>();
    const Encoding e = tok->encode(text);
    EXPECT_EQ(e.ids, want) << show(text);
    // Byte-level BPE is lossless: decoding gives the text back.
    EXPECT_EQ(tok->decode(e.ids), text) << show(text);
    expect_sane_offsets(text, e, 0);
    for (size_t i = 0; i < e.size(); ++i) {
      EXPECT_EQ(e.special[i], e.ids[i] == 50256) << show(text);
      EXPECT_EQ(tok->id_to_token(e.ids[i]), e.tokens[i]);
    }
  }
}

// ---- BERT uncased --------------------------------------------------------------------------

void expect_bert_matches(const Tokenizer& tok, const json& cases) {
  for (const json& c : cases) {
    const std::string text = c["text"];
    std::optional<std::string> pair;
    if (c.contains("pair")) pair = c["pair"].get<std::string>();
    const Encoding e = pair ? tok.encode(text, std::string_view(*pair)) : tok.encode(text);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << show(text);
    EXPECT_EQ(e.tokens, c["tokens"].get<std::vector<std::string>>()) << show(text);
    EXPECT_EQ(e.type_ids, c["type_ids"].get<std::vector<int32_t>>()) << show(text);
    expect_sane_offsets(text, e, 0);
    if (pair) expect_sane_offsets(*pair, e, 1);
  }
}

TEST(RealBert, KnownAnswer) {
  ATTN_REQUIRE_SHARED(dir, "bert-uncased-tokenizer");
  const auto tok = load_tokenizer(dir, {});
  EXPECT_EQ(tok->kind(), "wordpiece");
  EXPECT_EQ(tok->vocab_size(), 30522);
  EXPECT_EQ(tok->mask_id(), std::optional<int32_t>(103));
  EXPECT_TRUE(tok->supports_pairs());
  const Encoding e = tok->encode("unaffable");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "una", "##ffa", "##ble", "[SEP]"}));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 14477, 20961, 3468, 102}));
  EXPECT_EQ(tok->decode(e.ids), "[CLS] unaffable [SEP]");
}

TEST(RealBert, OffsetsPointIntoTheOriginalText) {
  ATTN_REQUIRE_SHARED(dir, "bert-uncased-tokenizer");
  const auto tok = load_tokenizer(dir, {});
  // "Héllo Crème brûlée naïve" -> hello cr ##eme br ##ule ##e naive; accented letters are
  // 2 bytes, and every piece maps back to the original (accented, capitalised) bytes.
  const std::string text = "H\u00e9llo Cr\u00e8me br\u00fbl\u00e9e na\u00efve";
  const Encoding e = tok->encode(text);
  const std::vector<std::string> pieces = {"H\u00e9llo",    "Cr", "\u00e8me",  "br",
                                           "\u00fbl\u00e9", "e",  "na\u00efve"};
  ASSERT_EQ(e.size(), pieces.size() + 2);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const auto [b, end] = e.offsets[i + 1];
    EXPECT_EQ(text.substr(b, end - b), pieces[i]) << e.tokens[i + 1];
  }
  const Encoding masked = tok->encode("The [MASK] sat.");
  EXPECT_EQ(masked.ids[2], 103);
  EXPECT_EQ(masked.offsets[2], (std::pair<size_t, size_t>{4, 10}));
  EXPECT_EQ(masked.special[2], 1);
}

TEST(RealBert, MatchesTransformersJsOnTrickyText) {
  ATTN_REQUIRE_SHARED(dir, "bert-uncased-tokenizer");
  const json cases = expected("bert_uncased_expected.json")["cases"];
  ASSERT_GE(cases.size(), 40u);
  expect_bert_matches(*load_tokenizer(dir, {}), cases);
}

// The same vocabulary through the vocab.txt + tokenizer_config.json path: the folder gets
// symbolic links to the shared files (nothing is copied), without tokenizer.json.
TEST(RealBert, VocabTxtPathMatchesToo) {
  ATTN_REQUIRE_SHARED(dir, "bert-uncased-tokenizer");
  const fs::path tmp = fs::temp_directory_path() / ("attn-real-bert-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const char* name : {"vocab.txt", "tokenizer_config.json"}) {
    fs::create_symlink(fs::absolute(dir / name), tmp / name);
  }
  const auto tok = load_tokenizer(tmp, {});
  expect_bert_matches(*tok, expected("bert_uncased_expected.json")["cases"]);
  EXPECT_EQ(tok->mask_id(), std::optional<int32_t>(103));
  std::error_code ec;
  fs::remove_all(tmp, ec);
}

// ---- today's LLM tokenizers (tokenizer.json pipelines) ---------------------------------------

// ids, tokens and decode() as transformers.js gives them (BOS where the file adds it); offsets
// on whole characters, in order; special flags on added special tokens only.
void expect_matches_transformers_js(const Tokenizer& tok, const std::string& fixture) {
  const json cases = expected(fixture)["cases"];
  ASSERT_GE(cases.size(), 60u);
  for (const json& c : cases) {
    const std::string text = c["text"];
    const Encoding e = tok.encode(text);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << show(text);
    EXPECT_EQ(e.tokens, c["tokens"].get<std::vector<std::string>>()) << show(text);
    EXPECT_EQ(tok.decode(e.ids), c["decoded"].get<std::string>()) << show(text);
    expect_sane_offsets(text, e, 0);
    for (size_t i = 0; i < e.size(); ++i) {
      EXPECT_EQ(tok.id_to_token(e.ids[i]), e.tokens[i]) << show(text);
      EXPECT_FALSE(tok.display_token(e.ids[i], e.tokens[i]).empty()) << show(text) << " token " << i;
    }
  }
}

// decode(encode(text)) without the added special tokens gives the text back.
void expect_round_trip(const Tokenizer& tok, const std::string& text) {
  const Encoding e = tok.encode(text);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < e.size(); ++i)
    if (!e.special[i]) ids.push_back(e.ids[i]);
  EXPECT_EQ(tok.decode(ids), text) << show(text);
}

const char* kRoundTrips[] = {"Hello world", "  two leading, trailing  ", "tabs\tand\nnewlines\r\n",
                             "\u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0645\u0631\u062d\u0628\u0627",
                             "\U0001F44D\U0001F3FD \U0001F468\u200d\U0001F469\u200d\U0001F467", "x = f(1234567);"};

TEST(RealLlama3, MatchesTransformersJs) {
  ATTN_REQUIRE_SHARED(dir, "llama3-tokenizer");
  const auto tok = load_tokenizer(dir, {std::nullopt, "llama"});
  EXPECT_EQ(tok->vocab_size(), 128256);
  expect_matches_transformers_js(*tok, "llama3_expected.json");
  for (const char* text : kRoundTrips) expect_round_trip(*tok, text);
}

TEST(RealLlama3, DigitsInThreesAndSpecialTokens) {
  ATTN_REQUIRE_SHARED(dir, "llama3-tokenizer");
  const auto tok = load_tokenizer(dir, {});
  Encoding e = tok->encode("1234567");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"123", "456", "7"}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<size_t, size_t>>{{0, 3}, {3, 6}, {6, 7}}));
  // This file's post-processor is ByteLevel only, so (as in Hugging Face) no BOS is added;
  // <|begin_of_text|> typed in the text is the special token.
  e = tok->encode("<|begin_of_text|>Hi");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{128000, 13347}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0}));
  const Encoding thumbs = tok->encode("\U0001F44D");  // ðŁ ĳ į: a character in three tokens
  ASSERT_EQ(thumbs.size(), 3u);
  EXPECT_EQ(tok->display_token(thumbs.ids[0], thumbs.tokens[0]), "<0xF0><0x9F>");
  EXPECT_EQ(tok->token_text(thumbs.ids[0]), "\ufffd");
  EXPECT_EQ(thumbs.offsets[2], (std::pair<size_t, size_t>{0, 4}));
}

TEST(RealQwen3, MatchesTransformersJs) {
  ATTN_REQUIRE_SHARED(dir, "qwen3-tokenizer");
  const auto tok = load_tokenizer(dir, {std::nullopt, "qwen3"});
  expect_matches_transformers_js(*tok, "qwen3_expected.json");
  for (const char* text : kRoundTrips) expect_round_trip(*tok, text);
  // NFC: "e" + U+0301 is encoded as "é", and the token spans both original characters.
  const Encoding e = tok->encode("e\u0301");
  EXPECT_EQ(e.ids, tok->encode("\u00e9").ids);
  EXPECT_EQ(e.offsets.back().second, 3u);
  const Encoding chat = tok->encode("<|im_start|>user<think>");
  EXPECT_EQ(chat.special, (std::vector<uint8_t>{1, 0, 0}));  // <think> is added but not special
}

TEST(RealGemma3, MatchesTransformersJs) {
  ATTN_REQUIRE_SHARED(dir, "gemma3-tokenizer");
  const auto tok = load_tokenizer(dir, {std::nullopt, "gemma3_text"});
  EXPECT_EQ(tok->vocab_size(), 262145);
  expect_matches_transformers_js(*tok, "gemma3_expected.json");
  for (const char* text : kRoundTrips) expect_round_trip(*tok, text);
  const Encoding e = tok->encode("Hello world");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{2, 9259, 1902}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(tok->display_token(e.ids[2], e.tokens[2]), " world");
}

TEST(RealSentencePiece32k, MatchesTransformersJs) {
  ATTN_REQUIRE_SHARED(dir, "sentencepiece-bpe-32k-tokenizer");
  const auto tok = load_tokenizer(dir, {std::nullopt, "mistral"});
  EXPECT_EQ(tok->vocab_size(), 32000);
  expect_matches_transformers_js(*tok, "sentencepiece_bpe_32k_expected.json");
  for (const char* text : kRoundTrips) expect_round_trip(*tok, text);
  const Encoding e = tok->encode("Hello \U0001F1EB");  // a flag half: byte fallback
  EXPECT_EQ(e.tokens[1], "\u2581Hello");
  EXPECT_EQ(e.ids[1], 22557);
  EXPECT_EQ(tok->display_token(e.ids[1], e.tokens[1]), " Hello");
  EXPECT_EQ(e.tokens.back(), "<0xAB>");
  EXPECT_EQ(tok->display_token(e.ids.back(), e.tokens.back()), "<0xAB>");
  EXPECT_EQ(tok->display_token(*tok->token_to_id("<0x0A>"), "<0x0A>"), "\n");
}

}  // namespace
}  // namespace attn
