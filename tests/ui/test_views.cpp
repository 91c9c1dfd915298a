// Each view against the numbers it shows, on synthetic recordings (no model needed).
#include <gtest/gtest.h>

#include <QApplication>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>
#include <qcustomplot.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "analysis/attention_lines.h"
#include "analysis/flow.h"
#include "analysis/head_stats.h"
#include "ui/ui_test_support.h"
#include "views/head_lines.h"
#include "views/head_view.h"
#include "views/line_raster.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"
#include "views/model_view.h"
#include "run/rollout_cache.h"
#include "views/rollout_view.h"
#include "views/stats_view.h"
#include "state/view_state.h"

using namespace attn;
using namespace attn::ui;
namespace fs = std::filesystem;

namespace {

struct ViewsFixture {
  ViewState state;
  std::shared_ptr<AttentionRecording> rec;
  ViewsFixture(int L, int H, int N, bool causal) : rec(test::synthetic_recording(L, H, N, causal)) {
    state.set_recording(rec);
    state.set_analysis(rec, analyze(*rec));
  }
};

void send_mouse(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button = Qt::NoButton) {
  QMouseEvent ev(type, QPointF(pos), QPointF(w->mapToGlobal(pos)), button, type == QEvent::MouseMove ? Qt::NoButton : button, Qt::NoModifier);
  QApplication::sendEvent(w, &ev);
}

void click(QWidget* w, QPoint pos) {
  send_mouse(w, QEvent::MouseButtonPress, pos, Qt::LeftButton);
  send_mouse(w, QEvent::MouseButtonRelease, pos, Qt::LeftButton);
}

}  // namespace

TEST(HeatmapView, EveryCellEqualsTheRecording) {
  ViewsFixture s(3, 4, 37, true);
  HeatmapView view(&s.state);
  view.resize(900, 800);
  view.show();
  s.state.select(2, 3);
  MatrixPlot* plot = view.plot();
  ASSERT_EQ(plot->pool_factor(), 1);
  const ConstMatrixMap a = s.rec->head(2, 3);
  for (int i = 0; i < 37; ++i)
    for (int j = 0; j < 37; ++j) ASSERT_FLOAT_EQ(float(plot->shown_value(i, j)), a(i, j)) << i << "," << j;
  // First query at the top: row 0's cell centre is above row 1's.
  EXPECT_LT(plot->cell_center(0, 0).y(), plot->cell_center(1, 0).y());
  EXPECT_LT(plot->cell_center(0, 0).x(), plot->cell_center(0, 1).x());
  EXPECT_FALSE(plot->color_map()->interpolate());
}

TEST(HeatmapView, MeanAndMaxOverHeads) {
  ViewsFixture s(2, 3, 20, false);
  HeatmapView view(&s.state);
  view.resize(800, 700);
  s.state.select(1, kHeadMean);
  const RowMatrix mean = s.rec->layer_mean(1);
  EXPECT_NEAR(view.plot()->shown_value(4, 7), mean(4, 7), 1e-6);
  s.state.select(1, kHeadMax);
  const float mx = std::max({float(s.rec->head(1, 0)(5, 2)), float(s.rec->head(1, 1)(5, 2)), float(s.rec->head(1, 2)(5, 2))});
  EXPECT_FLOAT_EQ(float(view.plot()->shown_value(5, 2)), mx);
}

TEST(HeatmapView, HoverNamesBothTokensAndTheExactWeight) {
  ViewsFixture s(1, 2, 12, false);
  HeatmapView view(&s.state);
  view.resize(800, 700);
  view.show();
  view.plot()->replot();
  QSignalSpy hovered(view.plot(), &MatrixPlot::hovered);
  send_mouse(view.plot(), QEvent::MouseMove, view.plot()->cell_center(3, 7));
  ASSERT_EQ(hovered.count(), 1);
  EXPECT_EQ(hovered.first().at(0).toInt(), 3);
  EXPECT_EQ(hovered.first().at(1).toInt(), 7);
  const QString text = hovered.first().at(2).toString();
  EXPECT_TRUE(text.startsWith(QStringLiteral("“·tok3” (3) → “·tok7” (7): "))) << text.toStdString();
  const float shown = text.section(QStringLiteral(": "), 1).toFloat();
  EXPECT_EQ(shown, s.rec->head(0, 0)(3, 7)) << "the hover shows the exact stored weight";
}

TEST(HeatmapView, ClickingACellSelectsItsQuery) {
  ViewsFixture s(1, 1, 10, false);
  HeatmapView view(&s.state);
  view.resize(700, 600);
  view.show();
  view.plot()->replot();
  click(view.plot(), view.plot()->cell_center(6, 2));
  EXPECT_EQ(s.state.query(), 6);
}

TEST(HeatmapView, ZoomedOutLongInputsKeepSingleStrongCellsVisible) {
  // 3,000 tokens: far more than pixels; one strong cell in an otherwise faint head.
  const int N = 3000;
  auto owner = std::make_shared<RowMatrix>(RowMatrix::Constant(N, N, 1e-4f));
  (*owner)(1234, 2345) = 0.97f;
  MatrixPlot plot;
  plot.resize(900, 800);
  plot.show();
  MatrixPlot::Content c;
  c.matrix = ConstMatrixMap(owner->data(), N, N);
  c.owner = owner;
  c.range = {0.0, 1.0};
  plot.set_content(c);
  EXPECT_GT(plot.pool_factor(), 1);
  EXPECT_FLOAT_EQ(float(plot.shown_value(1234, 2345)), 0.97f);  // the pooled block shows its max
  EXPECT_LT(plot.color_map()->data()->keySize(), 1000);
  const QString text = plot.hover_text(1234, 2345);
  EXPECT_TRUE(text.contains(QStringLiteral(": 0.97\n"))) << text.toStdString();
  EXPECT_TRUE(plot.hover_text(10, 10).contains(QStringLiteral(": 0.0001"))) << plot.hover_text(10, 10).toStdString();
  // Zoomed into 40 tokens: full resolution again, real values in the cells.
  plot.xAxis->setRange(1220, 1260);
  plot.yAxis->setRange(1220, 1260);
  EXPECT_EQ(plot.pool_factor(), 1);
  EXPECT_FLOAT_EQ(float(plot.shown_value(1234, 1240)), 1e-4f);
}

TEST(ModelView, HasACellPerHeadAndClickingOneOpensIt) {
  ViewsFixture s(4, 6, 50, true);
  ModelView view(&s.state);
  view.resize(900, 700);
  view.show();
  EXPECT_EQ(view.cell_count(), 4 * 6);
  QSignalSpy activated(&view, &ModelView::head_activated);
  const QRect cell = view.cell_rect(2, 5);
  EXPECT_GT(cell.width(), 20);
  EXPECT_EQ(cell.width(), cell.height());
  click(&view, cell.center());
  ASSERT_EQ(activated.count(), 1);
  EXPECT_EQ(s.state.layer(), 2);
  EXPECT_EQ(s.state.head(), 5);
}

// How fast this is, is measured by bench/bench_render.cpp, not here (timed unit tests flake
// on a loaded machine and under sanitizers).
TEST(ModelView, ThumbnailsOf144HeadsAtN512KeepStrongCells) {
  auto rec = test::synthetic_recording(12, 12, 512, true);
  const AnalysisPtr a = analyze(*rec);
  ViewState state;
  state.set_recording(rec);
  state.set_analysis(rec, a);
  ModelView view(&state);
  view.resize(1200, 1000);
  const QImage shot = view.grab().toImage();
  EXPECT_FALSE(shot.isNull());
  EXPECT_EQ(view.cell_count(), 144);
  // A strong cell of head (3, 4) survives max-pooling into its thumbnail.
  EXPECT_EQ(a->thumbs.factor, 6);
  const float* thumb = a->thumbs.head(3, 4);
  float best = 0;
  for (int i = 0; i < a->thumbs.size * a->thumbs.size; ++i) best = std::max(best, thumb[i]);
  EXPECT_FLOAT_EQ(best, rec->head(3, 4).maxCoeff());
}

// A long recording opened from its file: a zoomed-out heatmap reads the pyramid (each shown
// cell the maximum of its block, as if pooled from the head), hover reads one value, and the
// whole head is never made.
TEST(HeatmapView, ALongRecordingsZoomedOutFramesReadItsPyramid) {
  auto made = test::synthetic_recording(1, 2, 1100, true);
  const fs::path file = fs::temp_directory_path() / ("attn-heatmap-pyramid-" + std::to_string(::getpid()) + ".safetensors");
  made->save(file, DType::F16);
  const auto rec = AttentionRecording::open(file);
  ASSERT_EQ(rec->pyramid(), (std::vector<int>{4, 16}));
  ViewState state;
  state.set_recording(std::const_pointer_cast<AttentionRecording>(rec));
  state.select(0, 1);
  HeatmapView view(&state);
  view.resize(330, 300);
  view.show();
  QApplication::processEvents();
  MatrixPlot* plot = view.plot();
  const int f = plot->pool_factor();
  EXPECT_GE(f, 4);
  EXPECT_EQ(f % 4, 0) << "a multiple of the pyramid level it reads";
  const RowMatrix whole = rec->head_copy(0, 1);
  for (const auto& [r, c] : {std::pair{0, 0}, {1099, 3}, {517, 260}, {1099, 1099}, {64, 8}}) {
    const int br = r / f * f, bc = c / f * f;
    const float want = whole.block(br, bc, std::min(f, 1100 - br), std::min(f, 1100 - bc)).maxCoeff();
    EXPECT_FLOAT_EQ(float(plot->shown_value(r, c)), want) << r << ", " << c;
  }
  EXPECT_FALSE(plot->content().matrix.resolved()) << "the whole head was converted";
  EXPECT_NE(plot->hover_text(700, 5).indexOf(format_weight(whole(700, 5))), -1) << plot->hover_text(700, 5).toStdString();
  EXPECT_FALSE(plot->content().matrix.resolved());
  EXPECT_EQ(rec->converted_bytes(), 0u);
  // Zoomed in to single cells: the values themselves.
  plot->xAxis->setRange(400, 430);
  plot->yAxis->setRange(600, 630);
  EXPECT_EQ(plot->pool_factor(), 1);
  EXPECT_FLOAT_EQ(float(plot->shown_value(610, 420)), whole(610, 420));
  fs::remove(file);
}

// The mean and max of a long recording's heads are made from what a frame shows of each head
// (their pyramids, windows, single values), never from whole heads: the max exactly, the mean
// as the mean of the heads' block maxima when zoomed out and exactly cell by cell.
TEST(HeatmapView, ALongRecordingsMeanAndMaxOfHeadsReadOnlyWhatIsShown) {
  auto made = test::synthetic_recording(1, 3, 1100, true);
  const fs::path file = fs::temp_directory_path() / ("attn-heatmap-fused-" + std::to_string(::getpid()) + ".safetensors");
  made->save(file, DType::F16);
  const auto rec = AttentionRecording::open(file);
  ASSERT_EQ(rec->pyramid(), (std::vector<int>{4, 16}));
  std::vector<RowMatrix> heads;
  for (int h = 0; h < 3; ++h) heads.push_back(rec->head_copy(0, h));
  const size_t converted = rec->converted_bytes();  // the copies above; nothing more may be converted below
  ViewState state;
  state.set_recording(std::const_pointer_cast<AttentionRecording>(rec));
  for (int fusion : {kHeadMax, kHeadMean}) {
    state.select(0, fusion);
    HeatmapView view(&state);
    view.resize(330, 300);
    view.show();
    QApplication::processEvents();
    MatrixPlot* plot = view.plot();
    const int f = plot->pool_factor();
    ASSERT_GE(f, 4);
    // The frame pools the finest pyramid level p that divides its factor: each p-block holds
    // the heads' fused block maxima, and the frame shows the largest of those in its f-block.
    const int p = f % 16 == 0 ? 16 : 4;
    for (const auto& [r, c] : {std::pair{0, 0}, {1099, 3}, {517, 260}, {64, 8}}) {
      const int br = r / f * f, bc = c / f * f;
      float want = 0;
      for (int i = br; i < std::min(br + f, 1100); i += p)
        for (int j = bc; j < std::min(bc + f, 1100); j += p) {
          float fused = 0;
          for (const RowMatrix& m : heads) {
            const float block_max = m.block(i, j, std::min(p, 1100 - i), std::min(p, 1100 - j)).maxCoeff();
            fused = fusion == kHeadMax ? std::max(fused, block_max) : fused + block_max / 3;
          }
          want = std::max(want, fused);
        }
      EXPECT_NEAR(plot->shown_value(r, c), want, 1e-6) << fusion << ": " << r << ", " << c;
    }
    // Hover and single cells: the exact mean / max of the heads' values.
    const auto exact = [&](int r, int c) {
      return fusion == kHeadMax ? std::max({heads[0](r, c), heads[1](r, c), heads[2](r, c)})
                                : (heads[0](r, c) + heads[1](r, c) + heads[2](r, c)) / 3;
    };
    EXPECT_NE(plot->hover_text(700, 5).indexOf(format_weight(exact(700, 5))), -1) << plot->hover_text(700, 5).toStdString();
    plot->xAxis->setRange(400, 430);
    plot->yAxis->setRange(600, 630);
    EXPECT_EQ(plot->pool_factor(), 1);
    EXPECT_NEAR(plot->shown_value(610, 420), exact(610, 420), 1e-6);
    EXPECT_FALSE(plot->content().matrix.resolved()) << "the whole layer was made";
    EXPECT_EQ(rec->converted_bytes(), converted) << "a whole head was converted";
  }
  // The colour range comes from the pyramid's coarsest level: the max's is exact.
  state.select(0, kHeadMax);
  const float top = std::max({heads[0].maxCoeff(), heads[1].maxCoeff(), heads[2].maxCoeff()});
  EXPECT_FLOAT_EQ(float(state.current_range().hi), top);
  fs::remove(file);
}

// The analysis hands out the layers done so far; the model view shows their thumbnails while
// the rest is computed, and the other views wait for the complete analysis.
TEST(ModelView, ShowsTheFirstLayersWhileTheRestIsAnalysed) {
  auto rec = test::synthetic_recording(5, 3, 40, true);
  std::vector<AnalysisPtr> partials;
  const AnalysisPtr full = analyze(*rec, {}, [&](const AnalysisPtr& p) { partials.push_back(p); }, std::chrono::milliseconds(0));
  ASSERT_TRUE(full->complete());
  ASSERT_EQ(partials.size(), 4u);  // after layers 1..4; the fifth is the complete one
  const int cells = full->thumbs.size * full->thumbs.size;
  for (size_t i = 0; i < partials.size(); ++i) {
    const Analysis& p = *partials[i];
    EXPECT_EQ(p.layers_done, int(i) + 1);
    EXPECT_FALSE(p.complete());
    for (int l = 0; l < 5; ++l)
      for (int h = 0; h < 3; ++h) {
        if (l < p.layers_done) {
          EXPECT_EQ(p.max_of(l, h), full->max_of(l, h));
          EXPECT_EQ(p.stat(l, h).entropy, full->stat(l, h).entropy);
          EXPECT_TRUE(std::equal(p.thumbs.head(l, h), p.thumbs.head(l, h) + cells, full->thumbs.head(l, h)));
        } else {
          EXPECT_EQ(p.max_of(l, h), 0.0f) << "not analysed yet";
        }
      }
  }
  ViewState state;
  state.set_recording(rec);
  ModelView view(&state);
  view.resize(900, 700);
  state.set_analysis(rec, partials[1]);
  EXPECT_EQ(state.analysis(), nullptr) << "statistics wait for the whole analysis";
  EXPECT_EQ(state.latest_analysis(), partials[1]);
  EXPECT_EQ(view.cell_count(), 2 * 3);
  EXPECT_FALSE(view.grab().toImage().isNull());
  EXPECT_FLOAT_EQ(float(state.head_range(1, 2).hi), full->max_of(1, 2));  // from the partial
  EXPECT_FLOAT_EQ(float(state.head_range(4, 0).hi), rec->head(4, 0).maxCoeff());  // from the recording
  state.set_analysis(rec, full);
  EXPECT_EQ(state.analysis(), full);
  EXPECT_EQ(view.cell_count(), 5 * 3);
}

TEST(HeadView, HoveringATokenShowsOnlyItsLines) {
  ViewsFixture s(2, 3, 8, false);
  HeadView view(&s.state);
  view.resize(800, 500);
  view.show();
  s.state.select(1, kHeadMean);  // all heads
  HeadLines* lines = view.lines();
  int all = 0;
  for (int h = 0; h < 3; ++h) all += int((s.rec->head(1, h).array() >= 0.01f).count());
  EXPECT_EQ(lines->visible_line_count(), all);
  int token = -1, side = -1;
  // Hover the left token 4: only its lines (from query 4), for each head.
  QPoint left;
  for (int y = 0; y < lines->height() && token != 4; ++y)
    for (int x = 0; x < lines->width() / 2 && token != 4; x += 4)
      if (lines->token_at(QPointF(x, y), &token, &side) && side == 0 && token == 4) left = QPoint(x, y);
  ASSERT_EQ(token, 4);
  send_mouse(lines, QEvent::MouseMove, left);
  EXPECT_EQ(lines->focus_token(), 4);
  int row = 0;
  for (int h = 0; h < 3; ++h) row += int((s.rec->head(1, h).row(4).array() >= 0.01f).count());
  EXPECT_EQ(lines->visible_line_count(), row);
  // Toggling heads off removes their lines; one head selected shows only it.
  s.state.select(1, 2);
  EXPECT_EQ(lines->heads(), (std::vector<bool>{false, false, true}));
}

// The window's tiles: what paint_cached shows is the picture paint() draws (its lines
// rasterised directly rather than through QPainter: the same to a few levels per pixel),
// drawn again when the layer changes and the same when it comes back; tile seams invisible.
TEST(HeadView, CachedTilesShowTheSamePicture) {
  ViewsFixture s(2, 3, 40, false);
  s.state.select(1, 2);
  HeadLines lines(&s.state);
  lines.resize(700, lines.sizeHint().height());
  const QSize size = lines.size();
  ASSERT_GT(size.height(), 2 * HeadLines::kTileHeight) << "the picture must span several tiles";
  const auto shot = [&](bool cached) {
    QImage img(size, QImage::Format_ARGB32_Premultiplied);
    QPainter p(&img);
    if (cached)
      lines.paint_cached(p, QRect(QPoint(0, 0), size));
    else
      lines.paint(p, size, false, QString());
    return img;
  };
  // The share of `a`'s clearly inked pixels between the token columns (lines only) with no
  // ink in `b` next to them.
  const auto missing = [](const QImage& a, const QImage& b) {
    const auto ink = [](const QImage& img, int x, int y) { return 255 - qGray(img.pixel(x, y)); };
    int inked = 0, lost = 0;
    for (int y = 1; y + 1 < a.height(); ++y)
      for (int x = a.width() / 3; x < 2 * a.width() / 3; ++x) {
        if (ink(a, x, y) < 30) continue;
        ++inked;
        int near = 0;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) near = std::max(near, ink(b, x + dx, y + dy));
        if (near < 15) ++lost;
      }
    return inked ? double(lost) / inked : 1.0;
  };
  const QImage cached = shot(true), direct = shot(false);
  EXPECT_LT(missing(direct, cached), 0.01);
  EXPECT_LT(missing(cached, direct), 0.01);
  s.state.select(0, 2);
  const QImage other = shot(true);
  EXPECT_LT(missing(shot(false), other), 0.01);
  // (random attention draws lines nearly everywhere: another layer still misses several
  // times more than the two drawings of one)
  EXPECT_GT(missing(other, cached), 4 * std::max({missing(direct, cached), missing(cached, direct), 0.001})) << "a new layer is drawn anew";
  // Across a seam, rows on either side differ no more than rows within a tile.
  const int seam = HeadLines::kTileHeight;
  double across = 0, within = 0;
  for (int x = 0; x < size.width(); ++x) {
    across += std::abs(qGray(cached.pixel(x, seam)) - qGray(cached.pixel(x, seam - 1)));
    within += std::abs(qGray(cached.pixel(x, seam + 1)) - qGray(cached.pixel(x, seam)));
  }
  EXPECT_LT(across, 2.0 * within + 50.0);
  s.state.select(1, 2);
  EXPECT_EQ(shot(true), cached);
}

// The head view's line rasteriser: a line inks the pixels it passes and only those, within
// the rows asked for; lines far outside the image, nearly flat or not numbers draw nothing
// and convert no out-of-range value (UBSan's float-cast-overflow watches in the suite).
TEST(LineRaster, DrawsWhereTheLineIsAndNothingElse) {
  QImage img(40, 30, QImage::Format_ARGB32_Premultiplied);
  img.fill(Qt::white);
  draw_line_aa(img, QPointF(0.5, 10.5), QPointF(39.5, 10.5), Qt::black, 1.0f, 0, 30);  // row 10
  EXPECT_EQ(qGray(img.pixel(20, 10)), 0);
  EXPECT_EQ(qGray(img.pixel(20, 12)), 255);
  draw_line_aa(img, QPointF(5.5, 0.5), QPointF(5.5, 29.5), Qt::black, 0.5f, 0, 15);  // column 5, top half only
  EXPECT_NEAR(qGray(img.pixel(5, 3)), 128, 2);
  EXPECT_EQ(qGray(img.pixel(5, 20)), 255);
  const QImage before = img;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  for (const auto& [a, b] : {std::pair{QPointF(-1e12, 5), QPointF(1e12, 5.000001)}, {QPointF(-1e12, -1e12), QPointF(1e12, 1e12 + 1)},
                             {QPointF(nan, 3), QPointF(10, 3)}, {QPointF(0, inf), QPointF(10, 3)}, {QPointF(0, 100), QPointF(39, 200)}})
    draw_line_aa(img, a, b, Qt::red, 1.0f, 0, 30);
  int changed = 0;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) changed += img.pixel(x, y) != before.pixel(x, y);
  EXPECT_LT(changed, 200);  // the two long lines through the image ink their own pixels, no more
}

// A long input: without a focused token only the strongest kLineBudget lines of the layer are
// drawn (every one at or above the cutoff); a focused token still shows all of its lines.
TEST(HeadView, LongInputsDrawOnlyTheStrongestLines) {
  ViewsFixture s(1, 12, 300, false);
  HeadView view(&s.state);
  view.resize(800, 600);
  s.state.select(0, kHeadMean);  // all heads
  HeadLines* lines = view.lines();
  int faint = 0;
  for (int h = 0; h < 12; ++h) faint += int((s.rec->head(0, h).array() >= 0.01f).count());
  ASSERT_GT(faint, HeadLines::kLineBudget) << "the fixture must have more lines than the budget";
  const float cut = lines->line_cutoff();
  EXPECT_GT(cut, 0.01f);
  int strong = 0;
  for (int h = 0; h < 12; ++h) strong += int((s.rec->head(0, h).array() >= cut).count());
  EXPECT_EQ(lines->visible_line_count(), strong);
  EXPECT_GE(strong, HeadLines::kLineBudget);
  EXPECT_LE(strong, HeadLines::kLineBudget + 12);  // ties at the cutoff
  s.state.set_query(7);
  int row = 0;
  for (int h = 0; h < 12; ++h) row += int((s.rec->head(0, h).row(7).array() >= 0.01f).count());
  EXPECT_EQ(lines->visible_line_count(), row);
}

// A long recording opened from its file: the head view of every head, scrolled and with a
// token hovered, reads through the pyramid and single rows and columns; no head is converted.
TEST(HeadView, ALongRecordingsLinesConvertNoHead) {
  auto made = test::synthetic_recording(1, 4, 1100, true);
  const fs::path file = fs::temp_directory_path() / ("attn-head-lines-" + std::to_string(::getpid()) + ".safetensors");
  made->save(file, DType::F16);
  const auto rec = AttentionRecording::open(file);
  ASSERT_FALSE(rec->pyramid().empty());
  ViewState state;
  state.set_recording(std::const_pointer_cast<AttentionRecording>(rec));
  state.select(0, kHeadMean);
  HeadView view(&state);
  view.resize(800, 600);
  view.show();
  QApplication::processEvents();
  HeadLines* lines = view.lines();
  EXPECT_GT(lines->visible_line_count(), 0);
  QImage shot(lines->size(), QImage::Format_ARGB32_Premultiplied);
  QPainter p(&shot);
  lines->paint_cached(p, QRect(0, 20000, lines->width(), 600));  // scrolled far down
  p.end();
  state.set_query(900);
  int row = 0;
  for (int h = 0; h < 4; ++h) row += int((made->head(0, h).row(900).array() >= 0.01f).count());
  EXPECT_EQ(lines->visible_line_count(), row);
  EXPECT_EQ(rec->converted_bytes(), 0u);
  fs::remove(file);
}

// A layer with 2²⁴ weights or more: on screen its strongest lines are found in the background
// while the tokens are drawn and the bar says so; then the picture has them, the same lines an
// export (which waits) draws.
TEST(HeadView, ALargeLayersLinesAreFoundInTheBackground) {
  auto rec = test::synthetic_recording(2, 4, 2048, true);
  ViewState state;
  state.set_recording(rec);
  state.select(0, kHeadMean);
  HeadView view(&state);
  view.resize(900, 700);
  view.show();
  HeadLines* lines = view.lines();
  const QRect top(0, 0, 900, 700);  // what the window shows first (the whole picture is 41,000 pixels tall)
  const auto bar = [&] {
    QString text;
    for (const QLabel* l : view.findChildren<QLabel*>()) text += l->text();
    return text;
  };
  QStringList while_finding;  // the bar each time the search is announced (after the view's own slot)
  QObject::connect(lines, &HeadLines::finding_changed, &view, [&] {
    if (lines->finding_lines()) while_finding << bar();
  });
  const QImage tokens_only = lines->grab(top).toImage();
  ASSERT_TRUE(lines->finding_lines()) << "the paint started the search and nothing has delivered it yet";
  ASSERT_TRUE(QTest::qWaitFor([&] { return !lines->finding_lines(); }, 30000));
  ASSERT_EQ(while_finding.size(), 1);
  EXPECT_TRUE(while_finding[0].contains(QStringLiteral("Finding the strongest lines of"))) << while_finding[0].toStdString();
  EXPECT_TRUE(lines->lines_error().isEmpty());
  const QImage with_lines = lines->grab(top).toImage();
  EXPECT_NE(with_lines, tokens_only) << "the tiles drawn meanwhile were redrawn with the lines";
  const StrongestLines want = strongest_lines(*rec, 0, std::vector<bool>(4, true), HeadLines::kLineBudget, 0.01f);
  EXPECT_EQ(lines->visible_line_count(), int(want.lines.size()));
  EXPECT_EQ(lines->line_cutoff(), want.cutoff);
  EXPECT_FALSE(bar().contains(QStringLiteral("Finding"))) << bar().toStdString();

  // Another layer starts another search; coming back to the first finds its lines kept.
  state.select(1, kHeadMean);
  lines->grab(top);
  EXPECT_TRUE(lines->finding_lines());
  state.select(0, kHeadMean);
  lines->grab(top);
  EXPECT_FALSE(lines->finding_lines()) << "layer 0's lines were kept: the search for layer 1 is dropped";
  QApplication::processEvents();
  EXPECT_EQ(lines->visible_line_count(), int(want.lines.size()));

  // An export waits for the lines instead.
  state.select(1, kHeadMean);
  QImage exported(900, 700, QImage::Format_ARGB32_Premultiplied);
  QCPPainter painter(&exported);
  view.render(painter, exported.size());
  painter.end();
  EXPECT_FALSE(lines->finding_lines());
  EXPECT_EQ(lines->visible_line_count(), int(strongest_lines(*rec, 1, std::vector<bool>(4, true), HeadLines::kLineBudget, 0.01f).lines.size()));
}

TEST(RolloutView, EqualsAnIndependentRollout) {
  ViewsFixture s(4, 3, 16, false);
  RolloutView view(&s.state);
  view.resize(900, 900);
  QSignalSpy computed(&view, &RolloutView::computed);
  view.show();  // computes when shown
  ASSERT_TRUE(computed.count() > 0 || computed.wait(10000));
  ASSERT_TRUE(view.rollout());
  // Abnar & Zuidema: average heads, add the identity, normalise rows, multiply through layers.
  const int N = 16;
  Eigen::MatrixXd r = Eigen::MatrixXd::Identity(N, N);
  for (int l = 0; l < 4; ++l) {
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(N, N);
    for (int h = 0; h < 3; ++h) a += s.rec->head(l, h).cast<double>();
    a = a / 3.0 + Eigen::MatrixXd::Identity(N, N);
    for (int i = 0; i < N; ++i) a.row(i) /= a.row(i).sum();
    r = a * r;
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      ASSERT_NEAR((*view.rollout())(i, j), r(i, j), 1e-5) << i << "," << j;
      ASSERT_NEAR(view.plot()->shown_value(i, j), r(i, j), 1e-5);
    }
  // The bars show the chosen query's row ([CLS], token 0, for an encoder by default).
  s.state.set_query(5);
  EXPECT_EQ(view.query(), 5);
  ASSERT_EQ(view.bars()->data()->size(), N);
  for (int j = 0; j < N; ++j) EXPECT_NEAR((view.bars()->data()->begin() + j)->value, r(5, j), 1e-5);
}

TEST(RolloutView, FlowIsAChoiceComputedInTheWorker) {
  ViewsFixture s(3, 2, 12, false);
  RolloutView view(&s.state);
  view.resize(900, 900);
  QSignalSpy computed(&view, &RolloutView::computed);
  view.show();
  ASSERT_TRUE(computed.count() > 0 || computed.wait(10000));
  const RowMatrix rollout = *view.rollout();
  RolloutOptions o;
  o.method = RolloutMethod::Flow;
  QSignalSpy progressed(s.state.rollout(), &RolloutCache::progressed);
  view.set_options(o);
  EXPECT_FALSE(view.rollout());  // dropped: the flow is on its way
  ASSERT_TRUE(computed.wait(10000));
  ASSERT_TRUE(view.rollout());
  EXPECT_GT(progressed.count(), 0);
  const RowMatrix want = attention_flow(*s.rec, o);
  EXPECT_FALSE(want.isApprox(rollout, 1e-3f));
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 12; ++j) ASSERT_EQ(view.plot()->shown_value(i, j), want(i, j)) << i << "," << j;
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("attention flow (mean of heads)"))) << view.render_title().toStdString();
  s.state.set_query(4);
  ASSERT_EQ(view.bars()->data()->size(), 12);
  for (int j = 0; j < 12; ++j) EXPECT_FLOAT_EQ(float((view.bars()->data()->begin() + j)->value), want(4, j));
  EXPECT_EQ(view.bars_plot()->yAxis->label(), QStringLiteral("max flow"));
  // Back to rollout: the title says so again.
  o.method = RolloutMethod::Rollout;
  view.set_options(o);
  ASSERT_TRUE(computed.wait(10000));
  EXPECT_TRUE(view.rollout()->isApprox(rollout));
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("attention rollout")));
}

TEST(StatsView, PlotsCoreStatisticsAndClickingAPointOpensTheHead) {
  ViewsFixture s(3, 4, 24, true);
  StatsView view(&s.state);
  view.resize(900, 600);
  view.show();
  view.set_metric(StatsView::Metric::PreviousShare);
  view.plot()->replot();
  const HeadStats expected = head_stats(s.rec->head(2, 1), s.rec->meta().special);
  EXPECT_FLOAT_EQ(float(view.value(2, 1)), expected.previous_share);
  QSignalSpy activated(&view, &StatsView::head_activated);
  const QPoint p = view.point_pixel(2, 1);
  QMouseEvent press(QEvent::MouseButtonPress, QPointF(p), QPointF(view.plot()->mapToGlobal(p)), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(view.plot(), &press);
  ASSERT_EQ(activated.count(), 1);
  EXPECT_EQ(s.state.layer(), 2);
  EXPECT_EQ(s.state.head(), 1);
}

TEST(ViewState, ArrowStepsWrapIntoNeighbouringLayers) {
  ViewsFixture s(3, 4, 5, false);
  s.state.select(0, 3);
  s.state.step_head(+1);
  EXPECT_EQ(s.state.layer(), 1);
  EXPECT_EQ(s.state.head(), 0);
  s.state.step_head(-1);
  EXPECT_EQ(s.state.layer(), 0);
  EXPECT_EQ(s.state.head(), 3);
  s.state.step_layer(+5);
  EXPECT_EQ(s.state.layer(), 2);
  s.state.select(2, kHeadMean);
  s.state.step_head(+1);
  EXPECT_EQ(s.state.head(), 0);
}
