// tokenizer.json files with a Unigram model (SentencePiece's, with the Precompiled charsmap
// normalizer and Metaspace) or a WordLevel model, read without any .model file, against outside
// references on the same texts:
//   - unigram_nfkc, unigram_byte_fallback: small SentencePiece models trained and converted by
//     tools/make_unigram_fixtures.py; <name>_spm_expected.json holds python3-sentencepiece's
//     ids (+ </s>), <name>_expected.json those of transformers.js's tokenizers port
//     (tools/tokenizer_reference/make_unigram_expected.mjs);
//   - word_level: a hand-written WordLevel + Whitespace file, transformers.js's ids;
//   - t5_tiny's tokenizer.json alone, against libsentencepiece on its spiece.model.
// Then the refusals of bad files: a truncated or garbled charsmap, a vocabulary entry that is
// not a pair, unk_id outside the vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tokenize/tokenizer.h"
#include "util/error.h"

namespace attn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;
using Ids = std::vector<int32_t>;

fs::path fixture(const std::string& name) { return test::fixtures_dir() / "tokenizer" / name; }

json read_json(const fs::path& path) { return json::parse(test::read_file(path)); }

std::string quoted(const std::string& text) { return json(text).dump(); }

// A folder holding one tokenizer.json.
struct JsonFolder {
  test::TempDir dir{"attn-unigram"};
  explicit JsonFolder(const json& tokenizer) { dir.write("tokenizer.json", tokenizer.dump()); }
  std::unique_ptr<Tokenizer> load() const { return load_tokenizer(dir.path(), {}); }
  std::string error() const {
    return error_of([&] { load(); });
  }
};

TEST(UnigramJson, NfkcCharsmapMatchesSentencePieceAndTransformersJs) {
  const auto tok = load_tokenizer(fixture("unigram_nfkc"), {});
  EXPECT_EQ(tok->kind(), "unigram");
  EXPECT_EQ(tok->vocab_size(), 320);
  const json spm = read_json(fixture("unigram_nfkc_spm_expected.json"));
  const json js = read_json(fixture("unigram_nfkc_expected.json"));
  ASSERT_EQ(spm["cases"].size(), js["cases"].size());
  ASSERT_GE(spm["cases"].size(), 20u);
  for (size_t i = 0; i < spm["cases"].size(); ++i) {
    const std::string text = spm["cases"][i]["text"];
    const Encoding enc = tok->encode(text);
    EXPECT_EQ(enc.ids, spm["cases"][i]["ids"].get<Ids>()) << "sentencepiece, text " << quoted(text);
    EXPECT_EQ(enc.ids, js["cases"][i]["ids"].get<Ids>()) << "transformers.js, text " << quoted(text);
    // Tokens too, except unknown ones: the port shows the text it covers, we the vocabulary's.
    const auto js_tokens = js["cases"][i]["tokens"].get<std::vector<std::string>>();
    ASSERT_EQ(enc.tokens.size(), js_tokens.size());
    for (size_t k = 0; k < js_tokens.size(); ++k) {
      if (enc.ids[k] == 2) continue;  // unk_id
      EXPECT_EQ(enc.tokens[k], js_tokens[k]) << quoted(text);
    }
  }
}

TEST(UnigramJson, ByteFallbackMatchesSentencePiece) {
  const auto tok = load_tokenizer(fixture("unigram_byte_fallback"), {});
  const json spm = read_json(fixture("unigram_byte_fallback_spm_expected.json"));
  const json js = read_json(fixture("unigram_byte_fallback_expected.json"));
  ASSERT_EQ(spm["cases"].size(), js["cases"].size());
  int byte_cases = 0, by_design = 0;
  for (size_t i = 0; i < spm["cases"].size(); ++i) {
    const std::string text = spm["cases"][i]["text"];
    const Encoding enc = tok->encode(text);
    Ids want = spm["cases"][i]["ids"];
    // transformers.js's port has no byte_fallback: where it needed one, only sentencepiece.
    if (js["cases"][i].value("complete", true)) {
      EXPECT_EQ(enc.ids, js["cases"][i]["ids"].get<Ids>()) << "transformers.js, text " << quoted(text);
    } else {
      ++byte_cases;
    }
    // Where the tokenizers pipeline differs from sentencepiece by its own rules, transformers.js
    // (above) is the reference: Metaspace adds no '▁' before text that starts with one.
    if (js["cases"][i].value("differs_from_sentencepiece", false)) {
      ++by_design;
      continue;
    }
    // The converter's Strip (right) also removes a trailing "\r\n", whose bytes sentencepiece
    // keeps as <0x0D> <0x0A>; the rest must be the same.
    if (text.ends_with("\r\n")) {
      ASSERT_EQ(spm["cases"][i]["tokens"][want.size() - 3], "<0x0D>");
      want.erase(want.end() - 3, want.end() - 1);
      ++by_design;
    }
    EXPECT_EQ(enc.ids, want) << "sentencepiece, text " << quoted(text);
  }
  EXPECT_GE(byte_cases, 5);  // emoji, CJK, symbols, full-width letters, combining marks
  EXPECT_EQ(by_design, 2);
  // A character outside the vocabulary: its UTF-8 bytes, each token spanning the character.
  const Encoding enc = tok->encode("\xE2\x98\x83");  // U+2603 SNOWMAN
  ASSERT_GE(enc.size(), 4u);
  EXPECT_EQ(enc.tokens[enc.size() - 4], "<0xE2>");
  EXPECT_EQ(enc.tokens[enc.size() - 2], "<0x83>");
  EXPECT_EQ(enc.offsets[enc.size() - 3], (std::pair<size_t, size_t>{0, 3}));
  EXPECT_EQ(tok->decode(Ids(enc.ids.begin(), enc.ids.end() - 1)), "\xE2\x98\x83");
}

TEST(UnigramJson, OffsetsDecodeAndDisplay) {
  const auto tok = load_tokenizer(fixture("unigram_nfkc"), {});
  const std::string text = "ﬁne café  1";
  const Encoding enc = tok->encode(text);
  ASSERT_GE(enc.size(), 3u);
  EXPECT_EQ(enc.tokens.back(), "</s>");
  EXPECT_EQ(enc.special.back(), 1);
  for (size_t i = 0; i + 1 < enc.size(); ++i) {  // byte spans of the text the user typed
    EXPECT_LE(enc.offsets[i].first, enc.offsets[i].second);
    EXPECT_LE(enc.offsets[i].second, text.size());
  }
  EXPECT_EQ(enc.offsets[0], (std::pair<size_t, size_t>{0, 3}));  // "▁fi" from the ligature
  EXPECT_EQ(tok->decode(Ids(enc.ids.begin(), enc.ids.end() - 1)), "fine café 1");
  EXPECT_EQ(tok->display_token(enc.ids[0], enc.tokens[0]), " fi");
}

TEST(UnigramJson, LoadsWithoutSpieceModelAndAgreesWithLibSentencePiece) {
  // t5_tiny's tokenizer.json alone (T5Converter layout, identity rule), against the same
  // folder read through libsentencepiece on spiece.model (which the loader prefers).
  const fs::path t5 = test::fixtures_dir() / "models" / "t5_tiny";
  test::TempDir dir("attn-unigram-t5");
  dir.write("tokenizer.json", test::read_file(t5 / "tokenizer.json"));
  const auto json_only = load_tokenizer(dir.path(), {});
  const auto spiece = load_tokenizer(t5, {});
  EXPECT_EQ(json_only->kind(), "unigram");
  EXPECT_EQ(spiece->kind(), "sentencepiece");
  // (Texts without runs of spaces or spaces at the end: this file has no normalizer to strip
  // and collapse them, as sentencepiece does.)
  for (const char* text : {"the cat sat on the mat", "The café by 東京 station.", " a b c", ""})
    EXPECT_EQ(json_only->encode(text).ids, spiece->encode(text).ids) << quoted(text);
}

TEST(WordLevelJson, MatchesTransformersJs) {
  const auto tok = load_tokenizer(fixture("word_level"), {});
  EXPECT_EQ(tok->kind(), "wordlevel");
  const json js = read_json(fixture("word_level_expected.json"));
  ASSERT_GE(js["cases"].size(), 8u);
  for (const json& c : js["cases"]) {
    const std::string text = c["text"];
    const Encoding enc = tok->encode(text);
    EXPECT_EQ(enc.ids, c["ids"].get<Ids>()) << quoted(text);
    EXPECT_EQ(enc.tokens.size(), c["ids"].size());
  }
  const Encoding enc = tok->encode("the zebra");
  EXPECT_EQ(enc.tokens[1], "[UNK]");
  EXPECT_EQ(enc.offsets[1], (std::pair<size_t, size_t>{4, 9}));
}

TEST(WordLevelJson, UnknownWordWithoutUnkTokenIsAnError) {
  json doc = read_json(fixture("word_level") / "tokenizer.json");
  doc["model"]["unk_token"] = "<missing>";
  JsonFolder folder(doc);
  const auto tok = folder.load();
  EXPECT_EQ(tok->encode("the cat").ids, (Ids{2, 3}));
  const std::string error = error_of([&] { tok->encode("the zebra"); });
  EXPECT_NE(error.find("tokenizer.json: key 'model.unk_token' is '<missing>'"), std::string::npos) << error;
  EXPECT_NE(error.find("zebra"), std::string::npos) << error;
}

// --- bad files -----------------------------------------------------------------------------

json nfkc_json() { return read_json(fixture("unigram_nfkc") / "tokenizer.json"); }

// Base64 both ways, written here so the test does not lean on the loader's own decoder.
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string from_base64(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    acc = (acc << 6) | uint32_t(kBase64.find(ch));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string to_base64(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? uint8_t(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kBase64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string& charsmap_of(json& doc) { return doc["normalizer"]["normalizers"][0]["precompiled_charsmap"].get_ref<std::string&>(); }

TEST(UnigramJson, TruncatedCharsmapIsAnErrorNamingTheFile) {
  json doc = nfkc_json();
  std::string& map = charsmap_of(doc);
  map.resize(map.size() / 2);  // the trie says it is longer than what follows
  const std::string error = JsonFolder(doc).error();
  EXPECT_NE(error.find("tokenizer.json: key 'normalizer.normalizers[0].precompiled_charsmap'"), std::string::npos) << error;
  EXPECT_NE(error.find("truncated or garbled"), std::string::npos) << error;

  map = "AAAA";  // 3 bytes
  EXPECT_NE(JsonFolder(doc).error().find("too short"), std::string::npos);
  map = "not base64!";
  EXPECT_NE(JsonFolder(doc).error().find("precompiled_charsmap' is not base64"), std::string::npos);
}

TEST(UnigramJson, GarbledCharsmapIsAnError) {
  const json original = nfkc_json();
  const std::string blob = from_base64(original["normalizer"]["normalizers"][0]["precompiled_charsmap"]);
  ASSERT_GT(blob.size(), 200000u);
  json doc = original;
  charsmap_of(doc) = to_base64(blob);  // round trip: still loads
  EXPECT_NO_THROW(JsonFolder(doc).load());

  // The replacement strings cut short: values point past their end.
  const uint32_t trie = uint32_t(uint8_t(blob[0])) | uint32_t(uint8_t(blob[1])) << 8 | uint32_t(uint8_t(blob[2])) << 16;
  charsmap_of(doc) = to_base64(blob.substr(0, 4 + trie + 10));
  std::string error = JsonFolder(doc).error();
  EXPECT_NE(error.find("precompiled_charsmap' points at replacement byte"), std::string::npos) << error;

  // One byte of every trie unit scrambled: some reachable value lands outside the blob.
  std::string scrambled = blob;
  for (size_t i = 4; i < 4 + trie; i += 4) scrambled[i + 1] = char(uint8_t(scrambled[i + 1]) ^ 0x5A);
  charsmap_of(doc) = to_base64(scrambled);
  error = JsonFolder(doc).error();
  EXPECT_NE(error.find("truncated or garbled"), std::string::npos) << error;

  // A trie size that is not a multiple of 4.
  std::string odd = blob;
  odd[0] = char(uint8_t(odd[0]) | 1);
  charsmap_of(doc) = to_base64(odd);
  EXPECT_NE(JsonFolder(doc).error().find("non-zero multiple of 4"), std::string::npos);
}

TEST(UnigramJson, VocabEntryThatIsNotAPairIsAnError) {
  json doc = nfkc_json();
  doc["model"]["vocab"][5] = "oops";
  std::string error = JsonFolder(doc).error();
  EXPECT_NE(error.find("tokenizer.json: key 'model.vocab[5]' must be a [piece, score] pair"), std::string::npos) << error;
  doc["model"]["vocab"][5] = json::array({"piece", "high"});
  EXPECT_NE(JsonFolder(doc).error().find("model.vocab[5]"), std::string::npos);
  doc["model"]["vocab"] = json::object();
  error = JsonFolder(doc).error();
  EXPECT_NE(error.find("key 'model.vocab' must be an array"), std::string::npos) << error;
  doc["model"]["vocab"] = json::array();
  EXPECT_NE(JsonFolder(doc).error().find("key 'model.vocab' is empty"), std::string::npos);
}

TEST(UnigramJson, UnkIdOutsideTheVocabularyIsAnError) {
  json doc = nfkc_json();
  for (const json& bad : {json(320), json(-1), json(99999999999LL), json(uint64_t(1) << 63)}) {
    doc["model"]["unk_id"] = bad;
    const std::string error = JsonFolder(doc).error();
    EXPECT_NE(error.find("tokenizer.json: key 'model.unk_id' is"), std::string::npos) << error;
    EXPECT_NE(error.find("model.vocab has ids 0 to 319"), std::string::npos) << error;
  }
  doc["model"]["unk_id"] = "2";
  EXPECT_NE(JsonFolder(doc).error().find("key 'model.unk_id' must be an integer"), std::string::npos);
  // No unk_id at all: fine until a character needs it.
  doc["model"].erase("unk_id");
  const auto tok = JsonFolder(doc).load();
  EXPECT_EQ(tok->encode("the dog").ids.size(), 3u);
  const std::string error = error_of([&] { tok->encode("the \xE2\x98\x83"); });
  EXPECT_NE(error.find("key 'model.unk_id' is missing"), std::string::npos) << error;
}

}  // namespace
}  // namespace attn
