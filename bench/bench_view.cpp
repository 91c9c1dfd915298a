// Viewing a large recording file (scripts/bench.sh --big): opens it (mapped), paints the
// heatmap of its last head, then pans and zooms, then the heatmap of the last layer's mean of
// heads and the head view of all its heads (scrolled down a screen at a time), and prints one
// JSON line: the time to open, to the first heatmap, each pan / zoom frame (mean and worst),
// to the mean's heatmap and the head view's first picture (and to the picture with its lines,
// found in the background), each scroll frame, the head values
// converted to F32 after each part, and resident memory
// (/proc/self/status: VmHWM the peak, RssAnon the heap, RssFile the mapped file) after
// opening and at the end. Offscreen; one process per measurement.
//   attn_bench_view RECORDING
//   attn_bench_view --synthetic N FILE [HEADS]  first writes FILE: one layer, HEADS heads
//                                        (default 1) of N tokens of random causal attention,
//                                        streamed at F16 (with its pyramid from N = 1,024), in a
//                                        separate process run
//   attn_bench_view --no-pyramid …       views without the pyramid (the whole head is read)
#include <QApplication>
#include <QImage>
#include <QScrollArea>
#include <QScrollBar>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <random>

#include "record/recording.h"
#include "record/recording_stream.h"
#include "resident_memory.h"
#include "state/view_state.h"
#include "views/head_lines.h"
#include "views/head_view.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"

using namespace attn;
using namespace attn::ui;
using nlohmann::json;
using attn::bench::resident_memory;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// `heads` heads of random causal attention (rows of u³, normalised), streamed to `path` at F16.
void write_synthetic(int N, int heads, const std::filesystem::path& path) {
  RecordingMeta m;
  m.model = "synthetic";
  m.family = "gpt2";
  m.num_layers = 1, m.num_heads = heads, m.num_tokens = N, m.causal = true;
  m.tokens.assign(size_t(N), "t");
  std::vector<float> a(size_t(heads) * size_t(N) * size_t(N), 0.0f);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < heads * N; ++i) {
    float* row = a.data() + size_t(i) * size_t(N);
    float sum = 0;
    for (int j = 0; j <= i % N; ++j) sum += (row[j] = std::pow(u(gen), 3.0f));
    for (int j = 0; j <= i % N; ++j) row[j] /= sum;
  }
  RecordingStream s(path, m, false, false, DType::F16);
  s.write(AttentionRecording::Part::Attention, 0, a.data());
  s.finish(*AttentionRecording::metadata_only(m, false, false, DType::F16));
}

json summary(const std::vector<double>& frames) {
  double sum = 0;
  for (double f : frames) sum += f;
  return {{"frames", frames.size()}, {"mean_ms", frames.empty() ? 0 : sum / double(frames.size())},
          {"worst_ms", frames.empty() ? 0 : *std::max_element(frames.begin(), frames.end())}};
}

}  // namespace

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool no_pyramid = !args.empty() && args[0] == "--no-pyramid";
  if (no_pyramid) args.erase(args.begin());
  if ((args.size() == 3 || args.size() == 4) && args[0] == "--synthetic") {
    write_synthetic(std::stoi(args[1]), args.size() == 4 ? std::stoi(args[3]) : 1, args[2]);
    return 0;
  }
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: attn_bench_view [--no-pyramid] RECORDING | --synthetic N FILE [HEADS]\n");
    return 2;
  }
  const std::string file = args[0];
  try {
    auto t = Clock::now();
    const auto rec = AttentionRecording::open(file);
    if (no_pyramid) std::const_pointer_cast<AttentionRecording>(rec)->drop_pyramid();
    const double open_ms = ms_since(t);
    const json opened = resident_memory();

    ViewState state;
    HeatmapView view(&state);
    view.resize(1200, 1000);
    view.show();  // a visible plot lays its data out for its own size, as in the window
    t = Clock::now();
    state.set_recording(rec);
    state.select(rec->num_layers() - 1, rec->num_heads() - 1);
    QImage first = view.grab().toImage();
    const double first_ms = ms_since(t);

    auto* plot = view.findChild<MatrixPlot*>();
    const int N = rec->num_tokens();
    const auto frame = [&](double x0, double x1, double y0, double y1) {
      const auto f = Clock::now();
      plot->xAxis->setRange(x0, x1);
      plot->yAxis->setRange(y0, y1);
      first = view.grab().toImage();
      return ms_since(f);
    };
    // Pan: a 256-token window moved 32 tokens a frame along the diagonal.
    std::vector<double> pan;
    const double w = std::min(256.0, double(N));
    for (double at = 0; at + w <= N && pan.size() < 60; at += 32) pan.push_back(frame(at - 0.5, at + w - 0.5, at - 0.5, at + w - 0.5));
    // Zoom: from the whole matrix to 64 tokens around its middle and back.
    std::vector<double> zoom;
    for (double span = N; span >= 64; span /= 1.5) zoom.push_back(frame(N / 2.0 - span / 2, N / 2.0 + span / 2, N / 2.0 - span / 2, N / 2.0 + span / 2));
    for (double span = 64; span <= N; span *= 1.5) zoom.push_back(frame(N / 2.0 - span / 2, N / 2.0 + span / 2, N / 2.0 - span / 2, N / 2.0 + span / 2));
    const size_t heatmap_converted = rec->converted_bytes();

    // The last layer's mean of heads, zoomed out.
    plot->rescaleAxes();
    t = Clock::now();
    state.select(rec->num_layers() - 1, kHeadMean);
    first = view.grab().toImage();
    const double mean_ms = ms_since(t);
    const size_t mean_converted = rec->converted_bytes();

    // The head view of every head of that layer, then scrolled a screen at a time.
    view.hide();
    HeadView heads(&state);
    heads.resize(1200, 1000);
    heads.show();
    t = Clock::now();
    first = heads.grab().toImage();
    const double head_view_ms = ms_since(t);
    // A large layer's strongest lines are found in the background: then the picture again.
    HeadLines* lines = heads.lines();
    while (lines->finding_lines()) QApplication::processEvents(QEventLoop::WaitForMoreEvents);
    first = heads.grab().toImage();
    const double head_view_lines_ms = ms_since(t);
    std::vector<double> scroll;
    auto* bar = heads.findChild<QScrollArea*>()->verticalScrollBar();
    for (int i = 0; i < 30 && bar->value() < bar->maximum(); ++i) {
      const auto f = Clock::now();
      bar->setValue(bar->value() + bar->pageStep());
      first = heads.grab().toImage();
      scroll.push_back(ms_since(f));
    }
    std::error_code ec;
    const json out = {{"recording", file},
                      {"pyramid", rec->pyramid()},
                      {"file_bytes", std::filesystem::file_size(file, ec)},
                      {"layers", rec->num_layers()},
                      {"heads", rec->num_heads()},
                      {"tokens", N},
                      {"open_ms", open_ms},
                      {"first_heatmap_ms", first_ms},
                      {"pan", summary(pan)},
                      {"zoom", summary(zoom)},
                      {"converted_bytes_heatmap", heatmap_converted},
                      {"layer_mean_ms", mean_ms},
                      {"converted_bytes_layer_mean", mean_converted},
                      {"head_view_first_ms", head_view_ms},
                      {"head_view_with_lines_ms", head_view_lines_ms},
                      {"head_view_scroll", summary(scroll)},
                      {"converted_bytes", rec->converted_bytes()},
                      {"after_open", opened},
                      {"at_end", resident_memory()}};
    std::printf("%s\n", out.dump().c_str());
    return first.isNull() ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attn_bench_view: %s\n", e.what());
    return 1;
  }
}
