#pragma once
// One attention map over a picture: the picture, the weights of one query (or the rollout)
// on the patch grid over it, a colour bar and a title. Hovering a patch tells its (r, c) and
// exact weight; clicking one reports it (the views make it the query). Used by the overlay
// view and the image part of the rollout view; draws itself for export at any size.
#include <QWidget>

#include "views/renderable.h"
#include "views/overlay_paint.h"

namespace attn::ui {

struct OverlayContent {
  PatchLayout layout;
  RowMatrix grid;                 // (layout.rows, layout.cols) weights
  PicturePtr picture;             // null or invalid: the weights alone
  bool input_resolution = false;  // the picture as the model saw it, else the original
  QString title;
  QString query_name;             // whose attention: "[CLS]", "p(3,4)"
  QString value_name = QStringLiteral("attention");
  OverlayStyle style;
  bool dark = false;
  bool empty() const { return layout.rows == 0; }
};

class ImageOverlay : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit ImageOverlay(QWidget* parent = nullptr);

  void set_content(OverlayContent content);
  const OverlayContent& content() const { return content_; }
  // Where the model input is drawn, where patch (r, c)'s centre is (widget pixels), and the
  // patch under a widget pixel.
  QRectF picture_rect() const;
  QPoint patch_center(int r, int c) const;
  bool patch_at(const QPointF& pos, int* r, int* c) const;
  QString hover_text(int r, int c) const;
  // The hovered patch, outlined lightly; (-1, -1) when none.
  int hover_r() const { return hover_r_; }

  QString render_title() const override { return content_.title; }
  QSize render_size() const override { return {1000, 860}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void patch_clicked(int r, int c);
  void hovered(const QString& text);  // empty when the mouse leaves the patches

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Frame {
    QRectF title, picture, bar;
  };
  Frame frame_for(const QSizeF& size, const QFont& font) const;
  void paint(QPainter& painter, const QSize& size, bool interactive) const;

  OverlayContent content_;
  int hover_r_ = -1, hover_c_ = -1;
};

// The picture an overlay shows, from its content (null when there is none).
QImage overlay_image(const OverlayContent& content);
// Width / height the picture is drawn at: the source region's own shape for the original
// picture (a 50 × 40 photo stays 5:4 though the model saw it squashed to a square), the
// model input's shape otherwise. The patch grid is stretched to match, as the model's
// resize stretched the picture.
double overlay_aspect(const OverlayContent& content);
// "[CLS] → patch (3, 4): 0.0123" with the exact weight.
QString patch_weight_text(const OverlayContent& content, int r, int c);

}  // namespace attn::ui
