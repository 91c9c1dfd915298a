// MainWindow and the teaching window: opening it, feeding it recordings with Q/K/V, and the
// guided examples' requests to show their input and head here.
#include <QAction>

#include "teaching/teaching_window.h"
#include "window/main_window.h"
#include "window/model_panel.h"
#include "state/view_state.h"
#include "views/view_table.h"

namespace attn::ui {

bool MainWindow::teaching_open() const { return teaching_ && teaching_->isVisible(); }

void MainWindow::open_teaching() {
  if (!teaching_) {
    teaching_ = new TeachingWindow(this);
    teaching_->setWindowFlag(Qt::Window, true);  // its own window, closed with the main window
    teaching_->setObjectName(QStringLiteral("TeachingWindow"));
    connect(teaching_, &TeachingWindow::open_example_requested, this, [this](const QString& dir, const QString& text, const QString& pair) {
      choose_model(dir);
      run_text(text, pair);
    });
    connect(teaching_, &TeachingWindow::open_head_requested, this, [this](int layer, int head) { pending_head_ = {layer, head}; });
    connect(teaching_, &TeachingWindow::failed, this, &MainWindow::show_error);
  }
  teaching_->show();
  teaching_->raise();
  teaching_->activateWindow();
  const RecordingPtr& rec = state_->recording();
  if (rec && !rec->has_qkv() && !runs_->busy()) rerun_with_qkv();
  teaching_->set_recording(rec);  // without Q/K/V the live tab says they are on their way
}

bool MainWindow::wants_qkv() const {
  if (teaching_open()) return true;
  const QWidget* tab = tabs_->currentWidget();
  const ViewSpec* spec = tab ? find_view(tab->objectName()) : nullptr;
  return spec && spec->needs_qkv;
}

bool MainWindow::rerun_with_qkv() {
  const RecordingPtr& rec = state_->recording();
  if (!rec) return false;
  // Only a recording this window's model can make again: a fresh run, or one of the same model.
  const bool same_model = state_->source().isEmpty() || (runs_->model() && runs_->model()->name() == rec->meta().model);
  if (!same_model || panel_->model_dir().isEmpty()) return false;
  if (state_->is_image()) {
    const auto it = rec->meta().extra.find("image_path");
    if (it == rec->meta().extra.end()) return false;
    run_image(qstr(it->second));
  } else {
    run_text(qstr(rec->meta().text), qstr(rec->meta().pair));
  }
  return true;
}

void MainWindow::request_qkv() {
  if (runs_->busy()) return;  // the run under way records them (the tab asking is shown)
  if (!rerun_with_qkv())
    show_error(state_->recording() ? tr("This recording of %1 cannot be run again here: choose that model, then run its input again while "
                                        "the Query/key space tab is shown (runs record Q/K/V then)")
                                         .arg(qstr(state_->recording()->meta().model))
                                   : tr("Run a model first: the query/key space needs a recording"));
}

}  // namespace attn::ui
