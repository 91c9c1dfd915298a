#pragma once
// Every head of a layer as a small overlay on the picture (and the mean of the heads last),
// in a grid: the selected one framed, hovering tells the head, patch and weight, clicking
// one selects it. Draws itself for export.
#include <QWidget>
#include <vector>

#include "views/renderable.h"
#include "views/image_overlay.h"

namespace attn::ui {

class OverlayGrid : public QWidget, public Renderable {
  Q_OBJECT
 public:
  struct Cell {
    QString name;  // "head 3", "mean"
    RowMatrix grid;
    ValueRange range;
  };
  // What every cell shares: layout, picture, colours, opacity, the marked query patch.
  struct Content {
    OverlayContent base;  // grid unused; title and value_name used for the figure
    std::vector<Cell> cells;
    int selected = -1;
  };

  explicit OverlayGrid(QWidget* parent = nullptr);

  void set_content(Content content);
  const Content& content() const { return content_; }
  // Where cell i's picture is drawn (widget pixels), and the cell and patch under a pixel.
  QRectF cell_picture(int index) const;
  bool hit(const QPointF& pos, int* index, int* r, int* c) const;

  QString render_title() const override { return content_.base.title; }
  QSize render_size() const override { return {1200, 900}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void cell_clicked(int index);
  void hovered(const QString& text);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Layout {
    QRectF title;
    std::vector<QRectF> labels, pictures;
    QRectF bar;
  };
  Layout layout_for(const QSizeF& size, const QFont& font) const;
  void paint(QPainter& painter, const QSize& size, bool interactive) const;

  Content content_;
  int hover_ = -1;
};

}  // namespace attn::ui
