#include "teaching/teaching_window.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include "teaching/guided_tab.h"
#include "teaching/live_tab.h"
#include "teaching/toy_tab.h"
#include "util/error.h"

namespace attn::ui {

TeachingWindow::TeachingWindow(QWidget* parent)
    : QWidget(parent), tabs_(new QTabWidget(this)), live_(new LiveTab), toy_(new ToyTab), guided_(new GuidedTab), status_(new QLabel(this)) {
  setWindowTitle(tr("AttnScope — teaching mode"));
  tabs_->addTab(live_, tr("Live: step by step"));
  tabs_->addTab(toy_, tr("Toy: try it yourself"));
  tabs_->addTab(guided_, tr("Guided examples"));
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(tabs_, 1);
  auto* bottom = new QHBoxLayout;
  status_->setWordWrap(true);
  bottom->addWidget(status_, 1);
  auto* export_button = new QPushButton(tr("Export picture…"), this);
  export_button->setToolTip(tr("Save this tab's picture as PNG, SVG or PDF"));
  bottom->addWidget(export_button);
  layout->addLayout(bottom);
  connect(export_button, &QPushButton::clicked, this, &TeachingWindow::ask_export);
  connect(guided_, &GuidedTab::open_example_requested, this, &TeachingWindow::open_example_requested);
  connect(guided_, &GuidedTab::open_head_requested, this, &TeachingWindow::open_head_requested);
  resize(1280, 900);
}

void TeachingWindow::set_recording(const RecordingPtr& recording) { live_->set_recording(recording); }
void TeachingWindow::select(int layer, int head, int query) { live_->select(layer, head, query); }
void TeachingWindow::show_tab(Tab tab) { tabs_->setCurrentIndex(int(tab)); }

Renderable* TeachingWindow::current_renderable() const {
  switch (tabs_->currentIndex()) {
    case ToyTabIndex: return toy_;
    case GuidedTabIndex: return guided_;
    default: return live_;
  }
}

bool TeachingWindow::export_current(const QString& path, const ImageOptions& options) {
  try {
    export_image(*current_renderable(), path, options);
    status_->setText(tr("Saved %1").arg(path));
    return true;
  } catch (const std::exception& e) {
    const QString message = QString::fromStdString(e.what());
    status_->setText(message);
    Q_EMIT failed(message);
    return false;
  }
}

void TeachingWindow::ask_export() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export picture"), QStringLiteral("attention-steps.png"),
                                                    tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
  if (!path.isEmpty()) export_current(path);
}

QString TeachingWindow::render_title() const { return current_renderable()->render_title(); }
QSize TeachingWindow::render_size() const { return current_renderable()->render_size(); }
void TeachingWindow::render(QCPPainter& painter, const QSize& size) { current_renderable()->render(painter, size); }

}  // namespace attn::ui
