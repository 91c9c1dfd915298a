// MainWindow's menus and the file dialogs behind them.
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QShortcut>
#include <QStatusBar>
#include <QTabWidget>

#include "state/view_state.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"
#include "views/prediction_panel.h"
#include "views/rollout_view.h"
#include "views/view_table.h"
#include "window/export_all_heads.h"
#include "window/export_dialog.h"
#include "window/main_window.h"
#include "window/model_panel.h"

namespace attn::ui {

// Ctrl+1 … Ctrl+9 for the first nine tabs in table order (Ctrl+0 resets the zoom); none for the others.
static QKeySequence tab_shortcut(size_t index) {
  return index < 9 ? QKeySequence(QStringLiteral("Ctrl+%1").arg(index + 1)) : QKeySequence();
}

void MainWindow::build_menus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &model folder…"), QKeySequence(tr("Ctrl+Shift+O")), this, &MainWindow::ask_open_model);
  recent_menu_ = file->addMenu(tr("Recent models"));
  file->addAction(tr("Open &image…"), QKeySequence(tr("Ctrl+I")), this, &MainWindow::ask_open_picture);
  file->addSeparator();
  file->addAction(tr("&Open recording…"), QKeySequence::Open, this, &MainWindow::ask_open_recording);
  file->addAction(tr("&Save recording…"), QKeySequence::Save, this, &MainWindow::ask_save_recording);
  file->addAction(tr("Compare with recording…"), this, &MainWindow::ask_compare_recording)
      ->setStatusTip(tr("Show the current recording (A) beside another (B) and their difference A − B"));
  file->addAction(tr("Compare with previous run"), this, &MainWindow::compare_with_previous)
      ->setStatusTip(tr("B is the recording shown before the current one"));
  file->addSeparator();
  file->addAction(tr("&Export view as image…"), QKeySequence(tr("Ctrl+E")), this, &MainWindow::ask_export_view);
  file->addAction(tr("Export matrix as CSV / NPY…"), this, &MainWindow::ask_export_matrix);
  file->addAction(tr("Export recording as NPY (one file per layer)…"), this, &MainWindow::ask_export_recording_npy);
  file->addAction(tr("Export all heads…"), this, &MainWindow::ask_export_all_heads);
  file->addAction(tr("Export prediction as image…"), this, [this] { ask_export(prediction_panel_, tr("prediction")); });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  QAction* run_action = run->addAction(tr("&Run"), this, &MainWindow::run);
  run_action->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
  run_action->setShortcutContext(Qt::WindowShortcut);
  QAction* generate_action = run->addAction(tr("&Generate"), this, &MainWindow::generate);
  generate_action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
  generate_action->setStatusTip(tr("Continue the text with the chosen language model and step through it in the Timeline"));
  cancel_action_ = run->addAction(tr("&Cancel"), this, &MainWindow::cancel);
  cancel_action_->setShortcut(QKeySequence(Qt::Key_Escape));
  cancel_action_->setEnabled(false);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  const auto views = tab_views();
  for (size_t i = 0; i < views.size(); ++i) {
    const QString name = QString::fromLatin1(views[i]->name);
    const QString title = view_menu_title(*views[i]);
    view->addAction(title, tab_shortcut(i), this, [this, name] { show_view(name); });
  }
  view->addSeparator();
  build_reading_menu(view);
  view->addAction(tr("Reset zoom"), QKeySequence(tr("Ctrl+0")), this, [this] {
    heatmap_view()->plot()->reset_zoom();
    rollout_view()->plot()->reset_zoom();
  });
  teaching_action_ = view->addAction(tr("&Teaching mode…"), QKeySequence(tr("Ctrl+T")), this, &MainWindow::open_teaching);
  teaching_action_->setToolTip(tr("Attention step by step: Q·Kᵀ, scaling, mask, softmax, ·V"));
  dark_action_ = view->addAction(tr("&Dark theme"));
  dark_action_->setCheckable(true);
  dark_action_->setChecked(state_->dark());
  connect(dark_action_, &QAction::toggled, this, &MainWindow::set_dark);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("Keyboard shortcuts"), this, &MainWindow::show_shortcuts);
  help->addAction(tr("About AttnScope"), this, &MainWindow::show_about);
}

QString MainWindow::suggested_name(const QString& suffix) const {
  QString base = QStringLiteral("attention");
  if (const auto& rec = state_->recording()) {
    base = qstr(rec->meta().model);
    if (tabs_->currentWidget() == heatmap_view()) base += QStringLiteral("-L%1-%2").arg(rec->meta().model_layer(state_->layer())).arg(state_->head() >= 0 ? QStringLiteral("H%1").arg(state_->head()) : head_name(state_->head()).section(' ', 0, 0));
    else base += QLatin1Char('-') + QString::fromLatin1(tab_views()[size_t(tabs_->currentIndex())]->name);
  }
  const QString dir = last_dir_.isEmpty() ? QDir::homePath() : last_dir_;
  return QDir(dir).filePath(base + suffix);
}

void MainWindow::ask_open_model() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"), last_dir_);
  if (dir.isEmpty()) return;
  last_dir_ = QFileInfo(dir).absolutePath();
  choose_model(dir);
}

void MainWindow::ask_open_recording() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open recording"), last_dir_, tr("AttnScope recordings (*.safetensors);;All files (*)"));
  if (!path.isEmpty()) open_recording(path);
}

void MainWindow::ask_compare_recording() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Compare with recording (B)"), last_dir_, tr("AttnScope recordings (*.safetensors);;All files (*)"));
  if (!path.isEmpty()) compare_with_recording(path);
}

void MainWindow::ask_save_recording() {
  if (!state_->recording()) {
    show_error(tr("Nothing to save yet: run a model first"));
    return;
  }
  QString suggestion = suggested_name(QStringLiteral(".safetensors"));
  suggestion = QFileInfo(suggestion).absolutePath() + QStringLiteral("/") + qstr(state_->recording()->meta().model) + QStringLiteral("-recording.safetensors");
  const QString path = QFileDialog::getSaveFileName(this, tr("Save recording"), suggestion, tr("AttnScope recordings (*.safetensors)"));
  if (path.isEmpty()) return;
  last_dir_ = QFileInfo(path).absolutePath();
  save_recording(path);
}

void MainWindow::ask_export_view() { ask_export(current_renderable(), tabs_->tabText(tabs_->currentIndex())); }

void MainWindow::ask_export(Renderable* view, const QString& what) {
  if (!state_->recording()) {
    show_error(tr("Nothing to export yet: run a model or open a recording"));
    return;
  }
  QString suggestion = suggested_name(QStringLiteral(".png"));
  if (view == prediction_panel_) suggestion = QFileInfo(suggestion).absolutePath() + QStringLiteral("/") + qstr(state_->recording()->meta().model) + QStringLiteral("-prediction.png");
  ExportDialog dialog(what, suggestion, view->render_size(), this);
  if (dialog.exec() != QDialog::Accepted) return;
  last_dir_ = QFileInfo(dialog.path()).absolutePath();
  export_renderable(*view, dialog.path(), dialog.options());
}

void MainWindow::ask_open_picture() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a picture"), last_dir_, tr("Pictures (*.png *.jpg *.jpeg *.bmp);;All files (*)"));
  if (!path.isEmpty()) open_picture(path);
}

void MainWindow::ask_export_matrix() {
  if (!state_->recording()) {
    show_error(tr("Nothing to export yet: run a model or open a recording"));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(this, tr("Export the current matrix"), suggested_name(QStringLiteral(".csv")),
                                                    tr("CSV with token labels (*.csv);;NumPy array (*.npy)"));
  if (path.isEmpty()) return;
  last_dir_ = QFileInfo(path).absolutePath();
  export_matrix(path);
}

void MainWindow::ask_export_recording_npy() {
  if (!state_->recording()) {
    show_error(tr("Nothing to export yet: run a model or open a recording"));
    return;
  }
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for layer_NN.npy files"), last_dir_);
  if (!dir.isEmpty()) export_recording_npy(dir);
}

void MainWindow::ask_export_all_heads() {
  const auto& rec = state_->recording();
  if (!rec || !state_->analysis()) {
    show_error(tr("Nothing to export yet: run a model or open a recording"));
    return;
  }
  ExportAllOptions options;
  options.dir = QDir(last_dir_.isEmpty() ? QDir::homePath() : last_dir_).filePath(qstr(rec->meta().model) + QStringLiteral("-heads"));
  if (!ask_export_all_options(this, rec->num_layers(), state_->layer(), rec->meta().model_layer(state_->layer()), &options)) return;
  export_all_ = std::make_unique<ExportAllHeads>(rec, state_->analysis(), state_->colors(), state_->dark(), options, this);
  connect(export_all_.get(), &ExportAllHeads::finished, this,
          [this](int n, const QString& dir) { statusBar()->showMessage(tr("Exported %1 heads to %2").arg(n).arg(dir), 10000); });
  connect(export_all_.get(), &ExportAllHeads::failed, this, &MainWindow::show_error);
  export_all_->start();
}

void MainWindow::show_shortcuts() {
  QString views;
  const auto tabs = tab_views();
  for (size_t i = 0; i < tabs.size(); ++i)
    views += tr("<tr><td><b>%1</b></td><td>%2: %3</td></tr>").arg(tab_shortcut(i).toString(), tr(tabs[i]->title), tr(tabs[i]->help));
  QMessageBox::information(this, tr("Keyboard shortcuts"),
                           tr("<table>"
                              "<tr><td><b>Ctrl+Enter</b></td><td>Run the model on the text</td></tr>"
                              "<tr><td><b>Ctrl+G</b></td><td>Generate: continue the text (language models)</td></tr>"
                              "<tr><td><b>Esc</b></td><td>Cancel the run (while generating: stop, keeping the tokens so far)</td></tr>"
                              "<tr><td><b>← →</b></td><td>In the Timeline: previous / next generated token</td></tr>"
                              "<tr><td><b>← →</b></td><td>Previous / next head (into the neighbouring layer)</td></tr>"
                              "<tr><td><b>↑ ↓</b></td><td>Previous / next layer</td></tr>") +
                               views +
                               tr("<tr><td><b>Ctrl+I</b></td><td>Open a picture (image models); or drop one on the window</td></tr>"
                                  "<tr><td><b>Ctrl+T</b></td><td>Teaching mode: attention step by step</td></tr>"
                                  "<tr><td><b>Click a patch</b></td><td>Overlay: show what that patch attends to</td></tr>"
                                  "<tr><td><b>Wheel, drag</b></td><td>Zoom and pan a heatmap; double-click resets</td></tr>"
                                  "<tr><td><b>Ctrl+E</b></td><td>Export the view</td></tr>"
                                  "<tr><td><b>Ctrl+O / Ctrl+S</b></td><td>Open / save a recording</td></tr>"
                                  "</table>"));
}

void MainWindow::show_about() {
  QMessageBox::about(this, tr("About AttnScope"),
                     tr("<b>AttnScope</b><br>See what transformer models attend to.<br><br>"
                        "Colour maps viridis, magma and inferno by Stéfan van der Walt and Nathaniel Smith (CC0); "
                        "cividis by Jamie R. Nuñez, Christopher R. Anderton and Ryan S. Renslow. "
                        "Plots by QCustomPlot."));
}

}  // namespace attn::ui
