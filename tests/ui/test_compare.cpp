// The compare view: recording A (the current one) beside B and their difference A − B; B from
// the previous run or a file; side by side only (saying why) when the lengths differ; and
// `attnscope export --view compare --recording-b`, whose CSV holds A − B.
#include <gtest/gtest.h>

#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>

#include "analysis/compare.h"
#include "headless/headless.h"
#include "run/compare_cache.h"
#include "state/view_state.h"
#include "ui/ui_test_support.h"
#include "views/compare_view.h"
#include "window/main_window.h"

using namespace attn;
using namespace attn::ui;

namespace {

const QString kBundledGpt2 = QStringLiteral(ATTN_RESOURCES_DIR "/models/attnscope-gpt2-small");

// The numbers of a CSV written by write_matrix_csv: the last `cols` fields of each data row.
std::vector<std::vector<double>> csv_numbers(const QString& path, int cols) {
  QFile f(path);
  EXPECT_TRUE(f.open(QIODevice::ReadOnly)) << path.toStdString();
  std::vector<std::vector<double>> rows;
  const QList<QByteArray> lines = f.readAll().split('\n');
  for (int i = 1; i < lines.size(); ++i) {
    const QList<QByteArray> fields = lines[i].trimmed().split(',');
    if (fields.size() < cols + 1) continue;
    std::vector<double> r;
    for (int j = int(fields.size()) - cols; j < fields.size(); ++j) r.push_back(fields[j].toDouble());
    rows.push_back(r);
  }
  return rows;
}

int run_cli(const QStringList& args, QString* err = nullptr) {
  QProcess p;
  p.start(QStringLiteral(ATTNSCOPE_EXE), args);
  EXPECT_TRUE(p.waitForFinished(60000));
  if (err) *err = QString::fromUtf8(p.readAllStandardError());
  return p.exitCode();
}

}  // namespace

TEST(CompareView, SaysHowToChooseBWithoutOne) {
  ViewState state;
  const auto rec = test::synthetic_recording(2, 2, 6, true);
  state.set_recording(rec);
  CompareView view(&state);
  EXPECT_TRUE(view.message().startsWith("No recording B to compare with")) << view.message().toStdString();
  EXPECT_TRUE(view.message().contains("Compare with previous run"));
  EXPECT_FALSE(view.content().diff.has_value());
  EXPECT_FALSE(view.plot_b()->isVisibleTo(&view));
  EXPECT_FALSE(view.plot_diff()->isVisibleTo(&view));
}

TEST(CompareView, ShowsTheDifferenceOfTwoRecordingsAndHoversAllThree) {
  ViewState state;
  const auto a = test::synthetic_recording(2, 3, 8, true, 1), b = test::synthetic_recording(2, 3, 8, true, 2);
  state.set_recording(a);
  state.comparison()->set_b(b, "b.safetensors");
  state.select(1, 2);
  CompareView view(&state);
  ASSERT_TRUE(view.content().diff.has_value());
  const auto& d = view.plot_diff()->content().matrix;
  ASSERT_EQ(d.rows(), 8);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_FLOAT_EQ(d(i, j), a->head(1, 2)(i, j) - b->head(1, 2)(i, j));
  // Centred on 0: ±max |A − B| on the diverging map.
  const float m = (a->head(1, 2) - b->head(1, 2)).cwiseAbs().maxCoeff();
  EXPECT_FLOAT_EQ(float(view.content().diff->range.hi), m);
  EXPECT_FLOAT_EQ(float(view.content().diff->range.lo), -m);
  // A and B on one range, so their colours compare.
  EXPECT_EQ(view.content().a.range.hi, view.content().b.range.hi);
  EXPECT_TRUE(view.message().contains("the same tokens")) << view.message().toStdString();
  EXPECT_TRUE(view.message().contains("b.safetensors"));
  const QString hover = compare_hover(view.content(), 5, 2);
  EXPECT_TRUE(hover.contains(QStringLiteral("A %1").arg(format_weight(a->head(1, 2)(5, 2))))) << hover.toStdString();
  EXPECT_TRUE(hover.contains(QStringLiteral("B %1").arg(format_weight(b->head(1, 2)(5, 2))))) << hover.toStdString();
  EXPECT_TRUE(hover.contains("A − B ")) << hover.toStdString();
  // The layer mean follows the selection.
  state.select(0, kHeadMean);
  const RowMatrix want = a->layer_mean(0) - b->layer_mean(0);
  EXPECT_NEAR(view.plot_diff()->content().matrix(7, 3), want(7, 3), 1e-6);
  // Every head's difference as a model view, computed in the background.
  QSignalSpy computed(state.comparison(), &CompareCache::computed);
  view.set_mode(CompareView::Mode::EveryHead);
  ASSERT_TRUE(computed.wait(10000));
  EXPECT_EQ(view.heads()->cell_count(), 2 * 3);
  EXPECT_TRUE(view.render_title().startsWith("A − B of every head")) << view.render_title().toStdString();
  const Comparison c = compare_recordings(*a, *b);
  EXPECT_FLOAT_EQ(state.comparison()->result()->max_abs, c.max_abs);
  EXPECT_TRUE(view.message().contains(QStringLiteral("at layer %1 head %2").arg(c.worst_layer).arg(c.worst_head))) << view.message().toStdString();
  // A thumbnail activated (clicked): back to that head's A, B and A − B.
  Q_EMIT view.heads()->head_activated(0, 1);
  EXPECT_EQ(view.mode(), CompareView::Mode::Selection);
}

TEST(CompareView, DifferentLengthsAreSideBySideOnlyAndSayWhy) {
  ViewState state;
  state.set_recording(test::synthetic_recording(2, 2, 6, false, 1));
  state.comparison()->set_b(test::synthetic_recording(2, 2, 9, false, 2), "long.safetensors");
  CompareView view(&state);
  view.set_mode(CompareView::Mode::EveryHead);  // refused: nothing to take the difference of
  EXPECT_FALSE(view.content().diff.has_value());
  EXPECT_FALSE(view.plot_diff()->isVisibleTo(&view));
  EXPECT_TRUE(view.plot_b()->isVisibleTo(&view));
  EXPECT_EQ(view.plot_b()->content().matrix.rows(), 9);
  EXPECT_TRUE(view.message().contains("No difference is shown: A has 6 tokens, B has 9")) << view.message().toStdString();
  EXPECT_FALSE(state.comparison()->computing());
}

// Two runs of the bundled GPT-2 on inputs of the same length: the run before is B.
TEST(CompareView, ThePreviousRunIsBInTheWindow) {
  if (!QFile::exists(kBundledGpt2 + "/model.safetensors")) GTEST_SKIP() << "the bundled attnscope-gpt2-small is absent";
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, kBundledGpt2, "The cat sat on the mat"));
  const RecordingPtr first = w.state()->recording();
  w.compare_with_previous();  // none yet: the error says what to do
  EXPECT_TRUE(w.last_error().startsWith("No previous run")) << w.last_error().toStdString();
  ASSERT_TRUE(test::run_and_wait(w, kBundledGpt2, "The dog sat on the mat"));
  const RecordingPtr second = w.state()->recording();
  ASSERT_EQ(w.previous_recording(), first);
  ASSERT_EQ(first->num_tokens(), second->num_tokens());
  w.compare_with_previous();
  auto* view = static_cast<CompareView*>(w.view("compare"));
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(w.tabs()->currentWidget(), view);
  w.state()->select(2, 1);
  ASSERT_TRUE(view->content().diff.has_value());
  const RowMatrix want = second->head(2, 1) - first->head(2, 1);
  const auto& d = view->plot_diff()->content().matrix;
  for (int i = 0; i < int(want.rows()); ++i)
    for (int j = 0; j < int(want.cols()); ++j) EXPECT_FLOAT_EQ(d(i, j), want(i, j));
  EXPECT_GT(want.cwiseAbs().maxCoeff(), 1e-3f);  // the other word changes the attention
  EXPECT_TRUE(view->message().contains("tokens differ at position 1")) << view->message().toStdString();
  EXPECT_TRUE(view->plot_diff()->content().col_labels[1].contains("/")) << view->plot_diff()->content().col_labels[1].toStdString();
  // A longer input: side by side only.
  ASSERT_TRUE(test::run_and_wait(w, kBundledGpt2, "The dog sat on the mat and slept"));
  w.compare_with_previous();
  EXPECT_FALSE(view->content().diff.has_value());
  EXPECT_TRUE(view->message().contains("No difference is shown")) << view->message().toStdString();
}

TEST(CompareView, CompareWithARecordingFileOpensB) {
  MainWindow w;
  w.show();
  QTemporaryDir dir;
  const auto a = test::synthetic_recording(2, 2, 5, true, 3), b = test::synthetic_recording(2, 2, 5, true, 4);
  b->save(fspath(dir.filePath("b.safetensors")));
  w.state()->set_recording(a);
  QSignalSpy opened(w.state()->comparison(), &CompareCache::opened);
  w.compare_with_recording(dir.filePath("b.safetensors"));
  ASSERT_TRUE(opened.wait(10000));
  EXPECT_EQ(w.state()->comparison()->b_source(), "b.safetensors");
  EXPECT_EQ(w.tabs()->currentWidget(), w.view("compare"));
  QSignalSpy failed(w.state()->comparison(), &CompareCache::failed);
  w.compare_with_recording(dir.filePath("missing.safetensors"));
  ASSERT_TRUE(failed.wait(10000));
  EXPECT_TRUE(w.last_error().contains("missing.safetensors")) << w.last_error().toStdString();
}

TEST(CompareExport, CsvHoldsAMinusBAndPicturesAreWritten) {
  QTemporaryDir dir;
  const auto a = test::synthetic_recording(3, 4, 10, true, 5), b = test::synthetic_recording(3, 4, 10, true, 6);
  const QString pa = dir.filePath("a.safetensors"), pb = dir.filePath("b.safetensors");
  a->save(fspath(pa));
  b->save(fspath(pb));
  QString err;
  const QString csv = dir.filePath("d.csv");
  ASSERT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--recording-b", pb, "--layer", "2", "--head", "3", "--out", csv}, &err), 0)
      << err.toStdString();
  const auto rows = csv_numbers(csv, 10);
  ASSERT_EQ(rows.size(), 10u);
  const RowMatrix want = a->head(2, 3) - b->head(2, 3);
  for (int i = 0; i < 10; ++i)
    for (int j = 0; j < 10; ++j) EXPECT_NEAR(rows[size_t(i)][size_t(j)], want(i, j), 1e-6) << i << "," << j;
  // The layer mean, and every head's summary.
  ASSERT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--recording-b", pb, "--layer", "1", "--head", "mean", "--out", csv}), 0);
  EXPECT_NEAR(csv_numbers(csv, 10)[4][2], (a->layer_mean(1) - b->layer_mean(1))(4, 2), 1e-6);
  ASSERT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--recording-b", pb, "--every-head", "--out", csv}), 0);
  const auto heads = csv_numbers(csv, 2);
  ASSERT_EQ(heads.size(), 12u);
  EXPECT_NEAR(heads[size_t(1 * 4 + 2)][0], (a->head(1, 2) - b->head(1, 2)).cwiseAbs().maxCoeff(), 1e-6);
  // Pictures: the selection's three plots, and every head.
  for (const QStringList& extra : {QStringList{}, QStringList{"--every-head"}}) {
    const QString png = dir.filePath(extra.isEmpty() ? "c.png" : "every.png");
    ASSERT_EQ(run_cli(QStringList{"export", "--view", "compare", "--recording", pa, "--recording-b", pb, "--size", "1500x600", "--out", png} + extra, &err), 0)
        << err.toStdString();
    const QImage img(png);
    EXPECT_EQ(img.size(), QSize(1500, 600));
    EXPECT_GT(QFile(png).size(), 5000);
  }
  // Without B, and with B of another length: said plainly.
  EXPECT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--out", csv}, &err), 2);
  EXPECT_TRUE(err.contains("--recording-b")) << err.toStdString();
  const QString pc = dir.filePath("c.safetensors");
  test::synthetic_recording(3, 4, 12, true, 7)->save(fspath(pc));
  EXPECT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--recording-b", pc, "--out", csv}, &err), 1);
  EXPECT_TRUE(err.contains("A has 10 tokens, B has 12")) << err.toStdString();
  ASSERT_EQ(run_cli({"export", "--view", "compare", "--recording", pa, "--recording-b", pc, "--out", dir.filePath("side.png")}, &err), 0) << err.toStdString();
  EXPECT_FALSE(QImage(dir.filePath("side.png")).isNull());
}

// Regression (the screenshot tour aborted): with a comparison set and layer 3 selected, a run of
// a model with fewer layers made the compare view read layer 3 of the new recording before
// the selection was fitted to it ("recording has no attention.layer2").
TEST(CompareView, ARecordingWithFewerLayersKeepsTheSelectionInside) {
  const QString four = QStringLiteral(ATTN_RESOURCES_DIR "/models/attnscope-gpt2-small");
  if (!QFileInfo::exists(four + QStringLiteral("/config.json"))) GTEST_SKIP() << "resources/models/attnscope-gpt2-small is absent";
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, four, QStringLiteral("the cat sat on the mat")));
  ASSERT_TRUE(test::run_and_wait(w, four, QStringLiteral("the dog sat on the mat")));
  w.compare_with_previous();
  w.show_view(QStringLiteral("compare"));
  w.state()->select(3, 0);
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the cat sat")));  // 2 layers
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->recording()->num_layers(), 2);
}
