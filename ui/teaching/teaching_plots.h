#pragma once
// The small pictures of the teaching mode: bars over keys (dot products, scores, weights) and
// small matrices drawn as coloured cells with their numbers written in (q, K, V, outputs,
// toy scores). Both are QCustomPlots that can also draw themselves into an export.
#include <QStringList>
#include <QVector>
#include <qcustomplot.h>
#include <vector>

#include "model/tensor_types.h"

namespace attn::ui {

// A number as the teaching mode writes it: 4 significant digits, "−∞" for a masked score,
// a real minus sign.
QString step_number(double v, int digits = 4);

// Draws `plot` at `size` into `painter` (at the painter's origin), for figure exports.
void draw_plot(QCustomPlot* plot, QCPPainter& painter, const QSize& size);

// One bar per key. Masked keys (−∞) show as hatched grey bars reaching the bottom, labelled
// "masked". Bars can carry their value written above them (when there is room).
class BarPlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit BarPlot(QWidget* parent = nullptr);

  // `values`: one per key (−∞ = masked); `labels`: the keys' names; `highlight`: a key drawn
  // in the accent colour (-1: none). `unit_range`: the value axis is fixed to [0, 1].
  void set_bars(const Vector& values, const QStringList& labels, int highlight = -1, bool unit_range = false);
  void set_axis_label(const QString& label) { yAxis->setLabel(label); }
  void set_value_labels(bool on) { value_labels_ = on; }
  // A dashed horizontal line at `value` with a small label (after set_bars, which clears it).
  void add_reference(double value, const QString& label);

  // What is drawn, for tests: the bar heights by key (masked keys are absent).
  QVector<double> bar_values() const;
  QVector<int> masked_keys() const;

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void update_ticks();
  QCPBars* bars_;
  QCPBars* highlight_bars_;
  QCPBars* masked_bars_;
  QSharedPointer<QCPAxisTickerText> ticks_;
  QStringList labels_;
  bool value_labels_ = true;
  QVector<double> shown_;
};

// A small matrix as crisp cells, first row at the top, each cell's number written in when
// the cells are large enough. Signed values use a blue–white–red map centred on 0;
// probabilities a white-to-blue map on [0, 1]. NaN or −∞ cells are masked (grey, "−∞").
class GridPlot : public QCustomPlot {
  Q_OBJECT
 public:
  enum class Style { Signed, Probability };
  explicit GridPlot(QWidget* parent = nullptr);

  // `separators`: row indices above which a line is drawn (e.g. 1 to set a query row off
  // from the keys below it).
  void set_matrix(const RowMatrix& m, const QStringList& row_labels, const QStringList& col_labels, Style style,
                  const QVector<int>& separators = {});
  void set_title(const QString& title);
  void set_axis_labels(const QString& rows, const QString& cols);
  void set_numbers(bool on) { numbers_ = on; }
  const RowMatrix& matrix() const { return matrix_; }

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void update_numbers();
  void update_row_ticks();  // every row labelled while they fit; else as many as fit

  QCPColorMap* map_;
  QCPTextElement* title_ = nullptr;  // created with the first title
  QSharedPointer<QCPAxisTickerText> x_ticks_, y_ticks_;
  RowMatrix matrix_;
  QStringList row_labels_;
  Style style_ = Style::Signed;
  bool numbers_ = true;
  QList<QCPAbstractItem*> items_;
};

}  // namespace attn::ui
