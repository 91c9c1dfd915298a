#include "window/export_all_heads.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QProgressDialog>
#include <QPushButton>
#include <QSpinBox>

#include "record/raw_export.h"
#include "headless/render_export.h"
#include "util/error.h"
#include "views/heatmap_view.h"
#include "state/view_state.h"

namespace attn::ui {

bool ask_export_all_options(QWidget* parent, int layers, int current_layer, int current_label, ExportAllOptions* o) {
  QDialog d(parent);
  d.setWindowTitle(QObject::tr("Export all heads"));
  auto* form = new QFormLayout(&d);
  auto* dir = new QLineEdit(o->dir, &d);
  auto* browse = new QPushButton(QObject::tr("Browse…"), &d);
  auto* row = new QHBoxLayout;
  row->addWidget(dir, 1);
  row->addWidget(browse);
  form->addRow(QObject::tr("Folder"), row);
  auto* format = new QComboBox(&d);
  format->addItems({"png", "svg", "pdf", "csv", "npy"});
  format->setCurrentText(o->format);
  form->addRow(QObject::tr("Format"), format);
  auto* scope = new QComboBox(&d);
  scope->addItem(QObject::tr("every layer (%1)").arg(layers));
  scope->addItem(QObject::tr("layer %1 only").arg(current_label));
  form->addRow(QObject::tr("Heads of"), scope);
  auto* w = new QSpinBox(&d);
  auto* h = new QSpinBox(&d);
  for (QSpinBox* s : {w, h}) s->setRange(64, 20000);
  w->setValue(o->size.width());
  h->setValue(o->size.height());
  auto* size = new QHBoxLayout;
  size->addWidget(w);
  size->addWidget(h);
  form->addRow(QObject::tr("Image size"), size);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &d);
  form->addRow(buttons);
  QObject::connect(buttons, &QDialogButtonBox::accepted, &d, &QDialog::accept);
  QObject::connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
  QObject::connect(browse, &QPushButton::clicked, &d, [&] {
    const QString p = QFileDialog::getExistingDirectory(&d, QObject::tr("Export all heads to"), dir->text());
    if (!p.isEmpty()) dir->setText(p);
  });
  if (d.exec() != QDialog::Accepted) return false;
  o->dir = dir->text();
  o->format = format->currentText();
  o->all_layers = scope->currentIndex() == 0;
  o->layer = current_layer;
  o->size = QSize(w->value(), h->value());
  return true;
}

ExportAllHeads::ExportAllHeads(RecordingPtr recording, AnalysisPtr analysis, const ColorSettings& colors, bool dark, ExportAllOptions options,
                               QWidget* dialog_parent)
    : state_(std::make_unique<ViewState>()), options_(std::move(options)) {
  state_->set_dark(dark);
  state_->set_colors(colors);
  state_->set_recording(recording);
  state_->set_analysis(recording, analysis);
  view_ = std::make_unique<HeatmapView>(state_.get());
  const int L = recording->num_layers(), H = recording->num_heads();
  for (int l = 0; l < L; ++l)
    if (options_.all_layers || l == options_.layer)
      for (int h = 0; h < H; ++h) todo_.emplace_back(l, h);
  if (dialog_parent) {
    progress_ = new QProgressDialog(tr("Exporting heads…"), tr("Cancel"), 0, int(todo_.size()), dialog_parent);
    progress_->setWindowModality(Qt::WindowModal);
    progress_->setMinimumDuration(300);
    connect(progress_, &QProgressDialog::canceled, this, [this] {
      timer_.stop();
      Q_EMIT cancelled();
    });
  }
  timer_.setInterval(0);
  connect(&timer_, &QTimer::timeout, this, &ExportAllHeads::step);
}

ExportAllHeads::~ExportAllHeads() {
  if (progress_) progress_->deleteLater();
}

void ExportAllHeads::start() {
  if (!QDir().mkpath(options_.dir)) {
    Q_EMIT failed(tr("%1: cannot create the folder").arg(options_.dir));
    return;
  }
  timer_.start();
}

void ExportAllHeads::step() {
  if (next_ >= todo_.size()) {
    timer_.stop();
    if (progress_) progress_->setValue(int(todo_.size()));
    Q_EMIT finished(int(todo_.size()), options_.dir);
    return;
  }
  const auto [l, h] = todo_[next_++];
  state_->select(l, h);
  const QString file = QDir(options_.dir).filePath(QStringLiteral("layer%1_head%2.%3")
                                                        .arg(state_->recording()->meta().model_layer(l), 2, 10, QLatin1Char('0'))
                                                        .arg(h, 2, 10, QLatin1Char('0'))
                                                        .arg(options_.format));
  try {
    const ConstMatrixMap m = state_->current_matrix();
    if (options_.format == QLatin1String("npy")) {
      write_npy(fspath(file), m);
    } else if (options_.format == QLatin1String("csv")) {
      std::vector<std::string> labels;
      for (size_t i = 0; i < state_->recording()->meta().tokens.size(); ++i)
        labels.push_back(std::to_string(i) + ":" + state_->recording()->meta().tokens[i]);
      write_matrix_csv(fspath(file), m, labels, labels);
    } else {
      export_image(*view_, file, ImageOptions{options_.size, options_.dpi});
    }
  } catch (const std::exception& e) {
    timer_.stop();
    Q_EMIT failed(QString::fromStdString(e.what()));
    return;
  }
  if (progress_) progress_->setValue(int(next_));
}

}  // namespace attn::ui
