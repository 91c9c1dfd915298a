// MainWindow and pictures: running an image model on a picture file (from the panel, a drop,
// the command line or File ▸ Open image…).
#include <QDateTime>
#include <QFileInfo>

#include "state/bundled_models.h"
#include "window/main_window.h"
#include "window/model_panel.h"

namespace attn::ui {

void MainWindow::run_image(const QString& path) {
  if (panel_->model_dir().isEmpty()) {
    show_error(tr("Choose an image model first (Model ▸ Open model folder…)"));
    return;
  }
  if (panel_->image_path() != path) panel_->set_image(path);
  last_dir_ = QFileInfo(path).absolutePath();
  run_started_ = QDateTime::currentMSecsSinceEpoch();
  RunRequest req;
  req.model_dir = panel_->model_dir();
  req.image = path;
  req.record_qkv = wants_qkv();
  add_interventions(req);
  runs_->run(req);
}

void MainWindow::open_picture(const QString& path) {
  QString dir = panel_->model_dir();
  if (dir.isEmpty() || !folder_takes_images(dir)) {
    dir.clear();
    for (const BundledModel& m : find_bundled_models())
      if (folder_takes_images(m.dir)) {
        dir = m.dir;
        break;
      }
    if (dir.isEmpty()) {
      show_error(tr("%1 is a picture: choose an image model (ViT, DeiT) first (Model ▸ Open model folder…)").arg(QFileInfo(path).fileName()));
      return;
    }
    choose_model(dir);
  }
  run_image(path);
}

}  // namespace attn::ui
