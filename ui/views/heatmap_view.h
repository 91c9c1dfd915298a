#pragma once
// Heatmap view: the selected head (or the mean / max of a layer's heads) as a matrix plot.
// Hovering shows "query → key: weight"; clicking a cell selects its query token. A
// sliding-window layer's band (the keys each query may see) is outlined.
#include <QWidget>

#include "views/renderable.h"
#include "views/matrix_plot.h"

namespace attn::ui {

class ViewState;

class HeatmapView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit HeatmapView(ViewState* state, QWidget* parent = nullptr);

  MatrixPlot* plot() const { return plot_; }
  QString render_title() const override { return plot_->render_title(); }
  QSize render_size() const override { return {1000, 900}; }
  void render(QCPPainter& painter, const QSize& size) override { plot_->render(painter, size); }

 Q_SIGNALS:
  void hovered(const QString& text);

 private:
  void update_content();

  ViewState* state_;
  MatrixPlot* plot_;
};

// The content a MatrixPlot needs to show the state's current selection.
MatrixPlot::Content heatmap_content(const ViewState& state);

}  // namespace attn::ui
