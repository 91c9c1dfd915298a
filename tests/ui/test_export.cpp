// Exports: pictures of every view at the asked size (PNG), valid SVG and PDF, raw numbers
// that read back, and the headless `attnscope export` command.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <cstring>

#include "analysis/flow.h"
#include "headless/headless.h"
#include "record/raw_export.h"
#include "headless/render_export.h"
#include "ui/ui_test_support.h"
#include "views/head_view.h"
#include "views/heatmap_view.h"
#include "views/model_view.h"
#include "views/rollout_view.h"
#include "views/stats_view.h"
#include "window/main_window.h"
#include "window/export_all_heads.h"
#include "state/view_state.h"

using namespace attn;
using namespace attn::ui;

namespace {

int distinct_colours(const QImage& img) {
  QSet<QRgb> seen;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) seen.insert(img.pixel(x, y));
  return int(seen.size());
}

QByteArray read_all(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Parses a float32 .npy written by write_npy: returns the shape string and the values.
std::pair<std::string, std::vector<float>> read_npy(const QString& path) {
  const QByteArray b = read_all(path);
  EXPECT_TRUE(b.startsWith("\x93NUMPY\x01\x00"));
  const int len = uchar(b[8]) | (uchar(b[9]) << 8);
  EXPECT_EQ((10 + len) % 64, 0);
  const std::string header = b.mid(10, len).toStdString();
  const auto s = header.find("'shape': (");
  const std::string shape = header.substr(s + 10, header.find(')', s) - s - 10);
  std::vector<float> v(size_t(b.size() - 10 - len) / 4);
  std::memcpy(v.data(), b.constData() + 10 + len, v.size() * 4);
  return {shape, v};
}

struct Fixture {
  ViewState state;
  std::shared_ptr<AttentionRecording> rec = test::synthetic_recording(3, 4, 20, true);
  QTemporaryDir dir;
  Fixture() {
    state.set_recording(rec);
    state.set_analysis(rec, analyze(*rec));
    state.select(1, 2);
  }
  QString path(const QString& name) const { return dir.filePath(name); }
};

}  // namespace

TEST(Export, EveryViewToPngAtTheAskedSizeAndDpi) {
  Fixture f;
  HeatmapView heatmap(&f.state);
  ModelView model(&f.state);
  HeadView head(&f.state);
  RolloutView rollout(&f.state);
  rollout.set_rollout(std::make_shared<const RowMatrix>(attention_rollout(*f.rec)));
  StatsView stats(&f.state);
  const std::pair<const char*, Renderable*> views[] = {{"heatmap", &heatmap}, {"model", &model}, {"head", &head}, {"rollout", &rollout}, {"stats", &stats}};
  for (const auto& [name, view] : views) {
    const QString png = f.path(QString::fromLatin1(name) + ".png");
    export_image(*view, png, ImageOptions{QSize(640, 480), 96});
    QImage img;
    ASSERT_TRUE(img.load(png)) << name;
    EXPECT_EQ(img.size(), QSize(640, 480)) << name;
    EXPECT_GT(distinct_colours(img), 20) << name << " looks blank";
  }
  // 300 DPI: the same pixels, the resolution stored, and text drawn larger.
  const QString hi = f.path("heatmap300.png");
  export_image(heatmap, hi, ImageOptions{QSize(1200, 1000), 300});
  QImage img(hi);
  EXPECT_EQ(img.size(), QSize(1200, 1000));
  EXPECT_NEAR(img.dotsPerMeterX() * 0.0254, 300.0, 0.5);
}

TEST(Export, SvgAndPdfAreValidAndCarryTheTokenLabels) {
  Fixture f;
  HeatmapView heatmap(&f.state);
  const QString svg = f.path("h.svg"), pdf = f.path("h.pdf");
  export_image(heatmap, svg, ImageOptions{QSize(800, 700), 96});
  QSvgRenderer renderer(svg);
  ASSERT_TRUE(renderer.isValid());
  EXPECT_EQ(renderer.viewBox(), QRect(0, 0, 800, 700));
  const QByteArray text = read_all(svg);
  EXPECT_TRUE(text.contains("tok7"));
  EXPECT_TRUE(text.contains("synthetic · layer 1 · head 2"));
  export_image(heatmap, pdf, ImageOptions{QSize(800, 700), 96});
  const QByteArray bytes = read_all(pdf);
  ASSERT_TRUE(bytes.startsWith("%PDF-"));
  EXPECT_TRUE(bytes.contains("/Type /Page\n") || bytes.contains("/Type /Page "));
  EXPECT_TRUE(bytes.contains("/MediaBox [0 0 600.000000 525.000000]")) << "800x700 at 96 per inch = 600x525 pt";
}

TEST(Export, RefusesUnknownTypesAndUnwritablePlaces) {
  Fixture f;
  HeatmapView heatmap(&f.state);
  EXPECT_THROW(export_image(heatmap, f.path("x.bmp"), {}), Error);
  try {
    export_image(heatmap, "/nonexistent-dir/x.png", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.png"), std::string::npos) << e.what();
  }
}

TEST(Export, MatrixToCsvAndNpyReadsBack) {
  Fixture f;
  const ConstMatrixMap m = f.rec->head(1, 2);
  write_npy(fspath(f.path("m.npy")), m);
  const auto [shape, values] = read_npy(f.path("m.npy"));
  EXPECT_EQ(shape, "20, 20");
  ASSERT_EQ(values.size(), 400u);
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 20; ++j) ASSERT_EQ(values[size_t(i) * 20 + j], m(i, j));
  std::vector<std::string> labels;
  for (const auto& t : f.rec->meta().tokens) labels.push_back(t);
  write_matrix_csv(fspath(f.path("m.csv")), m, labels, labels);
  const QList<QByteArray> lines = read_all(f.path("m.csv")).split('\n');
  ASSERT_GE(lines.size(), 21);
  EXPECT_TRUE(lines[0].startsWith("query\\key,[CLS],\" tok1\",\" tok2\""));
  const QList<QByteArray> row5 = lines[6].split(',');
  EXPECT_EQ(row5[0], "\" tok5\"");
  for (int j = 0; j < 20; ++j) EXPECT_EQ(row5[j + 1].toFloat(), m(5, j)) << j;
}

TEST(Export, WholeRecordingAsNpyPerLayer) {
  Fixture f;
  const auto files = write_recording_npy(*f.rec, fspath(f.path("npy")));
  ASSERT_EQ(files.size(), 4u);  // 3 layers + tokens.json
  const auto [shape, values] = read_npy(f.path("npy/layer_02.npy"));
  EXPECT_EQ(shape, "4, 20, 20");
  EXPECT_EQ(values[size_t(3) * 400 + 7 * 20 + 5], f.rec->head(2, 3)(7, 5));
}

// Export all heads: one file per head, named with the model's layer numbers, holding that
// head's numbers (NPY) or its heatmap at the asked size (PNG); a folder that cannot be made is
// named in the failure.
TEST(Export, AllHeadsOneFilePerHead) {
  Fixture f;
  f.rec->meta_mutable().model_layers = {0, 4, 9};  // a recording of three of the model's layers
  ExportAllOptions o;
  o.dir = f.path("heads");
  o.format = QStringLiteral("npy");
  {
    ExportAllHeads all(f.rec, f.state.analysis(), f.state.colors(), false, o, nullptr);
    QSignalSpy done(&all, &ExportAllHeads::finished);
    all.start();
    ASSERT_TRUE(done.count() || done.wait(30000));
    EXPECT_EQ(done.at(0).at(0).toInt(), 12);
  }
  EXPECT_EQ(QDir(o.dir).entryList(QDir::Files).size(), 12);
  const auto [shape, values] = read_npy(QDir(o.dir).filePath("layer09_head03.npy"));
  EXPECT_EQ(shape, "20, 20");
  EXPECT_EQ(values[size_t(7) * 20 + 5], f.rec->head(2, 3)(7, 5));
  EXPECT_FALSE(QFile::exists(QDir(o.dir).filePath("layer02_head03.npy")));

  o.dir = f.path("one-layer");
  o.format = QStringLiteral("png");
  o.all_layers = false;
  o.layer = 1;
  o.size = QSize(320, 240);
  {
    ExportAllHeads one(f.rec, f.state.analysis(), f.state.colors(), true, o, nullptr);
    QSignalSpy done(&one, &ExportAllHeads::finished);
    one.start();
    ASSERT_TRUE(done.count() || done.wait(30000));
    EXPECT_EQ(done.at(0).at(0).toInt(), 4);
  }
  EXPECT_EQ(QDir(o.dir).entryList(QDir::Files), (QStringList{"layer04_head00.png", "layer04_head01.png", "layer04_head02.png", "layer04_head03.png"}));
  EXPECT_EQ(QImage(QDir(o.dir).filePath("layer04_head02.png")).size(), QSize(320, 240));

  QFile blocker(f.path("a-file"));
  ASSERT_TRUE(blocker.open(QIODevice::WriteOnly));
  blocker.close();
  o.dir = f.path("a-file/heads");
  ExportAllHeads bad(f.rec, f.state.analysis(), f.state.colors(), false, o, nullptr);
  QSignalSpy failed(&bad, &ExportAllHeads::failed);
  bad.start();
  ASSERT_EQ(failed.count(), 1);
  EXPECT_TRUE(failed.at(0).at(0).toString().contains(o.dir)) << failed.at(0).at(0).toString().toStdString();
}

TEST(Export, HeadlessMatchesTheRequest) {
  Fixture f;
  HeadlessRequest req;
  req.view = "model";
  req.size = QSize(700, 500);
  req.colors.map = ColorMapId::Magma;
  req.out = f.path("model.png");
  EXPECT_EQ(export_headless(f.rec, req), QStringList{req.out});
  EXPECT_EQ(QImage(req.out).size(), QSize(700, 500));
  req.view = "heatmap";
  req.layer = -1;
  req.head = kHeadMax;
  req.out = f.path("max.npy");
  export_headless(f.rec, req);
  const auto [shape, values] = read_npy(req.out);
  EXPECT_EQ(values[3 * 20 + 1], f.rec->layer_max(2)(3, 1));
  req.view = "stats";
  req.out = f.path("stats.csv");
  export_headless(f.rec, req);
  EXPECT_TRUE(read_all(req.out).startsWith("layer,head,entropy,mean_distance,special_share,previous_share,self_share,max_weight,first_share\n0,0,"));
  req.layer = 7;
  EXPECT_THROW(export_headless(f.rec, req), Error);
}

TEST(ExportCommand, RendersARecordingHeadlessly) {
  Fixture f;
  const QString rec = f.path("rec.safetensors");
  f.rec->save(fspath(rec));
  const QString out = f.path("cli.png");
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove(QStringLiteral("QT_QPA_PLATFORM"));  // the command must pick offscreen itself
  env.remove(QStringLiteral("DISPLAY"));
  p.setProcessEnvironment(env);
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "heatmap", "--layer", "2", "--head", "mean",
                                          "--colormap", "inferno", "--size", "900x700", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  EXPECT_EQ(QImage(out).size(), QSize(900, 700));
  // A bad option is a usage error (2) that names it.
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "nope", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 2);
  EXPECT_TRUE(p.readAllStandardError().contains("--view"));
}

TEST(ExportCommand, RolloutMethodFlowWritesTheAttentionFlow) {
  Fixture f;
  const QString rec = f.path("rec.safetensors");
  f.rec->save(fspath(rec));
  const QString out = f.path("flow.npy");
  QProcess p;
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "rollout", "--rollout-method", "flow", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  RolloutOptions o;
  o.method = RolloutMethod::Flow;
  const RowMatrix want = attention_flow(*f.rec, o);
  const auto [shape, values] = read_npy(out);
  EXPECT_EQ(shape, "20, 20");
  ASSERT_EQ(values.size(), 400u);
  for (int i = 0; i < 400; ++i) ASSERT_EQ(values[size_t(i)], want.data()[i]) << i;
  EXPECT_FALSE(want.isApprox(attention_rollout(*f.rec), 1e-3f));  // not the rollout under another name
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "rollout", "--rollout-method", "maxflow", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 2);
  EXPECT_TRUE(p.readAllStandardError().contains("--rollout-method must be rollout or flow"));
}

TEST(ExportCommand, RunsAModelWhenGivenOne) {
  QTemporaryDir dir;
  const QString out = dir.filePath("run.svg");
  QProcess p;
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--model", test::fixture_model("gpt2"), "--text", "Hello world", "--view", "rollout", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  EXPECT_TRUE(QSvgRenderer(out).isValid());
}

TEST(MainWindowExport, CurrentViewAndMatrix) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("Hello there, world")));
  w.state()->select(1, 0);
  w.show_view("heatmap");
  ASSERT_TRUE(w.export_view(dir.filePath("v.png"), ImageOptions{QSize(500, 400), 144}));
  EXPECT_EQ(QImage(dir.filePath("v.png")).size(), QSize(500, 400));
  ASSERT_TRUE(w.export_matrix(dir.filePath("v.npy")));
  const auto [shape, values] = read_npy(dir.filePath("v.npy"));
  const int N = w.state()->recording()->num_tokens();
  EXPECT_EQ(shape, std::to_string(N) + ", " + std::to_string(N));
  EXPECT_EQ(values[size_t(N) + 0], w.state()->recording()->head(1, 0)(1, 0));
  ASSERT_TRUE(w.export_recording_npy(dir.filePath("all")));
  EXPECT_TRUE(QFile::exists(dir.filePath("all/layer_01.npy")));
}
