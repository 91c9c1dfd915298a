#pragma once
// The drawing of the head view: each token on the left (queries) joined to the tokens on the
// right (keys) by a line per head whose opacity is the attention weight. Hovering a token
// shows only its lines; clicking a left token pins it (the state's query token).
#include <QImage>
#include <QWidget>
#include <list>
#include <map>
#include <vector>

#include "analysis/attention_lines.h"
#include "run/job_runner.h"

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
  // What the window shows of `exposed`: the widget's picture, drawn a tile (kTileHeight
  // rows) at a time and kept until the recording, layer, heads, focus, size or theme change,
  // so that scrolling copies pixels and draws only the tiles that come into view.
  void paint_cached(QPainter& p, const QRect& exposed);
  static constexpr int kTileHeight = 256;
  static constexpr int kMaxTiles = 32;
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
  // On screen, a layer's strongest lines are found in the background when its shown heads hold
  // this many weights or more (32 heads at N = 4,096 take about half a second); the picture
  // shows the tokens until they are in. Exports and the functions above wait for them.
  static constexpr double kBackgroundWeights = double(1 << 24);
  bool finding_lines() const { return finding_key_.recording != nullptr; }
  // Why the last search for the strongest lines failed (empty: it did not).
  const QString& lines_error() const { return lines_error_; }

 Q_SIGNALS:
  // The background search for the strongest lines started (true) or ended (false).
  void finding_changed(bool finding);

 public:

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
  // Where a tile's one-pixel lines are rasterised directly (line_raster.h): its image, the
  // widget row its top is at, and the device pixel ratio.
  struct RasterTarget {
    QImage* image = nullptr;
    double top = 0, dpr = 1;
  };
  void paint_lines(QPainter& p, const QSize& size, bool fit, const QString& title, const QRectF& exposed, const RasterTarget* raster) const;
  template <class Fn>
  void for_each_line(int focus, int side, bool wait, Fn&& fn) const;
  // The lines shown for a focus (or none: -1): a focused token's row or column, else the
  // layer's strongest; each kept for the recording, layer and heads it was read for. Without
  // `wait` a large layer's strongest lines are none until the background search delivers them.
  const std::vector<AttentionLine>& lines(int focus, int side, bool wait) const;
  const StrongestLines& strongest(bool wait = true) const;
  // The background search: started for what is shown; its lines (or its failure) kept for the
  // layer and heads it searched; given up when they are no longer wanted. Each change of
  // finding_lines() is announced by finding_changed, queued.
  void start_finding() const;
  void take_found(StrongestLines found, const QString& error);
  void cancel_finding() const;
  void announce_finding() const;
  struct LinesKey {
    const void* recording = nullptr;
    int layer = -1;
    std::vector<bool> heads;
    int focus = -2, side = 0;
    bool operator==(const LinesKey&) const = default;
  };
  LinesKey strongest_key() const;
  mutable JobRunner finder_;
  mutable LinesKey finding_key_;  // what the background search is for; empty when none runs
  mutable QString lines_error_;
  mutable LinesKey strongest_key_, focused_key_;
  mutable StrongestLines strongest_;
  mutable std::vector<AttentionLine> focused_;
  struct TileKey {
    const void* recording = nullptr;
    int layer = -1, focus = -2, side = 0;
    std::vector<bool> heads;
    QSize size;
    bool dark = false;
    double dpr = 0;
    bool operator==(const TileKey&) const = default;
  };
  TileKey tile_key_;
  std::map<int, QImage> tiles_;
  std::list<int> tile_use_;  // most recently used first
  ViewState* state_;
  std::vector<bool> enabled_;
  int hover_token_ = -1, hover_side_ = 0;
};

}  // namespace attn::ui
