// View ▸ Reading in the window (sinks hidden, words, sentences: what the heatmap shows and
// says, saved with the recording) and in the headless export.
#include <gtest/gtest.h>

#include <QAction>
#include <QFile>
#include <QMenu>
#include <QSignalSpy>
#include <QTemporaryDir>

#include "headless/headless.h"
#include "ui/ui_test_support.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"
#include "views/stats_view.h"
#include "window/main_window.h"
#include "state/view_state.h"

using namespace attn;
using namespace attn::ui;

namespace {

const QString kText = QStringLiteral("the cat sat. it was tired!");

// Waits until the window shows its recording read as its reading says (its "reading" metadata
// is `note`) with the analysis of what it shows.
bool wait_for_reading(MainWindow& w, const std::string& note) {
  QSignalSpy spy(w.state(), &ViewState::analysis_changed);
  for (int i = 0; i < 100; ++i) {
    const auto& rec = w.state()->recording();
    const bool read = rec && rec->meta().extra.count("reading") && rec->meta().extra.at("reading") == note;
    if (read && w.state()->analysis()) return true;
    spy.wait(300);
  }
  return false;
}

QAction* action(MainWindow& w, const char* name) { return w.findChild<QAction*>(QString::fromLatin1(name)); }

// A CSV matrix's rows without the header row and label column.
std::vector<std::vector<double>> csv_rows(const QString& path) {
  QFile f(path);
  EXPECT_TRUE(f.open(QIODevice::ReadOnly));
  std::vector<std::vector<double>> rows;
  const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
  for (int i = 1; i < lines.size(); ++i) {
    const QStringList cells = lines[i].split(QLatin1Char(','));
    rows.emplace_back();
    for (int c = 1; c < cells.size(); ++c) rows.back().push_back(cells[c].toDouble());
  }
  return rows;
}

}  // namespace

TEST(ReadingWindow, HidingSpecialTokensChangesTheHeatmapAndItsTitle) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("bert_mlm"), kText));
  const RecordingPtr original = w.state()->recording();
  ASSERT_EQ(original->meta().tokens.front(), "[CLS]");
  w.show_view("heatmap");
  w.state()->select(1, 0);
  EXPECT_FALSE(w.heatmap_view()->render_title().contains(QStringLiteral("hidden")));
  EXPECT_GT(w.heatmap_view()->plot()->shown_value(2, 0), 0.0);

  ASSERT_NE(action(w, "HideSpecial"), nullptr);
  action(w, "HideSpecial")->trigger();
  ASSERT_TRUE(wait_for_reading(w, "special tokens hidden, rows renormalised"));
  EXPECT_EQ(w.state()->original(), original);
  EXPECT_TRUE(w.heatmap_view()->render_title().contains(QStringLiteral("special tokens hidden, rows renormalised"))) << w.heatmap_view()->render_title().toStdString();
  const int N = w.state()->recording()->num_tokens();
  for (int i = 0; i < N; ++i) {
    EXPECT_EQ(w.heatmap_view()->plot()->shown_value(i, 0), 0.0);      // [CLS]
    EXPECT_EQ(w.heatmap_view()->plot()->shown_value(i, N - 1), 0.0);  // [SEP]
    double sum = 0;
    for (int j = 0; j < N; ++j) sum += w.heatmap_view()->plot()->shown_value(i, j);
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  // The statistics follow: nothing goes to the hidden special tokens any more.
  EXPECT_EQ(w.state()->analysis()->stat(1, 0).special_share, 0.0f);
  EXPECT_TRUE(w.stats_view()->render_title().contains(QStringLiteral("hidden")));

  // One switch steps through the hierarchy: words, then sentences.
  action(w, "NextReadingLevel")->trigger();
  ASSERT_TRUE(wait_for_reading(w, "special tokens hidden, rows renormalised · words (keys summed, queries averaged)"));
  EXPECT_TRUE(action(w, "ReadWords")->isChecked());
  action(w, "NextReadingLevel")->trigger();
  ASSERT_TRUE(wait_for_reading(w, "special tokens hidden, rows renormalised · sentences (keys summed, queries averaged)"));
  EXPECT_EQ(w.state()->recording()->meta().tokens, (std::vector<std::string>{"[CLS]", "the cat sat.", "it was tired!", "[SEP]"}));
  EXPECT_NEAR(w.heatmap_view()->plot()->shown_value(1, 1) + w.heatmap_view()->plot()->shown_value(1, 2), 1.0, 1e-5);

  // Back to tokens, nothing hidden: the recording itself again.
  action(w, "ReadTokens")->trigger();
  action(w, "HideSpecial")->trigger();
  EXPECT_FALSE(action(w, "HideSpecial")->isChecked());
  QSignalSpy shown(w.state(), &ViewState::recording_changed);
  for (int i = 0; i < 50 && w.state()->recording() != original; ++i) shown.wait(200);
  EXPECT_EQ(w.state()->recording(), original);
}

TEST(ReadingWindow, TheReadingIsSavedWithTheRecording) {
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("read.safetensors"));
  int tokens = 0;
  {
    MainWindow w;
    ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("bert_mlm"), kText));
    tokens = w.state()->recording()->num_tokens();
    action(w, "HideFirst")->trigger();
    action(w, "ReadSentences")->trigger();
    ASSERT_TRUE(wait_for_reading(w, "first token hidden, rows renormalised · sentences (keys summed, queries averaged)"));
    QSignalSpy saved(&w, &MainWindow::recording_saved);
    w.save_recording(path);
    ASSERT_TRUE(saved.wait(10000));
    action(w, "HideFirst")->trigger();  // the window's own setting changes; the file keeps its own
    action(w, "ReadTokens")->trigger();
  }
  EXPECT_EQ(AttentionRecording::open(path.toStdString())->num_tokens(), tokens);  // the file holds the tokens, not the reading
  MainWindow w;
  EXPECT_TRUE(w.state()->reading().plain());
  w.open_recording(path);
  ASSERT_TRUE(wait_for_reading(w, "first token hidden, rows renormalised · sentences (keys summed, queries averaged)"));
  EXPECT_TRUE(action(w, "HideFirst")->isChecked());
  EXPECT_TRUE(action(w, "ReadSentences")->isChecked());
  EXPECT_EQ(w.state()->original()->num_tokens(), tokens);
  action(w, "HideFirst")->trigger();
  action(w, "ReadTokens")->trigger();
}

TEST(ReadingExport, WordsAndHiddenSinksReachTheNumbersAndTheStatistics) {
  const auto rec = test::synthetic_recording(2, 2, 6, false);
  rec->meta_mutable().tokens = {"[CLS]", "un", "##believ", "##able", "cat", "[SEP]"};
  rec->meta_mutable().special = {1, 0, 0, 0, 0, 1};
  QTemporaryDir dir;
  HeadlessRequest req;
  req.layer = 1;
  req.head = 1;
  req.reading = Reading{.hide_first = true, .unit = ReadingUnit::Words};
  req.out = dir.filePath(QStringLiteral("words.csv"));
  ASSERT_EQ(export_headless(rec, req).size(), 1);
  const auto rows = csv_rows(req.out);
  ASSERT_EQ(rows.size(), 4u);  // [CLS], unbelievable, cat, [SEP]
  const auto a = rec->head(1, 1);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(rows[size_t(i)].size(), 4u);
    EXPECT_EQ(rows[size_t(i)][0], 0.0);
    EXPECT_NEAR(rows[size_t(i)][1] + rows[size_t(i)][2] + rows[size_t(i)][3], 1.0, 1e-5);
  }
  // "cat" looking at "unbelievable": its three pieces summed, over the row's kept mass.
  EXPECT_NEAR(rows[2][1], a.row(4).segment(1, 3).sum() / a.row(4).tail(5).sum(), 1e-5);
  // The statistics follow the reading; "first" is the share to the first token.
  req.view = QStringLiteral("stats");
  req.stat = QStringLiteral("first");
  req.out = dir.filePath(QStringLiteral("stats.csv"));
  ASSERT_EQ(export_headless(rec, req).size(), 1);
  QFile stats(req.out);
  ASSERT_TRUE(stats.open(QIODevice::ReadOnly));
  EXPECT_TRUE(stats.readLine().trimmed().endsWith("max_weight,first_share"));
  EXPECT_TRUE(stats.readLine().trimmed().endsWith(",0"));  // the first token is hidden: no share left
}
