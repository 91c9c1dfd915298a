#pragma once
// "Export view…": file (PNG, SVG or PDF by its suffix), size and DPI.
#include <QDialog>

#include "headless/render_export.h"

class QLineEdit;
class QSpinBox;
class QLabel;

namespace attn::ui {

class ExportDialog : public QDialog {
  Q_OBJECT
 public:
  ExportDialog(const QString& what, const QString& default_path, QSize default_size, QWidget* parent = nullptr);

  QString path() const;
  ImageOptions options() const;

 private:
  void browse();
  void update_hint();

  QLineEdit* path_;
  QSpinBox* width_;
  QSpinBox* height_;
  QSpinBox* dpi_;
  QLabel* hint_;
};

}  // namespace attn::ui
