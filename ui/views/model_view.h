#pragma once
// Model view: every layer × head as a thumbnail (rows: layers, columns: heads), like
// BertViz's model view but drawn from the analysis' max-pooled thumbnails (cached QImages,
// re-coloured only when the colours change). Clicking a thumbnail opens that head.
#include <QImage>
#include <QWidget>
#include <vector>

#include "views/renderable.h"

namespace attn::ui {

class ViewState;

class ModelView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit ModelView(ViewState* state, QWidget* parent = nullptr);

  int cell_count() const { return int(images_.size()); }
  // Where thumbnail (layer, head) is drawn in the widget.
  QRect cell_rect(int layer, int head) const;

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void head_activated(int layer, int head);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Grid {
    int layers = 0, heads = 0;
    double cell = 0, gap = 0;
    QPointF origin;  // top-left of cell (0, 0)
    double title_h = 0, label_w = 0, label_h = 0, legend_h = 0;
    QRectF cell_rect(int l, int h) const { return {origin.x() + h * (cell + gap), origin.y() + l * (cell + gap), cell, cell}; }
  };
  Grid grid_for(const QSize& size) const;
  bool hit(const QPointF& pos, int* layer, int* head) const;
  void paint(QPainter& p, const QSize& size, bool interactive) const;
  void rebuild_images();

  ViewState* state_;
  std::vector<QImage> images_;  // (L, H) coloured thumbnails, empty until the analysis is in
  int hover_layer_ = -1, hover_head_ = -1;
};

}  // namespace attn::ui
