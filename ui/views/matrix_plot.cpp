#include "views/matrix_plot.h"

#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "qt_convert.h"
#include "analysis/recording_analysis.h"
#include "views/matrix_ticks.h"
#include "views/plot_style.h"
#include "state/theme.h"

namespace attn::ui {

namespace {

// Whole matrices up to this many cells are kept at full resolution (no re-windowing on pan).
constexpr qint64 kFullResolutionCells = 1024 * 1024;

}  // namespace

MatrixPlot::MatrixPlot(QWidget* parent) : QCustomPlot(parent) {
  setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  axisRect()->setRangeZoomFactor(0.8);
  setMouseTracking(true);
  setFocusPolicy(Qt::ClickFocus);

  title_ = new QCPTextElement(this, QString(), QFont(font().family(), font().pointSize() + 2, QFont::Bold));
  plotLayout()->insertRow(0);
  plotLayout()->addElement(0, 0, title_);

  map_ = new QCPColorMap(xAxis, yAxis);
  map_->setInterpolate(false);
  map_->setTightBoundary(false);
  scale_ = new QCPColorScale(this);
  scale_->setType(QCPAxis::atRight);
  scale_->setBarWidth(14);
  plotLayout()->addElement(1, 1, scale_);
  map_->setColorScale(scale_);
  auto* group = new QCPMarginGroup(this);
  axisRect()->setMarginGroup(QCP::msTop | QCP::msBottom, group);
  scale_->setMarginGroup(QCP::msTop | QCP::msBottom, group);

  for (QCPCurve** curve : {&band_halo_, &band_}) {
    *curve = new QCPCurve(xAxis, yAxis);
    (*curve)->setSelectable(QCP::stNone);
    (*curve)->setVisible(false);
  }
  yAxis->setRangeReversed(true);
  x_ticks_.reset(new QCPAxisTickerText);
  y_ticks_.reset(new QCPAxisTickerText);
  xAxis->setTicker(x_ticks_);
  yAxis->setTicker(y_ticks_);
  xAxis->setTickLabelRotation(-90);
  xAxis->setSubTicks(false);
  yAxis->setSubTicks(false);
  xAxis->grid()->setVisible(false);
  yAxis->grid()->setVisible(false);
  xAxis->setTickLength(0, 3);
  yAxis->setTickLength(0, 3);
  xAxis2->setVisible(true);
  yAxis2->setVisible(true);
  xAxis2->setTicks(false);
  yAxis2->setTicks(false);

  connect(xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &MatrixPlot::on_range_changed);
  connect(yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &MatrixPlot::on_range_changed);
  connect(this, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable*, int, QMouseEvent* event) {
    int row, col;
    if (cell_at(event->position(), &row, &col)) Q_EMIT cell_clicked(row, col);
  });
  set_theme(theme(false));
  apply_colors();
}

void MatrixPlot::set_content(Content content) {
  const bool same_shape = content.matrix.rows() == content_.matrix.rows() && content.matrix.cols() == content_.matrix.cols();
  content_ = std::move(content);
  levels_.clear();
  title_->setText(content_.title);
  xAxis->setLabel(content_.col_axis);
  yAxis->setLabel(content_.row_axis);
  scale_->axis()->setLabel(content_.value_name);
  if (!same_shape) {
    refreshing_ = true;
    xAxis->setRange(-0.5, double(content_.matrix.cols()) - 0.5);
    yAxis->setRange(-0.5, double(content_.matrix.rows()) - 0.5);
    refreshing_ = false;
  }
  apply_colors();
  update_band();
  refresh(true);
  replot(QCustomPlot::rpQueuedReplot);
}

void MatrixPlot::clear_content() { set_content(Content{}); }

void MatrixPlot::set_colors(const ColorSettings& colors) {
  colors_ = colors;
  apply_colors();
  refresh(true);
  replot(QCustomPlot::rpQueuedReplot);
}

void MatrixPlot::set_theme(const Theme& t) {
  style_plot(this, t);
  band_halo_->setPen(QPen(t.band_halo, 3.5, Qt::SolidLine, Qt::SquareCap, Qt::MiterJoin));
  band_->setPen(QPen(t.band, 1.5, Qt::SolidLine, Qt::SquareCap, Qt::MiterJoin));
  replot(QCustomPlot::rpQueuedReplot);
}

void MatrixPlot::apply_colors() {
  map_->setGradient(make_gradient(colors_));
  const bool log = colors_.scaling == Scaling::Log;
  const ValueMapper mapper(colors_, content_.range);
  const QCPRange range(log ? mapper.log_floor() : mapper.range().lo, mapper.range().hi);
  scale_->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  map_->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (log) {
    QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
    scale_->axis()->setTicker(ticker);
    scale_->axis()->setNumberFormat(QStringLiteral("eb"));
    scale_->axis()->setNumberPrecision(0);
  } else {
    scale_->axis()->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    scale_->axis()->setNumberFormat(QStringLiteral("g"));
    scale_->axis()->setNumberPrecision(3);
  }
  map_->setDataRange(range);
  scale_->setDataRange(range);
}

void MatrixPlot::reset_zoom() {
  refreshing_ = true;
  xAxis->setRange(-0.5, double(content_.matrix.cols()) - 0.5);
  yAxis->setRange(-0.5, double(content_.matrix.rows()) - 0.5);
  refreshing_ = false;
  refresh(false);
  replot(QCustomPlot::rpQueuedReplot);
}

void MatrixPlot::on_range_changed() {
  if (refreshing_) return;
  refresh(false);
}

void MatrixPlot::refresh(bool force_data) {
  refreshing_ = true;
  clamp_ranges();
  update_ticks();
  update_data(force_data);
  refreshing_ = false;
}

void MatrixPlot::clamp_ranges() {
  auto clamp = [](QCPAxis* axis, int n) {
    if (n <= 0) return;
    const double lo = -0.5, hi = n - 0.5;
    QCPRange r = axis->range();
    double width = std::clamp(r.size(), std::min(2.0, hi - lo), hi - lo);
    double center = std::clamp(r.center(), lo + width / 2, hi - width / 2);
    const QCPRange want(center - width / 2, center + width / 2);
    if (std::abs(want.lower - r.lower) > 1e-9 || std::abs(want.upper - r.upper) > 1e-9) axis->setRange(want);
  };
  clamp(xAxis, int(content_.matrix.cols()));
  clamp(yAxis, int(content_.matrix.rows()));
}

void MatrixPlot::update_ticks() {
  const double label_px = QFontMetricsF(xAxis->tickLabelFont()).height() * 1.15;
  const QCPRange xr = xAxis->range(), yr = yAxis->range();
  x_ticks_->setTicks(thinned_ticks(content_.col_labels, xr.lower, xr.upper, axisRect()->width(), label_px));
  y_ticks_->setTicks(thinned_ticks(content_.row_labels, yr.lower, yr.upper, axisRect()->height(), label_px));
}

void MatrixPlot::update_data(bool force) {
  const int rows = int(content_.matrix.rows()), cols = int(content_.matrix.cols());
  if (rows == 0 || cols == 0) {
    map_->data()->clear();
    data_r0_ = data_r1_ = data_c0_ = data_c1_ = 0;
    return;
  }
  const QCPRange xr = xAxis->range(), yr = yAxis->range();
  int c0 = std::clamp(int(std::floor(xr.lower + 0.5)), 0, cols - 1), c1 = std::clamp(int(std::ceil(xr.upper + 0.5)), c0 + 1, cols);
  int r0 = std::clamp(int(std::floor(yr.lower + 0.5)), 0, rows - 1), r1 = std::clamp(int(std::ceil(yr.upper + 0.5)), r0 + 1, rows);
  // A hidden plot has no real size yet (its data is redone when shown): assume a large one.
  const double ratio = devicePixelRatioF(), least = isVisible() || rendering_ ? 16.0 : 1024.0;
  const double px_w = std::max(least, axisRect()->width() * ratio), px_h = std::max(least, axisRect()->height() * ratio);
  int factor = std::max(1, int(std::ceil(std::max((c1 - c0) / px_w, (r1 - r0) / px_h) - 1e-9)));
  // With a pyramid the factor becomes a multiple of the level read (a little coarser at most
  // by that level's factor, never finer than the screen). Between single cells and the first
  // level (2 or 3 tokens a pixel) the first level is shown, slightly coarser than the screen,
  // rather than reading the whole matrix of a long recording.
  if (!content_.pyramid.empty() && factor > 1 && !content_.matrix.resolved()) factor = std::max(factor, content_.pyramid[0]);
  for (auto k = content_.pyramid.size(); k-- > 0;)
    if (content_.pyramid[k] <= factor) {
      factor = (factor + content_.pyramid[k] - 1) / content_.pyramid[k] * content_.pyramid[k];
      break;
    }
  const bool full = factor == 1 && qint64(rows) * cols <= kFullResolutionCells;
  if (!force && factor == factor_ && c0 >= data_c0_ && c1 <= data_c1_ && r0 >= data_r0_ && r1 <= data_r1_) return;
  if (full) {
    c0 = r0 = 0, c1 = cols, r1 = rows;
  } else {  // the visible window plus half of it on each side, aligned to the pooling factor
    const int mc = (c1 - c0) / 2, mr = (r1 - r0) / 2;
    c0 = std::max(0, c0 - mc) / factor * factor, c1 = std::min(cols, c1 + mc);
    r0 = std::max(0, r0 - mr) / factor * factor, r1 = std::min(rows, r1 + mr);
  }
  factor_ = factor;
  data_r0_ = r0, data_r1_ = r1, data_c0_ = c0, data_c1_ = c1;

  const bool log = colors_.scaling == Scaling::Log;
  const double floor = ValueMapper(colors_, content_.range).log_floor();
  // The cells shown: pooled blocks, or the window's own values (read at once, not cell by cell).
  const RowMatrix cells = factor > 1 ? pooled(r0, r1, c0, c1, factor) : content_.matrix.window(r0, r1, c0, c1);
  const int nr = int(cells.rows()), nc = int(cells.cols());
  auto value = [&](int i, int j) -> double {
    const double v = cells(i, j);
    return log ? std::max(v, floor) : v;
  };
  // QCustomPlot places cell centres from the first to the last coordinate of the range; a
  // single cell would get no width, so it is stored twice at a quarter cell either side.
  const int kr = std::max(nr, 2), kc = std::max(nc, 2);
  auto axis_range = [factor](int first, int n) {
    const double c = first + (factor - 1) / 2.0;
    return n == 1 ? QCPRange(c - factor / 4.0, c + factor / 4.0) : QCPRange(c, c + double(n - 1) * factor);
  };
  auto* data = new QCPColorMapData(kc, kr, axis_range(c0, nc), axis_range(r0, nr));
  for (int i = 0; i < kr; ++i)
    for (int j = 0; j < kc; ++j) data->setCell(j, i, value(std::min(i, nr - 1), std::min(j, nc - 1)));
  map_->setData(data, false);
  apply_colors();
}

RowMatrix MatrixPlot::pooled(int r0, int r1, int c0, int c1, int factor) {
  for (auto k = content_.pyramid.size(); k-- > 0;) {
    const int f = content_.pyramid[k];
    if (factor % f != 0 || r0 % f != 0 || c0 % f != 0 || !content_.pyramid_level) continue;
    if (levels_.size() != content_.pyramid.size()) levels_.assign(content_.pyramid.size(), RowMatrix());
    if (levels_[k].size() == 0) levels_[k] = content_.pyramid_level(k);
    const RowMatrix& level = levels_[k];
    const int side = int(level.rows());
    // Level cell (i, j) holds the block maxima of rows i·f .. i·f + f - 1: pool the level's
    // cells that cover [r0, r1) × [c0, c1) by factor / f.
    return max_pool(level, r0 / f, std::min(side, (r1 + f - 1) / f), c0 / f, std::min(side, (c1 + f - 1) / f), factor / f);
  }
  return max_pool(content_.matrix.map(), r0, r1, c0, c1, factor);
}

QPolygonF MatrixPlot::band_polygon() const {
  const int n = int(content_.matrix.rows()), w = content_.window;
  if (w <= 0 || n == 0 || content_.matrix.cols() != n) return {};
  // Down the right edge (the diagonal: key i is the last a query i sees), then up the left
  // edge (key i - w + 1, or the first), as steps along the cell borders.
  QPolygonF p;
  for (int i = 0; i < n; ++i) p << QPointF(i + 0.5, i - 0.5) << QPointF(i + 0.5, i + 0.5);
  for (int i = n - 1; i >= 0; --i) {
    const double left = std::max(0, i - w + 1) - 0.5;
    p << QPointF(left, i + 0.5) << QPointF(left, i - 0.5);
  }
  p << p.front();
  return p;
}

bool MatrixPlot::band_shown() const { return band_->visible(); }

void MatrixPlot::update_band() {
  const QPolygonF outline = band_polygon();
  QVector<double> t, x, y;
  for (const QPointF& pt : outline) {
    t << t.size();
    x << pt.x();
    y << pt.y();
  }
  for (QCPCurve* curve : {band_halo_, band_}) {
    curve->setData(t, x, y, true);
    curve->setVisible(!outline.isEmpty());
  }
}

double MatrixPlot::shown_value(int row, int col) const { return map_->data()->data(double(col), double(row)); }

QString MatrixPlot::hover_text(int row, int col) const {
  if (row < 0 || col < 0 || row >= content_.matrix.rows() || col >= content_.matrix.cols()) return {};
  auto name = [](const QStringList& names, int i) { return i < names.size() ? names[i] : QString::number(i); };
  QString text = QStringLiteral("%1 → %2: %3")
                     .arg(name(content_.row_names, row), name(content_.col_names, col), format_weight(content_.matrix(row, col)));
  if (factor_ > 1)
    text += QStringLiteral("\n(zoomed out: each cell shows the max of %1×%1 tokens, here %2)").arg(factor_).arg(format_weight(shown_value(row, col)));
  return text;
}

QPoint MatrixPlot::cell_center(int row, int col) const {
  return QPoint(int(std::lround(xAxis->coordToPixel(col))), int(std::lround(yAxis->coordToPixel(row))));
}

bool MatrixPlot::cell_at(const QPointF& pixel, int* row, int* col) const {
  if (!axisRect()->rect().contains(pixel.toPoint())) return false;
  const int c = int(std::lround(xAxis->pixelToCoord(pixel.x()))), r = int(std::lround(yAxis->pixelToCoord(pixel.y())));
  if (r < 0 || c < 0 || r >= content_.matrix.rows() || c >= content_.matrix.cols()) return false;
  *row = r;
  *col = c;
  return true;
}

void MatrixPlot::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  int row, col;
  if (cell_at(event->position(), &row, &col)) {
    const QString text = hover_text(row, col);
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
    Q_EMIT hovered(row, col, text);
  } else {
    QToolTip::hideText();
    Q_EMIT hovered(-1, -1, QString());
  }
}

void MatrixPlot::leaveEvent(QEvent* event) {
  QCustomPlot::leaveEvent(event);
  Q_EMIT hovered(-1, -1, QString());
}

void MatrixPlot::resizeEvent(QResizeEvent* event) {
  QCustomPlot::resizeEvent(event);  // replots at once, with the old ticks
  updateLayout();
  refresh(false);
  replot(QCustomPlot::rpQueuedReplot);
}

void MatrixPlot::mouseDoubleClickEvent(QMouseEvent* event) {
  QCustomPlot::mouseDoubleClickEvent(event);
  reset_zoom();
}

void MatrixPlot::render(QCPPainter& painter, const QSize& size) {
  const QRect old = viewport();
  rendering_ = true;
  setViewport(QRect(QPoint(0, 0), size));
  updateLayout();
  refresh(true);  // ticks and pooling for the export size
  updateLayout();
  update_ticks();
  toPainter(&painter, size.width(), size.height());
  rendering_ = false;
  setViewport(old);
  updateLayout();
  refresh(true);
}

}  // namespace attn::ui
