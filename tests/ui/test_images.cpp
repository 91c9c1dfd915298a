// Image recordings in the GUI (issue 5): the overlay's pixels at a patch's centre carry that
// patch's weight, clicking a patch makes it the query, the head grid and the image rollout
// show the engine's numbers, running an image model in the main window gives a recording
// with its patch grid, picture and prediction, and every image view exports.
#include <gtest/gtest.h>

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QMenu>
#include <QMimeData>
#include <QMouseEvent>
#include <QProcess>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QUrl>
#include <nlohmann/json.hpp>

#include "analysis/flow.h"
#include "headless/headless.h"
#include "headless/render_export.h"
#include "analysis/attention_grid.h"
#include "picture_file.h"
#include "nn/model.h"
#include "run/predictions.h"
#include "run/rollout_cache.h"
#include "test_support.h"
#include "util/error.h"
#include "ui/ui_test_support.h"
#include "views/image_overlay.h"
#include "views/overlay_grid.h"
#include "views/overlay_view.h"
#include "views/prediction_panel.h"
#include "views/rollout_view.h"
#include "state/bundled_models.h"
#include "window/main_window.h"
#include "window/model_panel.h"
#include "state/view_state.h"

using namespace attn;
using namespace attn::ui;

namespace {

QString fixture_image(const QString& name) { return QString::fromStdString((test::fixtures_dir() / "images").string()) + "/" + name; }

// A model's run on a fixture picture, as the GUI makes it (image_path, predictions), and the
// picture as the views get it.
struct ImageRun {
  std::shared_ptr<const Model> model;
  std::shared_ptr<AttentionRecording> rec;
  PicturePtr picture;
  RowMatrix logits;
};

ImageRun run_image(const QString& fixture, const QString& image) {
  ImageRun r;
  r.model = Model::load(fspath(test::fixture_model(fixture)));
  const Rgb8Image rgb = imageio::decode_image_file(fspath(fixture_image(image)));
  ForwardResult f = r.model->forward_image(r.model->preprocess(rgb.view()), RunOptions{});
  r.rec = f.recording;
  r.rec->meta_mutable().extra["image_path"] = stdstr(fixture_image(image));
  r.rec->meta_mutable().extra[kPredictionsKey] = top_predictions(*r.model, f.logits, *prediction_target(*r.model, nullptr), 5).to_json();
  r.picture = make_recording_picture(rgb.view(), r.rec->meta());
  r.logits = f.logits;
  return r;
}

struct ImageFixture {
  ImageRun run = run_image("vit_cls", "shapes.png");
  ViewState state;
  ImageFixture() {
    state.set_recording(run.rec);
    state.set_picture(run.rec, run.picture);
  }
};

void click(QWidget* w, QPoint pos) {
  QMouseEvent press(QEvent::MouseButtonPress, QPointF(pos), QPointF(w->mapToGlobal(pos)), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(w, &press);
  QMouseEvent release(QEvent::MouseButtonRelease, QPointF(pos), QPointF(w->mapToGlobal(pos)), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(w, &release);
}

// Every patch centre of `image` (drawn at the overlay's widget size) has exactly the colour
// map's colour of the patch's weight.
void expect_patch_colours(const QImage& image, const ImageOverlay& overlay, const RowMatrix& weights, const ColorSettings& colors,
                          const ValueRange& range) {
  const ValueMapper mapper(colors, range);
  const auto& layout = overlay.content().layout;
  for (int r = 0; r < layout.rows; ++r)
    for (int c = 0; c < layout.cols; ++c) {
      const QPoint p = overlay.patch_center(r, c);
      ASSERT_EQ(qRgb(qRed(image.pixel(p)), qGreen(image.pixel(p)), qBlue(image.pixel(p))), mapper.rgb(weights(r, c)))
          << "patch (" << r << ", " << c << ") weight " << weights(r, c);
    }
}

}  // namespace

TEST(ImageLayout, ComesFromTheRecordingsMetadata) {
  ImageFixture f;
  const auto& l = f.state.patch_layout();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->rows, 4);
  EXPECT_EQ(l->cols, 4);
  EXPECT_EQ(l->first_patch, 1);
  EXPECT_EQ(l->input_width, 32);
  EXPECT_EQ(l->patch_size, 8);
  EXPECT_DOUBLE_EQ(l->cover_w, 1.0);
  int r, c;
  ASSERT_TRUE(l->patch_of(1 + 2 * 4 + 3, &r, &c));
  EXPECT_EQ(r, 2);
  EXPECT_EQ(c, 3);
  EXPECT_FALSE(l->patch_of(0, &r, &c));
  // The picture is the source picture's crop region (the whole 50 × 40 picture here).
  ASSERT_TRUE(f.state.picture()->valid());
  EXPECT_EQ(f.state.picture()->original.size(), QSize(50, 40));
  EXPECT_EQ(f.state.picture()->input.size(), QSize(32, 32));
  // Text recordings have none.
  ViewState text;
  text.set_recording(test::synthetic_recording(1, 2, 5, false));
  EXPECT_FALSE(text.is_image());
}

TEST(Overlay, BlockPixelsAtPatchCentresCarryThePatchWeight) {
  ImageFixture f;
  OverlayView view(&f.state);
  view.resize(900, 800);
  view.show();
  view.set_smooth(false);
  view.set_opacity(1.0);
  for (const auto& [layer, head] : {std::pair{1, 1}, std::pair{0, 0}, std::pair{1, int(kHeadMean)}}) {
    f.state.select(layer, head);
    // The engine's own grid of [CLS]'s attention to the patches (core/image/attention_grid.h).
    const RowMatrix want = image_attention_grid(*f.run.rec, layer, head == kHeadMean ? -1 : head, 0);
    ASSERT_EQ(view.grid().rows(), 4);
    for (int i = 0; i < want.size(); ++i) ASSERT_FLOAT_EQ(view.grid().data()[i], want.data()[i]);
    EXPECT_DOUBLE_EQ(view.range().hi, double(want.maxCoeff()));  // per-head range: [0, the largest weight]
    expect_patch_colours(view.overlay()->grab().toImage(), *view.overlay(), want, f.state.colors(), view.range());
  }
  // Another colour map and scaling, and the export path (the same drawing at the same size).
  ColorSettings magma;
  magma.map = ColorMapId::Magma;
  magma.scaling = Scaling::Power;
  f.state.set_colors(magma);
  const RowMatrix want = image_attention_grid(*f.run.rec, 1, -1, 0);
  expect_patch_colours(view.overlay()->grab().toImage(), *view.overlay(), want, magma, view.range());
  QTemporaryDir dir;
  const QString png = dir.filePath("overlay.png");
  export_image(*view.overlay(), png, ImageOptions{view.overlay()->size(), 96});
  expect_patch_colours(QImage(png), *view.overlay(), want, magma, view.range());
}

// The 50 × 40 fixture picture was squashed to the model's 32 × 32 input: the original is
// drawn at 5:4 with the patch grid stretched over it, the model's input square.
TEST(Overlay, TheOriginalPictureKeepsItsShapeAndTheGridFollowsIt) {
  ImageFixture f;
  OverlayView view(&f.state);
  view.resize(900, 800);
  view.show();
  view.set_input_resolution(false);
  QRectF pic = view.overlay()->picture_rect();
  EXPECT_NEAR(pic.width() / pic.height(), 50.0 / 40.0, 0.01);
  // Patch (r, c) spans a quarter of the picture's width and height each way.
  const QPointF centre = view.overlay()->patch_center(3, 1);
  EXPECT_NEAR(centre.x(), pic.left() + 1.5 * pic.width() / 4, 1.0);
  EXPECT_NEAR(centre.y(), pic.top() + 3.5 * pic.height() / 4, 1.0);
  int r = -1, c = -1;
  ASSERT_TRUE(view.overlay()->patch_at(QPointF(pic.left() + 0.9 * pic.width(), pic.top() + 0.1 * pic.height()), &r, &c));
  EXPECT_EQ(r, 0);
  EXPECT_EQ(c, 3);
  view.set_input_resolution(true);
  pic = view.overlay()->picture_rect();
  EXPECT_NEAR(pic.width() / pic.height(), 1.0, 0.01);
}

TEST(Overlay, SmoothModeAgreesAtPatchCentresAndOpacityShowsThePicture) {
  ImageFixture f;
  OverlayView view(&f.state);
  view.resize(900, 800);
  view.show();
  f.state.select(1, 0);
  view.set_opacity(1.0);
  view.set_smooth(true);
  const QImage smooth = view.overlay()->grab().toImage();
  const ValueMapper mapper(f.state.colors(), view.range());
  const RowMatrix& g = view.grid();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const QColor got = smooth.pixelColor(view.overlay()->patch_center(r, c)), want = QColor::fromRgb(mapper.rgb(g(r, c)));
      EXPECT_NEAR(got.red(), want.red(), 12) << r << "," << c;
      EXPECT_NEAR(got.green(), want.green(), 12) << r << "," << c;
      EXPECT_NEAR(got.blue(), want.blue(), 12) << r << "," << c;
    }
  // Opacity 0: the picture itself. The red circle of shapes.png is under patch (1, 1).
  view.set_smooth(false);
  view.set_opacity(0.0);
  const QImage picture = view.overlay()->grab().toImage();
  const QColor circle = picture.pixelColor(view.overlay()->patch_center(1, 1));
  EXPECT_GT(circle.red(), 180);
  EXPECT_LT(circle.green(), 80);
}

TEST(Overlay, ClickingAPatchSelectsItsQueryRow) {
  ImageFixture f;
  OverlayView view(&f.state);
  view.resize(900, 800);
  view.show();
  f.state.select(1, 1);
  EXPECT_EQ(view.query_token(), 0);  // [CLS] by default
  click(view.overlay(), view.overlay()->patch_center(2, 3));
  const int token = 1 + 2 * 4 + 3;
  EXPECT_EQ(f.state.query(), token);
  EXPECT_EQ(view.query_token(), token);
  // The overlay now shows that patch's attention row, with the patch outlined.
  const RowMatrix want = image_attention_grid(*f.run.rec, 1, 1, token);
  for (int i = 0; i < want.size(); ++i) ASSERT_FLOAT_EQ(view.grid().data()[i], want.data()[i]);
  EXPECT_EQ(view.overlay()->content().style.mark_r, 2);
  EXPECT_EQ(view.overlay()->content().style.mark_c, 3);
  EXPECT_TRUE(view.overlay()->content().title.contains(QStringLiteral("patch (2, 3)")));
  // Hover text: the patch and its exact weight.
  const QString hover = view.overlay()->hover_text(0, 1);
  EXPECT_TRUE(hover.contains(QStringLiteral("patch (0, 1)"))) << hover.toStdString();
  EXPECT_TRUE(hover.contains(format_weight(want(0, 1)))) << hover.toStdString();
  // Outside the patches nothing is selected.
  click(view.overlay(), QPoint(2, 2));
  EXPECT_EQ(f.state.query(), token);
}

TEST(Overlay, HeadGridShowsEveryHeadAndClickingOneSelectsIt) {
  ImageFixture f;
  OverlayView view(&f.state);
  view.resize(1000, 800);
  view.show();
  f.state.select(1, 0);
  view.set_show_heads(true);
  const auto& cells = view.head_grid()->content().cells;
  ASSERT_EQ(cells.size(), 3u);  // two heads and their mean
  for (int h = 0; h < 2; ++h) {
    const RowMatrix want = image_attention_grid(*f.run.rec, 1, h, 0);
    for (int i = 0; i < want.size(); ++i) ASSERT_FLOAT_EQ(cells[size_t(h)].grid.data()[i], want.data()[i]);
  }
  EXPECT_EQ(view.head_grid()->content().selected, 0);
  click(view.head_grid(), view.head_grid()->cell_picture(1).center().toPoint());
  EXPECT_EQ(f.state.head(), 1);
  EXPECT_EQ(view.head_grid()->content().selected, 1);
  click(view.head_grid(), view.head_grid()->cell_picture(2).center().toPoint());
  EXPECT_EQ(f.state.head(), kHeadMean);
}

TEST(ImageRollout, OverlaysTheClsRowWithTheDiscardRatio) {
  ImageFixture f;
  RolloutView view(&f.state);
  view.resize(1200, 700);
  QSignalSpy computed(&view, &RolloutView::computed);
  view.show();
  ASSERT_TRUE(computed.count() > 0 || computed.wait(10000));
  ASSERT_TRUE(view.showing_image());
  RolloutOptions o;
  o.fusion = HeadFusion::Max;
  o.discard_ratio = 0.5f;
  view.set_options(o);
  ASSERT_TRUE(computed.wait(10000));
  const RowMatrix r = attention_rollout(*f.run.rec, o);
  const RowMatrix& grid = view.image_overlay()->content().grid;
  ASSERT_EQ(grid.rows(), 4);
  for (int i = 0; i < 16; ++i) ASSERT_FLOAT_EQ(grid.data()[i], r(0, 1 + i)) << i;  // [CLS]'s row, patches only
  EXPECT_TRUE(view.image_overlay()->content().title.contains(QStringLiteral("discard 0.5")));
  // The overlay view's rollout source shows the same row.
  OverlayView overlay(&f.state);
  overlay.set_source(OverlayView::Source::Rollout);
  for (int i = 0; i < 16; ++i) ASSERT_FLOAT_EQ(overlay.grid().data()[i], r(0, 1 + i));
  // Clicking a patch of the rollout overlay follows that patch's row.
  click(view.image_overlay(), view.image_overlay()->patch_center(3, 0));
  EXPECT_EQ(f.state.query(), 1 + 12);
  for (int i = 0; i < 16; ++i) ASSERT_FLOAT_EQ(view.image_overlay()->content().grid.data()[i], r(13, 1 + i));
}

TEST(ImageRollout, FlowOverlaysTheQuerysFlowRow) {
  ImageFixture f;
  RolloutView view(&f.state);
  view.resize(1200, 700);
  QSignalSpy computed(&view, &RolloutView::computed);
  view.show();
  ASSERT_TRUE(computed.count() > 0 || computed.wait(10000));
  RolloutOptions o;
  o.method = RolloutMethod::Flow;
  view.set_options(o);
  ASSERT_TRUE(computed.wait(10000));
  const RowMatrix r = attention_flow(*f.run.rec, o);
  const RowMatrix& grid = view.image_overlay()->content().grid;
  ASSERT_EQ(grid.rows(), 4);
  for (int i = 0; i < 16; ++i) ASSERT_FLOAT_EQ(grid.data()[i], r(0, 1 + i)) << i;  // [CLS]'s flow row, patches only
  EXPECT_TRUE(view.image_overlay()->content().title.contains(QStringLiteral("attention flow"))) << view.image_overlay()->content().title.toStdString();
  EXPECT_EQ(view.image_overlay()->content().value_name, QStringLiteral("flow"));
}

TEST(PredictionPanel, ListsTheModelsTopClass) {
  ImageFixture f;
  PredictionPanel panel(&f.state);
  ASSERT_TRUE(panel.predictions());
  EXPECT_EQ(panel.predictions()->task, "image-classification");
  ASSERT_EQ(panel.predictions()->top.size(), 5);
  Eigen::Index best;
  f.run.logits.row(0).maxCoeff(&best);
  EXPECT_EQ(panel.predictions()->top[0].id, int(best));
  EXPECT_EQ(panel.predictions()->top[0].label, f.run.model->config().labels[size_t(best)]);
  EXPECT_TRUE(panel.row_texts().first().startsWith(qstr(f.run.model->config().labels[size_t(best)])));
  double sum = 0;
  for (const auto& p : panel.predictions()->top) sum += p.prob;
  EXPECT_NEAR(sum, 1.0, 1e-5);  // five labels: every probability is listed
}

TEST(PredictionPanel, FillsTheMaskAndPredictsTheNextToken) {
  for (const auto& [fixture, text, task] : {std::tuple{"bert_mlm", "the cat [MASK] on the mat", "fill-mask"},
                                            std::tuple{"gpt2", "The cat sat on the", "next-token"}}) {
    MainWindow w;
    ASSERT_TRUE(test::run_and_wait(w, test::fixture_model(fixture), QString::fromUtf8(text)));
    const auto& p = w.prediction_panel()->predictions();
    ASSERT_TRUE(p) << fixture;
    EXPECT_EQ(p->task, task);
    // The same as the engine's own logits at that position.
    const auto model = Model::load(fspath(test::fixture_model(fixture)));
    const Encoding enc = model->encode(text);
    RunOptions options;
    options.logits_rows = {p->position};
    Eigen::Index best;
    model->forward(enc, options).logits.row(0).maxCoeff(&best);
    EXPECT_EQ(p->top[0].id, int(best)) << fixture;
    if (std::string(task) == "fill-mask") EXPECT_EQ(w.state()->recording()->meta().tokens[size_t(p->position)], "[MASK]");
    else EXPECT_EQ(p->position, w.state()->recording()->num_tokens() - 1);
    EXPECT_EQ(w.prediction_panel()->row_texts().size(), 5);
  }
}

TEST(MainWindowImages, RunningAnImageModelGivesAnImageRecording) {
  MainWindow w;
  w.resize(1400, 900);
  w.show();
  w.choose_model(test::fixture_model("vit_cls"));
  EXPECT_TRUE(w.panel()->image_mode());  // known from config.json before the model is loaded
  QSignalSpy pictures(w.runs(), &RunController::picture_ready);
  w.run_image(fixture_image("shapes.png"));
  ASSERT_TRUE(test::wait_for_analysis(w));
  const auto& rec = w.state()->recording();
  EXPECT_EQ(rec->meta().extra.at("image_grid"), "4x4");
  EXPECT_EQ(qstr(rec->meta().extra.at("image_path")), QFileInfo(fixture_image("shapes.png")).absoluteFilePath());
  ASSERT_EQ(pictures.count(), 1);
  ASSERT_TRUE(w.state()->picture() && w.state()->picture()->valid());
  EXPECT_TRUE(w.tabs()->isTabVisible(w.tab_index("overlay")));
  EXPECT_EQ(w.tabs()->currentIndex(), w.tab_index("overlay"));
  // The prediction panel lists the model's top class.
  const ImageRun direct = run_image("vit_cls", "shapes.png");
  Eigen::Index best;
  direct.logits.row(0).maxCoeff(&best);
  ASSERT_TRUE(w.prediction_panel()->predictions());
  EXPECT_EQ(w.prediction_panel()->predictions()->top[0].label, direct.model->config().labels[size_t(best)]);
  for (int l = 0; l < rec->num_layers(); ++l)  // the same numbers (up to the worker's thread count)
    for (int h = 0; h < rec->num_heads(); ++h) EXPECT_LT((rec->head(l, h) - direct.rec->head(l, h)).cwiseAbs().maxCoeff(), 1e-5f);
  // A text model afterwards hides the overlay tab again.
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("The cat sat")));
  EXPECT_FALSE(w.tabs()->isTabVisible(w.tab_index("overlay")));
  EXPECT_NE(w.tabs()->currentIndex(), w.tab_index("overlay"));
  EXPECT_FALSE(w.panel()->image_mode());
}

TEST(MainWindowImages, DeitHasTwoQueryTokensBeforeThePatches) {
  MainWindow w;
  w.choose_model(test::fixture_model("deit_teacher"));
  w.run_image(fixture_image("checker.png"));
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_TRUE(w.state()->patch_layout());
  EXPECT_EQ(w.state()->patch_layout()->first_patch, 2);
  w.state()->set_query(1);  // [DIST]
  EXPECT_TRUE(w.overlay_view()->overlay()->content().title.contains(QStringLiteral("[DIST]")));
  ASSERT_TRUE(w.prediction_panel()->predictions());
}

TEST(MainWindowImages, DroppingAPictureRunsTheChosenImageModel) {
  MainWindow w;
  w.show();
  w.choose_model(test::fixture_model("vit_cls"));
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(fixture_image("stripes.bmp"))});
  QDragEnterEvent enter(QPoint(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &drop);
  EXPECT_TRUE(drop.isAccepted());
  EXPECT_EQ(w.last_error(), QString());
  ASSERT_TRUE(test::wait_for_analysis(w));
  EXPECT_EQ(QFileInfo(qstr(w.state()->recording()->meta().extra.at("image_path"))).fileName(), QStringLiteral("stripes.bmp"));
  EXPECT_EQ(w.panel()->image_path(), fixture_image("stripes.bmp"));
}

TEST(MainWindowImages, AnImageModelWithoutAPictureSaysWhatToDo) {
  MainWindow w;
  QSignalSpy errors(&w, &MainWindow::error_shown);
  w.choose_model(test::fixture_model("vit_cls"));
  w.run();  // image mode, no picture yet
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.first().first().toString().contains(QStringLiteral("Open a picture"))) << errors.first().first().toString().toStdString();
  for (auto* box : w.findChildren<QWidget*>(QStringLiteral("ErrorDialog"))) box->close();
  ASSERT_TRUE(test::wait_until_idle(w));
}

TEST(MainWindowImages, ASavedImageRecordingReopensWithPictureAndPrediction) {
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("image.safetensors"));
  {
    MainWindow w;
    w.choose_model(test::fixture_model("vit_cls"));
    w.run_image(fixture_image("shapes.png"));
    ASSERT_TRUE(test::wait_for_analysis(w));
    w.state()->set_query(5);
    QSignalSpy saved(&w, &MainWindow::recording_saved);
    w.save_recording(path);
    ASSERT_TRUE(saved.wait(10000));
  }
  MainWindow w;
  QSignalSpy pictures(w.runs(), &RunController::picture_ready);
  w.open_recording(path);
  ASSERT_TRUE(test::wait_for_analysis(w));
  ASSERT_EQ(pictures.count(), 1);
  EXPECT_TRUE(w.state()->picture()->valid());
  EXPECT_TRUE(w.prediction_panel()->predictions());
  EXPECT_EQ(w.state()->query(), 5);
  EXPECT_EQ(w.tabs()->currentIndex(), w.tab_index("overlay"));
}

TEST(ImageExport, EveryImageViewToPngSvgPdfCsvAndNpy) {
  ImageFixture f;
  QTemporaryDir dir;
  for (const QString& view : {QStringLiteral("overlay"), QStringLiteral("overlay-heads"), QStringLiteral("image-rollout"), QStringLiteral("prediction")}) {
    HeadlessRequest req;
    req.view = view;
    req.layer = -1;
    req.out = dir.filePath(view + ".png");
    req.size = QSize(640, 480);
    export_headless(f.run.rec, req);
    const QImage img(req.out);
    EXPECT_EQ(img.size(), QSize(640, 480)) << view.toStdString();
    req.out = dir.filePath(view + ".svg");
    export_headless(f.run.rec, req);
    QSvgRenderer svg(req.out);
    EXPECT_TRUE(svg.isValid()) << view.toStdString();
    EXPECT_EQ(svg.viewBox(), QRect(0, 0, 640, 480));
    req.out = dir.filePath(view + ".pdf");
    export_headless(f.run.rec, req);
    QFile pdf(req.out);
    ASSERT_TRUE(pdf.open(QIODevice::ReadOnly));
    EXPECT_TRUE(pdf.readAll().startsWith("%PDF-")) << view.toStdString();
  }
  auto lines = [](const QString& p) {
    QFile file(p);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()).trimmed().split('\n') : QStringList();
  };
  auto npy_shape = [](const QString& p) {
    QFile file(p);
    const QByteArray b = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    const int s = b.indexOf("'shape': (");
    return QString::fromLatin1(b.mid(s + 10, b.indexOf(')', s) - s - 10));
  };
  // The raw grids: the overlay's (4, 4) from a patch (--query 2,1), the heads' stack, the rollout row.
  HeadlessRequest req;
  req.view = QStringLiteral("overlay");
  req.layer = 1;
  req.head = 1;
  req.patch_row = 2;
  req.patch_col = 1;
  req.out = dir.filePath("overlay.csv");
  export_headless(f.run.rec, req);
  const QStringList csv = lines(req.out);
  ASSERT_EQ(csv.size(), 5);
  EXPECT_EQ(csv[0], QStringLiteral("row\\col,c0,c1,c2,c3"));
  const RowMatrix want = image_attention_grid(*f.run.rec, 1, 1, 1 + 2 * 4 + 1);
  EXPECT_FLOAT_EQ(csv[1].split(',')[2].toFloat(), want(0, 1));
  req.out = dir.filePath("overlay.npy");
  export_headless(f.run.rec, req);
  EXPECT_EQ(npy_shape(req.out), QStringLiteral("4, 4"));
  req.view = QStringLiteral("overlay-heads");
  req.out = dir.filePath("heads.npy");
  export_headless(f.run.rec, req);
  EXPECT_EQ(npy_shape(req.out), QStringLiteral("3, 4, 4"));
  req.view = QStringLiteral("prediction");
  req.out = dir.filePath("prediction.csv");
  export_headless(f.run.rec, req);
  EXPECT_EQ(lines(req.out).size(), 6);
  // Image views of a text recording are refused, naming the problem.
  req.view = QStringLiteral("overlay");
  req.patch_row = req.patch_col = -1;
  EXPECT_THROW(export_headless(test::synthetic_recording(1, 2, 5, false), req), Error);
}

TEST(ImageExport, AMovedPictureIsReplacedByTheInputStoredInTheRecording) {
  ImageFixture f;
  f.run.rec->meta_mutable().extra["image_path"] = "/nowhere/moved.png";
  const PicturePtr stored = load_recording_picture(*f.run.rec);
  ASSERT_TRUE(stored->valid());
  EXPECT_TRUE(stored->note.contains(QStringLiteral("picture not found: /nowhere/moved.png; showing the model's input"))) << stored->note.toStdString();
  // The model's 32 × 32 input, drawn in the 50 × 40 source's proportions.
  EXPECT_EQ(stored->input.size(), QSize(32, 32));
  EXPECT_NEAR(double(stored->original.width()) / stored->original.height(), 50.0 / 40.0, 0.03);
  // Its pixels are the input's: the fixture picture as the model saw it, to the level.
  const QImage want = f.run.picture->input;
  int worst = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const QRgb a = stored->input.pixel(x, y), b = want.pixel(x, y);
      worst = std::max({worst, std::abs(qRed(a) - qRed(b)), std::abs(qGreen(a) - qGreen(b)), std::abs(qBlue(a) - qBlue(b))});
    }
  EXPECT_LE(worst, 24) << "the model's resample (Pillow bicubic) and Qt's smooth scaling differ a little, not more";
  f.state.set_picture(f.run.rec, stored);
  OverlayView shown(&f.state);
  EXPECT_TRUE(shown.render_title().contains(QStringLiteral("showing the model's input stored in the recording"))) << shown.render_title().toStdString();
}

TEST(ImageExport, AMissingPictureIsNamedInTheTitleAndTheGridDrawnAlone) {
  ImageFixture f;
  f.run.rec->meta_mutable().extra["image_path"] = "/nowhere/moved.png";
  f.run.rec->set_image(std::nullopt);  // a recording without its input image
  const PicturePtr missing = load_recording_picture(*f.run.rec);
  ASSERT_FALSE(missing->valid());
  f.state.set_recording(f.run.rec);
  f.state.set_picture(f.run.rec, missing);
  OverlayView view(&f.state);
  EXPECT_TRUE(view.render_title().contains(QStringLiteral("picture not found: /nowhere/moved.png"))) << view.render_title().toStdString();
  view.resize(900, 800);
  view.show();
  view.set_opacity(1.0);
  expect_patch_colours(view.overlay()->grab().toImage(), *view.overlay(), view.grid(), f.state.colors(), view.range());
}

TEST(ImageExport, CommandLineExportsAnOverlayOfARecordingWithoutItsModel) {
  QTemporaryDir dir;
  const QString rec = dir.filePath("vit.safetensors"), out = dir.filePath("overlay.png"), svg = dir.filePath("rollout.svg");
  QProcess p;
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"record", "--model", test::fixture_model("vit_cls"), "--image", fixture_image("gradient.jpg"), "--out", rec});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "overlay", "--query", "1,2", "--overlay", "smooth", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  EXPECT_EQ(QImage(out).size(), QSize(1000, 860));
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "image-rollout", "--discard", "0.9", "--size", "800x600", "--out", svg});
  ASSERT_TRUE(p.waitForFinished(60000));
  ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
  QSvgRenderer renderer(svg);
  EXPECT_TRUE(renderer.isValid());
  QFile f(svg);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  EXPECT_TRUE(f.readAll().contains("discard 0.9"));
  // A bad patch is a usage problem with a message.
  p.start(QStringLiteral(ATTNSCOPE_EXE), {"export", "--recording", rec, "--view", "overlay", "--query", "9,9", "--out", out});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_NE(p.exitCode(), 0);
  EXPECT_TRUE(p.readAllStandardError().contains("out of range"));
}

TEST(ImageInput, ExamplesOfAnImageModelArePicturesInItsFolder) {
  QTemporaryDir dir;
  QDir d(dir.path());
  ASSERT_TRUE(d.mkpath("images"));
  auto write = [&](const QString& name, const QByteArray& bytes) {
    QFile f(d.filePath(name));
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write(bytes);
  };
  write("config.json", R"({"model_type": "vit"})");
  write("attnscope.json", R"({"examples": [{"title": "Shapes", "image": "images/shapes.png"}, "images/checker.png", "images/missing.png"]})");
  ASSERT_TRUE(QFile::copy(fixture_image("shapes.png"), d.filePath("images/shapes.png")));
  ASSERT_TRUE(QFile::copy(fixture_image("checker.png"), d.filePath("images/checker.png")));
  EXPECT_TRUE(folder_takes_images(dir.path()));
  const QList<Example> examples = read_examples(dir.path());
  ASSERT_EQ(examples.size(), 2);  // the missing picture is left out
  EXPECT_EQ(examples[0].title, QStringLiteral("Shapes"));
  EXPECT_EQ(examples[0].image, QFileInfo(d.filePath("images/shapes.png")).absoluteFilePath());
  EXPECT_EQ(examples[1].title, QStringLiteral("checker"));
  EXPECT_TRUE(examples[1].text.isEmpty());
  // Without attnscope.json the pictures of images/ are offered.
  ASSERT_TRUE(QFile::remove(d.filePath("attnscope.json")));
  EXPECT_EQ(read_examples(dir.path()).size(), 2);
  // The panel's Examples menu picks a picture and asks to run it.
  ModelPanel panel;
  panel.set_models({}, {}, dir.path());
  panel.set_model_info(nullptr);
  EXPECT_TRUE(panel.image_mode());
  QSignalSpy chosen(&panel, &ModelPanel::image_chosen);
  ASSERT_EQ(panel.examples_button()->menu()->actions().size(), 2);
  panel.examples_button()->menu()->actions().first()->trigger();
  ASSERT_EQ(chosen.count(), 1);
  EXPECT_EQ(panel.image_path(), chosen.first().first().toString());
}

TEST(MainWindowImages, CancellingAnImageRunLeavesTheWindowUsable) {
  MainWindow w;
  w.choose_model(test::fixture_model("vit_cls"));
  QSignalSpy cancelled(w.runs(), &RunController::cancelled);
  w.run_image(fixture_image("shapes.png"));
  w.cancel();
  ASSERT_TRUE(cancelled.wait(10000));
  EXPECT_FALSE(w.state()->recording());
  w.run_image(fixture_image("shapes.png"));
  ASSERT_TRUE(test::wait_for_analysis(w));
  EXPECT_TRUE(w.state()->is_image());
}

// The command line's `predict` and the window's prediction panel run the one pipeline
// (session/run.h): on every bundled model they must name the same tokens or labels with the
// same probabilities.
TEST(OnePipeline, CommandLineAndWindowPredictTheSame) {
  const QString models = QStringLiteral(ATTN_RESOURCES_DIR "/models/");
  struct Input {
    QString model, text, image;
  };
  const std::vector<Input> inputs = {
      {"attnscope-gpt2-small", "The old man said that the", ""},
      {"attnscope-bert-mini", "The cat sat on the [MASK].", ""},
      {"attnscope-induction-toy", "ka lo mi su ka lo mi", ""},
      {"attnscope-vit-fashion", "", "examples/bag.png"},
  };
  for (const auto& in : inputs) {
    const QString dir = models + in.model;
    QStringList args = {"predict", "--model", dir, "--json", "--top", "5"};
    if (in.image.isEmpty()) args << "--text" << in.text;
    else args << "--image" << QDir(dir).filePath(in.image);
    QProcess p;
    p.start(QStringLiteral(ATTNSCOPE_EXE), args);
    ASSERT_TRUE(p.waitForFinished(60000)) << in.model.toStdString();
    ASSERT_EQ(p.exitCode(), 0) << p.readAllStandardError().toStdString();
    const auto cli = nlohmann::json::parse(p.readAllStandardOutput().toStdString());

    MainWindow w;
    if (in.image.isEmpty()) {
      ASSERT_TRUE(test::run_and_wait(w, dir, in.text)) << in.model.toStdString();
    } else {
      w.choose_model(dir);
      w.run_image(QDir(dir).filePath(in.image));
      ASSERT_TRUE(test::wait_for_analysis(w)) << in.model.toStdString();
    }
    const auto& gui = w.prediction_panel()->predictions();
    ASSERT_TRUE(gui) << in.model.toStdString();
    EXPECT_EQ(cli["task"].get<std::string>(), gui->task);
    EXPECT_EQ(cli.value("position", -1), gui->position);
    ASSERT_EQ(cli["predictions"].size(), gui->top.size()) << in.model.toStdString();
    for (size_t i = 0; i < gui->top.size(); ++i) {
      const auto& c = cli["predictions"][i];
      EXPECT_EQ(c["id"].get<int>(), gui->top[i].id) << in.model.toStdString() << " #" << i;
      EXPECT_EQ(c.contains("label") ? c["label"].get<std::string>() : c["token"].get<std::string>(), gui->top[i].label);
      EXPECT_NEAR(c["prob"].get<double>(), gui->top[i].prob, 1e-5);  // the worker's thread count may differ
    }
  }
}

// What long fuzzing found: 102 bytes of JPEG header declaring 796 × 58371 pixels. The app takes
// it (46 megapixels, under its cap: Qt decodes it, grey where data is missing); a lower cap
// refuses it before decoding, naming the size, as the fuzz harness does.
TEST(PictureFile, ACapRefusesATinyFileThatDeclaresAHugePicture) {
  const unsigned char header[] = {
      0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x03, 0x03, 0x03, 0x04, 0x03, 0x01, 0x00, 0x04, 0x04, 0x08, 0x10, 0xed, 0x0b, 0x09,
      0x8b, 0x10, 0x10, 0x0c, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x0d, 0x10, 0x10, 0x10, 0x10,
      0x10, 0x10, 0x10, 0x53, 0x74, 0x33, 0x63, 0x74, 0x79, 0x70, 0x65, 0x49, 0x63, 0x45, 0x0d, 0x0a, 0x10, 0x30, 0x90, 0x10, 0x10,
      0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0xff, 0xc0, 0x00, 0x11, 0x08, 0xe4, 0x03, 0x03, 0x1c, 0x03, 0x01, 0x22, 0x01,
      0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11};
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("tall.jpg"));
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.write(reinterpret_cast<const char*>(header), sizeof header);
  f.close();
  try {
    imageio::decode_image_file(fspath(path), int64_t(4) * 1000 * 1000);
    ADD_FAILURE() << "a 46-megapixel picture passed a 4-megapixel cap";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tall.jpg: 796x58371 pixels is too large (at most 4 megapixels)"), std::string::npos) << e.what();
  }
  const Rgb8Image full = imageio::decode_image_file(fspath(path));
  EXPECT_EQ(full.width, 796);
  EXPECT_EQ(full.height, 58371);
}
