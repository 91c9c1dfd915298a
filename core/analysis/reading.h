#pragma once
// How a recording is read: sink and special-token columns hidden with each row renormalised
// over the keys left, and sub-word pieces merged into words, or words into sentences.
// read_as() derives a new recording from one and a Reading; every view, the rollout, the
// statistics and the exports then show the derived one, so they all agree.
//
// Hidden keys keep their columns, zeroed: every view keeps a square matrix (and an image's
// patch grid or a generation's steps keep their token numbers), and the hidden tokens' own
// rows still show where they looked. A row whose kept mass is 0 (a causal model's first
// token, with the first token hidden) stays all zero, and the description says so.
// Words: a word's key column is the sum over its pieces' columns (how much the query looked at
// the word), its query row the mean over its pieces' rows (each piece is one distribution), so
// every row keeps its mass (Clark et al. 2019, "What does BERT look at?"). The other rule
// (keys averaged, queries summed) is offered and named; it does not keep rows summing to 1.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"
#include "util/progress.h"

namespace attn {

enum class ReadingUnit { Tokens, Words, Sentences };
enum class WordRule { SumKeysMeanQueries, MeanKeysSumQueries };

struct Reading {
  bool hide_special = false;  // special tokens' columns ([CLS], [SEP], <s>, <|endoftext|>)
  bool hide_first = false;    // the first token's column (the usual attention sink)
  ReadingUnit unit = ReadingUnit::Tokens;
  WordRule rule = WordRule::SumKeysMeanQueries;
  bool plain() const { return !hide_special && !hide_first && unit == ReadingUnit::Tokens; }
  bool operator==(const Reading&) const = default;
};

// [first, last) token (or word) numbers of one word or sentence.
using Span = std::pair<int, int>;

// "special tokens hidden, rows renormalised · words (keys summed, queries averaged)"; "" for
// the plain reading.
std::string describe(const Reading& reading);
// Names for files and the command line: "tokens" | "words" | "sentences"; "sum-keys" | "mean-keys".
std::string unit_name(ReadingUnit unit);
std::string rule_name(WordRule rule);

// A token string that reads as a special token: [CLS], [SEP], <s>, </s>, <pad>, <|endoftext|>,
// <bos> (not a byte token such as <0x0A>). For recordings that carry no special flags.
bool looks_special(const std::string& token);
// The recording's special flags (N), or, when it carries none, the tokens that look special.
std::vector<uint8_t> special_flags(const RecordingMeta& meta);
// Which tokens' columns `reading` hides (N).
std::vector<uint8_t> hidden_tokens(const RecordingMeta& meta, const Reading& reading);

// Where words begin and end. A word starts at the first token, at a special or hidden token and
// right after one, at a piece that is punctuation alone, and — WordPiece ("##ing" continues a
// word) when any token starts with "##", else — at a token starting with a space (" the",
// byte-level BPE's "Ġthe", SentencePiece's "▁the").
std::vector<Span> piece_words(const std::vector<std::string>& tokens, const std::vector<uint8_t>& special, const std::vector<uint8_t>& hidden);
// Sentences over words: a sentence ends after a word ending in . ! ? (or … 。 ！ ？); a word
// flagged `alone` (special or hidden) is a block of its own.
std::vector<Span> word_sentences(const std::vector<std::string>& words, const std::vector<uint8_t>& alone);
// The readable text of pieces [first, last): "##" dropped, "Ġ" and "▁" as spaces.
std::string joined_text(const std::vector<std::string>& tokens, Span span);

// Zeroes the hidden columns and scales each row to sum to 1 over the kept keys; returns the
// rows whose kept mass was 0 (left all zero).
std::vector<int> hide_and_renormalise(RowMatrix& attention, const std::vector<uint8_t>& hidden);
// (U, U) from (N, N): keys merged over each span (summed or averaged), then queries.
RowMatrix merge_spans(const Eigen::Ref<const RowMatrix>& attention, const std::vector<Span>& spans, WordRule rule);

// Why `reading` cannot merge pieces of this recording ("" when it can): words and sentences
// are for text runs, not pictures, generations or translations.
std::string why_not_merged(const AttentionRecording& recording);
// Why `reading` cannot apply at all ("" when it can): translations keep their own reading.
std::string why_not_read(const AttentionRecording& recording);

// The recording as `reading` reads it: an in-memory recording of the attention alone (no
// Q/K/V or scores), its tokens the words or sentences when merged, its metadata's "reading"
// key the description (named in every view's title). The plain reading returns `recording`.
// A merge this recording cannot take (why_not_merged) keeps tokens and says so. Progress per
// layer; cancelling throws attn::Cancelled. Throws attn::Error for a translation.
std::shared_ptr<const AttentionRecording> read_as(const std::shared_ptr<const AttentionRecording>& recording, const Reading& reading,
                                                  const ProgressFn& progress = {});

}  // namespace attn
