#pragma once
// One step of the teaching mode: a heading ("2 · Scale by 1/√d"), a one-sentence caption, a
// picture (any QCustomPlot) and the step's numbers. A list of panels also draws itself as
// one figure (title, panels in a grid) for PNG / SVG / PDF export.
#include <QFrame>
#include <QList>
#include <functional>

class QLabel;
class QCustomPlot;
class QCPPainter;

namespace attn::ui {

class StepPanel : public QFrame {
  Q_OBJECT
 public:
  // The panel owns `plot` (may be null: text only).
  StepPanel(const QString& heading, QCustomPlot* plot, QWidget* parent = nullptr);

  void set_heading(const QString& heading);
  void set_caption(const QString& caption);
  void set_numbers(const QString& numbers);  // plain text, shown in a fixed-width font
  QString heading() const;
  QString caption() const;
  QString numbers() const;
  QCustomPlot* plot() const { return plot_; }

 private:
  QLabel* heading_;
  QLabel* caption_;
  QLabel* numbers_;
  QCustomPlot* plot_;
};

// One cell of an exported figure.
struct FigureCell {
  QString heading;
  QString caption;
  QString numbers;
  std::function<void(QCPPainter&, const QSize&)> draw;  // the picture, at (0, 0, size)
  double weight = 1;  // relative height of the cell's row (cells of a row share the largest)
};

FigureCell figure_cell(const StepPanel& panel);
// A plot drawn into a figure cell.
std::function<void(QCPPainter&, const QSize&)> plot_drawer(QCustomPlot* plot);

// Draws `title`, the cells in `columns` columns and a `note` across the bottom (may be
// empty) into (0, 0, size) on white.
void draw_figure(QCPPainter& painter, const QSize& size, const QString& title, const QList<FigureCell>& cells, int columns,
                 const QString& note = {});

}  // namespace attn::ui
