// The query/key space view: its points against the core's projection, hovering and clicking
// a query, a recording without Q/K (the button, the main window's re-run), and its exports
// (picture, CSV / NPY, and `attnscope export --view qk` on a model, which records Q/K).
#include <gtest/gtest.h>

#include <QApplication>
#include <QFile>
#include <QImage>
#include <QMouseEvent>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <qcustomplot.h>

#include "headless/headless.h"
#include "headless/render_export.h"
#include "session/run.h"
#include "state/view_state.h"
#include "ui/ui_test_support.h"
#include "util/error.h"
#include "views/qk_scatter_view.h"
#include "window/main_window.h"

using namespace attn;
using namespace attn::ui;

namespace {

const char* const kText = "The cat sat on the mat because it was warm.";

// The bundled GPT-2 run on kText with Q/K/V (the fixture GPT-2 when the bundle is absent).
RecordingPtr qkv_recording(bool qkv = true) {
  QString dir = QStringLiteral(ATTN_RESOURCES_DIR "/models/attnscope-gpt2-small");
  if (!QFile::exists(dir + "/model.safetensors")) dir = test::fixture_model("gpt2");
  const auto model = Model::load(fspath(dir));
  attn::RunRequest req;
  req.text = kText;
  req.options.record_qkv = qkv;
  return attn::run_model(*model, std::move(req)).recording;
}

void mouse(QWidget* w, QEvent::Type type, QPoint pos) {
  const Qt::MouseButton b = type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton;
  QMouseEvent ev(type, QPointF(pos), QPointF(w->mapToGlobal(pos)), b, type == QEvent::MouseButtonPress ? b : Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(w, &ev);
}

// Whether `graph` has a point at (x, y) (a graph keeps its points sorted by x, not by token).
bool plotted(QCPGraph* graph, float x, float y) {
  for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
    if (float(it->key) == x && float(it->value) == y) return true;
  return false;
}

int lines_on(QCustomPlot* plot) {
  int n = 0;
  for (int i = 0; i < plot->itemCount(); ++i) n += qobject_cast<QCPItemLine*>(plot->item(i)) != nullptr;
  return n;
}

struct Shown {
  ViewState state;
  RecordingPtr rec;
  QkScatterView view{&state};
  explicit Shown(RecordingPtr r) : rec(std::move(r)) {
    state.set_recording(rec);
    state.select(rec->num_layers() - 1, 1);
    view.resize(900, 800);
    view.show();
    view.plot()->replot();
  }
};

}  // namespace

TEST(QkScatterView, PlotsEveryQueryAndKeyWhereTheProjectionPutsThem) {
  Shown s(qkv_recording());
  const int N = s.rec->num_tokens(), L = s.rec->num_layers();
  ASSERT_NE(s.view.projection(), nullptr);
  QCustomPlot* plot = s.view.plot();
  ASSERT_EQ(plot->graph(0)->dataCount(), N);  // queries
  ASSERT_EQ(plot->graph(1)->dataCount(), N);  // keys
  const QkProjection expected = project_qk(*s.rec, L - 1, 1);
  for (int i = 0; i < N; ++i) {
    EXPECT_TRUE(plotted(plot->graph(0), expected.queries(i, 0), expected.queries(i, 1))) << i;
    EXPECT_TRUE(plotted(plot->graph(1), expected.keys(i, 0), expected.keys(i, 1))) << i;
    EXPECT_FALSE(plotted(plot->graph(1), expected.queries(i, 0), expected.queries(i, 1))) << i;
  }
  EXPECT_FALSE(s.view.rerun_button()->isVisibleTo(&s.view));
  EXPECT_TRUE(s.view.caption().contains("translated")) << s.view.caption().toStdString();
  // One scale on both axes: a data unit is as many pixels across as up.
  const double px = plot->xAxis->coordToPixel(1) - plot->xAxis->coordToPixel(0);
  const double py = plot->yAxis->coordToPixel(0) - plot->yAxis->coordToPixel(1);
  EXPECT_NEAR(px / py, 1.0, 1e-6);
  // The shared head: another head, another projection.
  s.state.select(0, 0);
  const QkProjection other = project_qk(*s.rec, 0, 0);
  EXPECT_TRUE(plotted(plot->graph(1), other.keys(2, 0), other.keys(2, 1)));
  EXPECT_FALSE(plotted(plot->graph(1), expected.keys(2, 0), expected.keys(2, 1)));
}

TEST(QkScatterView, ClickingAQueryDrawsLinesToTheKeysItAttendsTo) {
  Shown s(qkv_recording());
  const int q = s.rec->num_tokens() - 2, L = s.rec->num_layers();
  EXPECT_EQ(lines_on(s.view.plot()), 0);
  QSignalSpy hovered(&s.view, &QkScatterView::hovered);
  mouse(s.view.plot(), QEvent::MouseMove, s.view.point_pixel(q, false));
  ASSERT_EQ(hovered.count(), 1);
  const QString tip = hovered.at(0).at(0).toString();
  EXPECT_TRUE(tip.startsWith(QStringLiteral("query %1").arg(q)) && tip.contains(qstr(s.rec->meta().tokens[size_t(q)]))) << tip.toStdString();

  mouse(s.view.plot(), QEvent::MouseButtonPress, s.view.point_pixel(q, false));
  EXPECT_EQ(s.state.query(), q);
  const auto keys = attended_keys(*s.rec, L - 1, 1, q, QkScatterView::kMinLinkWeight);
  ASSERT_GT(keys.size(), 0u);
  EXPECT_EQ(s.view.shown_links(), int(keys.size()));
  EXPECT_EQ(lines_on(s.view.plot()), int(keys.size()));
  int below = 0;  // a causal head's query sees q + 1 keys; the light ones draw no line
  for (int j = 0; j <= q; ++j) below += s.rec->head(L - 1, 1)(q, j) < QkScatterView::kMinLinkWeight;
  EXPECT_EQ(int(keys.size()) + below, q + 1);
  // A key is not a query: clicking one keeps the selection; clicking nowhere clears it.
  mouse(s.view.plot(), QEvent::MouseButtonPress, s.view.point_pixel(0, true));
  EXPECT_EQ(s.state.query(), q);
  mouse(s.view.plot(), QEvent::MouseButtonPress, QPoint(2, 2));
  EXPECT_EQ(s.state.query(), -1);
  EXPECT_EQ(lines_on(s.view.plot()), 0);
}

TEST(QkScatterView, WithoutQkItSaysSoAndOffersARun) {
  Shown s(qkv_recording(false));
  EXPECT_EQ(s.view.projection(), nullptr);
  EXPECT_EQ(s.view.plot()->graph(0)->dataCount(), 0);
  EXPECT_NE(qk_scatter_missing(s.state).find("no query/key vectors"), std::string::npos);
  ASSERT_TRUE(s.view.rerun_button()->isVisibleTo(&s.view));
  QSignalSpy asked(&s.view, &QkScatterView::qkv_requested);
  s.view.rerun_button()->click();
  EXPECT_EQ(asked.count(), 1);
}

TEST(QkScatterView, TheMeanOfALayerIsNoHead) {
  Shown s(qkv_recording());
  s.state.select(0, kHeadMean);
  EXPECT_EQ(s.view.projection(), nullptr);
  EXPECT_NE(qk_scatter_missing(s.state).find("choose a head"), std::string::npos);
  s.state.select(0, 2);
  EXPECT_NE(s.view.projection(), nullptr);
}

// The main window: the button runs the input again with Q/K/V, and the view then shows them.
TEST(QkScatterView, TheWindowRunsAgainWithQkv) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("Hello there, world")));
  ASSERT_FALSE(w.state()->recording()->has_qkv());
  w.show_view("qk");
  auto* view = qobject_cast<QkScatterView*>(w.view("qk"));
  ASSERT_NE(view, nullptr);
  view->rerun_button()->click();
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(w.state()->recording()->has_qkv());
  EXPECT_EQ(w.state()->recording()->meta().text, "Hello there, world");
  EXPECT_NE(view->projection(), nullptr);
  EXPECT_FALSE(view->rerun_button()->isVisibleTo(view));
}

TEST(QkScatterExport, PictureAndPointsHeadless) {
  const RecordingPtr rec = qkv_recording();
  const int N = rec->num_tokens();
  QTemporaryDir dir;
  HeadlessRequest req;
  req.view = "qk";
  req.layer = -1;
  req.head = 1;
  req.query = 4;
  req.size = QSize(800, 700);
  req.out = dir.filePath("qk.png");
  ASSERT_EQ(export_headless(rec, req), QStringList{req.out});
  EXPECT_EQ(QImage(req.out).size(), QSize(800, 700));
  req.out = dir.filePath("qk.csv");
  export_headless(rec, req);
  QFile csv(req.out);
  ASSERT_TRUE(csv.open(QIODevice::ReadOnly));
  const QStringList lines = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), 1 + 2 * N);
  EXPECT_EQ(lines[0], "role,token_index,token,x,y");
  const QkProjection p = project_qk(*rec, rec->num_layers() - 1, 1);
  const QStringList key3 = lines[1 + N + 3].split(',');
  EXPECT_EQ(key3[0], "key");
  EXPECT_EQ(key3[1], "3");
  EXPECT_FLOAT_EQ(key3[3].toFloat(), p.keys(3, 0));
  EXPECT_FLOAT_EQ(key3[4].toFloat(), p.keys(3, 1));
  EXPECT_TRUE(lines[1].startsWith("query,0,"));
  // Without Q/K, and for a layer's mean, the export says why.
  req.head = kHeadMean;
  EXPECT_THROW(export_headless(rec, req), Error);
  req.head = 0;
  try {
    export_headless(qkv_recording(false), req);
    FAIL() << "a recording without Q/K exported a query/key space";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no query/key vectors"), std::string::npos) << e.what();
  }
}

// `attnscope export --view qk --model …` records Q/K for the view.
TEST(QkScatterExport, CommandLineRecordsQkForTheView) {
  QTemporaryDir dir;
  const QString out = dir.filePath("qk.npy");
  QProcess p;
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--model", test::fixture_model("gpt2"), "--text", "Hello there, world", "--view", "qk",
                                          "--layer", "1", "--head", "0", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  QFile f(out);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  EXPECT_TRUE(f.readAll().contains("'shape': (2, "));
}
