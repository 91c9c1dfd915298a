// WordPiece (BERT) tokenizer on a small hand-made vocabulary: normalization, splitting,
// greedy matching, [UNK], special tokens, pairs, byte offsets, decoding, and loading from
// vocab.txt / tokenizer.json files written by the test. Real-data checks live in
// test_tokenizer_real.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/wordpiece.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using Span = std::pair<size_t, size_t>;

const std::vector<std::string> kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",    "##aff", "##able", "hello",
    "world", ",",     ".",     "!",     "$",      "a",     "##a",   "b",      "##c",
    "##d",   "中",    "文",    "ab",    "cafe",   "creme", "i",     "héllo",  "—",
    "[",     "]",     "mask",  "the",   "is",     "here"};
enum : int32_t {
  PAD,
  UNK,
  CLS,
  SEP,
  MASK,
  UN,
  AFF,
  ABLE,
  HELLO,
  WORLD,
  COMMA,
  DOT,
  BANG,
  DOLLAR,
  A,
  CONT_A,
  B,
  CONT_C,
  CONT_D,
  ZHONG,
  WEN,
  AB,
  CAFE,
  CREME,
  I,
  HELLO_ACCENT,
  EM_DASH,
  LBRACKET,
  RBRACKET,
  MASK_WORD,
  THE,
  IS,
  HERE
};

WordPieceConfig make_config() {
  WordPieceConfig c;
  c.vocab = kVocab;
  c.source = "test vocab";
  for (int32_t id : {PAD, UNK, CLS, SEP, MASK}) c.added_tokens.push_back({kVocab[id], id});
  return c;
}

// The encoding of `text` without the [CLS] / [SEP] around it.
Encoding inner(const WordPieceTokenizer& tok, std::string_view text) {
  Encoding e = tok.encode(text);
  EXPECT_GE(e.size(), 2u);
  EXPECT_EQ(e.ids.front(), CLS);
  EXPECT_EQ(e.ids.back(), SEP);
  Encoding out;
  for (size_t i = 1; i + 1 < e.size(); ++i) {
    out.ids.push_back(e.ids[i]);
    out.tokens.push_back(e.tokens[i]);
    out.offsets.push_back(e.offsets[i]);
    out.special.push_back(e.special[i]);
  }
  return out;
}

std::vector<int32_t> ids_of(const WordPieceTokenizer& tok, std::string_view text) {
  return inner(tok, text).ids;
}

TEST(WordPiece, GreedyLongestMatchWithContinuations) {
  const WordPieceTokenizer tok(make_config());
  const Encoding e = tok.encode("unaffable");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{CLS, UN, AFF, ABLE, SEP}));
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"[CLS]", "un", "##aff", "##able", "[SEP]"}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 0}, {0, 2}, {2, 5}, {5, 9}, {0, 0}}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{-1, 0, 0, 0, -1}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 0, 0, 1}));
}

TEST(WordPiece, LowerCasesAndStripsAccentsWithOriginalOffsets) {
  const WordPieceTokenizer tok(make_config());
  // H é(2 bytes) l l o , ␠ W ö(2 bytes) r l d !
  const Encoding e = inner(tok, "H\u00e9llo, W\u00f6rld!");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{HELLO, COMMA, WORLD, BANG}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 6}, {6, 7}, {8, 14}, {14, 15}}));
  // A precomposed é stays inside the span; a separate combining accent is removed by the
  // normalizer and, as in Hugging Face, falls outside the token's span.
  EXPECT_EQ(inner(tok, "Caf\u00e9").offsets, (std::vector<Span>{{0, 5}}));
  EXPECT_EQ(inner(tok, "Cafe\u0301").offsets, (std::vector<Span>{{0, 4}}));
  EXPECT_EQ(ids_of(tok, "Cafe\u0301"), (std::vector<int32_t>{CAFE}));
  EXPECT_EQ(ids_of(tok, "CR\u00c8ME"), (std::vector<int32_t>{CREME}));
  // U+0130 İ: NFD gives I + U+0307, the mark is stripped, then lower-cased.
  EXPECT_EQ(inner(tok, "\u0130").ids, (std::vector<int32_t>{I}));
  EXPECT_EQ(inner(tok, "\u0130").offsets, (std::vector<Span>{{0, 2}}));
}

TEST(WordPiece, StripAccentsCanBeTurnedOffSeparately) {
  WordPieceConfig config = make_config();
  config.strip_accents = false;  // lower-case but keep accents
  const WordPieceTokenizer tok(config);
  EXPECT_EQ(ids_of(tok, "H\u00e9llo"), (std::vector<int32_t>{HELLO_ACCENT}));
  EXPECT_EQ(ids_of(tok, "Hello"), (std::vector<int32_t>{HELLO}));
  // İ lower-cases to "i" + U+0307, which is not in the vocabulary.
  EXPECT_EQ(ids_of(tok, "\u0130"), (std::vector<int32_t>{UNK}));
}

TEST(WordPiece, CasedModelKeepsCaseAndAccents) {
  WordPieceConfig config = make_config();
  config.lowercase = false;  // strip_accents unset: follows lowercase, so accents stay
  const WordPieceTokenizer tok(config);
  EXPECT_EQ(ids_of(tok, "Hello hello h\u00e9llo"),
            (std::vector<int32_t>{UNK, HELLO, HELLO_ACCENT}));
}

TEST(WordPiece, SplitsPunctuationAsBertDoes) {
  const WordPieceTokenizer tok(make_config());
  // ASCII symbols such as $ count as punctuation; so does Unicode Pd (em dash).
  EXPECT_EQ(ids_of(tok, "a$b"), (std::vector<int32_t>{A, DOLLAR, B}));
  EXPECT_EQ(ids_of(tok, "a\u2014b"), (std::vector<int32_t>{A, EM_DASH, B}));
  // A non-ASCII symbol (euro sign, Sc) does not split: the word is unknown as a whole.
  const Encoding euro = inner(tok, "a\u20acb");
  EXPECT_EQ(euro.ids, (std::vector<int32_t>{UNK}));
  EXPECT_EQ(euro.offsets, (std::vector<Span>{{0, 5}}));
  EXPECT_EQ(ids_of(tok, "hello,,world."), (std::vector<int32_t>{HELLO, COMMA, COMMA, WORLD, DOT}));
}

TEST(WordPiece, CleansControlsAndWhitespace) {
  const WordPieceTokenizer tok(make_config());
  // a ␠ ␠ \n \t ␠ b BEL c ZWSP(3 bytes) d: controls and format characters vanish.
  const Encoding e = inner(tok,
                           "a  \n\t b\x07"
                           "c\u200b"
                           "d");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{A, B, CONT_C, CONT_D}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 1}, {6, 7}, {8, 9}, {12, 13}}));
  EXPECT_EQ(ids_of(tok, std::string_view("hel\0lo", 6)), (std::vector<int32_t>{HELLO}));
  EXPECT_EQ(inner(tok, "hel\ufffdlo").offsets, (std::vector<Span>{{0, 8}}));
  EXPECT_EQ(ids_of(tok, "hello\u3000world\u00a0a"), (std::vector<int32_t>{HELLO, WORLD, A}));
}

TEST(WordPiece, IsolatesCjkIdeographsOnly) {
  const WordPieceTokenizer tok(make_config());
  const Encoding e = inner(tok, "\u4e2d\u6587ab");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{ZHONG, WEN, AB}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 3}, {3, 6}, {6, 8}}));
  // Extension B ideograph (4 bytes) is isolated too; unknown on its own.
  const Encoding ext = inner(tok,
                             "a\U00020000"
                             "b");
  EXPECT_EQ(ext.ids, (std::vector<int32_t>{A, UNK, B}));
  EXPECT_EQ(ext.offsets, (std::vector<Span>{{0, 1}, {1, 5}, {5, 6}}));
  // Hiragana is not "Chinese" for BERT: one unknown word.
  EXPECT_EQ(inner(tok, "\u3042\u3044").offsets, (std::vector<Span>{{0, 6}}));
}

TEST(WordPiece, UnmatchedWordIsOneUnknown) {
  const WordPieceTokenizer tok(make_config());
  EXPECT_EQ(ids_of(tok, "xyz"), (std::vector<int32_t>{UNK}));
  // "un" matches but "##xyz" cannot: the whole word becomes one [UNK] with the word's span.
  const Encoding e = inner(tok, "hello unxyz");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{HELLO, UNK}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 5}, {6, 11}}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{0, 0}));
}

TEST(WordPiece, WordsLongerThanTheLimitAreUnknown) {
  const WordPieceTokenizer tok(make_config());
  const std::vector<int32_t> hundred = ids_of(tok, std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred[0], A);
  EXPECT_EQ(hundred[99], CONT_A);
  const Encoding over = inner(tok, std::string(101, 'a') + " a");
  EXPECT_EQ(over.ids, (std::vector<int32_t>{UNK, A}));
  EXPECT_EQ(over.offsets, (std::vector<Span>{{0, 101}, {102, 103}}));

  WordPieceConfig config = make_config();
  config.max_input_chars_per_word = 3;  // counts characters, not bytes
  const WordPieceTokenizer small(config);
  EXPECT_EQ(ids_of(small, "aaa"), (std::vector<int32_t>{A, CONT_A, CONT_A}));
  EXPECT_EQ(ids_of(small, "aaaa"), (std::vector<int32_t>{UNK}));
  EXPECT_EQ(ids_of(small, "h\u00e9llo"), (std::vector<int32_t>{UNK}));
}

TEST(WordPiece, LiteralSpecialTokensBecomeSpecial) {
  const WordPieceTokenizer tok(make_config());
  const Encoding e = inner(tok, "the [MASK] is here");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{THE, MASK, IS, HERE}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 3}, {4, 10}, {11, 13}, {14, 18}}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{0, 1, 0, 0}));
  // Matching is on the raw text: lower-case "[mask]" is ordinary text.
  EXPECT_EQ(ids_of(tok, "[mask]"), (std::vector<int32_t>{LBRACKET, MASK_WORD, RBRACKET}));
  EXPECT_EQ(ids_of(tok, "a[SEP]b[CLS]"), (std::vector<int32_t>{A, SEP, B, CLS}));
  EXPECT_EQ(tok.mask_id(), std::optional<int32_t>(MASK));
}

TEST(WordPiece, SentencePairsGetTypeIds) {
  const WordPieceTokenizer tok(make_config());
  ASSERT_TRUE(tok.supports_pairs());
  const Encoding e = tok.encode("hello", std::string_view("the world"));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{CLS, HELLO, SEP, THE, WORLD, SEP}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.sequence_ids, (std::vector<int8_t>{-1, 0, -1, 1, 1, -1}));
  EXPECT_EQ(e.offsets, (std::vector<Span>{{0, 0}, {0, 5}, {0, 0}, {0, 3}, {4, 9}, {0, 0}}));
  EXPECT_EQ(e.special, (std::vector<uint8_t>{1, 0, 1, 0, 0, 1}));
}

TEST(WordPiece, EmptyTextGivesOnlySpecialTokens) {
  const WordPieceTokenizer tok(make_config());
  EXPECT_EQ(tok.encode("").ids, (std::vector<int32_t>{CLS, SEP}));
  EXPECT_EQ(tok.encode(" \n\t ").ids, (std::vector<int32_t>{CLS, SEP}));
  WordPieceConfig config = make_config();
  config.add_special_tokens = false;
  EXPECT_TRUE(WordPieceTokenizer(config).encode("").ids.empty());
}

TEST(WordPiece, InvalidUtf8NamesTheByteOffset) {
  const WordPieceTokenizer tok(make_config());
  try {
    tok.encode("ok\xff");
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 2"), std::string::npos) << e.what();
  }
  try {
    tok.encode("fine", std::string_view("\xc3"));
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pair text: invalid UTF-8 at byte offset 0"),
              std::string::npos)
        << e.what();
  }
}

TEST(WordPiece, DecodesLikeTheWordPieceDecoder) {
  const WordPieceTokenizer tok(make_config());
  EXPECT_EQ(tok.decode({UN, AFF, ABLE, COMMA, HELLO, DOT}), "unaffable, hello.");
  EXPECT_EQ(tok.decode({CLS, HELLO, WORLD, BANG, SEP}), "[CLS] hello world! [SEP]");
  WordPieceConfig config = make_config();
  config.decode_cleanup = false;
  EXPECT_EQ(WordPieceTokenizer(config).decode({HELLO, COMMA, WORLD}), "hello , world");
  EXPECT_EQ(tok.token_text(AFF), "aff");
  EXPECT_EQ(tok.token_text(HELLO), "hello");
  EXPECT_EQ(tok.id_to_token(ABLE), "##able");
  EXPECT_EQ(tok.id_to_token(-1), "");
  EXPECT_EQ(tok.id_to_token(1000), "");
  EXPECT_EQ(tok.token_to_id("##aff"), std::optional<int32_t>(AFF));
  EXPECT_EQ(tok.token_to_id("nope"), std::nullopt);
  EXPECT_EQ(tok.vocab_size(), static_cast<int32_t>(kVocab.size()));
  EXPECT_EQ(tok.kind(), "wordpiece");
}

TEST(WordPiece, RejectsVocabularyWithoutUnknownToken) {
  WordPieceConfig config;
  config.vocab = {"[CLS]", "[SEP]", "hello"};
  config.source = "my/vocab.txt";
  try {
    WordPieceTokenizer tok(config);
    FAIL() << "expected attn::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("my/vocab.txt"), std::string::npos) << what;
    EXPECT_NE(what.find("[UNK]"), std::string::npos) << what;
  }
  config.vocab.clear();
  EXPECT_THROW(WordPieceTokenizer{config}, Error);
}

TEST(AddedTokens, LeftmostLongestWithStripAndSingleWord) {
  std::vector<AddedToken> tokens = {{"<x>", 7}, {"<x>>", 8}};
  auto pieces = split_on_added_tokens("a<x>>b<x>", tokens);
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[1].token->id, 8);  // the longer match wins
  EXPECT_EQ(pieces[1].begin, 1u);
  EXPECT_EQ(pieces[1].end, 5u);
  EXPECT_EQ(pieces[3].token->id, 7);
  EXPECT_EQ(pieces[2].token, nullptr);

  tokens = {{"<m>", 1, true, /*lstrip=*/true, /*rstrip=*/true}};
  pieces = split_on_added_tokens("a  <m> b", tokens);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].begin, 1u);  // the spaces around are part of the match
  EXPECT_EQ(pieces[1].end, 7u);
  EXPECT_EQ(pieces[2].begin, 7u);

  tokens = {{"ab", 1, true, false, false, /*single_word=*/true}};
  pieces = split_on_added_tokens("ab cab ab", tokens);
  int matches = 0;
  for (const TextPiece& p : pieces) matches += p.token != nullptr;
  EXPECT_EQ(matches, 2);
  EXPECT_TRUE(split_on_added_tokens("", tokens).empty());
}

// ---- loading from files --------------------------------------------------------------------

using test::TempDir;

std::string vocab_txt() {
  std::string text;
  for (const std::string& t : kVocab) text += t + "\n";
  return text;
}

std::string load_error(const fs::path& dir) {
  return test::error_of([&] { load_tokenizer(dir, {}); });
}

nlohmann::json tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < kVocab.size(); ++i) vocab[kVocab[i]] = i;
  nlohmann::json added = nlohmann::json::array();
  for (int32_t id : {PAD, UNK, CLS, SEP, MASK}) {
    added.push_back({{"id", id},
                     {"content", kVocab[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer",
           {{"type", "BertNormalizer"},
            {"clean_text", true},
            {"handle_chinese_chars", true},
            {"strip_accents", nullptr},
            {"lowercase", true}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}}}},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"model",
           {{"type", "WordPiece"},
            {"unk_token", "[UNK]"},
            {"continuing_subword_prefix", "##"},
            {"max_input_chars_per_word", 100},
            {"vocab", vocab}}}};
}

TEST(WordPieceLoader, LoadsVocabTxtWithLowerCaseByDefault) {
  TempDir dir;
  dir.write("vocab.txt", vocab_txt());
  const auto tok = load_tokenizer(dir.path(), {});
  EXPECT_EQ(tok->kind(), "wordpiece");
  EXPECT_EQ(tok->encode("Hello [MASK] unaffable").ids,
            (std::vector<int32_t>{CLS, HELLO, MASK, UN, AFF, ABLE, SEP}));
  EXPECT_EQ(tok->mask_id(), std::optional<int32_t>(MASK));
  EXPECT_TRUE(tok->supports_pairs());
}

TEST(WordPieceLoader, HonoursTokenizerConfigAndOptions) {
  TempDir dir;
  dir.write("vocab.txt", vocab_txt());
  dir.write("tokenizer_config.json",
            R"({"do_lower_case": false, "mask_token": {"content": "[MASK]", "lstrip": false}})");
  EXPECT_EQ(load_tokenizer(dir.path(), {})->encode("Hello").ids,
            (std::vector<int32_t>{CLS, UNK, SEP}));
  TokenizerOptions lower;
  lower.do_lower_case = true;
  EXPECT_EQ(load_tokenizer(dir.path(), lower)->encode("Hello").ids,
            (std::vector<int32_t>{CLS, HELLO, SEP}));
}

TEST(WordPieceLoader, PrefersTokenizerJson) {
  TempDir dir;
  dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");  // would give [UNK] for everything
  dir.write("tokenizer.json", tokenizer_json().dump());
  const auto tok = load_tokenizer(dir.path(), {});
  const Encoding e = tok->encode("H\u00e9llo [MASK]", std::string_view("world"));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{CLS, HELLO, MASK, SEP, WORLD, SEP}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(tok->decode({HELLO, COMMA, WORLD}), "hello, world");

  // The normalizer's lowercase flag is read, and do_lower_case overrides it.
  nlohmann::json cased = tokenizer_json();
  cased["normalizer"]["lowercase"] = false;
  dir.write("tokenizer.json", cased.dump());
  EXPECT_EQ(load_tokenizer(dir.path(), {})->encode("Hello").ids,
            (std::vector<int32_t>{CLS, UNK, SEP}));
  TokenizerOptions lower;
  lower.do_lower_case = true;
  EXPECT_EQ(load_tokenizer(dir.path(), lower)->encode("Hello").ids,
            (std::vector<int32_t>{CLS, HELLO, SEP}));
}

TEST(WordPieceLoader, ErrorsNameTheFolderAndFiles) {
  TempDir dir;
  std::string what = load_error(dir.path());
  EXPECT_NE(what.find(dir.path().string()), std::string::npos) << what;
  for (const char* name : {"tokenizer.json", "vocab.txt", "vocab.json", "merges.txt"}) {
    EXPECT_NE(what.find(name), std::string::npos) << what;
  }
  what = load_error(dir.path() / "missing");
  EXPECT_NE(what.find("does not exist"), std::string::npos) << what;
}

TEST(WordPieceLoader, MalformedFilesAreNamed) {
  TempDir dir;
  dir.write("vocab.txt", "[UNK]\nok\nbad\xff\n");
  std::string what = load_error(dir.path());
  EXPECT_NE(what.find("vocab.txt line 3"), std::string::npos) << what;

  dir.write("vocab.txt", "hello\nworld\n");  // no [UNK]
  what = load_error(dir.path());
  EXPECT_NE(what.find("vocab.txt"), std::string::npos) << what;
  EXPECT_NE(what.find("[UNK]"), std::string::npos) << what;

  dir.write("vocab.txt", vocab_txt());
  dir.write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  what = load_error(dir.path());
  EXPECT_NE(what.find("tokenizer_config.json"), std::string::npos) << what;
  EXPECT_NE(what.find("do_lower_case"), std::string::npos) << what;

  dir.write("tokenizer_config.json", "{}");
  dir.write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", ");
  what = load_error(dir.path());
  EXPECT_NE(what.find("tokenizer.json: invalid JSON"), std::string::npos) << what;

  nlohmann::json unknown_model = tokenizer_json();
  unknown_model["model"]["type"] = "Bogus";
  dir.write("tokenizer.json", unknown_model.dump());
  what = load_error(dir.path());
  EXPECT_NE(what.find("model.type"), std::string::npos) << what;
  EXPECT_NE(what.find("'Bogus'; supported are WordPiece, BPE, Unigram and WordLevel"), std::string::npos) << what;

  nlohmann::json bad_vocab = tokenizer_json();
  bad_vocab["model"]["vocab"]["hello"] = "eight";
  dir.write("tokenizer.json", bad_vocab.dump());
  what = load_error(dir.path());
  EXPECT_NE(what.find("model.vocab.hello"), std::string::npos) << what;
}

}  // namespace
}  // namespace attn
