#include "views/stats_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "views/plot_style.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {

double metric_value(const HeadStats& s, StatsView::Metric m) {
  switch (m) {
    case StatsView::Metric::Entropy: return s.entropy;
    case StatsView::Metric::MeanDistance: return s.mean_distance;
    case StatsView::Metric::SpecialShare: return s.special_share;
    case StatsView::Metric::PreviousShare: return s.previous_share;
    case StatsView::Metric::SelfShare: return s.self_share;
    case StatsView::Metric::FirstShare: return s.first_share;
  }
  return 0;
}

}  // namespace

QString StatsView::metric_name(Metric m) {
  switch (m) {
    case Metric::Entropy: return tr("entropy (nats)");
    case Metric::MeanDistance: return tr("mean attention distance (tokens)");
    case Metric::SpecialShare: return tr("share to special tokens");
    case Metric::PreviousShare: return tr("share to the previous token");
    case Metric::SelfShare: return tr("share to the token itself");
    case Metric::FirstShare: return tr("share to the first token");
  }
  return {};
}

StatsView::StatsView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state), plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  auto* bar = new QHBoxLayout;
  metric_box_ = new QComboBox(this);
  for (auto m : {Metric::Entropy, Metric::MeanDistance, Metric::SpecialShare, Metric::PreviousShare, Metric::SelfShare, Metric::FirstShare})
    metric_box_->addItem(metric_name(m));
  bar->addWidget(new QLabel(tr("Statistic"), this));
  bar->addWidget(metric_box_);
  bar->addStretch(1);
  auto* hint = new QLabel(tr("Each point is one head; click one to open it."), this);
  hint->setEnabled(false);
  bar->addWidget(hint);
  layout->addLayout(bar);
  layout->addWidget(plot_, 1);

  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, QString(), QFont(font().family(), font().pointSize() + 2, QFont::Bold)));
  plot_->xAxis->setLabel(tr("layer"));
  plot_->setMouseTracking(true);
  plot_->xAxis->setSubTicks(false);
  plot_->xAxis->grid()->setVisible(false);
  // The legend goes in its own row under the plot, where it hides no point.
  plot_->legend->setVisible(true);
  plot_->legend->setFont(QFont(font().family(), font().pointSize() - 1));
  plot_->axisRect()->insetLayout()->take(plot_->legend);
  plot_->plotLayout()->addElement(2, 0, plot_->legend);
  plot_->plotLayout()->setRowStretchFactor(2, 0.001);
  plot_->legend->setMargins(QMargins(6, 2, 6, 6));
  plot_->legend->setBorderPen(Qt::NoPen);

  connect(metric_box_, &QComboBox::currentIndexChanged, this, [this](int i) { set_metric(Metric(i)); });
  connect(state_, &ViewState::analysis_changed, this, &StatsView::rebuild);
  connect(state_, &ViewState::theme_changed, this, &StatsView::rebuild);
  connect(state_, &ViewState::selection_changed, this, &StatsView::update_selection_marker);
  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    int l, h;
    if (event->button() == Qt::LeftButton && nearest_point(event->position(), &l, &h)) {
      state_->select(l, h);
      Q_EMIT head_activated(l, h);
    }
  });
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    int l, h;
    if (nearest_point(event->position(), &l, &h) && state_->analysis()) {
      const auto& s = state_->analysis()->stat(l, h);
      QToolTip::showText(event->globalPosition().toPoint(),
                         tr("layer %1, head %2\nentropy %3 · mean distance %4\nspecial %5 · previous %6 · self %7 · first %8")
                             .arg(state_->recording() ? state_->recording()->meta().model_layer(l) : l).arg(h).arg(s.entropy, 0, 'f', 3).arg(s.mean_distance, 0, 'f', 2).arg(s.special_share, 0, 'f', 3)
                             .arg(s.previous_share, 0, 'f', 3).arg(s.self_share, 0, 'f', 3).arg(s.first_share, 0, 'f', 3),
                         plot_);
    } else {
      QToolTip::hideText();
    }
  });
  rebuild();
}

void StatsView::set_metric(Metric metric) {
  metric_ = metric;
  if (metric_box_->currentIndex() != int(metric)) metric_box_->setCurrentIndex(int(metric));
  rebuild();
}

double StatsView::x_of(int layer, int head) const {
  const int H = state_->analysis() ? state_->analysis()->num_heads : 1;
  return layer + (H > 1 ? (head - (H - 1) / 2.0) * (0.6 / H) : 0.0);
}

double StatsView::value(int layer, int head) const {
  const auto& a = state_->analysis();
  return a ? metric_value(a->stat(layer, head), metric_) : std::nan("");
}

QPoint StatsView::point_pixel(int layer, int head) const {
  return QPoint(int(std::lround(plot_->xAxis->coordToPixel(x_of(layer, head)))), int(std::lround(plot_->yAxis->coordToPixel(value(layer, head)))));
}

QString StatsView::render_title() const {
  const auto& rec = state_->recording();
  return rec ? with_reading(QStringLiteral("%1 · %2 per head").arg(qstr(rec->meta().model), metric_name(metric_)) + state_->ablation_note(), rec->meta(), QStringLiteral("\n")) : tr("Head statistics");
}

void StatsView::rebuild() {
  plot_->clearGraphs();
  plot_->clearItems();
  marker_ = nullptr;
  const Theme& t = theme(state_->dark());
  const auto& a = state_->analysis();
  if (a) {
    double lo = 1e300, hi = -1e300;
    for (int h = 0; h < a->num_heads; ++h) {
      QCPGraph* g = plot_->addGraph();
      g->setName(tr("head %1").arg(h));
      g->setLineStyle(QCPGraph::lsNone);
      const QColor c = head_color(h, a->num_heads);
      g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 7));
      g->removeFromLegend();
      if (a->num_heads <= 32) g->addToLegend();
      for (int l = 0; l < a->num_layers; ++l) {
        const double v = value(l, h);
        g->addData(x_of(l, h), v);
        lo = std::min(lo, v), hi = std::max(hi, v);
      }
    }
    marker_ = plot_->addGraph();
    marker_->setLineStyle(QCPGraph::lsNone);
    marker_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(t.foreground, 2), Qt::NoBrush, 15));
    marker_->removeFromLegend();
    for (int l = 1; l < a->num_layers; l += 2) {  // alternate layers get a faint band
      auto* band = new QCPItemRect(plot_);
      band->setLayer(QStringLiteral("grid"));
      band->topLeft->setCoords(l - 0.5, 1e9);
      band->bottomRight->setCoords(l + 0.5, -1e9);
      QColor c = t.grid;
      c.setAlpha(90);
      band->setBrush(c);
      band->setPen(Qt::NoPen);
    }
    const double pad = std::max(1e-3, (hi - lo) * 0.08);
    plot_->yAxis->setRange(std::min(0.0, lo - pad), hi + pad);
    plot_->xAxis->setRange(-0.6, a->num_layers - 0.4);
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(a->num_layers > 24 ? 2.0 : 1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot_->xAxis->setTicker(ticker);
    plot_->legend->setWrap(std::min(a->num_heads, 16));
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  }
  plot_->yAxis->setLabel(metric_name(metric_));
  qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0))->setText(a ? render_title() : tr("Head statistics (waiting for a recording)"));
  style_plot(plot_, t);
  update_selection_marker();
}

void StatsView::update_selection_marker() {
  if (marker_) {
    marker_->data()->clear();
    if (state_->analysis() && state_->head() >= 0) marker_->addData(x_of(state_->layer(), state_->head()), value(state_->layer(), state_->head()));
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool StatsView::nearest_point(const QPointF& pixel, int* layer, int* head) const {
  const auto& a = state_->analysis();
  if (!a) return false;
  double best = 10.0 * 10.0;  // within 10 px
  bool found = false;
  for (int l = 0; l < a->num_layers; ++l)
    for (int h = 0; h < a->num_heads; ++h) {
      const QPointF p(plot_->xAxis->coordToPixel(x_of(l, h)), plot_->yAxis->coordToPixel(value(l, h)));
      const double d = QPointF::dotProduct(p - pixel, p - pixel);
      if (d < best) best = d, *layer = l, *head = h, found = true;
    }
  return found;
}

void StatsView::render(QCPPainter& painter, const QSize& size) { plot_->toPainter(&painter, size.width(), size.height()); }

}  // namespace attn::ui
