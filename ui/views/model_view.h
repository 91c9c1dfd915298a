#pragma once
// Model view: every layer × head as a thumbnail (rows: layers, columns: heads), like
// BertViz's model view but drawn from the analysis' max-pooled thumbnails (cached QImages,
// re-coloured only when the colours change). Clicking a thumbnail opens that head.
// Ctrl+click or the context menu switches heads off for the next run (ViewState::ablated);
// switched-off heads are crossed out. Heads sharing a key/value head (grouped-query attention) stand on one band, headed
// "KV group g"; with sliding windows each row says its layer's window.
#include <QImage>
#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

#include "views/renderable.h"

namespace attn::ui {

class ViewState;

class ModelView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit ModelView(ViewState* state, QWidget* parent = nullptr);

  // Thumbnails to show instead of the analysis' (the compare view's differences): (L, H)
  // images in row order, the legend's colour table and text, the title and each cell's
  // hover text. nullopt: the analysis' again.
  struct Thumbs {
    std::vector<QImage> images;
    QVector<QRgb> legend;
    QString legend_text, title;
    std::function<QString(int layer, int head)> tooltip;
  };
  void set_thumbs(std::optional<Thumbs> thumbs);

  int cell_count() const { return int(images_.size()); }
  // Where thumbnail (layer, head) is drawn in the widget.
  QRect cell_rect(int layer, int head) const;
  // Grouped-query recordings: the bands behind the heads that share a key/value head, one per
  // group (none for plain multi-head attention), and where each is drawn.
  int kv_group_count() const;
  QRect kv_group_rect(int group) const;
  // The label left of a layer's row: "L3", with sliding windows "L3 · window 32" or "L3 · full".
  QString row_label(int layer) const;

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void head_activated(int layer, int head);
  // The context menu's "Run again with these heads changed".
  void rerun_requested();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void contextMenuEvent(QContextMenuEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Grid {
    int layers = 0, heads = 0;
    int group = 0;  // query heads per key/value head (0: no groups)
    double cell = 0, gap = 0, group_gap = 0;  // group_gap: extra space between KV groups
    QPointF origin;  // top-left of cell (0, 0)
    double title_h = 0, group_h = 0, label_w = 0, label_h = 0, legend_h = 0;
    double head_x(int h) const { return origin.x() + h * (cell + gap) + (group ? h / group * group_gap : 0); }
    QRectF cell_rect(int l, int h) const { return {head_x(h), origin.y() + l * (cell + gap), cell, cell}; }
    // The band behind the heads of KV group g, all layers.
    QRectF group_rect(int g) const;
  };
  Grid grid_for(const QSize& size) const;
  bool hit(const QPointF& pos, int* layer, int* head) const;
  QString cell_note(int layer, int head) const;  // " · KV group 1 (…) · sliding window 4", or ""
  void paint(QPainter& p, const QSize& size, bool interactive) const;
  void rebuild_images();

  ViewState* state_;
  std::vector<QImage> images_;  // (L, H) coloured thumbnails, empty until the analysis is in
  std::optional<Thumbs> thumbs_;  // shown instead of the analysis'
  int hover_layer_ = -1, hover_head_ = -1;
};

}  // namespace attn::ui
