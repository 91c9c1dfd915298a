#include "teaching/step_panel.h"

#include <QFontDatabase>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <qcustomplot.h>

#include "teaching/teaching_plots.h"

namespace attn::ui {

StepPanel::StepPanel(const QString& heading, QCustomPlot* plot, QWidget* parent)
    : QFrame(parent), heading_(new QLabel(this)), caption_(new QLabel(this)), numbers_(new QLabel(this)), plot_(plot) {
  setFrameShape(QFrame::StyledPanel);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 6, 8, 6);
  layout->setSpacing(4);
  QFont bold = heading_->font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() * 1.1);
  heading_->setFont(bold);
  caption_->setWordWrap(true);
  numbers_->setWordWrap(true);
  numbers_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
  mono.setPointSizeF(std::max(7.0, heading_->font().pointSizeF() * 0.9));
  numbers_->setFont(mono);
  layout->addWidget(heading_);
  layout->addWidget(caption_);
  if (plot_) {
    plot_->setParent(this);
    layout->addWidget(plot_, 1);
  }
  layout->addWidget(numbers_);
  set_heading(heading);
}

void StepPanel::set_heading(const QString& heading) { heading_->setText(heading); }
void StepPanel::set_caption(const QString& caption) { caption_->setText(caption); }
void StepPanel::set_numbers(const QString& numbers) {
  numbers_->setText(numbers);
  numbers_->setVisible(!numbers.isEmpty());
}
QString StepPanel::heading() const { return heading_->text(); }
QString StepPanel::caption() const { return caption_->text(); }
QString StepPanel::numbers() const { return numbers_->text(); }

std::function<void(QCPPainter&, const QSize&)> plot_drawer(QCustomPlot* plot) {
  return [plot](QCPPainter& p, const QSize& size) { draw_plot(plot, p, size); };
}

FigureCell figure_cell(const StepPanel& panel) {
  FigureCell c;
  c.heading = panel.heading();
  c.caption = panel.caption();
  c.numbers = panel.numbers();
  if (panel.plot()) c.draw = plot_drawer(panel.plot());
  return c;
}

namespace {

QFont pixel_font(int px, bool bold = false, bool mono = false) {
  QFont f = mono ? QFontDatabase::systemFont(QFontDatabase::FixedFont) : QFont();
  f.setPixelSize(px);
  f.setBold(bold);
  return f;
}

// Draws wrapped text at the top of `rect`; returns the height used (at most `max_lines` lines).
int draw_text(QPainter& p, const QRect& rect, const QString& text, const QFont& font, const QColor& color, int max_lines) {
  if (text.isEmpty()) return 0;
  const QFontMetrics fm(font);
  const int h = std::min(fm.boundingRect(rect, Qt::TextWordWrap, text).height(), fm.lineSpacing() * max_lines);
  p.setFont(font);
  p.setPen(color);
  p.save();
  p.setClipRect(QRect(rect.topLeft(), QSize(rect.width(), h)));
  p.drawText(QRect(rect.topLeft(), QSize(rect.width(), h + fm.lineSpacing())), Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop, text);
  p.restore();
  return h;
}

}  // namespace

void draw_figure(QCPPainter& painter, const QSize& size, const QString& title, const QList<FigureCell>& cells, int columns,
                 const QString& note) {
  painter.fillRect(QRect(QPoint(0, 0), size), Qt::white);
  const QColor fg(30, 30, 30), muted(90, 90, 90);
  const int margin = 14;
  int top = margin + draw_text(painter, QRect(margin, margin, size.width() - 2 * margin, 40), title, pixel_font(18, true), fg, 2) + 8;
  columns = std::max(1, columns);
  const int rows = int((cells.size() + columns - 1) / columns);
  if (rows == 0) return;
  QVector<double> weights(rows, 0.0);
  for (int k = 0; k < cells.size(); ++k) weights[k / columns] = std::max(weights[k / columns], cells[k].weight);
  double total = 0;
  for (double w : weights) total += w;
  const int gap = 10;
  int note_h = 0;
  if (!note.isEmpty()) {
    const QFont f = pixel_font(12);
    note_h = std::min(QFontMetrics(f).boundingRect(QRect(0, 0, size.width() - 2 * margin, 1000), Qt::TextWordWrap, note).height(),
                      QFontMetrics(f).lineSpacing() * 6);
    draw_text(painter, QRect(margin, size.height() - margin - note_h, size.width() - 2 * margin, note_h), note, f, fg, 6);
    note_h += gap;
  }
  const int avail_h = size.height() - top - margin - note_h - gap * (rows - 1);
  const int cell_w = (size.width() - 2 * margin - gap * (columns - 1)) / columns;
  for (int r = 0; r < rows; ++r) {
    const int cell_h = int(avail_h * weights[r] / total);
    for (int c = 0; c < columns; ++c) {
      const int k = r * columns + c;
      if (k >= cells.size()) break;
      const FigureCell& cell = cells[k];
      const QRect rect(margin + c * (cell_w + gap), top, cell_w, cell_h);
      painter.setPen(QPen(QColor(210, 210, 210), 1));
      painter.setBrush(Qt::NoBrush);
      painter.drawRect(rect.adjusted(0, 0, -1, -1));
      const QRect inner = rect.adjusted(8, 6, -8, -6);
      int y = inner.top();
      y += draw_text(painter, QRect(inner.left(), y, inner.width(), 40), cell.heading, pixel_font(14, true), fg, 2) + 2;
      y += draw_text(painter, QRect(inner.left(), y, inner.width(), 80), cell.caption, pixel_font(11), muted, 3) + 4;
      const QFont mono = pixel_font(10, false, true);
      const int numbers_h = cell.numbers.isEmpty() ? 0 : std::min(QFontMetrics(mono).boundingRect(QRect(0, 0, inner.width(), 1000), Qt::TextWordWrap, cell.numbers).height(),
                                                                  QFontMetrics(mono).lineSpacing() * 3);
      const int plot_h = inner.bottom() - y - numbers_h - (numbers_h ? 4 : 0);
      if (cell.draw && plot_h > 30) {
        painter.save();
        painter.translate(inner.left(), y);
        cell.draw(painter, QSize(inner.width(), plot_h));
        painter.restore();
      }
      if (numbers_h) draw_text(painter, QRect(inner.left(), inner.bottom() - numbers_h, inner.width(), numbers_h), cell.numbers, mono, fg, 3);
    }
    top += cell_h + gap;
  }
}

}  // namespace attn::ui
