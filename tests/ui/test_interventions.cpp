// Interventions in the window: heads switched off from the model view (Ctrl+click) and the
// selectors, a run with them showing the prediction before → after and marking them, the
// sweep running in the worker into the Sweep tab (clicking a cell opens the head), and the
// Sweep view's numbers and export; a generation's sweep at the Timeline's step.
#include <gtest/gtest.h>

#include <QLineEdit>
#include <QMouseEvent>
#include <QPushButton>
#include <QTabWidget>
#include <QTest>
#include <QToolButton>

#include "session/ablate.h"
#include "session/generate.h"
#include "state/view_state.h"
#include "test_support.h"
#include "ui/ui_test_support.h"
#include "views/model_view.h"
#include "views/prediction_panel.h"
#include "views/sweep_view.h"
#include "views/timeline_view.h"
#include "views/view_table.h"
#include "window/intervention_panel.h"
#include "window/main_window.h"
#include "window/model_panel.h"
#include "window/selector_bar.h"

using namespace attn;
using namespace attn::ui;

namespace {

TEST(Interventions, CtrlClickedHeadsRunSwitchedOffAndThePanelShowsBeforeAndAfter) {
  MainWindow w;
  w.resize(1300, 900);
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the quick brown fox jumps over the lazy")));
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_TRUE(w.state()->ablated().empty());
  EXPECT_FALSE(w.prediction_panel()->before());
  const auto plain = w.prediction_panel()->predictions();
  ASSERT_TRUE(plain);

  // Ctrl+click head 0.1 in the model view; the selectors' Off switches head 1.2.
  ModelView* mv = w.model_view();
  w.show_view(QStringLiteral("model"));
  QTest::mouseClick(mv, Qt::LeftButton, Qt::ControlModifier, mv->cell_rect(0, 1).center());
  EXPECT_EQ(w.state()->ablated(), (std::vector<HeadRef>{{0, 1}}));
  w.state()->select(1, 2);
  w.selectors()->off_button()->click();
  EXPECT_EQ(w.state()->ablated(), (std::vector<HeadRef>{{0, 1}, {1, 2}}));
  EXPECT_TRUE(w.selectors()->off_button()->isChecked());
  EXPECT_NE(w.interventions()->heads_text().indexOf(QStringLiteral("0.1, 1.2")), -1);
  EXPECT_NE(w.state()->selection_title().indexOf(QStringLiteral("to switch off")), -1);

  w.run();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  const auto& meta = w.state()->recording()->meta();
  EXPECT_EQ(meta.extra.at("ablated_heads"), "0.1,1.2");
  EXPECT_EQ(meta.extra.at("ablation"), "zero");
  EXPECT_EQ(w.state()->recording()->head(0, 1).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_TRUE(w.state()->was_ablated(1, 2));
  EXPECT_NE(w.state()->selection_title().indexOf(QStringLiteral("switched off")), -1);
  for (const char* view : {"model", "head", "stats", "rollout"})  // every view's title names them
    EXPECT_NE(as_renderable(w.view(QString::fromLatin1(view)))->render_title().indexOf(QStringLiteral("heads 0.1, 1.2 switched off")), -1) << view;
  // Before → after: the plain run's numbers are the ones the plain run showed.
  const auto& before = w.prediction_panel()->before();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->top.front().id, plain->top.front().id);
  EXPECT_NEAR(before->top.front().prob, plain->top.front().prob, 1e-6);
  const QStringList rows = w.prediction_panel()->row_texts();
  ASSERT_FALSE(rows.isEmpty());
  EXPECT_NE(rows.front().indexOf(QStringLiteral(" → ")), -1) << rows.front().toStdString();

  // All on: the next run is plain again.
  w.state()->set_ablated({});
  w.run();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_EQ(w.state()->recording()->meta().extra.count("ablated_heads"), 0u);
  EXPECT_FALSE(w.prediction_panel()->before());
}

TEST(Interventions, ASweepRunsInTheWorkerAndItsCellsOpenTheirHeads) {
  MainWindow w;
  w.resize(1300, 900);
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the quick brown fox jumps over the lazy")));
  ASSERT_TRUE(test::wait_until_idle(w));
  auto* sweep_view = qobject_cast<SweepView*>(w.view(QStringLiteral("sweep")));
  ASSERT_TRUE(sweep_view);
  EXPECT_FALSE(find_view(QStringLiteral("sweep"))->missing(*w.state()).empty());
  w.interventions()->set_mode(Ablation::Mean);
  w.sweep();
  ASSERT_TRUE(test::wait_until_idle(w));
  ASSERT_TRUE(w.state()->sweep());
  const SweepResult& s = *w.state()->sweep();
  EXPECT_EQ(s.mode, Ablation::Mean);
  ASSERT_EQ(s.effect.rows(), 2);
  ASSERT_EQ(s.effect.cols(), 3);
  EXPECT_EQ(w.tabs()->currentWidget(), sweep_view);
  EXPECT_TRUE(find_view(QStringLiteral("sweep"))->missing(*w.state()).empty());
  // The numbers shown are the sweep's, and equal a separate run of the same change.
  const auto& model = *w.runs()->model();
  AblationRequest req;
  req.run.text = "the quick brown fox jumps over the lazy";
  req.run.truncate = true;
  req.mode = Ablation::Mean;
  const AblationOutcome one = run_ablation(model, req, {{1, 2}});
  EXPECT_NEAR(one.after - one.before, s.effect(1, 2), 1e-5);
  EXPECT_EQ(sweep_view->cell_text(1, 2), sweep_view->cell_text(1, 2));
  EXPECT_FALSE(sweep_view->cell_text(1, 2).isEmpty());
  // Clicking a cell selects that head and opens it.
  QTest::mouseClick(sweep_view, Qt::LeftButton, Qt::NoModifier, sweep_view->cell_rect(1, 2).center());
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->head(), 2);
  EXPECT_EQ(w.tabs()->currentWidget()->objectName(), QStringLiteral("heatmap"));
  // Its numbers export as the map shows them.
  QTemporaryDir dir;
  const QString csv = dir.filePath(QStringLiteral("sweep.csv"));
  find_view(QStringLiteral("sweep"))->write_numbers(*w.state(), {}, csv, true);
  const std::string text = test::read_file(fspath(csv));
  EXPECT_NE(text.find("head 2"), std::string::npos);
  EXPECT_NE(text.find(std::to_string(s.effect(1, 2)).substr(0, 6)), std::string::npos) << text;
}

// On a generation the sweep measures the token chosen at the Timeline's step, on the tokens
// before it; the panel says which, and a patch is not offered there.
TEST(Interventions, OnAGenerationTheSweepMeasuresTheTimelinesStep) {
  MainWindow w;
  w.resize(1300, 900);
  w.show();
  w.choose_model(test::fixture_model("gpt2"));
  ASSERT_TRUE(test::wait_until_idle(w));
  auto* panel = w.findChild<ModelPanel*>();
  panel->set_text(QStringLiteral("the cat sat"));
  panel->set_generation(5, Sampling{});
  w.generate();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(test::wait_until_idle(w));
  const auto info = read_generation(*w.state()->recording());
  ASSERT_TRUE(info);
  ASSERT_GE(info->steps.size(), 3u);
  auto* timeline = qobject_cast<TimelineView*>(w.view(QStringLiteral("timeline")));
  ASSERT_TRUE(timeline);
  timeline->set_step(2);
  InterventionPanel* iv = w.interventions();
  EXPECT_EQ(iv->generation_step(), 2);
  auto* target = iv->findChild<QLineEdit*>(QStringLiteral("SweepTarget"));
  EXPECT_FALSE(target->isEnabled());
  EXPECT_NE(target->placeholderText().indexOf(QStringLiteral("step 3")), -1) << target->placeholderText().toStdString();
  iv->set_mode(Ablation::Patch);
  EXPECT_FALSE(iv->sweep_button()->isEnabled());
  iv->set_mode(Ablation::Zero);
  EXPECT_TRUE(iv->sweep_button()->isEnabled());
  w.sweep();
  ASSERT_TRUE(test::wait_until_idle(w));
  ASSERT_TRUE(w.state()->sweep()) << w.last_error().toStdString();
  const SweepResult& s = *w.state()->sweep();
  EXPECT_EQ(s.target.step, 2);
  EXPECT_EQ(s.target.token, info->steps[2].chosen.id);
  EXPECT_EQ(s.target.position, info->prompt_length + 1);
  EXPECT_NEAR(s.baseline, std::log(info->steps[2].chosen.prob), 1e-5);
  // A plain run: the Target field is back.
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the cat sat")));
  EXPECT_EQ(iv->generation_step(), -1);
  EXPECT_TRUE(target->isEnabled());
}

TEST(Interventions, APatchWithoutACleanInputSaysSo) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the quick brown fox")));
  ASSERT_TRUE(test::wait_until_idle(w));
  w.interventions()->set_mode(Ablation::Patch);
  w.state()->toggle_ablated(0, 0);
  w.run();
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_NE(w.last_error().indexOf(QStringLiteral("clean")), -1) << w.last_error().toStdString();
  w.interventions()->set_clean_text(QStringLiteral("the brown quick fox"));
  w.run();
  ASSERT_TRUE(test::wait_for_analysis(w)) << w.last_error().toStdString();
  ASSERT_TRUE(test::wait_until_idle(w));
  EXPECT_EQ(w.state()->recording()->meta().extra.at("ablation"), "patch");
  EXPECT_EQ(w.state()->recording()->meta().extra.at("ablation_clean_text"), "the brown quick fox");
}

}  // namespace
