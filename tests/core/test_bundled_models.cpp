// The bundled default models (resources/models, trained by tools/train): each loads, behaves
// like what it claims to be on fixed prompts, and records deterministically.
// A model that is absent is skipped with a message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <unistd.h>

#include "analysis/alignment.h"
#include "analysis/guided_examples.h"
#include "io/json_file.h"
#include "nn/model.h"
#include "session/ablate.h"
#include "session/generate.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

std::unique_ptr<Model> bundled(const std::string& name) {
  const fs::path dir = fs::path(ATTN_RESOURCES_DIR) / "models" / name;
  if (!fs::exists(dir / "config.json")) return nullptr;
  return Model::load(dir);
}

#define ATTN_REQUIRE_BUNDLED(var, name) \
  const auto var = bundled(name);       \
  if (!var) GTEST_SKIP() << "resources/models/" << (name) << " is absent (the bundled models are trained by tools/train)"

// Per-token perplexity of `text` under a causal LM.
double perplexity(const Model& m, const std::string& text) {
  const Encoding enc = m.encode(text);
  RunOptions o;
  o.all_logits = true;
  const auto r = m.forward(enc, o);
  double nll = 0;
  for (int t = 0; t + 1 < int(enc.size()); ++t) {
    const Eigen::VectorXf l = r.logits.row(t).transpose();
    const float mx = l.maxCoeff();
    nll += mx + std::log((l.array() - mx).exp().sum()) - l[enc.ids[t + 1]];
  }
  return std::exp(nll / double(enc.size() - 1));
}

std::vector<std::string> next_tokens(const Model& m, const std::string& text, int k) {
  const Encoding enc = m.encode(text);
  RunOptions o;
  o.logits_rows = {int(enc.size()) - 1};
  const auto r = m.forward(enc, o);
  std::vector<int> order(r.logits.cols());
  for (int i = 0; i < int(order.size()); ++i) order[i] = i;
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return r.logits(0, a) > r.logits(0, b); });
  std::vector<std::string> out;
  for (int i = 0; i < k; ++i) out.push_back(m.tokenizer().token_text(order[i]));
  return out;
}

bool any_of(const std::vector<std::string>& got, std::initializer_list<const char*> want) {
  return std::any_of(got.begin(), got.end(), [&](const std::string& g) {
    return std::any_of(want.begin(), want.end(), [&](const char* w) { return g == w; });
  });
}

}  // namespace

// Sentences written for this test (so never in the training data). Measured when the model
// was trained: perplexity 171, 99 and 84 (out of a 5,000-token vocabulary), gibberish 3,522.
TEST(BundledGpt2, HeldOutPerplexityIsBelowTheStatedBound) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-gpt2-small");
  const double ppl[] = {
      perplexity(*m, "My grandmother kept a small garden behind her house, where she grew tomatoes and beans every summer."),
      perplexity(*m, "The train was late again this morning, so most of the passengers waited on the cold platform."),
      perplexity(*m, "He wrote a long letter to his brother and then walked to the post office before it closed."),
  };
  const double mean = (ppl[0] + ppl[1] + ppl[2]) / 3;
  EXPECT_LT(mean, 250.0) << ppl[0] << " " << ppl[1] << " " << ppl[2];
  // English must be far likelier than letters in random order.
  EXPECT_GT(perplexity(*m, "Qxv zzkp wrrt lmno fjdk quuv plox."), 5 * mean);
}

TEST(BundledGpt2, CompletesSimpleEnglishPlausibly) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-gpt2-small");
  EXPECT_TRUE(any_of(next_tokens(*m, "She said that she", 3), {" was", " had", " would", " could", " is", " has", " did"}));
  EXPECT_TRUE(any_of(next_tokens(*m, "I would like a cup of", 2), {" the", " a", " tea", " coffee", " water"}));
}

// A recording is stable: the same input gives the same attention (up to rounding: buffer
// alignment varies), and it survives saving and reopening exactly.
static void expect_stable_recording(const Model& m, const Encoding& enc) {
  const auto a = m.forward(enc, {});
  const auto b = m.forward(enc, {});
  for (int l = 0; l < m.config().num_layers; ++l)
    for (int h = 0; h < m.config().num_heads; ++h)
      EXPECT_LT((a.recording->head(l, h) - b.recording->head(l, h)).cwiseAbs().maxCoeff(), 1e-5f) << l << "," << h;
  const auto path = std::filesystem::temp_directory_path() / ("attn_bundled_" + std::to_string(::getpid()) + ".safetensors");
  a.recording->save(path);
  const auto back = AttentionRecording::open(path);
  for (int l = 0; l < m.config().num_layers; ++l)
    for (int h = 0; h < m.config().num_heads; ++h) EXPECT_EQ(back->head(l, h), a.recording->head(l, h)) << l << "," << h;
  std::filesystem::remove(path);
}

TEST(BundledGpt2, RecordsDeterministically) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-gpt2-small");
  expect_stable_recording(*m, m->encode("The cat sat on the mat because it was tired."));
}

TEST(BundledInductionToy, RecordsDeterministically) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-induction-toy");
  expect_stable_recording(*m, m->encode("ban ko mir du zen ta ban ko mir du zen ta"));
}

TEST(BundledBert, RecordsDeterministically) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-bert-mini");
  expect_stable_recording(*m, m->encode("the cat sat on the mat.", std::string_view("it was warm.")));
}

// The induction toy copies a repeated random sequence: in the second repeat, the next token
// is predictable only by looking back at what followed the same token the first time. Its
// words are syllables (consonant, vowel, optional n or r: "ba", "kon", "mir"), one token each;
// a run holds 30 different ones (with repeats inside a run, "what followed it last time" would
// be ambiguous).
TEST(BundledInductionToy, CopiesRepeatedSequences) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-induction-toy");
  std::vector<std::string> syllables;
  for (const char c : std::string("bdfghjklmnprstvz"))
    for (const char v : std::string("aeiou"))
      for (const char* coda : {"", "n", "r"}) syllables.push_back(std::string{c, v} + coda);
  std::mt19937 rng(7);
  const int half = 30;
  int correct = 0, total = 0;
  for (int trial = 0; trial < 20; ++trial) {
    for (size_t i = 0; i < size_t(half); ++i) std::swap(syllables[i], syllables[i + rng() % (syllables.size() - i)]);
    std::string run;
    for (int i = 0; i < half; ++i) run += (i ? " " : "") + syllables[size_t(i)];
    const Encoding enc = m->encode(run + " " + run);
    // <|endoftext|> first (the tokenizer adds it, as in training), then one token per syllable.
    ASSERT_EQ(int(enc.size()), 1 + 2 * half) << run;
    ASSERT_EQ(enc.tokens[0], "<|endoftext|>");
    RunOptions o;
    o.all_logits = true;
    const auto r = m->forward(enc, o);
    for (int t = 1 + half; t < 2 * half; ++t, ++total) {
      Eigen::Index best;
      r.logits.row(t).maxCoeff(&best);
      correct += int(best) == enc.ids[size_t(t) + 1];
    }
  }
  EXPECT_GT(double(correct) / total, 0.9) << correct << " of " << total;
}

// Sentences written for this test, one word masked in each, with the words that fit.
// Measured when the model was trained (resources/models/README.md): the right word is in the
// top 5 for 12 of these 16 and first for 3 of them.
TEST(BundledBert, FillsMaskedWordsSensibly) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-bert-mini");
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {"she went to the [MASK] to buy some bread.", {"shop", "store", "market"}},
      {"he put the book [MASK] the table.", {"on"}},
      {"we were tired, [MASK] we went to bed early.", {"so", "and"}},
      {"the children [MASK] playing in the garden.", {"were", "are"}},
      {"i have lived in this town [MASK] ten years.", {"for"}},
      {"my sister is older [MASK] me.", {"than"}},
      {"they drove all night and arrived [MASK] the morning.", {"in"}},
      {"can you tell me where the station [MASK]?", {"is"}},
      {"the old man sat down and closed [MASK] eyes.", {"his"}},
      {"there are seven days in a [MASK].", {"week"}},
      {"she drank a glass of cold [MASK].", {"water", "milk"}},
      {"the sun rises in the east and sets in the [MASK].", {"west"}},
      {"a [MASK] has four legs and barks.", {"dog"}},
      {"it was raining, so he took his [MASK].", {"umbrella", "coat"}},
      {"the boy [MASK] the ball to his friend.", {"threw", "gave", "kicked", "passed"}},
      {"winter is the coldest [MASK] of the year.", {"season", "time", "month"}},
  };
  int top5 = 0;
  std::string report;
  for (const auto& [text, fits] : cases) {
    const Encoding enc = m->encode(text);
    const auto at = std::find(enc.ids.begin(), enc.ids.end(), *m->tokenizer().mask_id());
    ASSERT_NE(at, enc.ids.end()) << text;
    RunOptions o;
    o.logits_rows = {int(at - enc.ids.begin())};
    const Eigen::VectorXf logits = m->forward(enc, o).logits.row(0).transpose();
    std::vector<int> order(size_t(logits.size()));
    for (int i = 0; i < int(order.size()); ++i) order[size_t(i)] = i;
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    std::vector<std::string> best;
    for (int i = 0; i < 5; ++i) best.push_back(m->tokenizer().id_to_token(order[size_t(i)]));
    const bool hit = std::any_of(best.begin(), best.end(),
                                 [&](const std::string& w) { return std::find(fits.begin(), fits.end(), w) != fits.end(); });
    top5 += hit;
    report += std::string(hit ? "  + " : "  - ") + text + " →";
    for (const auto& w : best) report += " " + w;
    report += "\n";
  }
  EXPECT_GE(top5, 10) << report;
}

// The masked LM must find English far more predictable than the same words in random order:
// the mean probability of the true word at each masked position, one position at a time
// (measured when the model was trained: 0.081 for the sentence, 0.025 shuffled).
TEST(BundledBert, PredictsEnglishBetterThanShuffledWords) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-bert-mini");
  const auto mean_probability = [&](const std::string& text) {
    const Encoding plain = m->encode(text);
    double sum = 0;
    int n = 0;
    for (size_t i = 1; i + 1 < plain.size(); ++i) {
      Encoding enc = plain;
      enc.ids[i] = *m->tokenizer().mask_id();
      RunOptions o;
      o.logits_rows = {int(i)};
      const Eigen::VectorXf l = m->forward(enc, o).logits.row(0).transpose();
      const Eigen::ArrayXf p = (l.array() - l.maxCoeff()).exp();
      sum += p[plain.ids[i]] / p.sum();
      ++n;
    }
    return sum / n;
  };
  const double english = mean_probability("my grandmother kept a small garden behind her house, where she grew beans every summer.");
  const double shuffled = mean_probability("garden every kept house she beans my small, behind grew a summer her grandmother where.");
  EXPECT_GT(english, 2 * shuffled) << english << " vs " << shuffled;
  EXPECT_GT(english, 0.05) << "mean probability of the true word (measured 0.081)";
}

// attnscope-qwen3-tiny (tools/train/train_qwen3.py): a Qwen3 decoder with grouped key/value
// heads and sliding-window layers. The tokenizer puts <|endoftext|> first, as in training.
// The GPT-2 test's sentences (written for the tests, never in the training data), so the two
// models can be compared. Measured when the model was trained: perplexity 268, 157 and 182
// (mean 202; it saw 1.8 M training tokens, gpt2-small 6 M), gibberish 2,032: ten times the
// English; the bounds leave room (mean < 300, gibberish > 3 times it).
TEST(BundledQwen3, HeldOutPerplexityIsBelowTheStatedBound) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-qwen3-tiny");
  ASSERT_EQ(m->encode("The cat").tokens.front(), "<|endoftext|>");
  const double ppl[] = {
      perplexity(*m, "My grandmother kept a small garden behind her house, where she grew tomatoes and beans every summer."),
      perplexity(*m, "The train was late again this morning, so most of the passengers waited on the cold platform."),
      perplexity(*m, "He wrote a long letter to his brother and then walked to the post office before it closed."),
  };
  const double mean = (ppl[0] + ppl[1] + ppl[2]) / 3;
  EXPECT_LT(mean, 300.0) << ppl[0] << " " << ppl[1] << " " << ppl[2];
  EXPECT_GT(perplexity(*m, "Qxv zzkp wrrt lmno fjdk quuv plox."), 3 * mean);
}

// Measured: "She said that she" → " was", " is", " has", " had"; "I would like a cup of" →
// " the", ",", " money", " a".
TEST(BundledQwen3, CompletesSimpleEnglishPlausibly) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-qwen3-tiny");
  EXPECT_TRUE(any_of(next_tokens(*m, "She said that she", 3), {" was", " had", " would", " could", " is", " has", " did"}));
  EXPECT_TRUE(any_of(next_tokens(*m, "I would like a cup of", 2), {" the", " a", " tea", " coffee", " water"}));
}

// Layers 0 and 2 slide (window 32: a query sees itself and the 31 tokens before it), layers 1
// and 3 see everything before them; 8 query heads share 2 key/value heads (4 each).
TEST(BundledQwen3, SlidingLayersSeeOnlyTheirWindow) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-qwen3-tiny");
  const Encoding enc = m->encode(
      "When the rain stopped, the children ran out into the street with their paper boats. "
      "They followed the water down the hill, past the baker's shop and the old church, "
      "until the boats reached the river and floated away. Then they walked home slowly, "
      "wet and happy, and their mother made them hot soup for supper.");
  ASSERT_GE(int(enc.size()), 60);
  const auto r = m->forward(enc, {});
  const RecordingMeta& meta = r.recording->meta();
  EXPECT_EQ(meta.num_kv_heads, 2);
  EXPECT_EQ(meta.num_heads, 8);
  EXPECT_EQ(meta.windows, (std::vector<int>{32, 0, 32, 0}));
  const int n = int(enc.size()), window = 32;
  for (int l = 0; l < 4; ++l)
    for (int h = 0; h < 8; ++h) {
      const auto a = r.recording->head(l, h);
      double beyond = 0;  // attention on keys `window` or more tokens back
      for (int i = window; i < n; ++i)
        for (int j = 0; j <= i - window; ++j) beyond += a(i, j);
      if (l % 2 == 0) EXPECT_EQ(beyond, 0.0) << "layer " << l << " head " << h;
      else EXPECT_GT(beyond, 0.0) << "layer " << l << " head " << h;
    }
}

TEST(BundledQwen3, RecordsDeterministically) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-qwen3-tiny");
  expect_stable_recording(*m, m->encode("The cat sat on the mat because it was tired."));
}

namespace {

// tests/fixtures/translate/heldout.json, written by tools/train/train_translate.py: inputs made
// from dates the model never saw in training, each with the expected output and, for every
// expected target token (the decoder's ids after its start token, </s> last), the index of the
// whitespace-separated source word it translates (-1: "-" and </s>).
struct HeldOutDate {
  std::string source, target;
  std::vector<int> align;
};

std::vector<HeldOutDate> held_out_dates() {
  const nlohmann::json j = read_json_file(test::fixtures_dir() / "translate" / "heldout.json");
  std::vector<HeldOutDate> out;
  for (const auto& e : j.at("examples"))
    out.push_back({e.at("source").get<std::string>(), e.at("target").get<std::string>(), e.at("align").get<std::vector<int>>()});
  return out;
}

GenerateResult translate(const Model& m, const std::string& text) {
  GenerateRequest r;
  r.text = text;
  r.max_new_tokens = 12;
  return generate(m, r);
}

// The head attnscope.json names as `name`: {"heads": {"alignment": [layer, head]}}.
std::pair<int, int> named_head(const std::string& model, const std::string& name) {
  const nlohmann::json j = read_json_file(fs::path(ATTN_RESOURCES_DIR) / "models" / model / "attnscope.json");
  const auto& h = j.at("heads").at(name);
  return {h.at(0).get<int>(), h.at(1).get<int>()};
}

}  // namespace

// Exact-match accuracy on the held-out dates, measured when trained: see
// resources/models/README.md (attnscope-translate-dates).
TEST(BundledTranslator, TranslatesHeldOutDatesExactly) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-translate-dates");
  const auto dates = held_out_dates();
  ASSERT_GE(dates.size(), 300u);
  int right = 0;
  std::string first_wrong;
  for (const HeldOutDate& d : dates) {
    const GenerateResult g = translate(*m, d.source);
    if (g.text == d.target) ++right;
    else if (first_wrong.empty()) first_wrong = d.source + " -> " + g.text + " (want " + d.target + ")";
  }
  const double accuracy = double(right) / double(dates.size());
  std::printf("attnscope-translate-dates: %d of %zu held-out dates exactly right (%.3f)\n", right, dates.size(), accuracy);
  EXPECT_GE(accuracy, 0.99) << "first wrong: " << first_wrong;
}

// The head attnscope.json names "alignment" reads the source word each target token
// translates: the cross-attention row that chose the token (its query is the token before),
// summed over each source word's pieces, is largest on that word — the year's digits on the
// year, the month's on the month name, the day's on the day, though the source puts them in
// another order.
TEST(BundledTranslator, ItsAlignmentHeadPicksTheRightSourceWord) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-translate-dates");
  const auto [layer, head] = named_head("attnscope-translate-dates", "alignment");
  int right = 0, counted = 0, examples = 0;
  for (const HeldOutDate& d : held_out_dates()) {
    const GenerateResult g = translate(*m, d.source);
    if (g.text != d.target) continue;  // only where the output is the expected one
    const auto& meta = g.recording->meta();
    ASSERT_EQ(g.steps.size(), d.align.size()) << d.source;
    const RowMatrix cross = cross_attention(*g.recording, layer, head);  // (target, source pieces)
    const auto words = word_spans(meta.source_tokens, meta.source_special);
    ++examples;
    for (size_t t = 0; t < d.align.size(); ++t) {
      if (d.align[t] < 0) continue;
      int best = -1;
      float best_weight = -1;
      for (size_t w = 0; w < words.size(); ++w) {
        const float weight = cross.row(Eigen::Index(t)).segment(words[w].first, words[w].second - words[w].first).sum();
        if (weight > best_weight) best = int(w), best_weight = weight;
      }
      right += best == d.align[t];
      ++counted;
    }
  }
  ASSERT_GT(examples, 200);
  const double share = double(right) / double(counted);
  std::printf("layer %d head %d: the right source word for %d of %d target tokens (%.3f) in %d translations\n", layer, head, right,
              counted, share, examples);
  EXPECT_GE(share, 0.95);
}

// The teaching mode's guided example: measured on the example it runs, the best alignment head
// reads the year, the month and the day from where they stand in the source, out of its order.
TEST(BundledTranslator, TheGuidedExampleFindsAHeadThatReorders) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-translate-dates");
  const GenerateResult g = translate(*m, "Sunday the third of July, 1994");
  ASSERT_EQ(g.text, "1994-07-03");
  std::vector<AlignmentPick> picks;
  const HeadFinding f = find_alignment_head(*g.recording, &picks);
  ASSERT_TRUE(f.found());
  EXPECT_TRUE(f.clear) << f.explanation;
  EXPECT_NE(f.explanation.find("not in the source's order"), std::string::npos) << f.explanation;
  std::printf("layer %d head %d, score %.3f (runner-up %.3f): %s\n", f.layer, f.head, f.score, f.runner_up, f.explanation.c_str());
  std::map<std::string, std::string> read;
  for (const AlignmentPick& p : picks) read[p.target] = p.source;
  EXPECT_EQ(read[" 1994"], " 1994");  // tokens as shown: SentencePiece's ▁ is a space
  EXPECT_EQ(read["07"], " July,");
  EXPECT_EQ(read["03"], " third");
}

// The induction toy's circuit, found by a sweep (session/ablate.h; the numbers are in
// resources/models/README.md). On a repeated run of 30 syllables, switching each head off
// alone at positions of the second copy: the induction head (found by its attention; the one
// attnscope.json names) hurts the copied token most, by far, and a previous-token head (found
// by its attention) second. The previous-token heads share their work: each alone costs little,
// all of them off together break the copy as the induction head's loss does.
TEST(BundledInductionToy, ASweepNamesItsCircuit) {
  ATTN_REQUIRE_BUNDLED(m, "attnscope-induction-toy");
  const std::string run = "ban ko mir du zen ta lo pin ra nu sar ven da mor ti gan fe ru hon sa jun bi dor te min ku lar fo pe gi";
  AblationRequest req;
  req.run.text = run + " " + run;
  const Encoding enc = m->encode(req.run.text);
  ASSERT_EQ(enc.size(), 61u);
  const auto plain = m->forward(enc, {}).recording;
  const HeadFinding induction = find_induction_head(*plain, induction_targets(enc.ids));
  ASSERT_TRUE(induction.clear);
  EXPECT_EQ(std::pair(induction.layer, induction.head), std::pair(1, 0)) << "attnscope.json names head 1.0";
  std::vector<HeadRef> previous;
  for (int h = 0; h < plain->num_heads(); ++h)
    if (previous_token_score(plain->head(0, h)) > 0.9f) previous.push_back({0, h});
  ASSERT_GE(previous.size(), 2u);
  for (const int position : {35, 45, 55}) {
    req.target.position = position;
    req.target.token_id = enc.ids[size_t(position) + 1];
    const SweepResult s = sweep_heads(*m, req, SweepUnit::Heads);
    std::vector<std::tuple<double, int, int>> hurt;  // most harmful first
    for (int l = 0; l < 2; ++l)
      for (int h = 0; h < 4; ++h) hurt.emplace_back(s.effect(l, h), l, h);
    std::sort(hurt.begin(), hurt.end());
    const auto [first, l1, h1] = hurt[0];
    const auto [second, l2, h2] = hurt[1];
    EXPECT_EQ(std::pair(l1, h1), std::pair(induction.layer, induction.head)) << "position " << position;
    EXPECT_LT(first, -2.0) << "position " << position;
    EXPECT_LT(first, second - 2.0) << "position " << position;
    EXPECT_LT(second, 0.0) << "position " << position;
    EXPECT_NE(std::find(previous.begin(), previous.end(), HeadRef{l2, h2}), previous.end())
        << "position " << position << ": head " << l2 << "." << h2 << " is no previous-token head";
    const double together = run_ablation(*m, req, previous).after - s.baseline;
    EXPECT_LT(together, -2.0) << "position " << position;
  }
}
