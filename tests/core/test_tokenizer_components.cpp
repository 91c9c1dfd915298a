// The tokenizer.json components one by one, on small hand-made snippets: normalizers,
// pre-tokenizers (Split with Oniguruma regexes, ByteLevel, Metaspace, ...), decoders, and
// their error messages (file and key named). Whole tokenizers: test_tokenizer_pipeline.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/decoders.h"
#include "tokenize/normalizers.h"
#include "tokenize/pre_tokenizers.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Strings = std::vector<std::string>;

const fs::path kFile = "dir/tokenizer.json";

// Llama 3's and Qwen's Split patterns, as their tokenizer.json files write them.
const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* kQwenRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

std::vector<NormalizedText> pre_tokenize(const json& config, std::string_view text) {
  const auto pre = parse_pre_tokenizer(JsonNode(config, kFile, "pre_tokenizer"));
  std::vector<NormalizedText> pieces{NormalizedText::from_original(text, 0, text.size())};
  pre->pre_tokenize(pieces);
  return pieces;
}

Strings pieces(const json& config, std::string_view text) {
  Strings out;
  for (const NormalizedText& p : pre_tokenize(config, text)) out.push_back(p.text);
  return out;
}

json split_regex(const char* pattern, const char* behavior = "Isolated") {
  return {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", behavior}, {"invert", false}};
}

using test::error_of;

TEST(SplitPreTokenizer, Llama3RegexWithOniguruma) {
  const json split = split_regex(kLlama3Regex);
  EXPECT_EQ(pieces(split, "IT'S 12345 hello  world\n\n x"),
            (Strings{"IT", "'S", " ", "123", "45", " hello", " ", " world", "\n\n", " x"}));
  // \p{L} is Unicode: accents and CJK are letters; "1234567" is grouped in threes.
  EXPECT_EQ(pieces(split, "na\u00efve caf\u00e9 \u65e5\u672c 1234567"),
            (Strings{"na\u00efve", " caf\u00e9", " \u65e5\u672c", " ", "123", "456", "7"}));
  // \s+(?!\S) leaves the last space of a run to the next word; a trailing run stays whole.
  EXPECT_EQ(pieces(split, "a   b   "), (Strings{"a", "  ", " b", "   "}));
  EXPECT_EQ(pieces(split_regex(kQwenRegex), "x 2024"), (Strings{"x", " ", "2", "0", "2", "4"}));
}

TEST(SplitPreTokenizer, BehaviorsAndInvert) {
  const auto literal = [](const char* behavior, bool invert = false) {
    return json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
  };
  EXPECT_EQ(pieces(literal("Removed"), "a-b--c"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(pieces(literal("Isolated"), "a-b--c"), (Strings{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(pieces(literal("MergedWithPrevious"), "a-b--c"), (Strings{"a-", "b-", "-", "c"}));
  EXPECT_EQ(pieces(literal("MergedWithNext"), "a-b--c"), (Strings{"a", "-b", "-", "-c"}));
  EXPECT_EQ(pieces(literal("Contiguous"), "a-b--c"), (Strings{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(pieces(literal("Removed", true), "a-b--c"), (Strings{"-", "-", "-"}));  // each match alone
}

TEST(SplitPreTokenizer, PiecesKeepTheirOriginalSpans) {
  const auto p = pre_tokenize(split_regex(kLlama3Regex), "h\u00e9 y");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].original_span(0, p[1].text.size()), (Span{3, 5}));
}

TEST(SplitPreTokenizer, BadRegexIsNamedWithItsKey) {
  const json seq = {{"type", "Sequence"},
                    {"pretokenizers", {split_regex("\\p{L}+"), split_regex("(?<open")}}};
  const std::string what = error_of([&] { pieces(seq, "x"); });
  EXPECT_NE(what.find("dir/tokenizer.json"), std::string::npos) << what;
  EXPECT_NE(what.find("pre_tokenizer.pretokenizers[1].pattern.Regex"), std::string::npos) << what;
  EXPECT_NE(what.find("invalid regex"), std::string::npos) << what;
}

TEST(SplitPreTokenizer, UnknownTypesAndBehaviorsListWhatIsSupported) {
  std::string what = error_of([&] { pieces({{"type", "Frobnicate"}}, "x"); });
  EXPECT_NE(what.find("pre_tokenizer.type"), std::string::npos) << what;
  EXPECT_NE(what.find("'Frobnicate'"), std::string::npos) << what;
  EXPECT_NE(what.find("Metaspace"), std::string::npos) << what;
  what = error_of([&] { pieces(split_regex("x", "Sideways"), "x"); });
  EXPECT_NE(what.find("pre_tokenizer.behavior"), std::string::npos) << what;
  what = error_of([&] { pieces({{"type", "Split"}, {"pattern", "x"}, {"behavior", "Removed"}}, "x"); });
  EXPECT_NE(what.find("pre_tokenizer.pattern"), std::string::npos) << what;
}

TEST(ByteLevelPreTokenizer, MapsBytesAndSplitsLikeGpt2) {
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_EQ(pieces(byte_level, "Hello world"), (Strings{"Hello", "\u0120world"}));
  const json no_regex = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", false}};
  EXPECT_EQ(pieces(no_regex, "a b\n"), (Strings{"\u0120a\u0120b\u010a"}));
  // Both bytes of "é" stand for the whole character in the original text.
  const auto p = pre_tokenize(byte_level, "\u00e9");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].text, "\u00c3\u00a9");
  EXPECT_EQ(p[0].original_span(0, 2), (Span{0, 2}));
}

TEST(MetaspacePreTokenizer, PrependSchemesAndSplit) {
  const auto meta = [](const char* scheme, bool split) {
    return json{{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", scheme}, {"split", split}};
  };
  EXPECT_EQ(pieces(meta("always", true), "Hello big world"),
            (Strings{"\u2581Hello", "\u2581big", "\u2581world"}));
  EXPECT_EQ(pieces(meta("never", true), "Hello  world"), (Strings{"Hello", "\u2581", "\u2581world"}));
  EXPECT_EQ(pieces(meta("always", false), "a b"), (Strings{"\u2581a\u2581b"}));
  EXPECT_EQ(pieces(meta("first", false), "a b"), (Strings{"\u2581a\u2581b"}));
  // "first": only a piece that starts the text gets the prefix.
  const auto pre = parse_pre_tokenizer(JsonNode(meta("first", false), kFile, "pre_tokenizer"));
  std::vector<NormalizedText> later{NormalizedText::from_original("<s>a b", 3, 6)};
  pre->pre_tokenize(later);
  EXPECT_EQ(later[0].text, "a\u2581b");
  const std::string what = error_of([&] { pieces(meta("sometimes", true), "x"); });
  EXPECT_NE(what.find("pre_tokenizer.prepend_scheme"), std::string::npos) << what;
}

TEST(OtherPreTokenizers, WhitespaceDigitsPunctuation) {
  EXPECT_EQ(pieces({{"type", "Whitespace"}}, "Hi, you 2!"), (Strings{"Hi", ",", "you", "2", "!"}));
  EXPECT_EQ(pieces({{"type", "WhitespaceSplit"}}, " a\tb  c "), (Strings{"a", "b", "c"}));
  EXPECT_EQ(pieces({{"type", "Digits"}, {"individual_digits", true}}, "a12"), (Strings{"a", "1", "2"}));
  EXPECT_EQ(pieces({{"type", "Digits"}, {"individual_digits", false}}, "a12b"), (Strings{"a", "12", "b"}));
  EXPECT_EQ(pieces({{"type", "Punctuation"}, {"behavior", "Isolated"}}, "a,b!"), (Strings{"a", ",", "b", "!"}));
}

// ---- normalizers ----------------------------------------------------------------------------

NormalizedText normalize(const json& config, std::string_view text) {
  const auto n = parse_normalizer(JsonNode(config, kFile, "normalizer"));
  NormalizedText t = NormalizedText::from_original(text, 0, text.size());
  n->normalize(t);
  return t;
}

TEST(Normalizers, NfcComposesWithIcuAndKeepsSpans) {
  const NormalizedText t = normalize({{"type", "NFC"}}, "xe\u0301y");
  EXPECT_EQ(t.text, "x\u00e9y");
  EXPECT_EQ(t.original_span(1, 3), (Span{1, 4}));  // é came from "e" + U+0301
  EXPECT_EQ(t.original_span(3, 4), (Span{4, 5}));
  EXPECT_EQ(normalize({{"type", "NFD"}}, "\u00e9").text, "e\u0301");
  EXPECT_EQ(normalize({{"type", "NFKC"}}, "\uff26\ufb01\u2460").text, "F" "fi" "1");
  EXPECT_EQ(normalize({{"type", "NFKD"}}, "\u00bd").text, "1\u20442");
}

TEST(Normalizers, PrependReplaceSequence) {
  const json seq = {{"type", "Sequence"},
                    {"normalizers",
                     {{{"type", "Prepend"}, {"prepend", "\u2581"}},
                      {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}};
  const NormalizedText t = normalize(seq, "Hi there");
  EXPECT_EQ(t.text, "\u2581Hi\u2581there");
  EXPECT_EQ(t.original_span(0, 3), (Span{0, 1}));  // the prefix belongs to the first character
  EXPECT_EQ(t.original_span(5, 8), (Span{2, 3}));  // the space it replaced
  EXPECT_EQ(normalize(seq, "").text, "");          // nothing is prepended to nothing
  const json regex = {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}};
  EXPECT_EQ(normalize(regex, "a    b  c").text, "a b c");
}

TEST(Normalizers, LowercaseStripAccents) {
  EXPECT_EQ(normalize({{"type", "Lowercase"}}, "HeLLo \u0130").text, "hello i\u0307");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, "  a b \n").text, "a b");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}, "  a ").text, "  a");
  EXPECT_EQ(normalize({{"type", "StripAccents"}}, "e\u0301").text, "e");
}

TEST(Normalizers, ErrorsNameTheKey) {
  std::string what = error_of([&] { normalize({{"type", "ByteLevel"}}, "x"); });
  EXPECT_NE(what.find("normalizer.type"), std::string::npos) << what;
  EXPECT_NE(what.find("NFC"), std::string::npos) << what;
  what = error_of([&] { normalize({{"type", "Precompiled"}}, "x"); });
  EXPECT_NE(what.find("key 'normalizer.precompiled_charsmap' is missing"), std::string::npos) << what;
  what = error_of([&] {
    normalize({{"type", "Sequence"}, {"normalizers", {{{"type", "Replace"}, {"pattern", {{"Regex", "("}}}, {"content", ""}}}}}, "x");
  });
  EXPECT_NE(what.find("normalizer.normalizers[0].pattern.Regex"), std::string::npos) << what;
  what = error_of([&] { normalize({{"type", "Prepend"}}, "x"); });
  EXPECT_NE(what.find("normalizer.prepend' is missing"), std::string::npos) << what;
}

// ---- decoders -------------------------------------------------------------------------------

std::string decode(const json& config, Strings tokens, DecodeMode mode = DecodeMode::Text) {
  const auto d = parse_decoder(JsonNode(config, kFile, "decoder"));
  d->decode_chain(tokens, mode);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

const json kSentencePieceDecoder = {
    {"type", "Sequence"},
    {"decoders",
     {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
      {{"type", "ByteFallback"}},
      {{"type", "Fuse"}},
      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};

TEST(Decoders, SentencePieceStyle) {
  EXPECT_EQ(decode(kSentencePieceDecoder, {"\u2581Hello", "\u2581world", "<0x21>"}), "Hello world!");
  // <0xE2><0x82><0xAC> is "€"; a partial character becomes U+FFFD per byte, or its bytes.
  EXPECT_EQ(decode(kSentencePieceDecoder, {"<0xE2>", "<0x82>", "<0xAC>"}), "\u20ac");
  EXPECT_EQ(decode(kSentencePieceDecoder, {"a", "<0xE2>", "<0x82>"}), "a\ufffd\ufffd");
  EXPECT_EQ(decode(kSentencePieceDecoder, {"<0xE2>"}, DecodeMode::Display), "<0xE2>");
  // A token alone keeps its space (Strip is for whole texts).
  EXPECT_EQ(decode(kSentencePieceDecoder, {"\u2581Hello"}, DecodeMode::Token), " Hello");
}

TEST(Decoders, ByteLevelAndMetaspace) {
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"Hello", "\u0120w\u00c3\u00a9"}), "Hello w\u00e9");
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"\u00c3"}), "\ufffd");
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"\u00c3"}, DecodeMode::Display), "<0xC3>");
  const json meta = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(decode(meta, {"\u2581Hi", "\u2581you"}), "Hi you");
  EXPECT_EQ(decode(meta, {"\u2581Hi"}, DecodeMode::Display), " Hi");
  const std::string what = error_of([&] { decode({{"type", "CTC"}}, {}); });
  EXPECT_NE(what.find("decoder.type"), std::string::npos) << what;
}

}  // namespace
}  // namespace attn
