// The views on recordings of grouped-query and sliding-window models (Llama, Mistral, Qwen,
// Gemma): KV groups in the model view and the head selector, the window's band in the
// heatmap, and the window's and groups' names in titles, the status bar and exports. Plain
// multi-head recordings show none of it.
#include <gtest/gtest.h>

#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include "analysis/head_stats.h"
#include "headless/headless.h"
#include "ui/ui_test_support.h"
#include "views/heatmap_view.h"
#include "views/model_view.h"
#include "state/view_state.h"
#include "window/main_window.h"
#include "window/model_panel.h"
#include "window/selector_bar.h"

using namespace attn;
using namespace attn::ui;

namespace {

// 3 layers × 8 heads; with `kv` key/value heads and per-layer `windows` when given.
struct Fixture {
  ViewState state;
  std::shared_ptr<AttentionRecording> rec;
  explicit Fixture(int kv = 0, std::vector<int> windows = {}, int tokens = 20) : rec(test::synthetic_recording(3, 8, tokens, true)) {
    rec->meta_mutable().num_kv_heads = kv;
    rec->meta_mutable().windows = std::move(windows);
    state.set_recording(rec);
    state.set_analysis(rec, analyze(*rec));
  }
};

// The shapes an SVG draws (QSvgGenerator writes paths, polylines, polygons and lines).
qsizetype shapes(const QByteArray& svg) { return svg.count("<path") + svg.count("<polyline") + svg.count("<polygon") + svg.count("<line"); }

double gap_after(const ModelView& view, int head) { return view.cell_rect(0, head + 1).left() - view.cell_rect(0, head).right(); }

}  // namespace

TEST(ModelViewGqa, HeadsSharingAKeyValueHeadStandOnOneBand) {
  Fixture s(4, {4, 0, 4});  // 4 groups of 2 heads
  ModelView view(&s.state);
  view.resize(1000, 700);
  ASSERT_EQ(view.kv_group_count(), 4);
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 3; ++l)
      for (int h = 0; h < 8; ++h)
        EXPECT_EQ(view.kv_group_rect(g).contains(view.cell_rect(l, h)), h / 2 == g) << "group " << g << " layer " << l << " head " << h;
  // Groups stand apart: wider gaps between them than between the heads inside one.
  EXPECT_GT(gap_after(view, 1), gap_after(view, 0) + 2);
  EXPECT_FALSE(view.kv_group_rect(0).intersects(view.kv_group_rect(1)));
  EXPECT_EQ(view.row_label(0), QStringLiteral("L0 · window 4"));
  EXPECT_EQ(view.row_label(1), QStringLiteral("L1 · full"));
  // Clicking still finds the head, past the gaps.
  view.show();
  QSignalSpy activated(&view, &ModelView::head_activated);
  QTest::mouseClick(&view, Qt::LeftButton, {}, view.cell_rect(2, 5).center());
  ASSERT_EQ(activated.count(), 1);
  EXPECT_EQ(s.state.head(), 5);
  EXPECT_EQ(s.state.layer(), 2);
}

TEST(ModelViewGqa, PlainMultiHeadRecordingsHaveNoGroupsNorWindows) {
  for (int kv : {0, 8}) {  // no key/value heads given, or one per query head
    Fixture s(kv);
    ModelView view(&s.state);
    view.resize(1000, 700);
    EXPECT_EQ(view.kv_group_count(), 0);
    for (int h = 0; h + 2 < 8; ++h) EXPECT_NEAR(gap_after(view, h), gap_after(view, h + 1), 1.0);
    EXPECT_EQ(view.row_label(1), QStringLiteral("L1"));
  }
}

TEST(SelectorBarGqa, HeadsAreNamedByTheirGroup) {
  Fixture s(4);
  SelectorBar bar(&s.state);
  const QStringList names = bar.head_names();
  ASSERT_EQ(names.size(), 10);
  EXPECT_EQ(names[0], QStringLiteral("0 (KV group 0)"));
  EXPECT_EQ(names[5], QStringLiteral("5 (KV group 2)"));
  EXPECT_EQ(names[8], QStringLiteral("mean"));
  s.state.select(0, 5);
  EXPECT_EQ(bar.head_box()->currentText(), QStringLiteral("5 (KV group 2)"));
  EXPECT_EQ(bar.head_box()->currentData().toInt(), 5);
  // A plain recording afterwards: plain numbers again.
  auto plain = test::synthetic_recording(2, 8, 10, true);
  s.state.set_recording(plain);
  EXPECT_EQ(bar.head_names()[5], QStringLiteral("5"));
  EXPECT_EQ(head_name(s.rec->meta(), 5), QStringLiteral("head 5 (KV group 2)"));
}

TEST(HeatmapViewGqa, ASlidingWindowLayerOutlinesItsBand) {
  const int w = 4, n = 20;
  Fixture s(4, {w, 0, w}, n);
  HeatmapView view(&s.state);
  view.resize(900, 800);
  view.show();
  s.state.select(2, 3);
  MatrixPlot* plot = view.plot();
  EXPECT_TRUE(plot->band_shown());
  EXPECT_EQ(plot->content().window, w);
  const QPolygonF band = plot->band_polygon();
  // Inside the outline are exactly the cells a query sees: keys i - w + 1 .. i.
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      EXPECT_EQ(band.containsPoint(QPointF(j, i), Qt::OddEvenFill), j <= i && j > i - w) << i << "," << j;
  EXPECT_TRUE(plot->render_title().contains(QStringLiteral("sliding window 4"))) << plot->render_title().toStdString();
  EXPECT_TRUE(plot->render_title().contains(QStringLiteral("head 3 (KV group 1)")));
  // The mean over the layer's heads has the same window.
  s.state.select(0, kHeadMean);
  EXPECT_TRUE(plot->band_shown());
  // A full layer: no band, and the title says so.
  s.state.select(1, 3);
  EXPECT_FALSE(plot->band_shown());
  EXPECT_TRUE(plot->band_polygon().isEmpty());
  EXPECT_TRUE(plot->render_title().contains(QStringLiteral("full attention")));
}

TEST(HeatmapViewGqa, PlainRecordingsKeepTheirTitleAndHaveNoBand) {
  Fixture s;
  HeatmapView view(&s.state);
  s.state.select(1, 2);
  EXPECT_FALSE(view.plot()->band_shown());
  EXPECT_EQ(view.plot()->render_title(), QStringLiteral("synthetic · layer 1 · head 2"));
}

TEST(ExportGqa, SvgExportsCarryTheGroupsAndTheWindow) {
  Fixture s(4, {4, 0, 4});
  QTemporaryDir dir;
  HeadlessRequest req;
  req.layer = 2;
  req.head = 5;
  req.out = dir.filePath(QStringLiteral("heatmap.svg"));
  export_headless(s.rec, req);
  QFile heatmap(req.out);
  ASSERT_TRUE(heatmap.open(QIODevice::ReadOnly));
  const QByteArray svg = heatmap.readAll();
  EXPECT_TRUE(svg.contains("sliding window 4"));
  EXPECT_TRUE(svg.contains("KV group 2"));
  // The band is two extra outlines over the heatmap: a full layer's export has fewer shapes.
  req.layer = 1;
  req.out = dir.filePath(QStringLiteral("full.svg"));
  export_headless(s.rec, req);
  QFile full(req.out);
  ASSERT_TRUE(full.open(QIODevice::ReadOnly));
  EXPECT_GT(shapes(svg), shapes(full.readAll()));

  req.view = QStringLiteral("model");
  req.out = dir.filePath(QStringLiteral("model.svg"));
  export_headless(s.rec, req);
  QFile model(req.out);
  ASSERT_TRUE(model.open(QIODevice::ReadOnly));
  const QByteArray msvg = model.readAll();
  EXPECT_TRUE(msvg.contains("KV group 3"));
  EXPECT_TRUE(msvg.contains("window 4"));
}

TEST(MainWindowGqa, StatusBarAndPanelDescribeGroupsAndWindows) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gemma2_softcap"), QStringLiteral("the quick brown fox jumps over the lazy dog")));
  w.state()->select(0, 3);
  const QString info = w.panel()->structure_info();
  EXPECT_TRUE(info.contains(QStringLiteral("2 key/value heads"))) << info.toStdString();
  EXPECT_TRUE(info.contains(QStringLiteral("window 4"))) << info.toStdString();
  QString summary;
  for (QLabel* label : w.statusBar()->findChildren<QLabel*>()) summary += label->text() + QLatin1Char('\n');
  EXPECT_TRUE(summary.contains(QStringLiteral("head 3 (KV group 1), sliding window 4"))) << summary.toStdString();
}

TEST(MainWindowGqa, PlainModelsShowNoStructureLine) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("the cat sat")));
  EXPECT_TRUE(w.panel()->structure_info().isEmpty());
}
