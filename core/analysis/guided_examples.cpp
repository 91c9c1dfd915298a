#include "analysis/guided_examples.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <random>

#include "analysis/alignment.h"
#include "util/error.h"

namespace attn {

namespace {

std::string percent(float v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", double(v) * 100.0);
  return buf;
}

std::string head_label(int layer, int head) { return "Layer " + std::to_string(layer) + ", head " + std::to_string(head); }

// Scores every head with `score` and picks the highest (the first on ties).
HeadFinding best_head(const AttentionRecording& rec, const std::function<float(const Eigen::Ref<const RowMatrix>&)>& score) {
  HeadFinding f;
  const int H = rec.num_heads();
  f.scores.reserve(size_t(rec.num_layers()) * size_t(H));
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < H; ++h) {
      RowMatrix scratch;
      const ConstMatrixMap a = rec.head_for_sweep(l, h, scratch);
      f.scores.push_back(score(a));
    }
  for (size_t k = 0; k < f.scores.size(); ++k)
    if (f.layer < 0 || f.scores[k] > f.score) f.layer = int(k) / H, f.head = int(k) % H, f.score = f.scores[k];
  for (size_t k = 0; k < f.scores.size(); ++k)
    if (int(k) != f.layer * H + f.head) f.runner_up = std::max(f.runner_up, f.scores[k]);
  return f;
}

std::string runner_up_text(const HeadFinding& f) {
  return f.scores.size() > 1 ? " The next best head reaches " + percent(f.runner_up) + "." : std::string();
}

// How many keys query i sees.
int visible(const AttentionRecording& rec, int i) { return rec.meta().causal ? i + 1 : rec.num_tokens(); }

// Fills chance and clear; `pattern` is the sentence for a clear finding, `what` names the
// pattern for a weak one.
void conclude(HeadFinding& f, float chance, const std::string& pattern, const std::string& what) {
  f.chance = chance;
  f.clear = f.score >= std::max(0.2f, 2.0f * chance);
  const std::string even = " (evenly spread attention would give " + percent(chance) + ").";
  if (f.clear)
    f.explanation = pattern + even + runner_up_text(f);
  else
    f.explanation = head_label(f.layer, f.head) + " scores highest, but only weakly: " + percent(f.score) + even +
                    runner_up_text(f) + " This model shows no clear " + what + " on this input.";
}

template <typename T>
std::vector<int> targets_of(const std::vector<T>& seq) {
  std::vector<int> out(seq.size(), -1);
  std::map<T, int> last;  // token → its latest position so far
  for (int i = 0; i < int(seq.size()); ++i) {
    const auto it = last.find(seq[size_t(i)]);
    if (it != last.end() && it->second < i - 1) out[size_t(i)] = it->second + 1;
    last[seq[size_t(i)]] = i;
  }
  return out;
}

}  // namespace

float previous_token_score(const Eigen::Ref<const RowMatrix>& a) {
  if (a.rows() < 2) return 0;
  double sum = 0;
  for (Eigen::Index i = 1; i < a.rows(); ++i) sum += a(i, i - 1);
  return float(sum / double(a.rows() - 1));
}

HeadFinding find_previous_token_head(const AttentionRecording& rec) {
  HeadFinding f = best_head(rec, [](const Eigen::Ref<const RowMatrix>& a) { return previous_token_score(a); });
  if (!f.found()) return f;
  double chance = 0;
  for (int i = 1; i < rec.num_tokens(); ++i) chance += 1.0 / visible(rec, i) / (rec.num_tokens() - 1);
  conclude(f, float(chance),
           head_label(f.layer, f.head) + " is a previous-token head: on average each token gives " + percent(f.score) +
               " of its attention to the token right before it, so later layers know which word came just before",
           "previous-token head");
  return f;
}

std::vector<int> induction_targets(const std::vector<int32_t>& ids) { return targets_of(ids); }
std::vector<int> induction_targets(const std::vector<std::string>& tokens) { return targets_of(tokens); }

float induction_score(const Eigen::Ref<const RowMatrix>& a, const std::vector<int>& targets) {
  double sum = 0;
  int count = 0;
  for (Eigen::Index i = 0; i < a.rows() && i < Eigen::Index(targets.size()); ++i)
    if (targets[size_t(i)] >= 0) sum += a(i, targets[size_t(i)]), ++count;
  return count ? float(sum / count) : 0.0f;
}

HeadFinding find_induction_head(const AttentionRecording& rec, std::vector<int> targets) {
  if (targets.empty()) targets = induction_targets(rec.meta().tokens);
  if (int(targets.size()) != rec.num_tokens())
    throw Error("induction targets: " + std::to_string(targets.size()) + " targets for " + std::to_string(rec.num_tokens()) + " tokens");
  if (std::none_of(targets.begin(), targets.end(), [](int t) { return t >= 0; })) {
    HeadFinding f;
    f.explanation = "No token repeats in this input, so no head can show induction: repeat a sequence of tokens.";
    return f;
  }
  HeadFinding f = best_head(rec, [&](const Eigen::Ref<const RowMatrix>& a) { return induction_score(a, targets); });
  double chance = 0;
  int rows = 0;
  for (int i = 0; i < rec.num_tokens(); ++i)
    if (targets[size_t(i)] >= 0) chance += 1.0 / visible(rec, i), ++rows;
  conclude(f, float(chance / rows),
           head_label(f.layer, f.head) + " is an induction head: when a token comes back, it looks at the token that followed "
               "it last time, so the model can copy what came next (" + percent(f.score) + " of its attention on average)",
           "induction head");
  return f;
}

std::vector<uint8_t> parking_positions(const RecordingMeta& meta) {
  std::vector<uint8_t> p(size_t(meta.num_tokens), 0);
  for (size_t i = 0; i < p.size() && i < meta.special.size(); ++i) p[i] = meta.special[i] ? 1 : 0;
  if (!p.empty()) p[0] = 1;
  return p;
}

float parking_score(const Eigen::Ref<const RowMatrix>& a, const std::vector<uint8_t>& parking) {
  if (a.rows() == 0) return 0;
  double sum = 0;
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols() && j < Eigen::Index(parking.size()); ++j)
      if (parking[size_t(j)]) sum += a(i, j);
  return float(sum / double(a.rows()));
}

HeadFinding find_parking_head(const AttentionRecording& rec) {
  const std::vector<uint8_t> parking = parking_positions(rec.meta());
  HeadFinding f = best_head(rec, [&](const Eigen::Ref<const RowMatrix>& a) { return parking_score(a, parking); });
  if (!f.found()) return f;
  std::string spots;
  for (size_t j = 0; j < parking.size(); ++j)
    if (parking[j] && j < rec.meta().tokens.size()) spots += (spots.empty() ? "" : ", ") + ("“" + rec.meta().tokens[j] + "”");
  double chance = 0;
  for (int i = 0; i < rec.num_tokens(); ++i) {
    int spots_seen = 0;
    for (int j = 0; j < visible(rec, i); ++j) spots_seen += parking[size_t(j)];
    chance += double(spots_seen) / visible(rec, i) / rec.num_tokens();
  }
  conclude(f, float(chance),
           head_label(f.layer, f.head) + " parks its attention: on average " + percent(f.score) + " of it rests on " + spots +
               ". A head with nothing useful to look at puts its attention on a token that changes little — a way of "
               "doing nothing",
           "parking head");
  return f;
}

float alignment_score(const Eigen::Ref<const RowMatrix>& cross, const std::vector<std::pair<int, int>>& words,
                      const std::vector<int>& rows, std::vector<int>* chosen_words) {
  if (rows.empty() || words.empty()) return 0;
  double sharpness = 0;
  std::vector<int> chosen;
  for (int r : rows) {
    int best = 0;
    float best_weight = -1;
    for (size_t w = 0; w < words.size(); ++w) {
      const float weight = cross.row(r).segment(words[w].first, words[w].second - words[w].first).sum();
      if (weight > best_weight) best = int(w), best_weight = weight;
    }
    sharpness += best_weight;
    chosen.push_back(best);
  }
  std::vector<int> distinct = chosen;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const double coverage = double(distinct.size()) / double(std::min(rows.size(), words.size()));
  if (chosen_words) *chosen_words = std::move(chosen);
  return float(sharpness / double(rows.size()) * coverage);
}

HeadFinding find_alignment_head(const AttentionRecording& rec, std::vector<AlignmentPick>* picks) {
  HeadFinding f;
  const RecordingMeta& meta = rec.meta();
  if (!meta.encoder_decoder()) {
    f.explanation = "This is not a translation: alignment heads live in an encoder-decoder's cross-attention.";
    return f;
  }
  // The source's words, special tokens left out; the rows that chose an ordinary token.
  std::vector<std::pair<int, int>> words;
  for (const auto& span : word_spans(meta.source_tokens, meta.source_special))
    if (!(span.second - span.first == 1 && size_t(span.first) < meta.source_special.size() && meta.source_special[size_t(span.first)]))
      words.push_back(span);
  std::vector<int> rows;
  for (int r = 0; r + 1 < meta.num_tokens; ++r)
    if (!(size_t(r + 1) < meta.special.size() && meta.special[size_t(r + 1)])) rows.push_back(r);
  if (rows.empty() || words.empty()) {
    f.explanation = "The translation has no ordinary target tokens yet, so no head can be measured: translate a sentence.";
    return f;
  }
  const int H = rec.num_heads();
  for (int l = 0; l < rec.num_layers(); ++l)
    for (int h = 0; h < H; ++h) f.scores.push_back(alignment_score(cross_attention(rec, l, h), words, rows));
  for (size_t k = 0; k < f.scores.size(); ++k)
    if (f.layer < 0 || f.scores[k] > f.score) f.layer = int(k) / H, f.head = int(k) % H, f.score = f.scores[k];
  for (size_t k = 0; k < f.scores.size(); ++k)
    if (int(k) != f.layer * H + f.head) f.runner_up = std::max(f.runner_up, f.scores[k]);

  std::vector<int> chosen;
  const RowMatrix best = cross_attention(rec, f.layer, f.head);
  alignment_score(best, words, rows, &chosen);
  auto word_text = [&](int w) {
    std::string text;
    for (int i = words[size_t(w)].first; i < words[size_t(w)].second; ++i) text += meta.source_tokens[size_t(i)];
    return text;
  };
  std::string pairs;
  bool in_order = true;
  for (size_t k = 0; k < rows.size(); ++k) {
    const int w = chosen[k];
    const auto& span = words[size_t(w)];
    const float weight = best.row(rows[k]).segment(span.first, span.second - span.first).sum();
    if (picks) picks->push_back({meta.tokens[size_t(rows[k] + 1)], word_text(w), weight});
    if (k > 0 && w < chosen[k - 1]) in_order = false;
    if (k < 8) pairs += (pairs.empty() ? "" : ", ") + ("“" + meta.tokens[size_t(rows[k] + 1)] + "” ← “" + word_text(w) + "” " + percent(weight));
  }
  if (rows.size() > 8) pairs += ", …";
  conclude(f, 1.0f / float(words.size()),
           head_label(f.layer, f.head) + " aligns the translation: in cross-attention the queries come from the decoder (the "
               "target written so far) and the keys and values from the encoder (the source), and this head's query for each "
               "new target token looks mostly at one source word — " + pairs + " — " +
               (in_order ? "in the source's order." : "not in the source's order: the target reorders the words, and the head follows.") +
               " Score: its weight on the word it reads times how many different words it reads, " + percent(f.score),
           "alignment head");
  return f;
}

std::vector<int32_t> repeated_random_sequence(int length, int repeats, int32_t lo, int32_t hi, uint32_t seed,
                                              const std::vector<int32_t>& prefix) {
  if (length < 0 || repeats < 0 || int64_t(hi) - lo < length)
    throw Error("repeated random sequence: cannot draw " + std::to_string(length) + " distinct ids from [" + std::to_string(lo) +
                ", " + std::to_string(hi) + ")");
  // A partial Fisher–Yates shuffle driven by mt19937 directly (its output is fixed by the
  // standard; the distributions are not), so every platform draws the same ids.
  std::vector<int32_t> pool(size_t(hi - lo));
  for (size_t k = 0; k < pool.size(); ++k) pool[k] = lo + int32_t(k);
  std::mt19937 rng(seed);
  for (int k = 0; k < length; ++k) std::swap(pool[size_t(k)], pool[size_t(k) + rng() % (pool.size() - size_t(k))]);
  std::vector<int32_t> out = prefix;
  for (int r = 0; r < repeats; ++r) out.insert(out.end(), pool.begin(), pool.begin() + length);
  return out;
}

}  // namespace attn
