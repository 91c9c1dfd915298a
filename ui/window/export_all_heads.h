#pragma once
// "Export all heads…": every head of one layer (or of all layers) as heatmap images or raw
// matrices into a folder. Images need widgets, which live on the GUI thread, so the work is
// split into one head per event-loop turn (never processEvents) with a cancellable progress
// dialog.
#include <QObject>
#include <QSize>
#include <QTimer>
#include <memory>
#include <vector>

#include "colormap/colormap.h"
#include "qt_convert.h"
#include "analysis/recording_analysis.h"

class QProgressDialog;
class QWidget;

namespace attn::ui {

class ViewState;
class HeatmapView;

struct ExportAllOptions {
  QString dir;
  QString format = QStringLiteral("png");  // png | svg | pdf | csv | npy
  bool all_layers = true;
  int layer = 0;                           // when !all_layers
  QSize size{900, 800};
  double dpi = 96;
};

// Asks for the options; false when the user cancels. `current_label` is the current layer's
// number in the model (it differs from the index when only some layers were recorded).
bool ask_export_all_options(QWidget* parent, int layers, int current_layer, int current_label, ExportAllOptions* options);

class ExportAllHeads : public QObject {
  Q_OBJECT
 public:
  ExportAllHeads(RecordingPtr recording, AnalysisPtr analysis, const ColorSettings& colors, bool dark, ExportAllOptions options,
                 QWidget* dialog_parent);
  ~ExportAllHeads() override;
  void start();

 Q_SIGNALS:
  void finished(int files, const QString& dir);  // files are named layerLL_headHH.FORMAT,
                                                 // LL the layer's number in the model
  void failed(const QString& message);
  void cancelled();

 private:
  void step();

  std::unique_ptr<ViewState> state_;
  std::unique_ptr<HeatmapView> view_;
  ExportAllOptions options_;
  std::vector<std::pair<int, int>> todo_;
  size_t next_ = 0;
  QProgressDialog* progress_ = nullptr;
  QTimer timer_;
};

}  // namespace attn::ui
