#include "teaching/teaching_plots.h"

#include <cmath>
#include <limits>

#include "views/matrix_ticks.h"
#include "views/plot_style.h"
#include "state/theme.h"

namespace attn::ui {

namespace {

const QColor kMaskedColor(205, 205, 205);

// Blue – white – red (the end points of Moreland's "cool to warm" map), for signed values.
QCPColorGradient signed_gradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(59, 76, 192));
  g.setColorStopAt(0.5, QColor(247, 247, 247));
  g.setColorStopAt(1.0, QColor(180, 4, 38));
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(kMaskedColor);
  return g;
}

// White to deep blue, for weights in [0, 1].
QCPColorGradient probability_gradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(255, 255, 255));
  g.setColorStopAt(0.5, QColor(107, 174, 214));
  g.setColorStopAt(1.0, QColor(8, 48, 107));
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(kMaskedColor);
  return g;
}

QMap<double, QString> all_ticks(const QStringList& labels) {
  QMap<double, QString> m;
  for (int i = 0; i < labels.size(); ++i) m.insert(i, labels[i]);
  return m;
}

}  // namespace

QString step_number(double v, int digits) {
  if (std::isnan(v) || v == -std::numeric_limits<double>::infinity()) return QStringLiteral("−∞");
  if (v == std::numeric_limits<double>::infinity()) return QStringLiteral("∞");
  QString s = QString::number(v, 'g', digits);
  if (s == QLatin1String("-0")) s = QStringLiteral("0");
  return s.replace(QLatin1Char('-'), QChar(0x2212));
}

void draw_plot(QCustomPlot* plot, QCPPainter& painter, const QSize& size) {
  // toPainter lays the plot out at `size` (QCustomPlot::draw updates the layout) and puts the
  // viewport back; the next replot lays it out for the widget again.
  plot->toPainter(&painter, size.width(), size.height());
  plot->replot(QCustomPlot::rpQueuedReplot);
}

// ---------------------------------------------------------------------------------------------

BarPlot::BarPlot(QWidget* parent) : QCustomPlot(parent) {
  const Theme& t = theme(false);
  bars_ = new QCPBars(xAxis, yAxis);
  highlight_bars_ = new QCPBars(xAxis, yAxis);
  masked_bars_ = new QCPBars(xAxis, yAxis);
  for (QCPBars* b : {bars_, highlight_bars_, masked_bars_}) b->setWidth(0.7);
  bars_->setPen(Qt::NoPen);
  bars_->setBrush(QColor(107, 174, 214));
  highlight_bars_->setPen(Qt::NoPen);
  highlight_bars_->setBrush(t.hover);
  masked_bars_->setPen(QPen(QColor(150, 150, 150), 0));
  masked_bars_->setBrush(QBrush(QColor(150, 150, 150), Qt::BDiagPattern));
  ticks_.reset(new QCPAxisTickerText);
  xAxis->setTicker(ticks_);
  xAxis->setSubTicks(false);
  xAxis->grid()->setVisible(false);
  xAxis->setTickLength(0, 3);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  xAxis->setTickLabelFont(small);
  yAxis->setTickLabelFont(small);
  yAxis->setLabelFont(small);
  style_plot(this, t);
  setMinimumHeight(150);
}

void BarPlot::set_bars(const Vector& values, const QStringList& labels, int highlight, bool unit_range) {
  const int n = int(values.size());
  QVector<double> keys, vals, hk, hv, mk, mv;
  double lo = 0, hi = 0;
  for (int j = 0; j < n; ++j)
    if (std::isfinite(values[j])) lo = std::min(lo, double(values[j])), hi = std::max(hi, double(values[j]));
  if (unit_range) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  const double pad = (hi - lo) * 0.12;
  const double axis_lo = lo < 0 ? lo - pad : 0, axis_hi = hi + pad * (value_labels_ && n <= 16 ? 1.6 : 1.0);
  shown_.clear();
  for (int j = 0; j < n; ++j) {
    const double v = values[j];
    if (!std::isfinite(v)) {
      mk << j;
      mv << (axis_lo < 0 ? axis_lo : axis_hi);  // a hatched bar across the whole plot
      continue;
    }
    shown_ << v;
    if (j == highlight) hk << j, hv << v;
    else keys << j, vals << v;
  }
  bars_->setData(keys, vals, true);
  highlight_bars_->setData(hk, hv, true);
  masked_bars_->setData(mk, mv, true);
  // Masked bars start at 0 and run to the edge: a negative axis gets them downwards.
  masked_bars_->setBaseValue(0);
  clearItems();
  if (value_labels_ && n <= 16) {
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.75);
    for (int j = 0; j < n; ++j) {
      auto* t = new QCPItemText(this);
      t->setFont(f);
      t->setColor(std::isfinite(values[j]) ? theme(false).foreground : QColor(120, 120, 120));
      t->setText(std::isfinite(values[j]) ? step_number(values[j], 3) : QStringLiteral("masked"));
      t->position->setType(QCPItemPosition::ptPlotCoords);
      const double v = std::isfinite(values[j]) ? values[j] : 0.0;
      t->position->setCoords(j, v);
      t->setPositionAlignment(v >= 0 ? (Qt::AlignHCenter | Qt::AlignBottom) : (Qt::AlignHCenter | Qt::AlignTop));
      t->setPadding(QMargins(0, 1, 0, 1));
      t->setClipToAxisRect(false);
    }
  }
  labels_ = labels;
  while (labels_.size() < n) labels_ << QString::number(labels_.size());
  labels_ = labels_.mid(0, n);
  xAxis->setTickLabelRotation(n > 6 ? -50 : 0);
  update_ticks();
  xAxis->setRange(-0.6, n - 0.4);
  yAxis->setRange(axis_lo, axis_hi);
  replot(QCustomPlot::rpQueuedReplot);
}

void BarPlot::add_reference(double value, const QString& label) {
  const QColor c(90, 90, 90);
  auto* line = new QCPItemStraightLine(this);
  line->point1->setCoords(-1, value);
  line->point2->setCoords(1, value);
  line->setPen(QPen(c, 1, Qt::DashLine));
  auto* text = new QCPItemText(this);
  text->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
  text->position->setTypeY(QCPItemPosition::ptPlotCoords);
  text->position->setCoords(1.0, value);
  text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
  text->setText(label);
  text->setColor(c);
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.8);
  text->setFont(f);
  replot(QCustomPlot::rpQueuedReplot);
}

void BarPlot::update_ticks() {
  // Every key is labelled while there are few; beyond that as many as fit the current width.
  const int n = int(labels_.size());
  const double label_px = QFontMetricsF(xAxis->tickLabelFont()).height() * 1.1;
  ticks_->setTicks(n <= 24 ? all_ticks(labels_) : thinned_ticks(labels_, -0.5, n - 0.5, std::max(100, axisRect()->width()), label_px));
}

void BarPlot::resizeEvent(QResizeEvent* event) {
  QCustomPlot::resizeEvent(event);
  updateLayout();
  update_ticks();
  replot(QCustomPlot::rpQueuedReplot);
}

QVector<double> BarPlot::bar_values() const {
  QVector<std::pair<double, double>> all;
  for (const QCPBars* b : {bars_, highlight_bars_})
    for (auto it = b->data()->constBegin(); it != b->data()->constEnd(); ++it) all.push_back({it->key, it->value});
  std::sort(all.begin(), all.end());
  QVector<double> out;
  for (const auto& [k, v] : all) out << v;
  return out;
}

QVector<int> BarPlot::masked_keys() const {
  QVector<int> out;
  for (auto it = masked_bars_->data()->constBegin(); it != masked_bars_->data()->constEnd(); ++it) out << int(it->key);
  return out;
}

// ---------------------------------------------------------------------------------------------

GridPlot::GridPlot(QWidget* parent) : QCustomPlot(parent) {
  map_ = new QCPColorMap(xAxis, yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(false);
  yAxis->setRangeReversed(true);
  x_ticks_.reset(new QCPAxisTickerText);
  y_ticks_.reset(new QCPAxisTickerText);
  xAxis->setTicker(x_ticks_);
  yAxis->setTicker(y_ticks_);
  for (QCPAxis* a : {xAxis, yAxis}) {
    a->setSubTicks(false);
    a->grid()->setVisible(false);
    a->setTickLength(0, 2);
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    a->setTickLabelFont(f);
  }
  style_plot(this, theme(false));
  setMinimumHeight(60);
}

void GridPlot::set_title(const QString& title) {
  if (!title_) {
    title_ = new QCPTextElement(this, QString(), QFont(font().family(), font().pointSize(), QFont::Bold));
    title_->setTextColor(theme(false).foreground);
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, title_);
  }
  title_->setText(title);
  replot(QCustomPlot::rpQueuedReplot);
}

void GridPlot::set_axis_labels(const QString& rows, const QString& cols) {
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.85);
  yAxis->setLabelFont(f);
  xAxis->setLabelFont(f);
  yAxis->setLabel(rows);
  xAxis->setLabel(cols);
}

void GridPlot::set_matrix(const RowMatrix& m, const QStringList& row_labels, const QStringList& col_labels, Style style,
                          const QVector<int>& separators) {
  matrix_ = m;
  style_ = style;
  const int rows = int(m.rows()), cols = int(m.cols());
  // QCustomPlot puts cell centres from the first to the last coordinate: one row or column
  // is stored twice at a quarter cell either side, like MatrixPlot does.
  const int kr = std::max(rows, 2), kc = std::max(cols, 2);
  auto range = [](int n) { return n == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, n - 1); };
  auto* data = new QCPColorMapData(kc, kr, range(cols), range(rows));
  double extent = 0;
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      if (std::isfinite(m(i, j))) extent = std::max(extent, double(std::abs(m(i, j))));
  for (int i = 0; i < kr; ++i)
    for (int j = 0; j < kc; ++j) {
      const double v = rows && cols ? m(std::min(i, rows - 1), std::min(j, cols - 1)) : 0.0;
      data->setCell(j, i, std::isfinite(v) ? v : std::numeric_limits<double>::quiet_NaN());
    }
  map_->setData(data, false);
  if (style == Style::Probability) {
    map_->setGradient(probability_gradient());
    map_->setDataRange(QCPRange(0, 1));
  } else {
    map_->setGradient(signed_gradient());
    if (extent <= 0) extent = 1;
    map_->setDataRange(QCPRange(-extent, extent));
  }
  x_ticks_->setTicks(all_ticks(col_labels));
  row_labels_ = row_labels;
  update_row_ticks();
  xAxis->setTickLabelRotation(cols > 6 && !col_labels.isEmpty() && col_labels[0].size() > 2 ? -50 : 0);
  xAxis->setRange(-0.5, cols - 0.5);
  yAxis->setRange(-0.5, rows - 0.5);
  xAxis->setTickLabels(!col_labels.isEmpty());
  clearItems();
  items_.clear();
  for (int s : separators) {
    auto* line = new QCPItemStraightLine(this);
    line->point1->setCoords(-1, s - 0.5);
    line->point2->setCoords(cols + 1, s - 0.5);
    line->setPen(QPen(theme(false).foreground, 2));
  }
  if (numbers_ && cols <= 8 && rows <= 14) {
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * 0.8);
    QCPColorGradient g = map_->gradient();
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        auto* t = new QCPItemText(this);
        t->setFont(f);
        t->position->setCoords(j, i);
        t->setText(step_number(m(i, j), 3));
        QRgb rgb = kMaskedColor.rgb();
        const double v = m(i, j);
        if (std::isfinite(v)) g.colorize(&v, map_->dataRange(), &rgb, 1);
        t->setColor(qGray(rgb) < 110 ? Qt::white : QColor(20, 20, 20));
        items_ << t;
      }
  }
  update_numbers();
  replot(QCustomPlot::rpQueuedReplot);
}

void GridPlot::update_numbers() {
  const int rows = int(matrix_.rows()), cols = int(matrix_.cols());
  if (!rows || !cols) return;
  const double cw = axisRect()->width() / double(cols), ch = axisRect()->height() / double(rows);
  // Before the first layout the rect is tiny: keep the numbers, they are checked again then.
  const bool laid_out = axisRect()->width() > 20;
  for (QCPAbstractItem* item : items_) item->setVisible(!laid_out || (cw >= 26 && ch >= 12));
}

void GridPlot::update_row_ticks() {
  // A long input's keys (40 rows in a panel 160 pixels high) would print their labels on top
  // of each other: keep every row while each gets a line of text, else thin them.
  const int n = int(row_labels_.size());
  const double label_px = QFontMetricsF(yAxis->tickLabelFont()).height() * 1.05;
  const double px = std::max(60, axisRect()->height());
  y_ticks_->setTicks(n * label_px <= px ? all_ticks(row_labels_) : thinned_ticks(row_labels_, -0.5, n - 0.5, px, label_px));
}

void GridPlot::resizeEvent(QResizeEvent* event) {
  QCustomPlot::resizeEvent(event);
  updateLayout();
  update_row_ticks();
  update_numbers();
  replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace attn::ui
