#include "window/export_dialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

namespace attn::ui {

ExportDialog::ExportDialog(const QString& what, const QString& default_path, QSize default_size, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Export %1").arg(what));
  auto* form = new QFormLayout(this);
  path_ = new QLineEdit(default_path, this);
  auto* browse = new QPushButton(tr("Browse…"), this);
  auto* row = new QHBoxLayout;
  row->addWidget(path_, 1);
  row->addWidget(browse);
  form->addRow(tr("File"), row);
  width_ = new QSpinBox(this);
  height_ = new QSpinBox(this);
  for (QSpinBox* s : {width_, height_}) {
    s->setRange(64, 20000);
    s->setSuffix(tr(" px"));
  }
  width_->setValue(default_size.width());
  height_->setValue(default_size.height());
  auto* size = new QHBoxLayout;
  size->addWidget(width_);
  size->addWidget(new QLabel(QStringLiteral("×"), this));
  size->addWidget(height_);
  form->addRow(tr("Size"), size);
  dpi_ = new QSpinBox(this);
  dpi_->setRange(24, 2400);
  dpi_->setValue(96);
  dpi_->setToolTip(tr("PNG only: text and lines are drawn for this resolution, and it is stored in the file"));
  form->addRow(tr("DPI"), dpi_);
  hint_ = new QLabel(this);
  hint_->setWordWrap(true);
  hint_->setEnabled(false);
  form->addRow(hint_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
  connect(path_, &QLineEdit::textChanged, this, &ExportDialog::update_hint);
  connect(dpi_, &QSpinBox::valueChanged, this, &ExportDialog::update_hint);
  connect(width_, &QSpinBox::valueChanged, this, &ExportDialog::update_hint);
  update_hint();
}

void ExportDialog::browse() {
  const QString p = QFileDialog::getSaveFileName(this, windowTitle(), path_->text(),
                                                 tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
  if (!p.isEmpty()) path_->setText(p);
}

void ExportDialog::update_hint() {
  const auto format = image_format_for(path_->text());
  dpi_->setEnabled(format == ImageFormat::Png);
  if (!format) hint_->setText(tr("Name the file .png, .svg or .pdf."));
  else if (*format == ImageFormat::Png)
    hint_->setText(tr("%1 × %2 pixels; printed at %3 DPI that is %4 cm wide.")
                       .arg(width_->value()).arg(height_->value()).arg(dpi_->value())
                       .arg(width_->value() / double(dpi_->value()) * 2.54, 0, 'f', 1));
  else hint_->setText(tr("Vector output: the size is in 1/96 inch (%1 cm wide).").arg(width_->value() / 96.0 * 2.54, 0, 'f', 1));
}

QString ExportDialog::path() const { return path_->text(); }

ImageOptions ExportDialog::options() const { return ImageOptions{QSize(width_->value(), height_->value()), double(dpi_->value())}; }

}  // namespace attn::ui
