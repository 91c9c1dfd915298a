#pragma once
// Sweep view: the latest ablation sweep (session/ablate.h, ViewState::sweep) as a layers ×
// heads map — how much the target (the log-probability of a token, or a logit difference)
// moved when that head alone (or that layer's heads together) was switched off, mean-ablated
// or patched. A diverging colour scale centred on 0 (red: the target fell, blue: it rose),
// each cell's number written in it, hover for the details; clicking a cell opens the head
// (when the shown recording holds its layer).
#include <QWidget>

#include "views/renderable.h"

namespace attn::ui {

class ViewState;

class SweepView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit SweepView(ViewState* state, QWidget* parent = nullptr);

  // Where cell (model layer, head) is drawn in the widget (head 0 for a sweep of layers).
  QRect cell_rect(int layer, int head) const;
  // The text a cell shows ("−2.31").
  QString cell_text(int layer, int head) const;

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  // A cell was clicked and its head selected (a layer's mean for a sweep of layers); `layer`
  // is the recording's.
  void head_activated(int layer, int head);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Grid {
    int rows = 0, cols = 0;
    double cell_w = 0, cell_h = 0, title_h = 0, label_w = 0, label_h = 0, legend_h = 0;
    QPointF origin;
    QRectF cell(int r, int c) const { return {origin.x() + c * cell_w, origin.y() + r * cell_h, cell_w - 2, cell_h - 2}; }
  };
  Grid grid_for(const QSize& size) const;
  bool hit(const QPointF& pos, int* layer, int* head) const;
  void paint(QPainter& p, const QSize& size, bool interactive) const;

  ViewState* state_;
  int hover_layer_ = -1, hover_head_ = -1;
};

// The diverging colour of `t` in [-1, 1]: red below 0, white at 0, blue above (ColorBrewer RdBu).
QColor diverging_color(double t);

}  // namespace attn::ui
