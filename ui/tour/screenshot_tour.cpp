// attnscope_screenshots: drives the real main window through every view and saves what a
// person would see (scripts/screenshots.sh runs it under xvfb-run). Not installed.
//   attnscope_screenshots --model DIR --text STR [--pair STR] --out DIR [--prefix NAME] [--dark]
#include <QApplication>
#include <QCursor>
#include <QDir>
#include <QEventLoop>
#include <QMouseEvent>
#include <QScreen>
#include <QTimer>
#include <QToolTip>
#include <QWindow>
#include <cstdio>

#include "export/render_export.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"
#include "views/rollout_view.h"
#include "window/main_window.h"
#include "window/view_state.h"

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

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("AttnScopeScreenshots"));
  QApplication::setApplicationName(QStringLiteral("AttnScopeScreenshots"));
  QString model, text, pair, out = QStringLiteral("screenshots"), prefix;
  bool dark_only = false;
  const QStringList args = app.arguments();
  for (int i = 1; i < args.size(); ++i) {
    auto next = [&] { return i + 1 < args.size() ? args[++i] : QString(); };
    if (args[i] == QLatin1String("--model")) model = next();
    else if (args[i] == QLatin1String("--text")) text = next();
    else if (args[i] == QLatin1String("--pair")) pair = next();
    else if (args[i] == QLatin1String("--out")) out = next();
    else if (args[i] == QLatin1String("--prefix")) prefix = next();
    else if (args[i] == QLatin1String("--dark")) dark_only = true;
  }
  if (model.isEmpty() || text.isEmpty()) {
    std::fprintf(stderr, "usage: attnscope_screenshots --model DIR --text STR [--pair STR] --out DIR [--prefix NAME] [--dark]\n");
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
  {
    QEventLoop loop;
    QObject::connect(w.runs(), &RunController::busy_changed, &loop, [&](bool busy) {
      if (!busy) loop.quit();
    });
    w.choose_model(model);
    w.run_text(text, pair);
    loop.exec();
  }
  if (!w.state()->recording()) return 1;
  const auto& rec = w.state()->recording();
  w.state()->select(rec->num_layers() / 2, 1 % rec->num_heads());
  settle(300);

  const struct {
    MainWindow::Tab tab;
    const char* name;
  } tabs[] = {{MainWindow::ModelTab, "1-model-view"},    {MainWindow::HeatmapTab, "2-heatmap"}, {MainWindow::HeadTab, "3-head-view"},
              {MainWindow::RolloutTab, "4-rollout"},     {MainWindow::StatsTab, "5-head-statistics"}};
  for (const auto& t : tabs) {
    w.show_tab(t.tab);
    settle(t.tab == MainWindow::RolloutTab ? 800 : 300);
    save(shoot(w), QString::fromLatin1(t.name));
  }
  // Hovering a heatmap cell: the tooltip with both tokens and the weight.
  w.show_tab(MainWindow::HeatmapTab);
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
    for (auto tab : {MainWindow::HeatmapTab, MainWindow::ModelTab, MainWindow::HeadTab}) {
      w.show_tab(tab);
      settle(300);
      save(shoot(w), QStringLiteral("8-dark-%1").arg(int(tab)));
    }
    w.set_dark(false);
  }
  // Figures as exported (the same code as File ▸ Export and `attnscope export`).
  for (const auto& t : tabs) {
    w.show_tab(t.tab);
    settle(100);
    const QString path = QDir(out).filePath(prefix + QStringLiteral("export-") + QString::fromLatin1(t.name) + QStringLiteral(".png"));
    if (w.export_view(path, ImageOptions{QSize(1400, 1100), 120})) std::printf("%s\n", qPrintable(path));
  }
  return failures ? 1 : 0;
}
