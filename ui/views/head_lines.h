#pragma once
// The drawing of the head view: each token on the left (queries) joined to the tokens on the
// right (keys) by a line per head whose opacity is the attention weight. Hovering a token
// shows only its lines; clicking a left token pins it (the state's query token).
#include <QWidget>
#include <vector>

namespace attn::ui {

class ViewState;

class HeadLines : public QWidget {
  Q_OBJECT
 public:
  explicit HeadLines(ViewState* state, QWidget* parent = nullptr);

  void set_heads(const std::vector<bool>& enabled);
  const std::vector<bool>& heads() const { return enabled_; }
  // Paints the view into (0, 0, size); rows shrink to fit when `fit` (for export).
  void paint(QPainter& p, const QSize& size, bool fit, const QString& title) const;
  // The token under a widget position: side 0 = left (query), 1 = right (key).
  bool token_at(const QPointF& pos, int* token, int* side) const;
  // The focused token (hovered, else the pinned query): -1 when none.
  int focus_token() const;
  int focus_side() const;
  // How many lines the current picture draws (for tests): one per (head, query, key) shown.
  int visible_line_count() const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Geometry {
    double top = 0, row_h = 0, left_x = 0, right_x = 0, col_w = 0;
    double y(int i) const { return top + (i + 0.5) * row_h; }
  };
  Geometry geometry(const QSize& size, bool fit, double title_h) const;
  template <class Fn>
  void for_each_line(int focus, int side, Fn&& fn) const;

  ViewState* state_;
  std::vector<bool> enabled_;
  int hover_token_ = -1, hover_side_ = 0;
};

}  // namespace attn::ui
