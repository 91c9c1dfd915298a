#pragma once
// Finds, by measurement on a recording, the head that shows a textbook attention pattern:
// a previous-token head, an induction head (on a repeated sequence), a "parking" head
// (attention resting on [CLS] / [SEP] / the first token), a translation's alignment head. Nothing is hard-coded: every head
// is scored and the best one is returned with a sentence a student can read, which says so
// when even the best head is weak (compared with evenly spread attention).
// Pure functions of the recording; thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include "record/recording.h"

namespace attn {

struct HeadFinding {
  int layer = -1;             // -1 when nothing could be measured (e.g. no repeated tokens)
  int head = -1;
  float score = 0;            // the chosen head's score, in [0, 1]
  float runner_up = 0;        // the best score among all other heads
  float chance = 0;           // the score of evenly spread attention (every visible key alike)
  bool clear = false;         // score ≥ max(0.2, 2 × chance): a pattern worth showing
  std::vector<float> scores;  // (L·H) every head's score, index layer·H + head
  std::string explanation;    // one or two sentences
  bool found() const { return layer >= 0; }
};

// Mean over queries i ≥ 1 of p(i → i−1).
float previous_token_score(const Eigen::Ref<const RowMatrix>& attention);
HeadFinding find_previous_token_head(const AttentionRecording& recording);

// For each position i: the induction target j+1, where j < i−1 is the latest earlier position
// holding the same token as i; −1 when the token did not occur before (or only at i−1).
// On "A B C D | A B C D" the second A's target is the first B, and so on.
std::vector<int> induction_targets(const std::vector<int32_t>& ids);
std::vector<int> induction_targets(const std::vector<std::string>& tokens);
// Mean over the positions with a target of p(i → target(i)); 0 when none has a target.
float induction_score(const Eigen::Ref<const RowMatrix>& attention, const std::vector<int>& targets);
// `targets` as induction_targets() gives them (size N). The recording's own token strings are
// used when `targets` is empty.
HeadFinding find_induction_head(const AttentionRecording& recording, std::vector<int> targets = {});

// The parking spots of a recording: its special tokens ([CLS], [SEP], <|endoftext|>) and the
// first token, as a 0/1 flag per position.
std::vector<uint8_t> parking_positions(const RecordingMeta& meta);
// Mean over queries of the attention that lands on a parking position.
float parking_score(const Eigen::Ref<const RowMatrix>& attention, const std::vector<uint8_t>& parking);
HeadFinding find_parking_head(const AttentionRecording& recording);

// A translation's alignment head (an encoder-decoder recording): for the cross-attention row
// that chose each target token (not a special one), the source word it looks at most (pieces
// summed; special source tokens are no word), how sharply (that word's weight), and how many
// different words the rows pick. Score: mean sharpness × distinct words / min(rows, words) — a
// head that reads one word per target token and moves along the source, in whatever order the
// target needs. `picks` holds, per scored row, the chosen token and the source word it read.
struct AlignmentPick {
  std::string target, source;
  float weight = 0;
};
float alignment_score(const Eigen::Ref<const RowMatrix>& cross, const std::vector<std::pair<int, int>>& words,
                      const std::vector<int>& rows, std::vector<int>* chosen_words = nullptr);
HeadFinding find_alignment_head(const AttentionRecording& recording, std::vector<AlignmentPick>* picks = nullptr);

// A sequence of `length` distinct token ids drawn from [lo, hi) with a fixed seed, repeated
// `repeats` times, after an optional `prefix` (e.g. a BOS id): the input of the induction
// example. Throws attn::Error when [lo, hi) holds fewer than `length` ids.
std::vector<int32_t> repeated_random_sequence(int length, int repeats, int32_t lo, int32_t hi, uint32_t seed,
                                              const std::vector<int32_t>& prefix = {});

}  // namespace attn
