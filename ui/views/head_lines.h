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
  // Paints the view into (0, 0, size); rows shrink to fit when `fit` (for export). Only what
  // falls inside `exposed` is drawn (a null rectangle: everything); lines are cut to it.
  void paint(QPainter& p, const QSize& size, bool fit, const QString& title, const QRectF& exposed = QRectF()) const;
  // The token under a widget position: side 0 = left (query), 1 = right (key).
  bool token_at(const QPointF& pos, int* token, int* side) const;
  // The focused token (hovered, else the pinned query): -1 when none.
  int focus_token() const;
  int focus_side() const;
  // How many lines the current picture draws (for tests): one per (head, query, key) shown.
  int visible_line_count() const;
  // Without a focused token at most this many lines are drawn, the strongest of the layer's
  // shown heads (a long input would otherwise draw hundreds of thousands of faint ones); a
  // focused token shows every line of 1 % or more.
  static constexpr int kLineBudget = 4000;
  // The weight below which lines are left out without a focused token (at least 1 %).
  float line_cutoff() const;

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
  struct Cutoff {  // line_cutoff() for one recording, layer and set of heads
    const void* recording = nullptr;
    int layer = -1;
    std::vector<bool> heads;
    float value = 0;
  };
  mutable Cutoff cutoff_;

  ViewState* state_;
  std::vector<bool> enabled_;
  int hover_token_ = -1, hover_side_ = 0;
};

}  // namespace attn::ui
