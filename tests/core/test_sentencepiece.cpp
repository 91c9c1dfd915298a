// SentencePiece tokenizers (tokenize/sentencepiece.h) on the fixtures' model files, against ids
// python3-sentencepiece gives for them (the library's Python binding, run when the fixtures
// were made: tools/make_encdec_fixtures.py), and their refusals of bad files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "test_support.h"
#include "tokenize/sentencepiece.h"
#include "tokenize/tokenizer.h"
#include "util/error.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

fs::path model_dir(const std::string& name) { return test::fixtures_dir() / "models" / name; }

using test::error_of;

}  // namespace

// T5Tokenizer: the model's ids, then </s>; <extra_id_N> count down from the top.
TEST(SentencePiece, T5PiecesIdsAndExtraIds) {
  const auto tok = load_tokenizer(model_dir("t5_tiny"), {});
  const Encoding enc = tok->encode("the cat sat on the mat");
  // sentencepiece.SentencePieceProcessor('spiece.model').encode(text) + [eos 1]
  EXPECT_EQ(enc.ids, (std::vector<int32_t>{4, 93, 9, 90, 9, 67, 4, 42, 9, 1}));
  EXPECT_EQ(enc.tokens.front(), "\xE2\x96\x81the");
  EXPECT_EQ(tok->display_token(enc.ids[0], enc.tokens[0]), " the");
  EXPECT_EQ(enc.special.back(), 1);
  EXPECT_EQ(enc.offsets[1], (std::pair<size_t, size_t>{3, 6}));  // " ca": the space and "ca"
  EXPECT_EQ(tok->decode(std::vector<int32_t>(enc.ids.begin(), enc.ids.end() - 1)), "the cat sat on the mat");
  EXPECT_EQ(tok->vocab_size(), 254);  // 250 pieces + 4 extra ids (tokenizer_config.json)
  EXPECT_EQ(tok->id_to_token(253), "<extra_id_0>");
  EXPECT_EQ(tok->token_to_id("<extra_id_3>"), 250);
  EXPECT_NE(error_of([&] { tok->encode("bad \xC3 utf-8"); }).find("UTF-8"), std::string::npos);
}

// MarianTokenizer: the source model's pieces, numbered by vocab.json, then </s> (id 0).
TEST(SentencePiece, MarianNumbersPiecesByVocabJson) {
  const auto tok = load_tokenizer(model_dir("marian_tiny"), {});
  const Encoding enc = tok->encode("the cat sat on the mat");
  ASSERT_EQ(enc.tokens.size(), 13u);  // source.spm's 12 pieces and </s>
  EXPECT_EQ(enc.tokens[1], "\xE2\x96\x81" "c");
  EXPECT_EQ(enc.ids.front(), 4);  // "▁the" in vocab.json
  EXPECT_EQ(enc.ids.back(), 0);   // </s>
  for (size_t i = 0; i + 1 < enc.size(); ++i) EXPECT_EQ(tok->id_to_token(enc.ids[i]), enc.tokens[i]) << i;
  EXPECT_EQ(tok->vocab_size(), 244);
  // A piece vocab.json lacks becomes <unk> (1): "☃" is no piece of the source model.
  const Encoding unknown = tok->encode("\xE2\x98\x83");
  EXPECT_NE(std::find(unknown.ids.begin(), unknown.ids.end(), 1), unknown.ids.end());
}

TEST(SentencePiece, BadFilesNameTheFileAndTheProblem) {
  const test::TempDir dir;
  dir.write("spiece.model", "this is not a protobuf");
  EXPECT_NE(error_of([&] { load_spiece_tokenizer(dir.path()); }).find("spiece.model: not a readable SentencePiece model"), std::string::npos);
  fs::remove(dir.path() / "spiece.model");
  EXPECT_NE(error_of([&] { load_spiece_tokenizer(dir.path()); }).find("spiece.model: no such file"), std::string::npos);

  fs::copy_file(model_dir("marian_tiny") / "source.spm", dir.path() / "source.spm");
  EXPECT_NE(error_of([&] { load_marian_tokenizer(dir.path()); }).find("vocab.json: no such file"), std::string::npos);
  dir.write("vocab.json", R"({"<unk>": 1, "a": 2})");
  EXPECT_NE(error_of([&] { load_marian_tokenizer(dir.path()); }).find("has no '</s>' token"), std::string::npos);
  dir.write("vocab.json", R"([1, 2])");
  EXPECT_NE(error_of([&] { load_marian_tokenizer(dir.path()); }).find("vocab.json"), std::string::npos);
  dir.write("vocab.json", R"({"</s>": 0, "<unk>": 99999999})");
  EXPECT_NE(error_of([&] { load_marian_tokenizer(dir.path()); }).find("vocab.json"), std::string::npos);
}
