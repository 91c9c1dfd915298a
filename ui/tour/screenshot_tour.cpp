// attnscope_screenshots: drives the real main window through every view and saves what a
// person would see (scripts/screenshots.sh runs it under xvfb-run). Not installed.
//   attnscope_screenshots --model DIR (--text STR [--pair STR] | --image FILE) --out DIR [--prefix NAME] [--dark]
//                         [--translator DIR]   (an encoder-decoder: its timeline and alignment after the text tour)
//                         [--reader DIR]       (a BERT: View ▸ Reading on several sentences: sinks hidden, words, sentences)
// With --text it also opens the teaching window; with --image (a ViT / DeiT model) it shows
// the overlay, a clicked patch, the head grid, the image rollout and flow and the prediction panel.
// Both tours also show the Rollout tab with attention flow chosen.
#include <QApplication>
#include <QMessageBox>
#include <QCursor>
#include <QDir>
#include <QEventLoop>
#include <QMouseEvent>
#include <QScreen>
#include <QTimer>
#include <QToolTip>
#include <QWindow>
#include <cstdio>
#include <functional>

#include "headless/render_export.h"
#include "teaching/guided_tab.h"
#include "teaching/live_tab.h"
#include "teaching/teaching_window.h"
#include "views/heatmap_view.h"
#include "views/image_overlay.h"
#include "views/matrix_plot.h"
#include "views/overlay_view.h"
#include "views/prediction_panel.h"
#include "views/qk_scatter_view.h"
#include "views/rollout_view.h"
#include "run/rollout_cache.h"
#include "views/alignment_view.h"
#include "views/compare_view.h"
#include "run/compare_cache.h"
#include "views/timeline_view.h"
#include "views/view_table.h"
#include "window/model_panel.h"
#include "window/main_window.h"
#include "state/bundled_models.h"
#include "state/view_state.h"

using namespace attn::ui;

namespace {

// Lets queued work (replots, results) run for `ms` through the event loop.
void settle(int ms) {
  QEventLoop loop;
  QTimer::singleShot(ms, &loop, &QEventLoop::quit);
  loop.exec();
}

QImage shoot(QWidget& w, bool whole_screen = false) {
  QScreen* screen = w.screen();
  if (QGuiApplication::platformName() == QLatin1String("xcb") && screen) {
    if (whole_screen) return screen->grabWindow(0).toImage();
    return screen->grabWindow(w.winId()).toImage();
  }
  return w.grab().toImage();
}

// Waits (through the event loop) until the window's runs are idle.
void wait_idle(MainWindow& w) {
  if (!w.runs()->busy()) return;
  QEventLoop loop;
  QObject::connect(w.runs(), &RunController::busy_changed, &loop, [&](bool busy) {
    if (!busy) loop.quit();
  });
  loop.exec();
}

void click(QWidget* target, const QPoint& at) {
  QMouseEvent press(QEvent::MouseButtonPress, QPointF(at), QPointF(target->mapToGlobal(at)), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &press);
  QMouseEvent release(QEvent::MouseButtonRelease, QPointF(at), QPointF(target->mapToGlobal(at)), Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(target, &release);
}

void hover(QWidget* target, const QPoint& at) {
  QCursor::setPos(target->mapToGlobal(at));
  QMouseEvent move(QEvent::MouseMove, QPointF(at), QPointF(target->mapToGlobal(at)), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(target, &move);
}

using Save = std::function<void(const QImage&, const QString&)>;

// The Rollout tab with attention flow instead of rollout (computed in the worker: waits for
// it, up to a minute), then rollout again.
void shoot_flow(MainWindow& w, const Save& save, const QString& name) {
  RolloutCache* cache = w.state()->rollout();
  attn::RolloutOptions o = cache->options();
  o.method = attn::RolloutMethod::Flow;
  w.show_view("rollout");
  w.rollout_view()->set_options(o);
  for (int waited = 0; !cache->result() && waited < 60000; waited += 100) settle(100);
  settle(300);
  save(shoot(w), name);
  o.method = attn::RolloutMethod::Rollout;
  w.rollout_view()->set_options(o);
}

// The image views: overlay (from [CLS], from a clicked patch, smooth), the head grid, the
// image rollout, the prediction panel; and their exports.
void image_tour(MainWindow& w, const Save& save, const QString& out, const QString& prefix) {
  const auto& rec = w.state()->recording();
  const auto layout = w.state()->patch_layout();
  if (!layout) {
    std::fprintf(stderr, "the recording has no patch grid: not an image model\n");
    return;
  }
  OverlayView* overlay = w.overlay_view();
  w.state()->select(rec->num_layers() - 1, 0);
  w.show_view("overlay");
  settle(300);
  save(shoot(w), QStringLiteral("10-overlay"));
  // Hovering a patch shows its weight; clicking one makes it the query.
  ImageOverlay* single = overlay->overlay();
  const int r = layout->rows / 2, c = layout->cols / 3;
  hover(single, single->patch_center(r, c));
  settle(600);
  save(shoot(w, true), QStringLiteral("11-overlay-hover"));
  QToolTip::hideText();
  click(single, single->patch_center(r, c));
  overlay->set_smooth(true);
  settle(300);
  save(shoot(w), QStringLiteral("12-overlay-patch-smooth"));
  w.state()->set_query(-1);
  overlay->set_smooth(false);
  overlay->set_show_heads(true);
  settle(300);
  save(shoot(w), QStringLiteral("13-overlay-head-grid"));
  overlay->set_show_heads(false);
  w.show_view("rollout");
  settle(800);
  save(shoot(w), QStringLiteral("14-image-rollout"));
  shoot_flow(w, save, QStringLiteral("14-image-flow"));
  save(w.prediction_panel()->grab().toImage(), QStringLiteral("15-prediction-panel"));
  w.show_view("overlay");
  overlay->set_source(OverlayView::Source::Rollout);
  settle(600);
  save(shoot(w), QStringLiteral("16-overlay-rollout"));
  overlay->set_source(OverlayView::Source::Head);
  // Figures as exported.
  const struct {
    Renderable* view;
    const char* name;
    QSize size;
  } figures[] = {{overlay, "overlay", {1000, 860}}, {w.rollout_view(), "image-rollout", {1700, 820}}, {w.prediction_panel(), "prediction", {700, 360}}};
  for (const auto& f : figures) {
    const QString path = QDir(out).filePath(prefix + QStringLiteral("export-") + QString::fromLatin1(f.name) + QStringLiteral(".png"));
    if (w.export_renderable(*f.view, path, ImageOptions{f.size, 96})) std::printf("%s\n", qPrintable(path));
  }
  overlay->set_show_heads(true);
  const QString grid = QDir(out).filePath(prefix + QStringLiteral("export-overlay-heads.png"));
  if (w.export_renderable(*overlay, grid, ImageOptions{QSize(1200, 900), 96})) std::printf("%s\n", qPrintable(grid));
  overlay->set_show_heads(false);
}

// The query/key space: its button runs the text again with Q/K/V; then a query clicked (its
// lines to the keys it attends to), and a key hovered.
void qk_tour(MainWindow& w, const Save& save) {
  w.show_view("qk");
  auto* view = qobject_cast<QkScatterView*>(w.view("qk"));
  if (!view || !view->rerun_button()->isVisible()) return;
  view->rerun_button()->click();
  wait_idle(w);
  settle(300);
  const int n = w.state()->recording()->num_tokens();
  click(view->plot(), view->point_pixel(n - 1, false));
  settle(300);
  save(shoot(w), QStringLiteral("6-qk-query"));
  hover(view->plot(), view->point_pixel(n / 2, true));
  settle(600);
  save(shoot(w, true), QStringLiteral("6-qk-hover"));
  QToolTip::hideText();
}

// Teaching mode opened from the main window: it re-runs the text with Q/K/V and shows it.
void teaching_tour(MainWindow& w, const Save& save, const QString& out, const QString& prefix) {
  w.open_teaching();
  wait_idle(w);
  TeachingWindow* t = w.teaching();
  t->resize(1280, 900);
  const auto& rec = w.state()->recording();
  t->select(rec->num_layers() - 1, 0, rec->num_tokens() - 1);
  settle(500);
  save(shoot(*t), QStringLiteral("9-teaching-window"));
  // Every step of the live tab at once, as exported (a rotary model shows its extra steps).
  const QString figure = QDir(out).filePath(prefix + QStringLiteral("export-teaching-steps.png"));
  if (w.export_renderable(*t->live(), figure, ImageOptions{t->live()->render_size(), 96})) std::printf("%s\n", qPrintable(figure));
  // The guided examples, each run on its bundled model (skipped when it is not bundled).
  t->show_tab(TeachingWindow::GuidedTabIndex);
  GuidedTab* guided = t->guided();
  for (int i = 0; i < int(guided_examples().size()); ++i) {
    if (guided->model_dir(i).isEmpty()) continue;
    guided->show_example(i);
    for (int waited = 0; guided->busy() && waited < 60000; waited += 50) settle(50);
    settle(300);
    save(shoot(*t), QStringLiteral("9-guided-%1").arg(i + 1));
  }
  t->close();
  settle(100);
}

// The compare view: the text again with "cat" for "dog" (the same number of tokens), the run
// before it as B; the selected head's A, B and A − B, hovered, then every head's A − B.
void compare_tour(MainWindow& w, const Save& save, const QString& out, const QString& prefix, const QString& text) {
  QString other = text;
  other.replace(QStringLiteral("cat"), QStringLiteral("dog"));
  w.run_text(other);
  wait_idle(w);
  w.compare_with_previous();
  auto* view = static_cast<CompareView*>(w.view(QStringLiteral("compare")));
  const auto& rec = w.state()->recording();
  if (!view || !rec) return;
  w.state()->select(rec->num_layers() / 2, 1 % rec->num_heads());
  settle(400);
  save(shoot(w), QStringLiteral("22-compare"));
  MatrixPlot* diff = view->plot_diff();
  const int n = rec->num_tokens();
  hover(diff, diff->cell_center(n - 1, n / 2));
  settle(600);
  save(shoot(w, true), QStringLiteral("23-compare-hover"));
  QToolTip::hideText();
  view->set_mode(CompareView::Mode::EveryHead);
  for (int waited = 0; !w.state()->comparison()->result() && waited < 60000; waited += 50) settle(50);
  settle(300);
  save(shoot(w), QStringLiteral("24-compare-every-head"));
  for (auto mode : {CompareView::Mode::EveryHead, CompareView::Mode::Selection}) {
    view->set_mode(mode);
    const QString path = QDir(out).filePath(prefix + (mode == CompareView::Mode::Selection ? QStringLiteral("export-compare.png") : QStringLiteral("export-compare-every-head.png")));
    if (w.export_renderable(*view, path, ImageOptions{view->render_size(), 96})) std::printf("%s\n", qPrintable(path));
  }
}

// View ▸ Reading on a BERT and a text of several sentences: the heatmap as recorded (the
// [CLS]/[SEP] sink), with special tokens hidden, merged into words, into sentences, and the head
// view of the words; each once the read recording and its analysis have arrived.
void reading_tour(MainWindow& w, const Save& save, const QString& out, const QString& prefix, const QString& model) {
  w.choose_model(model);
  wait_idle(w);
  w.run_text(QStringLiteral("The tokenizer splits unbelievably long words. Attention sinks hide what a head reads! "
                            "Do sentences attend to sentences?"));
  wait_idle(w);
  const auto show = [&](const attn::Reading& reading, const char* view, const QString& name) {
    w.state()->set_reading(reading);
    const std::string note = attn::describe(reading);
    for (int waited = 0; waited < 30000; waited += 50) {
      const auto& rec = w.state()->recording();
      const auto& extra = rec ? rec->meta().extra : std::map<std::string, std::string>{};
      const bool read = reading.plain() ? rec == w.state()->original() : extra.count("reading") && extra.at("reading").rfind(note, 0) == 0;
      if (rec && read && w.state()->analysis()) break;
      settle(50);
    }
    w.state()->select(1, attn::kHeadMean);
    w.show_view(QString::fromLatin1(view));
    settle(400);
    save(shoot(w), name);
  };
  using attn::ReadingUnit;
  show({}, "heatmap", QStringLiteral("25-reading-tokens"));
  show({.hide_special = true}, "heatmap", QStringLiteral("26-reading-special-hidden"));
  show({.hide_special = true, .unit = ReadingUnit::Words}, "heatmap", QStringLiteral("27-reading-words"));
  show({.hide_special = true, .unit = ReadingUnit::Sentences}, "heatmap", QStringLiteral("28-reading-sentences"));
  show({.hide_special = true, .unit = ReadingUnit::Words}, "head", QStringLiteral("29-reading-words-head-view"));
  w.show_view(QStringLiteral("heatmap"));
  const QString path = QDir(out).filePath(prefix + QStringLiteral("export-reading-words.png"));
  if (w.export_view(path, ImageOptions{QSize(1400, 1100), 120})) std::printf("%s\n", qPrintable(path));
  w.state()->set_reading({});
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("AttnScopeScreenshots"));
  QApplication::setApplicationName(QStringLiteral("AttnScopeScreenshots"));
  QString model, text, pair, image, out = QStringLiteral("screenshots"), prefix, translator, reader;
  bool dark_only = false;
  const QStringList args = app.arguments();
  for (int i = 1; i < args.size(); ++i) {
    auto next = [&] { return i + 1 < args.size() ? args[++i] : QString(); };
    if (args[i] == QLatin1String("--model")) model = next();
    else if (args[i] == QLatin1String("--text")) text = next();
    else if (args[i] == QLatin1String("--pair")) pair = next();
    else if (args[i] == QLatin1String("--image")) image = next();
    else if (args[i] == QLatin1String("--out")) out = next();
    else if (args[i] == QLatin1String("--prefix")) prefix = next();
    else if (args[i] == QLatin1String("--translator")) translator = next();
    else if (args[i] == QLatin1String("--reader")) reader = next();
    else if (args[i] == QLatin1String("--dark")) dark_only = true;
  }
  if (model.isEmpty() || (text.isEmpty() == image.isEmpty())) {
    std::fprintf(stderr, "usage: attnscope_screenshots --model DIR (--text STR [--pair STR] | --image FILE) --out DIR [--prefix NAME] [--dark]\n");
    return 2;
  }
  QDir().mkpath(out);
  auto save = [&](const QImage& img, const QString& name) {
    const QString path = QDir(out).filePath(prefix + name + QStringLiteral(".png"));
    if (!img.save(path)) std::fprintf(stderr, "cannot write %s\n", qPrintable(path));
    else std::printf("%s\n", qPrintable(path));
  };

  MainWindow w;
  w.set_dark(dark_only);
  w.resize(1500, 950);
  w.show();
  int failures = 0;
  QObject::connect(&w, &MainWindow::error_shown, [&](const QString& m) {
    std::fprintf(stderr, "error shown: %s\n", qPrintable(m));
    ++failures;
  });
  w.choose_model(model);
  if (image.isEmpty()) w.run_text(text, pair);
  else w.run_image(image);
  wait_idle(w);
  if (!w.state()->recording()) return 1;
  if (!image.isEmpty()) {
    settle(300);
    image_tour(w, save, out, prefix);
    return failures ? 1 : 0;
  }
  const auto& rec = w.state()->recording();
  int layer = rec->num_layers() / 2;
  if (rec->meta().window(layer) == 0)  // a sliding-window model: a windowed layer, to show its band
    for (int l = rec->num_layers() - 1; l >= 0; --l)
      if (rec->meta().window(l) > 0) layer = l;
  w.state()->select(layer, 1 % rec->num_heads());
  settle(300);

  // Every text view's tab, from the view table: 1-model, 2-heatmap, …
  int shot = 0, rollout_shot = 0;
  for (const ViewSpec* spec : tab_views()) {
    if (spec->shows_for != ViewFor::Any || spec->missing) continue;  // the compare view: in compare_tour, with its B
    w.show_view(QString::fromLatin1(spec->name));
    settle(spec->needs_rollout ? 800 : 300);
    save(shoot(w), QStringLiteral("%1-%2").arg(++shot).arg(QString::fromLatin1(spec->name)));
    if (QLatin1String(spec->name) == QLatin1String("rollout")) rollout_shot = shot;
  }
  shoot_flow(w, save, QStringLiteral("%1-rollout-flow").arg(rollout_shot));  // beside 4-rollout
  qk_tour(w, save);
  // Hovering a heatmap cell: the tooltip with both tokens and the weight.
  w.show_view("heatmap");
  settle(200);
  MatrixPlot* plot = w.heatmap_view()->plot();
  const int n = rec->num_tokens();
  const QPoint cell = plot->cell_center(n - 1, n / 3);
  QCursor::setPos(plot->mapToGlobal(cell));
  QMouseEvent move(QEvent::MouseMove, QPointF(cell), QPointF(plot->mapToGlobal(cell)), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(plot, &move);
  settle(600);
  save(shoot(w, true), QStringLiteral("6-heatmap-hover"));
  QToolTip::hideText();
  // Zoomed in with the wheel's zoom (scaled ranges).
  plot->xAxis->scaleRange(0.4, plot->xAxis->range().center());
  plot->yAxis->scaleRange(0.4, plot->yAxis->range().center());
  plot->replot();
  settle(200);
  save(shoot(w), QStringLiteral("7-heatmap-zoomed"));
  plot->reset_zoom();
  if (!dark_only) {
    w.set_dark(true);
    settle(300);
    for (const char* name : {"heatmap", "model", "head"}) {
      w.show_view(QString::fromLatin1(name));
      settle(300);
      save(shoot(w), QStringLiteral("8-dark-%1").arg(QString::fromLatin1(name)));
    }
    w.set_dark(false);
  }
  if (!dark_only) teaching_tour(w, save, out, prefix);
  if (!dark_only) {  // a run above the memory budget: the dialog with its alternatives
    const QByteArray saved = qgetenv("ATTNSCOPE_MEMORY_BUDGET");
    qputenv("ATTNSCOPE_MEMORY_BUDGET", "345K");  // the bundled GPT-2 on the example: F16 or two layers fit
    w.raise();
    w.activateWindow();
    w.run_text(text, pair);
    wait_idle(w);
    settle(400);
    save(shoot(w, true), QStringLiteral("17-memory-dialog"));
    if (auto* box = w.findChild<QMessageBox*>(QStringLiteral("MemoryDialog"))) {
      box->button(QMessageBox::Cancel)->click();
      settle(200);
    }
    if (saved.isEmpty()) qunsetenv("ATTNSCOPE_MEMORY_BUDGET");
    else qputenv("ATTNSCOPE_MEMORY_BUDGET", saved);
  }
  // Figures as exported (the same code as File ▸ Export and `attnscope export`).
  shot = 0;
  for (const ViewSpec* spec : tab_views()) {
    if (spec->shows_for != ViewFor::Any || spec->missing) continue;  // the compare view: in compare_tour, with its B
    w.show_view(QString::fromLatin1(spec->name));
    settle(100);
    const QString name = QStringLiteral("%1-%2").arg(++shot).arg(QString::fromLatin1(spec->name));
    const QString path = QDir(out).filePath(prefix + QStringLiteral("export-") + name + QStringLiteral(".png"));
    if (w.export_view(path, ImageOptions{QSize(1400, 1100), 120})) std::printf("%s\n", qPrintable(path));
  }
  if (!dark_only) compare_tour(w, save, out, prefix, text);
  // A generation (language models): the timeline at a middle token, hovering its strip.
  if (ModelPanel* panel = w.findChild<ModelPanel*>(); panel && panel->generate_box()->isVisibleTo(&w)) {
    panel->set_text(text.section(QLatin1Char(' '), 0, 6));  // the first words, left open
    panel->set_generation(16, attn::Sampling{});
    w.generate();
    wait_idle(w);
    settle(300);
    if (auto* timeline = w.findChild<TimelineView*>(); timeline && timeline->steps() > 0) {
      timeline->set_step(timeline->steps() / 2);
      settle(200);
      save(shoot(w), QStringLiteral("18-timeline"));
      const QString path = QDir(out).filePath(prefix + QStringLiteral("export-timeline.png"));
      if (w.export_view(path, ImageOptions{QSize(1400, 700), 120})) std::printf("%s\n", qPrintable(path));
      // The sweep of that step: the token chosen there, on the tokens before it.
      w.sweep();
      wait_idle(w);
      settle(300);
      save(shoot(w), QStringLiteral("32-sweep-generation-step"));
    }
  }
  // Interventions: two heads switched off (crossed out in the model view, the prediction
  // before → after), then a sweep of every head into the Sweep tab.
  if (w.state()->recording() && w.state()->recording()->num_layers() >= 2) {
    w.state()->set_ablated({{0, 0}, {w.state()->recording()->meta().model_layer(1), 1 % w.state()->recording()->num_heads()}});
    w.run();
    wait_idle(w);
    w.show_view(QStringLiteral("model"));
    settle(300);
    save(shoot(w), QStringLiteral("30-ablation-before-after"));
    w.state()->set_ablated({});
    w.run();
    wait_idle(w);
    w.sweep();
    wait_idle(w);
    settle(300);
    save(shoot(w), QStringLiteral("31-sweep"));
  }
  // A translation: Run on an encoder-decoder translates (the model's own first example, when it
  // suggests one) and opens on the alignment; the head its attnscope.json names, when it does; then
  // the lines with a target token hovered, and the timeline.
  if (!translator.isEmpty()) {
    w.choose_model(translator);
    wait_idle(w);
    ModelPanel* panel = w.findChild<ModelPanel*>();
    if (panel && read_examples(translator).isEmpty()) panel->set_text(text.section(QLatin1Char(' '), 0, 9));
    if (panel) panel->set_generation(16, attn::Sampling{});
    w.run();
    wait_idle(w);
    settle(300);
    if (auto* align = w.findChild<AlignmentView*>(); align && w.state()->recording()) {
      const auto named = named_head(translator, QStringLiteral("alignment"));
      if (named) w.state()->select(named->first, named->second);
      else w.state()->select(w.state()->recording()->num_layers() - 1, attn::kHeadMean);
      w.show_view(QStringLiteral("alignment"));
      settle(300);
      save(shoot(w), QStringLiteral("19-alignment"));
      align->set_style(AlignmentView::Style::Lines);
      align->set_words(!named);  // the date translator's target is one word: its pieces show more
      align->set_hovered_target(2);
      settle(300);
      save(shoot(w), QStringLiteral("20-alignment-lines"));
      w.show_view(QStringLiteral("timeline"));
      if (auto* timeline = w.findChild<TimelineView*>()) timeline->set_step(2);
      settle(300);
      save(shoot(w), QStringLiteral("21-translation-timeline"));
    }
  }
  if (!reader.isEmpty()) reading_tour(w, save, out, prefix, reader);
  return failures ? 1 : 0;
}
