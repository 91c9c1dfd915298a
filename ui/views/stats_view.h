#pragma once
// Head statistics view: one statistic (entropy, mean attention distance, special-token share,
// previous-token share, self share) for every layer × head, as points over the layers with
// one colour per head (the head view's colours). Clicking a point opens that head.
#include <QWidget>

#include "views/renderable.h"

class QComboBox;
class QCustomPlot;
class QCPGraph;

namespace attn::ui {

class ViewState;

class StatsView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum class Metric { Entropy, MeanDistance, SpecialShare, PreviousShare, SelfShare, FirstShare };

  explicit StatsView(ViewState* state, QWidget* parent = nullptr);

  void set_metric(Metric metric);
  Metric metric() const { return metric_; }
  QCustomPlot* plot() const { return plot_; }
  // The plotted value of (layer, head) for the current metric, and where its point is drawn.
  double value(int layer, int head) const;
  QPoint point_pixel(int layer, int head) const;

  QString render_title() const override;
  QSize render_size() const override { return {1100, 700}; }
  void render(QCPPainter& painter, const QSize& size) override;

  static QString metric_name(Metric metric);

 Q_SIGNALS:
  void head_activated(int layer, int head);

 private:
  void rebuild();
  void update_selection_marker();
  bool nearest_point(const QPointF& pixel, int* layer, int* head) const;
  double x_of(int layer, int head) const;

  ViewState* state_;
  QComboBox* metric_box_;
  QCustomPlot* plot_;
  QCPGraph* marker_ = nullptr;
  Metric metric_ = Metric::Entropy;
};

}  // namespace attn::ui
