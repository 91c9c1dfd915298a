// The one run pipeline (session/run.h): tokenizing once, truncation, the rows a prediction
// needs, predictions in the metadata, kept logits, and the wrong kind of input.
#include <gtest/gtest.h>

#include "session/run.h"
#include "test_support.h"
#include "util/error.h"

using namespace attn;

namespace {

std::unique_ptr<Model> fixture(const std::string& name) { return Model::load(test::fixtures_dir() / "models" / name); }

using test::error_of;

}  // namespace

TEST(RunPipeline, NextTokenPredictionMatchesTheLogitsOfTheLastPosition) {
  const auto m = fixture("gpt2");
  RunRequest req;
  req.text = "the cat sat on the";
  const RunResult r = run_model(*m, req);
  ASSERT_TRUE(r.predictions);
  EXPECT_EQ(r.predictions->task, "next-token");
  EXPECT_EQ(r.predictions->position, r.recording->num_tokens() - 1);
  ASSERT_EQ(r.predictions->top.size(), 5u);
  // Against the model run directly: softmax of the last row.
  RunOptions all;
  all.all_logits = true;
  const ForwardResult f = m->forward(m->encode(req.text), all);
  const Eigen::VectorXf last = f.logits.bottomRows(1).transpose();
  Eigen::VectorXf p = (last.array() - last.maxCoeff()).exp();
  p /= p.sum();
  Eigen::Index best;
  p.maxCoeff(&best);
  EXPECT_EQ(r.predictions->top[0].id, int(best));
  EXPECT_NEAR(r.predictions->top[0].prob, p[best], 1e-5);
  EXPECT_EQ(r.predictions->top[0].label, m->tokenizer().token_text(int32_t(best)));
  for (size_t i = 1; i < r.predictions->top.size(); ++i) EXPECT_LE(r.predictions->top[i].prob, r.predictions->top[i - 1].prob);
  // Stored in the metadata, and read back alike.
  const auto stored = read_predictions(r.recording->meta());
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->top[0].id, r.predictions->top[0].id);
  EXPECT_EQ(r.recording->meta().text, req.text);
}

TEST(RunPipeline, FillMaskPredictsAtTheMask) {
  const auto m = fixture("bert_mlm");
  RunRequest req;
  req.text = "the cat [MASK] on the mat";
  const PreparedRun run = prepare_run(*m, req);
  ASSERT_TRUE(run.target);
  EXPECT_EQ(run.target->task, "fill-mask");
  EXPECT_EQ(run.token_strings[size_t(run.target->position)], "[MASK]");
  EXPECT_EQ(run.options.logits_rows, std::vector<int>{run.target->position});
  const RunResult r = execute_run(*m, run);
  EXPECT_EQ(r.logits_rows, std::vector<int>{run.target->position});
  EXPECT_EQ(r.predictions->position, run.target->position);
  // No mask: no prediction from the window's pipeline, a clear error for `predict`.
  RunRequest plain;
  plain.text = "no mask here";
  EXPECT_FALSE(prepare_run(*m, plain).target);
  const PreparedRun unmasked = prepare_run(*m, plain);
  EXPECT_NE(error_of([&] { require_prediction_target(*m, &unmasked.encoding); }).find("no mask token"), std::string::npos);
}

TEST(RunPipeline, TruncationIsReportedFromOneTokenization) {
  const auto m = fixture("gpt2");
  std::string text;
  for (int i = 0; i < m->config().max_positions; ++i) text += " word";
  RunRequest req;
  req.text = text;
  EXPECT_NE(error_of([&] { prepare_run(*m, req); }).find("positions"), std::string::npos);
  req.truncate = true;
  const PreparedRun run = prepare_run(*m, req);
  EXPECT_EQ(run.tokens, m->config().max_positions);
  EXPECT_GT(run.full_tokens, size_t(run.tokens));
  EXPECT_TRUE(run.truncated());
  EXPECT_TRUE(execute_run(*m, run).truncated);
}

TEST(RunPipeline, KeptLogitsCoverEveryPositionForLanguageModels) {
  const auto m = fixture("bert_mlm");
  RunRequest req;
  req.text = "a [MASK] b";
  req.keep_logits = true;
  const RunResult r = run_model(*m, req);
  ASSERT_TRUE(r.recording->logits());
  EXPECT_EQ(r.recording->logits()->rows(), r.recording->num_tokens());
  EXPECT_EQ(r.recording->meta().extra.count("logits_rows"), 0u);  // all rows: no list needed
  EXPECT_EQ(r.predictions->position, 2);
  // The prediction uses the mask's row even when every row is kept.
  const Eigen::VectorXf row = r.logits.row(2).transpose();
  Eigen::Index best;
  row.maxCoeff(&best);
  EXPECT_EQ(r.predictions->top[0].id, int(best));
}

TEST(RunPipeline, WrongKindOfInputIsNamed) {
  const auto text_model = fixture("gpt2");
  RunRequest picture;
  picture.image_path = "photo.png";
  EXPECT_NE(error_of([&] { prepare_run(*text_model, picture); }).find("is a text model"), std::string::npos);
  const auto image_model = fixture("vit_cls");
  RunRequest words;
  words.text = "hello";
  EXPECT_NE(error_of([&] { prepare_run(*image_model, words); }).find("is an image model"), std::string::npos);
  RunRequest empty;
  EXPECT_NE(error_of([&] { prepare_run(*text_model, empty); }).find("the input is empty"), std::string::npos);
}

TEST(RunPipeline, ImageRunsClassifyAndKeepWhereThePictureCameFrom) {
  const auto m = fixture("vit_cls");
  RunRequest req;
  req.image.emplace(40, 40);
  for (size_t i = 0; i < req.image->pixels.size(); ++i) req.image->pixels[i] = uint8_t(i * 7);
  req.image_path = "some/dir/../pic.png";
  const RunResult r = run_model(*m, req);
  ASSERT_TRUE(r.predictions);
  EXPECT_EQ(r.predictions->task, "image-classification");
  EXPECT_EQ(r.predictions->top[0].label, m->config().labels[size_t(r.predictions->top[0].id)]);
  EXPECT_EQ(std::filesystem::path(r.recording->meta().extra.at("image_path")),
            (std::filesystem::current_path() / "some/pic.png").lexically_normal());
}

TEST(Predictions, MalformedMetadataCountsAsNone) {
  for (const char* bad : {"", "[]", "{\"task\": \"next-token\", \"top\": []}", "{\"task\": 3, \"top\": [{}]}",
                          "{\"task\": \"x\", \"top\": [{\"label\": \"a\", \"id\": 1e56, \"prob\": 0.5}]}"})
    EXPECT_FALSE(Predictions::from_json(bad)) << bad;
  const auto ok = Predictions::from_json("{\"task\": \"x\", \"position\": 3, \"top\": [{\"label\": \"a\", \"id\": 7, \"prob\": 0.5}]}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->position, 3);
  EXPECT_EQ(ok->top[0].id, 7);
  EXPECT_EQ(Predictions::from_json(ok->to_json())->top[0].label, "a");
}
