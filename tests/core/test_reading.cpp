// Reading a recording: hidden sinks and special tokens with rows renormalised, and pieces
// merged into words and sentences (analysis/reading.h).
#include <gtest/gtest.h>

#include <random>

#include "analysis/head_stats.h"
#include "analysis/reading.h"
#include "test_support.h"

using namespace attn;

namespace {

// Row-stochastic random attention over `tokens`, causal or not.
std::shared_ptr<AttentionRecording> recording_of(const std::vector<std::string>& tokens, std::vector<uint8_t> special, bool causal,
                                                 unsigned seed = 7) {
  RecordingMeta m;
  m.model = "toy";
  m.num_layers = 2, m.num_heads = 3, m.num_tokens = int(tokens.size());
  m.tokens = tokens;
  m.special = std::move(special);
  m.causal = causal;
  auto r = AttentionRecording::create(m, false, false);
  std::mt19937 rng(seed);
  std::gamma_distribution<float> g(0.5f);
  const int N = m.num_tokens;
  for (int l = 0; l < m.num_layers; ++l)
    for (int h = 0; h < m.num_heads; ++h) {
      auto a = r->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < N; ++i) {
        for (int j = 0; j < N; ++j) a(i, j) = causal && j > i ? 0.0f : g(rng) + 1e-4f;
        a.row(i) /= a.row(i).sum();
      }
    }
  return r;
}

const std::vector<std::string> kBert = {"[CLS]", "the", "token", "##izer", "splits", "words", ".", "it", "works", "!", "[SEP]"};
const std::vector<uint8_t> kBertSpecial = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

std::vector<Span> spans_of(const std::vector<std::string>& tokens) { return piece_words(tokens, std::vector<uint8_t>(tokens.size(), 0), {}); }

}  // namespace

TEST(Reading, HiddenRowsSumToOneOverTheKeptKeys) {
  const auto rec = recording_of(kBert, kBertSpecial, false);
  const auto read = read_as(rec, Reading{.hide_special = true, .hide_first = false});
  ASSERT_EQ(read->num_tokens(), rec->num_tokens());
  for (int l = 0; l < read->num_layers(); ++l)
    for (int h = 0; h < read->num_heads(); ++h) {
      const auto a = read->head(l, h), original = rec->head(l, h);
      for (int i = 0; i < read->num_tokens(); ++i) {
        EXPECT_EQ(a(i, 0), 0.0f);
        EXPECT_EQ(a(i, 10), 0.0f);
        EXPECT_NEAR(a.row(i).sum(), 1.0f, 1e-5f) << "layer " << l << " head " << h << " row " << i;
        // The kept keys keep their proportions: scaled by one factor per row.
        const float kept = original.row(i).segment(1, 9).sum();
        EXPECT_NEAR(a(i, 4), original(i, 4) / kept, 1e-5f);
      }
    }
  EXPECT_EQ(read->meta().extra.at("reading"), "special tokens hidden, rows renormalised");
}

TEST(Reading, ARowWithNoKeptKeyStaysZeroAndSaysSo) {
  const auto rec = recording_of({"The", " cat", " sat", "."}, {}, true);
  const auto read = read_as(rec, Reading{.hide_first = true});
  const auto a = read->head(1, 2);
  EXPECT_EQ(a.row(0).sum(), 0.0f);  // the first token sees only itself, which is hidden
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(a.row(i).sum(), 1.0f, 1e-5f);
  EXPECT_EQ(read->meta().extra.at("reading"), "first token hidden, rows renormalised · row 0 keeps no key (left at 0)");
  EXPECT_EQ(head_stats(a, {}).first_share, 0.0f);
}

TEST(Reading, WordRowsKeepTheirMassAndKeysSumTheirPieces) {
  const auto rec = recording_of(kBert, kBertSpecial, false);
  const auto read = read_as(rec, Reading{.unit = ReadingUnit::Words});
  const std::vector<std::string> words = {"[CLS]", "the", "tokenizer", "splits", "words", ".", "it", "works", "!", "[SEP]"};
  ASSERT_EQ(read->meta().tokens, words);
  EXPECT_EQ(read->meta().special, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  const auto a = read->head(0, 1), t = rec->head(0, 1);
  for (int i = 0; i < read->num_tokens(); ++i) EXPECT_NEAR(a.row(i).sum(), 1.0f, 1e-5f);
  // "tokenizer" (pieces 2, 3): as a key the sum of its pieces, as a query the mean of its rows.
  EXPECT_NEAR(a(1, 2), t(1, 2) + t(1, 3), 1e-6f);
  EXPECT_NEAR(a(2, 1), (t(2, 1) + t(3, 1)) / 2, 1e-6f);
  EXPECT_NEAR(a(2, 2), (t(2, 2) + t(2, 3) + t(3, 2) + t(3, 3)) / 2, 1e-6f);
  EXPECT_EQ(read->meta().extra.at("reading"), "words (keys summed, queries averaged)");
}

TEST(Reading, TheOtherWordRuleAveragesKeysAndSumsQueries) {
  const auto rec = recording_of(kBert, kBertSpecial, false);
  const auto read = read_as(rec, Reading{.unit = ReadingUnit::Words, .rule = WordRule::MeanKeysSumQueries});
  const auto a = read->head(1, 0), t = rec->head(1, 0);
  EXPECT_NEAR(a(1, 2), (t(1, 2) + t(1, 3)) / 2, 1e-6f);
  EXPECT_NEAR(a(2, 1), t(2, 1) + t(3, 1), 1e-6f);
  EXPECT_EQ(read->meta().extra.at("reading"), "words (keys averaged, queries summed)");
}

TEST(Reading, SentencesKeepTheMassAfterHiding) {
  const auto rec = recording_of(kBert, kBertSpecial, false);
  const auto read = read_as(rec, Reading{.hide_special = true, .unit = ReadingUnit::Sentences});
  EXPECT_EQ(read->meta().tokens, (std::vector<std::string>{"[CLS]", "the tokenizer splits w…", "it works!", "[SEP]"}));
  const auto a = read->head(1, 1), t = rec->head(1, 1);
  for (int i = 0; i < read->num_tokens(); ++i) {
    EXPECT_NEAR(a.row(i).sum(), 1.0f, 1e-5f);
    EXPECT_EQ(a(i, 0), 0.0f);
    EXPECT_EQ(a(i, 3), 0.0f);
  }
  // Sentence 2 ("it works!": tokens 7-9) as a key from [CLS]'s row: the renormalised pieces summed.
  const float kept = t.row(0).segment(1, 9).sum();
  EXPECT_NEAR(a(0, 2), t.row(0).segment(7, 3).sum() / kept, 1e-5f);
  EXPECT_EQ(read->meta().extra.at("reading"), "special tokens hidden, rows renormalised · sentences (keys summed, queries averaged)");
}

TEST(Reading, WordBoundariesOfWordPieceBpeAndSentencePiece) {
  // WordPiece: "##" continues a word; a piece alone as punctuation is a word of its own.
  EXPECT_EQ(spans_of({"un", "##believ", "##able", ",", "really"}), (std::vector<Span>{{0, 3}, {3, 4}, {4, 5}}));
  // Byte-level BPE as displayed (" world") and as stored ("Ġworld").
  EXPECT_EQ(spans_of({"Hello", " wor", "ld", "!", " Bye"}), (std::vector<Span>{{0, 1}, {1, 3}, {3, 4}, {4, 5}}));
  EXPECT_EQ(spans_of({"Hello", "\xC4\xA0wor", "ld", "\xC4\xA0" "again"}), (std::vector<Span>{{0, 1}, {1, 3}, {3, 4}}));
  // SentencePiece: "▁" starts a word.
  EXPECT_EQ(spans_of({"\xE2\x96\x81" "Trans", "form", "ers", "\xE2\x96\x81" "read"}), (std::vector<Span>{{0, 3}, {3, 4}}));
  EXPECT_EQ(joined_text({"\xE2\x96\x81" "Trans", "form", "ers"}, {0, 3}), " Transformers");
  EXPECT_EQ(joined_text({"un", "##believ", "##able"}, {0, 3}), "unbelievable");
  // Special and hidden tokens stand alone, and a word starts after them.
  EXPECT_EQ(piece_words({"<s>", "He", "llo", "</s>", "x"}, {1, 0, 0, 1, 0}, {}), (std::vector<Span>{{0, 1}, {1, 3}, {3, 4}, {4, 5}}));
  EXPECT_EQ(piece_words({"Trans", "form", "ers"}, {}, {1, 0, 0}), (std::vector<Span>{{0, 1}, {1, 3}}));
}

TEST(Reading, SentencesEndAtSentencePunctuation) {
  EXPECT_EQ(word_sentences({"It", " rains", ".", " Why", "?", " No", "!", " tail"}, {}), (std::vector<Span>{{0, 3}, {3, 5}, {5, 7}, {7, 8}}));
  EXPECT_EQ(word_sentences({"[CLS]", "a", ".", "[SEP]", "b"}, {1, 0, 0, 1, 0}), (std::vector<Span>{{0, 1}, {1, 3}, {3, 4}, {4, 5}}));
}

TEST(Reading, SpecialTokensFromTheRecordingOrTheirLook) {
  for (const char* t : {"[CLS]", "[SEP]", "<s>", "</s>", "<pad>", "<|endoftext|>", "<bos>", "<extra_id_0>"}) EXPECT_TRUE(looks_special(t)) << t;
  for (const char* t : {"the", "[", "<0x0A>", "< b >", "[cls and]", "<>", " <s>"}) EXPECT_FALSE(looks_special(t)) << t;
  RecordingMeta m;
  m.num_tokens = 3;
  m.tokens = {"<|endoftext|>", "Hi", "[SEP]"};
  EXPECT_EQ(special_flags(m), (std::vector<uint8_t>{1, 0, 1}));  // an old recording without flags
  m.special = {0, 1, 0};
  EXPECT_EQ(special_flags(m), (std::vector<uint8_t>{0, 1, 0}));  // the recording's own flags win
  EXPECT_EQ(hidden_tokens(m, Reading{.hide_special = true, .hide_first = true}), (std::vector<uint8_t>{1, 1, 0}));
}

TEST(Reading, PlainReadingIsTheRecordingAndTranslationsAreRefused) {
  const auto rec = recording_of(kBert, kBertSpecial, false);
  EXPECT_EQ(read_as(rec, Reading{}), rec);
  EXPECT_EQ(describe(Reading{.hide_special = true, .hide_first = true}), "special and first tokens hidden, rows renormalised");
  auto translation = recording_of({"<pad>", "x"}, {}, true);
  translation->meta_mutable().num_encoder_layers = 1;
  EXPECT_NE(test::error_of([&] { read_as(translation, Reading{.hide_first = true}); }).find("Alignment view"), std::string::npos);
}

TEST(Reading, HeadStatsShareToTheFirstToken) {
  RowMatrix a(3, 3);
  a << 1, 0, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f;
  EXPECT_NEAR(head_stats(a, {}).first_share, (1.0f + 0.5f + 0.2f) / 3, 1e-6f);
}
