// Head interventions (nn/interventions.h) and ablation sweeps (session/ablate.h): heads
// switched off, mean-ablated and patched against the PyTorch reference
// (tests/fixtures/ablation, made by tools/make_ablation_fixtures.py; zero = Hugging Face's
// head_mask), a patch with a head's own output changing nothing, a sweep's entries equal to
// separate ablation runs, the induction toy's sweep naming its circuit, and bad requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "nn/interventions.h"
#include "nn/model.h"
#include "session/ablate.h"
#include "session/generate.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace attn;

namespace {

const Model& fixture_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[name];
  if (!m) m = Model::load(test::fixtures_dir() / "models" / name);
  return *m;
}

Encoding encoding_of(const nlohmann::json& ids, const nlohmann::json* type_ids) {
  Encoding enc;
  enc.ids = ids.get<std::vector<int32_t>>();
  if (type_ids) enc.type_ids = type_ids->get<std::vector<int32_t>>();
  return enc;
}

// Every head's output of a run over `enc`.
std::shared_ptr<const HeadOutputs> head_outputs(const Model& m, const Encoding& enc) {
  HeadOutputCapture capture(m.config().num_layers, m.config().num_heads);
  RunOptions o;
  o.hook = &capture;
  m.forward(enc, o);
  return capture.outputs();
}

class AblationGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(AblationGolden, LogitsEqualTheReferences) {
  const Model& m = fixture_model(GetParam());
  const nlohmann::json fx = read_json_file(test::fixtures_dir() / "ablation" / (GetParam() + ".json"));
  const nlohmann::json* types = fx.contains("token_type_ids") ? &fx["token_type_ids"] : nullptr;
  const Encoding enc = encoding_of(fx["input_ids"], types);
  const auto clean = head_outputs(m, encoding_of(fx["clean_ids"], types));
  const auto rows = fx["rows"].get<std::vector<int>>();
  auto max_diff = [&](const RowMatrix& logits, const nlohmann::json& want) {
    float diff = 0;
    for (size_t r = 0; r < rows.size(); ++r)
      for (Eigen::Index v = 0; v < logits.cols(); ++v)
        diff = std::max(diff, std::abs(logits(rows[r], v) - want[r][size_t(v)].get<float>()));
    return diff;
  };
  RunOptions plain;
  plain.all_logits = true;
  const RowMatrix base = m.forward(enc, plain).logits;
  EXPECT_LT(max_diff(base, fx["plain"]), 1e-4f);
  for (const auto& c : fx["cases"]) {
    RunOptions o = plain;
    o.intervention.mode = *parse_ablation(c["mode"].get<std::string>());
    for (const auto& h : c["heads"]) o.intervention.heads.push_back({h[0].get<int>(), h[1].get<int>()});
    o.intervention.clean = clean;
    const auto r = m.forward(enc, o);
    const std::string what = c["mode"].get<std::string>() + " " + format_heads(o.intervention.heads);
    EXPECT_LT(max_diff(r.logits, c["logits"]), 1e-4f) << what;
    EXPECT_GT((r.logits - base).cwiseAbs().maxCoeff(), 1e-3f) << what << ": the case changes nothing";
    EXPECT_EQ(r.recording->meta().extra.at("ablated_heads"), format_heads(o.intervention.heads));
    EXPECT_EQ(r.recording->meta().extra.at("ablation"), c["mode"].get<std::string>());
    if (o.intervention.mode == Ablation::Zero) {  // as Hugging Face returns them: the head's probabilities are zero
      for (const HeadRef& h : o.intervention.heads) EXPECT_EQ(r.recording->head(h.layer, h.head).cwiseAbs().maxCoeff(), 0.0f) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AblationGolden, ::testing::Values("gpt2", "bert_mlm"));

// A patch with every head's own output changes nothing, bit for bit, and what it puts in is the
// captured output bit for bit.
TEST(Patching, AHeadsOwnOutputChangesNothing) {
  const Model& m = fixture_model("gpt2");
  const Encoding enc = m.encode("the quick brown fox jumps over the lazy dog");
  RunOptions o;
  o.all_logits = true;
  const auto plain = m.forward(enc, o);
  // Identical runs are bit-identical (buffers are aligned alike, so vectorised sums round alike).
  EXPECT_EQ((m.forward(enc, o).logits - plain.logits).cwiseAbs().maxCoeff(), 0.0f);
  const auto own = head_outputs(m, enc);
  o.intervention = {Ablation::Patch, {}, own};
  for (int l = 0; l < m.config().num_layers; ++l)
    for (int h = 0; h < m.config().num_heads; ++h) o.intervention.heads.push_back({l, h});
  HeadOutputCapture seen(m.config().num_layers, m.config().num_heads);
  o.hook = &seen;  // after the intervention: sees what the layer's projection gets
  const auto patched = m.forward(enc, o);
  EXPECT_EQ((patched.logits - plain.logits).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ((patched.recording->head(1, 2) - plain.recording->head(1, 2)).cwiseAbs().maxCoeff(), 0.0f);
  for (int l = 0; l < m.config().num_layers; ++l)
    for (int h = 0; h < m.config().num_heads; ++h)
      EXPECT_EQ(((*seen.outputs())[size_t(l)][size_t(h)] - (*own)[size_t(l)][size_t(h)]).cwiseAbs().maxCoeff(), 0.0f) << l << "." << h;
}

TEST(Patching, NeedsACleanRunOfTheSameLength) {
  const Model& m = fixture_model("gpt2");
  RunOptions o;
  o.intervention = {Ablation::Patch, {{0, 1}}, head_outputs(m, m.encode("a short one"))};
  EXPECT_NE(test::error_of([&] { m.forward(m.encode("a rather longer input than that"), o); }).find("same length"), std::string::npos);
  o.intervention.clean.reset();
  EXPECT_NE(test::error_of([&] { m.forward(m.encode("a short one"), o); }).find("clean"), std::string::npos);
}

TEST(Interventions, HeadsAreParsedAndCheckedAgainstTheModel) {
  EXPECT_EQ(format_heads(parse_heads("1.0,0.3", 2, 4)), "1.0,0.3");
  EXPECT_TRUE(parse_heads("", 2, 4).empty());
  EXPECT_NE(test::error_of([] { parse_heads("1.4", 2, 4); }).find("heads 0-3"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_heads("2.0", 2, 4); }).find("layers 0-1"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_heads("1,2", 2, 4); }).find("layer.head"), std::string::npos);
  EXPECT_NE(test::error_of([] { parse_heads("1.x", 2, 4); }).find("'1.x'"), std::string::npos);
  EXPECT_EQ(parse_ablation("mean"), Ablation::Mean);
  EXPECT_FALSE(parse_ablation("half"));
  const Model& m = fixture_model("gpt2");
  RunOptions o;
  o.intervention.heads = {{0, 7}};
  EXPECT_NE(test::error_of([&] { m.forward(m.encode("the cat"), o); }).find("cannot ablate head 0.7"), std::string::npos);
}

TEST(Interventions, AnEncoderDecoderIsRefusedByName) {
  const Model& m = fixture_model("bart_tiny");
  AblationRequest req;
  req.run.text = "a short source";
  const std::string ablate = test::error_of([&] { run_ablation(m, req, {{0, 0}}); });
  EXPECT_NE(ablate.find("is an encoder-decoder"), std::string::npos) << ablate;
  EXPECT_NE(test::error_of([&] { sweep_heads(m, req, SweepUnit::Heads); }).find("not yet in a translator"), std::string::npos);
}

TEST(Interventions, AGenerationSwitchesHeadsOffButCannotMeanAblate) {
  const Model& m = fixture_model("gpt2");
  RunOptions o;
  o.intervention = {Ablation::Mean, {{0, 1}}, nullptr};
  EXPECT_NE(test::error_of([&] { m.generation_recording(8, o); }).find("mean-ablate"), std::string::npos);
  o.intervention.mode = Ablation::Zero;
  EXPECT_EQ(m.generation_recording(8, o)->meta().extra.at("ablated_heads"), "0.1");
}

TEST(Resume, FromAKeptHiddenStateEqualsTheWholePass) {
  const Model& m = fixture_model("gpt2");
  const Encoding enc = m.encode("the quick brown fox jumps over the lazy dog");
  RunOptions o;
  o.all_logits = true;
  o.record_hidden = true;
  const auto whole = m.forward(enc, o);
  RunOptions r = o;
  r.record_hidden = false;
  r.resume = {1, std::make_shared<const RowMatrix>(whole.hidden[1])};
  const auto resumed = m.forward(enc, r);
  EXPECT_EQ((resumed.logits - whole.logits).cwiseAbs().maxCoeff(), 0.0f);  // the same sums on the same addresses
  EXPECT_EQ((resumed.recording->head(1, 0) - whole.recording->head(1, 0)).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(resumed.recording->head(0, 0).cwiseAbs().maxCoeff(), 0.0f);  // layer 0 was not run
  r.resume.hidden = std::make_shared<const RowMatrix>(RowMatrix::Zero(3, m.config().hidden_size));
  EXPECT_NE(test::error_of([&] { m.forward(enc, r); }).find("cannot resume"), std::string::npos);
}

AblationRequest request(const std::string& text) {
  AblationRequest req;
  req.run.text = text;
  return req;
}

// A sweep keeps the plain run's hidden states and starts each ablated run at its layer: its
// entries must equal whole separate runs of each ablation, for every mode and unit.
TEST(Sweep, EntriesEqualSeparateAblationRuns) {
  const Model& m = fixture_model("gpt2");
  for (Ablation mode : {Ablation::Zero, Ablation::Mean, Ablation::Patch})
    for (SweepUnit unit : {SweepUnit::Heads, SweepUnit::Layers}) {
      AblationRequest req = request("the quick brown fox jumps over the lazy dog");
      req.mode = mode;
      if (mode == Ablation::Patch) req.clean_text = "the lazy brown fox jumps over the quick dog";  // the same tokens, reordered
      const SweepResult s = sweep_heads(m, req, unit);
      ASSERT_EQ(s.effect.rows(), m.config().num_layers);
      ASSERT_EQ(s.effect.cols(), unit == SweepUnit::Heads ? m.config().num_heads : 1);
      double largest = 0;
      for (int l = 0; l < s.effect.rows(); ++l)
        for (int h = 0; h < s.effect.cols(); ++h) {
          std::vector<HeadRef> heads;
          for (int k = 0; k < m.config().num_heads; ++k)
            if (unit == SweepUnit::Layers || k == h) heads.push_back({l, k});
          const AblationOutcome one = run_ablation(m, req, heads);
          EXPECT_EQ(one.target.token, s.target.token);
          EXPECT_EQ(one.before, s.baseline);
          EXPECT_EQ(float(one.after - one.before), s.effect(l, h)) << ablation_name(mode) << " " << l << "." << h;
          largest = std::max(largest, std::abs(double(s.effect(l, h))));
        }
      EXPECT_GT(largest, 1e-3) << ablation_name(mode) << ": the sweep changed nothing";
      if (mode == Ablation::Patch) {
        EXPECT_TRUE(s.clean.has_value());
      }
    }
}

TEST(Sweep, TargetsATokenOrALogitDifference) {
  const Model& m = fixture_model("gpt2");
  AblationRequest req = request("the quick brown fox jumps over the lazy dog");
  req.target.token_id = 5;
  req.target.contrast_id = 9;
  req.target.position = 3;
  const SweepResult s = sweep_heads(m, req, SweepUnit::Layers);
  EXPECT_EQ(s.target.position, 3);
  EXPECT_NE(s.target.describe().find("logit("), std::string::npos);
  RunOptions o;
  o.all_logits = true;
  const RowMatrix logits = m.forward(m.encode(req.run.text), o).logits;
  EXPECT_NEAR(s.baseline, logits(3, 5) - logits(3, 9), 1e-5);
  const auto j = nlohmann::json::parse(s.to_json());
  EXPECT_EQ(j["unit"], "layers");
  EXPECT_EQ(j["effect"].size(), size_t(m.config().num_layers));
  req.target.position = 99;
  EXPECT_NE(test::error_of([&] { sweep_heads(m, req, SweepUnit::Layers); }).find("outside the input"), std::string::npos);
  req.target = {};
  req.target.token = "no such token at all";
  EXPECT_NE(test::error_of([&] { sweep_heads(m, req, SweepUnit::Layers); }).find("not one token"), std::string::npos);
}

// A generation's step is swept on its prefix (the prompt and the tokens before it) with the
// chosen token as the target: the baseline is the step's own probability, and each entry is a
// separate ablation of that prefix.
TEST(Sweep, AGenerationsStepIsItsPrefixAndItsChosenToken) {
  const Model& m = fixture_model("gpt2");
  GenerateRequest g;
  g.text = "the quick brown fox";
  g.max_new_tokens = 6;
  g.stop_ids = std::vector<int>{};
  const GenerateResult gen = generate(m, g);
  ASSERT_EQ(gen.steps.size(), 6u);
  AblationRequest req;
  target_generation_step(m, *gen.recording, 3, req);
  std::vector<int32_t> prefix = gen.prompt_ids;
  for (int s = 0; s < 3; ++s) prefix.push_back(gen.steps[size_t(s)].chosen.id);
  EXPECT_EQ(req.run.ids, prefix);
  const SweepResult s = sweep_heads(m, req, SweepUnit::Heads);
  EXPECT_EQ(s.target.token, gen.steps[3].chosen.id);
  EXPECT_EQ(s.target.position, int(prefix.size()) - 1);
  EXPECT_NE(s.target.describe().find("step 4"), std::string::npos) << s.target.describe();
  EXPECT_EQ(nlohmann::json::parse(s.to_json())["target"]["step"], 4);
  EXPECT_NEAR(s.baseline, std::log(gen.steps[3].chosen.prob), 1e-5);
  // Head 1.2 switched off by hand, on the same ids.
  const Encoding enc = m.tokenizer().encode_ids(prefix);
  RunOptions o;
  o.all_logits = true;
  o.intervention = {Ablation::Zero, {{1, 2}}, nullptr};
  const RowMatrix logits = m.forward(enc, o).logits;
  const auto row = logits.row(logits.rows() - 1).cast<double>();
  const double log_p = row(s.target.token) - row.maxCoeff() - std::log((row.array() - row.maxCoeff()).exp().sum());
  EXPECT_NEAR(s.baseline + s.effect(1, 2), log_p, 1e-5);
  const AblationOutcome one = run_ablation(m, req, {{1, 2}});
  EXPECT_EQ(float(one.after - one.before), s.effect(1, 2));

  AblationRequest wrong = req;
  wrong.run.ids->push_back(m.tokenizer().vocab_size());
  EXPECT_NE(test::error_of([&] { sweep_heads(m, wrong, SweepUnit::Heads); }).find("outside gpt2's vocabulary"), std::string::npos);
  EXPECT_NE(test::error_of([&] { target_generation_step(m, *gen.recording, 6, req); }).find("outside the generation's 6"), std::string::npos);
  AblationRequest patch;
  patch.mode = Ablation::Patch;
  EXPECT_NE(test::error_of([&] { target_generation_step(m, *gen.recording, 0, patch); }).find("not patched"), std::string::npos);
  const auto plain = m.forward(m.encode("the quick brown fox"), RunOptions{}).recording;
  EXPECT_NE(test::error_of([&] { target_generation_step(m, *plain, 0, req); }).find("no generation"), std::string::npos);
  const Model& bart = fixture_model("bart_tiny");
  GenerateRequest t;
  t.text = "the quick brown fox";
  t.max_new_tokens = 2;
  const GenerateResult translation = generate(bart, t);
  EXPECT_NE(test::error_of([&] { target_generation_step(bart, *translation.recording, 0, req); }).find("encoder-decoder"), std::string::npos);
  // Another model's generation: its prompt is not what this model makes of the text.
  EXPECT_NE(test::error_of([&] { target_generation_step(fixture_model("llama_gqa"), *gen.recording, 0, req); }).find("another model"),
            std::string::npos);
}

TEST(Sweep, StopsWhenCancelled) {
  const Model& m = fixture_model("gpt2");
  AblationRequest req = request("the quick brown fox");
  int calls = 0;
  req.progress = [&](double, std::string_view) { return ++calls < 5; };
  EXPECT_THROW(sweep_heads(m, req, SweepUnit::Heads), Cancelled);
}

}  // namespace
