#pragma once
// A QCustomPlot showing one matrix as crisp cells: rows (queries) down the left with the
// first at the top, columns (keys) along the bottom, token text as thinned, rotated tick
// labels, a colour scale, wheel zoom and drag pan (double-click resets), and a hover text
// with both tokens and the exact value. When there are more cells than pixels the visible
// window is max-pooled, so single strong cells stay visible; hover always reads the real
// value. Used by the heatmap and rollout views.
#include <memory>
#include <qcustomplot.h>

#include "colormap/colormap.h"
#include "colormap/value_mapper.h"
#include "views/renderable.h"
#include "model/tensor_types.h"

namespace attn::ui {

struct Theme;

// A non-owning, assignable view of a contiguous row-major (rows, cols) float matrix; or a lazy
// one (a head of a long half-precision recording), which reads single values where they are
// and makes the whole matrix only when map() is first called.
class MatrixRef {
 public:
  MatrixRef() = default;
  MatrixRef(const ConstMatrixMap& m) : data_(m.data()), rows_(m.rows()), cols_(m.cols()) {}
  // `block(r0, r1, c0, c1)` reads a window of cells at once (a frame's cells one by one).
  MatrixRef(Eigen::Index rows, Eigen::Index cols, std::function<float(Eigen::Index, Eigen::Index)> cell,
            std::function<ConstMatrixMap()> whole, std::function<RowMatrix(int, int, int, int)> block)
      : rows_(rows), cols_(cols), cell_(std::move(cell)), whole_(std::move(whole)), block_(std::move(block)) {}
  Eigen::Index rows() const { return rows_; }
  Eigen::Index cols() const { return cols_; }
  float operator()(Eigen::Index i, Eigen::Index j) const { return data_ || !cell_ ? data_[i * cols_ + j] : cell_(i, j); }
  ConstMatrixMap map() const {
    if (!data_ && whole_) data_ = whole_().data();
    return ConstMatrixMap(data_, rows_, cols_);
  }
  bool resolved() const { return data_ != nullptr; }
  // Rows [r0, r1) × cols [c0, c1), from the block reader when the matrix is not made yet.
  RowMatrix window(int r0, int r1, int c0, int c1) const {
    if (!data_ && block_) return block_(r0, r1, c0, c1);
    return map().block(r0, c0, r1 - r0, c1 - c0);
  }

 private:
  mutable const float* data_ = nullptr;
  Eigen::Index rows_ = 0, cols_ = 0;
  std::function<float(Eigen::Index, Eigen::Index)> cell_;
  std::function<ConstMatrixMap()> whole_;
  std::function<RowMatrix(int, int, int, int)> block_;
};

class MatrixPlot : public QCustomPlot, public Renderable {
  Q_OBJECT
 public:
  struct Content {
    MatrixRef matrix;                      // (rows, cols)
    std::shared_ptr<const void> owner;     // keeps the matrix's storage alive
    QStringList row_labels, col_labels;    // tick labels, one per row / column
    QStringList row_names, col_names;      // for hover text, one per row / column
    QString title;
    QString row_axis = QStringLiteral("query");
    QString col_axis = QStringLiteral("key");
    QString value_name = QStringLiteral("attention");
    ValueRange range;
    // A causal sliding window: query i sees keys i - window + 1 .. i, outlined as a band;
    // 0 = no band. For square matrices only.
    int window = 0;
    // The matrix max-pooled by these factors (a long recording's pyramid), level k from
    // pyramid_level(k): a zoomed-out frame reads the finest level no finer than the screen
    // instead of the whole matrix.
    std::vector<int> pyramid;
    std::function<RowMatrix(size_t level)> pyramid_level;
  };

  explicit MatrixPlot(QWidget* parent = nullptr);

  // Shows `content`; the zoom is kept when the shape is unchanged, else reset.
  void set_content(Content content);
  void clear_content();
  const Content& content() const { return content_; }
  void set_colors(const ColorSettings& colors);
  void set_theme(const Theme& theme);
  void reset_zoom();

  QCPColorMap* color_map() const { return map_; }
  QCPColorScale* color_scale() const { return scale_; }
  int pool_factor() const { return factor_; }
  // The value drawn where (row, col) is: the matrix value, or its pooled block's maximum.
  double shown_value(int row, int col) const;
  QString hover_text(int row, int col) const;
  // The outline of the sliding-window band in cell coordinates (x: column, y: row; cells
  // centred on whole numbers), closed; empty without a window.
  QPolygonF band_polygon() const;
  bool band_shown() const;
  // The widget pixel at the centre of cell (row, col), and the cell under a pixel.
  QPoint cell_center(int row, int col) const;
  bool cell_at(const QPointF& pixel, int* row, int* col) const;

  QString render_title() const override { return content_.title; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void hovered(int row, int col, const QString& text);  // (-1, -1, "") when the mouse leaves
  void cell_clicked(int row, int col);

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;

 private:
  void on_range_changed();
  void refresh(bool force_data);
  void clamp_ranges();
  void update_ticks();
  void update_data(bool force);
  void apply_colors();
  void update_band();

  // The pooled block maxima of rows [r0, r1) × cols [c0, c1) by `factor`, from the coarsest
  // pyramid level that divides it (update_data rounds the factor to one), else from the matrix.
  RowMatrix pooled(int r0, int r1, int c0, int c1, int factor);

  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  std::vector<RowMatrix> levels_;  // the pyramid levels read so far (empty matrices: not yet)
  QCPTextElement* title_ = nullptr;
  QCPCurve* band_halo_ = nullptr;  // the band's outline, drawn twice: a dark halo under a light line
  QCPCurve* band_ = nullptr;
  QSharedPointer<QCPAxisTickerText> x_ticks_, y_ticks_;
  Content content_;
  ColorSettings colors_;
  int factor_ = 1;
  int data_r0_ = 0, data_r1_ = 0, data_c0_ = 0, data_c1_ = 0;  // token window the data covers
  bool refreshing_ = false;
  bool rendering_ = false;  // inside render(): size the data for the export
};

}  // namespace attn::ui
