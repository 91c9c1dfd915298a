// Rendering benchmarks (issue 3): the model view (every layer × head as a thumbnail) and
// the heatmap of one head, at N = 512 and 4,096 tokens, and the head view's lines of all 12
// heads of a layer (scrolled in the window, and exported), offscreen. "analysis" is the
// background work (thumbnails, statistics); "paint" is what the GUI thread does.
#include <benchmark/benchmark.h>

#include <QApplication>
#include <QImage>
#include <QPainter>
#include <cmath>
#include <random>

#include "record/recording.h"
#include "analysis/recording_analysis.h"
#include "views/head_lines.h"
#include "views/heatmap_view.h"
#include "views/model_view.h"
#include "state/view_state.h"

namespace {

using namespace attn;
using namespace attn::ui;

// A GPT-2-small-shaped recording (12 × 12 heads) of peaked causal attention.
std::shared_ptr<AttentionRecording> recording(int tokens) {
  static std::map<int, std::shared_ptr<AttentionRecording>> cache;
  auto& rec = cache[tokens];
  if (rec) return rec;
  RecordingMeta meta;
  meta.model = "bench";
  meta.family = "gpt2";
  meta.num_layers = meta.num_heads = 12;
  meta.num_tokens = tokens;
  meta.causal = true;
  for (int i = 0; i < tokens; ++i) meta.tokens.push_back(" tok" + std::to_string(i));
  rec = AttentionRecording::create(meta, false, false);
  std::mt19937 rng(1);
  std::exponential_distribution<float> dist(1.0f);
  for (int l = 0; l < 12; ++l)
    for (int h = 0; h < 12; ++h) {
      MatrixMap m = rec->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < tokens; ++i) {
        float sum = 0;
        for (int j = 0; j <= i; ++j) sum += (m(i, j) = std::pow(dist(rng), 3.0f));
        m.row(i).head(i + 1) /= sum;
      }
    }
  return rec;
}

void BM_ModelViewAnalysis(benchmark::State& state) {
  const auto rec = recording(int(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(analyze(*rec));
}

// Until the model view can show its first layer's thumbnails (the analysis goes on after that,
// in the background; here it is stopped there).
void BM_ModelViewFirstThumbnails(benchmark::State& state) {
  const auto rec = recording(int(state.range(0)));
  for (auto _ : state) {
    bool shown = false;
    try {
      analyze(*rec, [&](double, std::string_view) { return !shown; }, [&](const AnalysisPtr&) { shown = true; }, std::chrono::milliseconds(0));
    } catch (const Cancelled&) {
    }
    if (!shown) state.SkipWithError("no partial analysis");
  }
}

void BM_ModelViewPaint(benchmark::State& state) {
  const auto rec = recording(int(state.range(0)));
  ViewState vs;
  vs.set_recording(rec);
  vs.set_analysis(rec, analyze(*rec));
  ModelView view(&vs);
  view.resize(1200, 1000);
  for (auto _ : state) benchmark::DoNotOptimize(view.grab().toImage());
}

void BM_HeatmapPaint(benchmark::State& state) {
  const auto rec = recording(int(state.range(0)));
  ViewState vs;
  vs.set_recording(rec);
  vs.set_analysis(rec, analyze(*rec));
  HeatmapView view(&vs);
  view.resize(1200, 1000);
  int head = 0;
  for (auto _ : state) {
    vs.select(5, head++ % 12);  // a new head each time: no cached picture
    benchmark::DoNotOptimize(view.grab().toImage());
  }
}

// The head view's lines for all 12 heads of a layer. "Scrolled": what the window repaints
// when the tall picture (20 px a token) is scrolled to its middle, a 1200 × 900 viewport, just
// after another layer was chosen (every tile drawn anew); "Export": the whole picture fitted
// into 1400 × 1100, as File ▸ Export draws it.
void BM_HeadViewPaint(benchmark::State& state, bool scrolled) {
  const auto rec = recording(int(state.range(0)));
  ViewState vs;
  vs.set_recording(rec);
  HeadLines lines(&vs);
  const QSize full = scrolled ? QSize(1200, lines.sizeHint().height()) : QSize(1400, 1100);
  lines.resize(full);
  QImage img(scrolled ? QSize(1200, 900) : full, QImage::Format_ARGB32_Premultiplied);
  const QRect view(0, (full.height() - img.height()) / 2, img.width(), img.height());
  int layer = 0;
  for (auto _ : state) {
    vs.select(layer++ % 12, 0);
    QPainter p(&img);
    p.translate(0, -view.top());
    if (scrolled)
      lines.paint_cached(p, view);
    else
      lines.paint(p, full, true, QString());
  }
  state.counters["lines"] = lines.visible_line_count();
}

// Scrolling one layer's picture: a frame for every 30 px of scroll from the top to the bottom,
// as the window repaints while the user drags (tiles drawn once, then copied).
void BM_HeadViewScroll(benchmark::State& state) {
  const auto rec = recording(int(state.range(0)));
  ViewState vs;
  vs.set_recording(rec);
  vs.select(5, 0);
  HeadLines lines(&vs);
  const QSize full(1200, lines.sizeHint().height());
  lines.resize(full);
  QImage img(QSize(1200, 900), QImage::Format_ARGB32_Premultiplied);
  int top = 0, frames = 0;
  for (auto _ : state) {
    QPainter p(&img);
    p.translate(0, -top);
    lines.paint_cached(p, QRect(0, top, img.width(), img.height()));
    top = top + 30 + img.height() > full.height() ? 0 : top + 30;
    ++frames;
  }
  state.counters["frames/s"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_ModelViewAnalysis)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ModelViewFirstThumbnails)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ModelViewPaint)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeatmapPaint)->Arg(512)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HeadViewPaint, Scrolled, true)->Arg(128)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeadViewScroll)->Arg(128)->Arg(512)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_HeadViewPaint, Export, false)->Arg(128)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
