// The timeline of a generation: each step's strip against the recording's producing rows, the
// keys and play, hover, the window's Generate (tab, Stop), and exports of one step and of all.
#include <gtest/gtest.h>

#include <QApplication>
#include <QFileInfo>
#include <QGroupBox>
#include <QKeyEvent>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTest>

#include "headless/headless.h"
#include "nn/model.h"
#include "state/bundled_models.h"
#include "state/view_state.h"
#include "test_support.h"
#include "ui/ui_test_support.h"
#include "views/alignment_view.h"
#include "views/prediction_panel.h"
#include "views/timeline_view.h"
#include "window/main_window.h"
#include "window/model_panel.h"

using namespace attn;
using namespace attn::ui;

namespace {

// A greedy generation of `tokens` new tokens by the gpt2 fixture (2 layers, 3 heads).
std::shared_ptr<AttentionRecording> fixture_generation(int tokens) {
  static const auto model = Model::load(test::fixtures_dir() / "models" / "gpt2");
  GenerateRequest r;
  r.prompt_ids = std::vector<int32_t>{388, 342, 370, 373};
  r.max_new_tokens = tokens;
  r.stop_ids = std::vector<int>{};
  return attn::generate(*model, r).recording;
}

}  // namespace

TEST(Timeline, EachStepShowsTheRowThatChoseItsToken) {
  ViewState state;
  const auto rec = fixture_generation(6);
  state.set_recording(rec);
  const auto info = read_generation(*rec);
  ASSERT_TRUE(info);
  state.select(1, kHeadMean);
  for (int t = 0; t < 6; ++t) {
    const auto s = timeline_step(state, t);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->position, 3 + t);  // the prompt's last token chose the first
    EXPECT_EQ(s->chosen.chosen.id, info->steps[size_t(t)].chosen.id);
    ASSERT_EQ(s->rows.rows(), 3 + 2);
    ASSERT_EQ(s->rows.cols(), s->position + 1);
    RowMatrix mean = RowMatrix::Zero(1, s->position + 1);
    for (int h = 0; h < 3; ++h) {
      const RowMatrix want = rec->head(1, h).row(s->position).head(s->position + 1);
      EXPECT_LT((s->rows.row(h) - want).cwiseAbs().maxCoeff(), 1e-7f) << t << " " << h;
      mean += want / 3.0f;
    }
    EXPECT_LT((s->rows.row(3) - mean).cwiseAbs().maxCoeff(), 1e-6f);
    EXPECT_EQ(s->selected_row, 3);  // the mean
    EXPECT_EQ(s->tokens.size(), size_t(s->position + 1));
  }
  state.select(0, 2);
  EXPECT_EQ(timeline_step(state, 0)->selected_row, 2);
  state.set_recording(test::synthetic_recording(1, 2, 5, true));  // not a generation
  EXPECT_FALSE(timeline_step(state, 0));
}

// A generation that ended at its stop token has no next token: the prediction panel says so
// (not that the model has no prediction head).
TEST(Timeline, APredictionPanelOnAStoppedGenerationSaysWhy) {
  static const auto model = Model::load(test::fixtures_dir() / "models" / "gpt2");
  GenerateRequest r;
  r.prompt_ids = std::vector<int32_t>{388, 342, 370, 373};
  r.max_new_tokens = 4;
  r.stop_ids = std::vector<int>{};
  const GenerateResult free_run = attn::generate(*model, r);
  r.stop_ids = std::vector<int>{free_run.steps[1].chosen.id};  // stops at its second token
  const GenerateResult stopped = attn::generate(*model, r);
  ASSERT_EQ(stopped.stop, "eos");
  ASSERT_FALSE(stopped.predictions);
  ViewState state;
  PredictionPanel panel(&state);
  EXPECT_NE(panel.empty_text().indexOf(QStringLiteral("Run a model")), -1);
  state.set_recording(stopped.recording);
  EXPECT_NE(panel.empty_text().indexOf(QStringLiteral("stop token")), -1) << panel.empty_text().toStdString();
  state.set_recording(free_run.recording);
  EXPECT_TRUE(panel.empty_text().isEmpty()) << panel.empty_text().toStdString();
}

TEST(Timeline, KeysSliderPlayAndHover) {
  ViewState state;
  state.set_recording(fixture_generation(5));
  TimelineView view(&state);
  view.resize(1100, 600);
  view.show();
  ASSERT_EQ(view.steps(), 5);
  EXPECT_EQ(view.step(), 0);
  EXPECT_EQ(state.query(), 3);  // the other views show the producing row
  QTest::keyClick(&view, Qt::Key_Right);
  QTest::keyClick(&view, Qt::Key_Right);
  EXPECT_EQ(view.step(), 2);
  EXPECT_EQ(state.query(), 5);
  QTest::keyClick(&view, Qt::Key_End);
  EXPECT_EQ(view.step(), 4);
  QTest::keyClick(&view, Qt::Key_Right);  // stays at the end
  EXPECT_EQ(view.step(), 4);
  QTest::keyClick(&view, Qt::Key_Left);
  EXPECT_EQ(view.step(), 3);
  view.findChild<QSlider*>()->setValue(1);
  EXPECT_EQ(view.step(), 1);
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("token 2 of 5"))) << qPrintable(view.render_title());

  QSignalSpy stepped(&view, &TimelineView::step_changed);
  view.set_playing(true);  // plays to the end, then stops
  EXPECT_TRUE(view.playing());
  for (int i = 0; i < 20 && view.playing(); ++i) stepped.wait(1500);
  EXPECT_FALSE(view.playing());
  EXPECT_EQ(view.step(), 4);

  // Hover: somewhere in the strip a cell names its head, both tokens and the exact weight.
  QApplication::processEvents();
  QString found;
  for (int y = 40; y < 300 && found.isEmpty(); y += 4)
    for (int x = 500; x < 1000 && found.isEmpty(); x += 25) found = view.describe_at(QPointF(x, y));
  ASSERT_FALSE(found.isEmpty());
  EXPECT_TRUE(found.contains(QStringLiteral("head 0")) || found.contains(QStringLiteral("mean"))) << qPrintable(found);
  EXPECT_TRUE(found.contains(QStringLiteral("token 7"))) << qPrintable(found);  // the last step's producing row
}

// Export: one step as a picture and as numbers, and every step as numbered files.
TEST(Timeline, ExportsOneStepOrAll) {
  const auto rec = fixture_generation(4);
  QTemporaryDir dir;
  HeadlessRequest req;
  req.view = QStringLiteral("timeline");
  req.layer = 1;
  req.step = 2;
  req.out = dir.filePath(QStringLiteral("step.csv"));
  ASSERT_EQ(export_headless(rec, req).size(), 1);
  const std::string csv = test::read_file(attn::ui::fspath(req.out));
  EXPECT_NE(csv.find("head 0"), std::string::npos);
  EXPECT_NE(csv.find("mean"), std::string::npos);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 5);  // header, 3 heads, mean, max

  req.out = dir.filePath(QStringLiteral("step.png"));
  ASSERT_EQ(export_headless(rec, req).size(), 1);
  QImage png(req.out);
  EXPECT_FALSE(png.isNull());

  req.all_steps = true;
  req.step = 0;
  req.out = dir.filePath(QStringLiteral("frames.png"));
  const QStringList frames = export_headless(rec, req);
  ASSERT_EQ(frames.size(), 4);
  EXPECT_TRUE(frames[0].endsWith(QStringLiteral("frames_001.png"))) << qPrintable(frames[0]);
  EXPECT_TRUE(frames[3].endsWith(QStringLiteral("frames_004.png")));
  for (const QString& f : frames) EXPECT_FALSE(QImage(f).isNull()) << qPrintable(f);

  req.all_steps = false;
  req.step = 4;  // past the last
  EXPECT_THROW(export_headless(rec, req), Error);
  req.step = 0;
  req.view = QStringLiteral("heatmap");
  req.all_steps = true;
  EXPECT_THROW(export_headless(rec, req), Error);
  req.all_steps = false;
  req.view = QStringLiteral("timeline");
  req.layer = 0;
  try {
    export_headless(test::synthetic_recording(1, 2, 5, true), req);
    ADD_FAILURE() << "a plain recording has no timeline";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a generation"), std::string::npos) << e.what();
  }
}

// The window: Generate runs in the worker, the Timeline tab appears and opens; a plain run
// hides it again.
TEST(Timeline, WindowGeneratesAndShowsTheTimeline) {
  MainWindow w;
  w.show();
  w.choose_model(test::fixture_model("gpt2"));
  ASSERT_TRUE(test::wait_until_idle(w));
  ModelPanel* panel = w.findChild<ModelPanel*>();
  ASSERT_NE(panel, nullptr);
  EXPECT_TRUE(panel->generate_box()->isVisibleTo(&w));  // a language model
  panel->set_text(QStringLiteral("the cat sat"));
  Sampling sampling;
  sampling.greedy = false;
  sampling.seed = 3;
  sampling.top_k = 10;
  panel->set_generation(7, sampling);
  w.generate();
  EXPECT_EQ(panel->cancel_button()->text(), QStringLiteral("Stop"));
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_EQ(panel->cancel_button()->text(), QStringLiteral("Cancel"));
  const auto info = read_generation(*w.state()->recording());
  ASSERT_TRUE(info);
  EXPECT_LE(info->steps.size(), 7u);
  EXPECT_NE(info->settings.find("\"seed\":3"), std::string::npos) << info->settings;
  auto* tabs = w.findChild<QTabWidget*>();
  ASSERT_NE(tabs, nullptr);
  EXPECT_EQ(tabs->currentWidget()->objectName(), QStringLiteral("timeline"));
  auto* timeline = qobject_cast<TimelineView*>(tabs->currentWidget());
  ASSERT_NE(timeline, nullptr);
  EXPECT_EQ(timeline->steps(), int(info->steps.size()));

  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the cat sat")));
  EXPECT_FALSE(tabs->isTabVisible(tabs->indexOf(timeline)));
  EXPECT_EQ(tabs->currentWidget()->objectName(), QStringLiteral("heatmap"));

  w.choose_model(test::fixture_model("bert_mlm"));
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_FALSE(panel->generate_box()->isVisibleTo(&w));  // not a decoder
}

// A translation's timeline shows, for each step, the cross-attention row over the source that
// chose the token (the decoder's self-attention row would show only the target so far).
TEST(Timeline, ATranslationsStepsShowTheCrossAttentionOverTheSource) {
  static const auto model = Model::load(test::fixtures_dir() / "models" / "marian_tiny");
  GenerateRequest r;
  r.text = "the cat sat on the mat";
  r.max_new_tokens = 4;
  r.stop_ids = std::vector<int>{};
  ViewState state;
  const auto rec = attn::generate(*model, r).recording;
  state.set_recording(rec);
  state.select(1, 0);
  const auto& meta = rec->meta();
  const int S = int(meta.source_tokens.size()), H = rec->num_heads();
  for (int t = 0; t < 4; ++t) {
    const auto s = timeline_step(state, t);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->over_source);
    EXPECT_EQ(s->position, t);  // the start token chose the first
    EXPECT_EQ(s->query_token, meta.tokens[size_t(t)]);
    EXPECT_EQ(s->tokens, meta.source_tokens);
    ASSERT_EQ(s->rows.cols(), S);
    for (int h = 0; h < H; ++h) {
      const RowMatrix want = rec->block(AttentionRecording::Part::CrossAttention, 1, h, t, t + 1, 0, S);
      EXPECT_LT((s->rows.row(h) - want).cwiseAbs().maxCoeff(), 1e-7f) << t << " " << h;
    }
    EXPECT_NEAR(s->rows.row(H).sum(), 1.0f, 1e-5f);  // the mean of distributions over the source
  }
  TimelineView view(&state);
  view.resize(1100, 600);
  view.show();
  QApplication::processEvents();
  QString found;
  for (int y = 40; y < 580 && found.isEmpty(); y += 6)
    for (int x = 300; x < 1090 && found.isEmpty(); x += 12) found = view.describe_at(QPointF(x, y));
  EXPECT_TRUE(found.contains(QStringLiteral("→ source token"))) << qPrintable(found);
}

// The alignment of a translation: what it shows is analysis/alignment.h's, hover names the cell,
// and the lines answer for a hovered target token.
TEST(Alignment, ShowsTheCrossAttentionAndAnswersHovers) {
  static const auto model = Model::load(test::fixtures_dir() / "models" / "marian_tiny");
  GenerateRequest r;
  r.text = "the cat sat on the mat";
  r.max_new_tokens = 4;
  r.stop_ids = std::vector<int>{};
  ViewState state;
  state.set_recording(attn::generate(*model, r).recording);
  state.select(1, 2);
  AlignmentView view(&state);
  view.resize(1000, 700);
  view.show();
  QApplication::processEvents();
  ASSERT_TRUE(view.content());
  const Alignment want = alignment(*state.recording(), 1, 2, false);
  EXPECT_EQ(view.content()->weights, want.weights);
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("layer 1 · head 2"))) << qPrintable(view.render_title());
  QString found;
  for (int y = 40; y < 650 && found.isEmpty(); y += 10)
    for (int x = 100; x < 950 && found.isEmpty(); x += 20) found = view.describe_at(QPointF(x, y));
  EXPECT_TRUE(found.startsWith(QStringLiteral("target "))) << qPrintable(found);

  view.set_words(true);
  EXPECT_TRUE(view.content()->words);
  EXPECT_EQ(view.content()->weights, alignment(*state.recording(), 1, 2, true).weights);
  view.set_all_layers(true);
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("mean of all layers")));

  view.set_style(AlignmentView::Style::Lines);
  view.set_hovered_target(1);
  view.repaint();
  QApplication::processEvents();
  found.clear();
  for (int y = 40; y < 650 && found.isEmpty(); y += 4)
    for (int x = 500; x < 990 && found.isEmpty(); x += 10) found = view.describe_at(QPointF(x, y));
  EXPECT_TRUE(found.contains(QStringLiteral("looked most at"))) << qPrintable(found);

  state.set_recording(test::synthetic_recording(1, 2, 5, true));
  EXPECT_FALSE(view.content());
}

// Run on an encoder-decoder translates; the Timeline and Alignment tabs appear, Alignment in front.
TEST(Alignment, WindowRunOnATranslatorGenerates) {
  MainWindow w;
  w.show();
  w.choose_model(test::fixture_model("marian_tiny"));
  ASSERT_TRUE(test::wait_until_idle(w));
  ModelPanel* panel = w.findChild<ModelPanel*>();
  panel->set_text(QStringLiteral("the cat sat on the mat"));
  panel->set_generation(5, Sampling{});
  w.run();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  ASSERT_TRUE(w.state()->recording()->meta().encoder_decoder());
  auto* tabs = w.findChild<QTabWidget*>();
  EXPECT_EQ(tabs->currentWidget()->objectName(), QStringLiteral("alignment"));  // a translation's picture
  auto* align = w.findChild<AlignmentView*>();
  ASSERT_NE(align, nullptr);
  EXPECT_TRUE(tabs->isTabVisible(tabs->indexOf(align)));
  EXPECT_TRUE(align->content());
}

// The bundled date translator opens as a person meets it: choosing it puts its first example in
// the text box (the box held another model's example), Run translates, and the window shows the
// alignment on the head its attnscope.json names, where the year is read before the month.
TEST(Alignment, TheBundledTranslatorOpensOnItsExampleAndAlignmentHead) {
  const QString dir = QStringLiteral(ATTN_RESOURCES_DIR "/models/attnscope-translate-dates");
  if (!QFileInfo::exists(dir + QStringLiteral("/config.json"))) GTEST_SKIP() << "resources/models/attnscope-translate-dates is absent";
  MainWindow w;
  w.show();
  ModelPanel* panel = w.findChild<ModelPanel*>();
  panel->set_text(QString());
  w.choose_model(dir);
  ASSERT_TRUE(test::wait_until_idle(w));
  const QList<Example> examples = read_examples(dir);
  ASSERT_FALSE(examples.isEmpty());
  EXPECT_EQ(panel->text(), examples.first().text);
  w.run();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  auto* tabs = w.findChild<QTabWidget*>();
  EXPECT_EQ(tabs->currentWidget()->objectName(), QStringLiteral("alignment"));
  const auto head = named_head(dir, QStringLiteral("alignment"));
  ASSERT_TRUE(head);
  EXPECT_EQ(w.state()->layer(), head->first);
  EXPECT_EQ(w.state()->head(), head->second);
  auto* align = w.findChild<AlignmentView*>();
  ASSERT_TRUE(align && align->content());
  const Alignment& a = *align->content();
  // "the twenty-first of March 1987" -> " 1987" "-" "03" "-" "21" "</s>": the first target token
  // reads the last source word, "03" reads " March".
  ASSERT_GE(a.target.size(), 5u);
  Eigen::Index best = 0;
  a.weights.row(0).maxCoeff(&best);
  EXPECT_EQ(a.source[size_t(best)], " 1987");
  a.weights.row(2).maxCoeff(&best);
  EXPECT_EQ(a.source[size_t(best)], " March");
  // A text of the user's own stays when another model is chosen.
  panel->set_text(QStringLiteral("my own words"));
  w.choose_model(test::fixture_model("gpt2"));
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_EQ(panel->text(), QStringLiteral("my own words"));
}
