#include "views/rollout_view.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "run/job_runner.h"
#include "views/matrix_plot.h"
#include "views/matrix_ticks.h"
#include "views/plot_style.h"
#include "window/theme.h"
#include "window/view_state.h"

namespace attn::ui {

RolloutView::RolloutView(ViewState* state, QWidget* parent)
    : QWidget(parent), state_(state), runner_(new JobRunner(this)), plot_(new MatrixPlot(this)), bars_plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  auto* bar = new QHBoxLayout;
  fusion_ = new QComboBox(this);
  fusion_->addItems({tr("mean"), tr("max"), tr("min")});
  fusion_->setToolTip(tr("How each layer's heads are fused before the rollout"));
  discard_ = new QDoubleSpinBox(this);
  discard_->setRange(0.0, 0.95);
  discard_->setSingleStep(0.05);
  discard_->setToolTip(tr("Share of the weakest fused weights set to zero in each layer (never the first token's)"));
  query_ = new QComboBox(this);
  query_->setMinimumContentsLength(16);
  query_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  status_ = new QLabel(this);
  bar->addWidget(new QLabel(tr("Head fusion"), this));
  bar->addWidget(fusion_);
  bar->addWidget(new QLabel(tr("Discard"), this));
  bar->addWidget(discard_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Query token"), this));
  bar->addWidget(query_);
  bar->addStretch(1);
  bar->addWidget(status_);
  layout->addLayout(bar);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(plot_);
  split->addWidget(bars_plot_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  bars_ = new QCPBars(bars_plot_->xAxis, bars_plot_->yAxis);
  bars_->setWidth(0.8);
  bar_ticks_.reset(new QCPAxisTickerText);
  bars_plot_->xAxis->setTicker(bar_ticks_);
  bars_plot_->xAxis->setTickLabelRotation(-90);
  bars_plot_->xAxis->setSubTicks(false);
  bars_plot_->xAxis->grid()->setVisible(false);
  bars_plot_->yAxis->setLabel(tr("rollout weight"));
  bars_plot_->plotLayout()->insertRow(0);
  bars_plot_->plotLayout()->addElement(0, 0, new QCPTextElement(bars_plot_, QString(), QFont(font().family(), font().pointSize() + 1, QFont::Bold)));
  bars_plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  bars_plot_->axisRect()->setRangeDrag(Qt::Horizontal);
  bars_plot_->axisRect()->setRangeZoom(Qt::Horizontal);

  connect(fusion_, &QComboBox::currentIndexChanged, this, [this](int i) {
    RolloutOptions o = options_;
    o.fusion = HeadFusion(i);
    set_options(o);
  });
  connect(discard_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
    RolloutOptions o = options_;
    o.discard_ratio = float(v);
    set_options(o);
  });
  connect(query_, &QComboBox::activated, this, [this](int i) { state_->set_query(i); });
  connect(state_, &ViewState::recording_changed, this, &RolloutView::invalidate);
  connect(state_, &ViewState::query_changed, this, &RolloutView::update_bars);
  connect(state_, &ViewState::colors_changed, this, [this] {
    plot_->set_colors(state_->colors());
    show_rollout();
  });
  connect(state_, &ViewState::theme_changed, this, &RolloutView::apply_theme);
  connect(plot_, &MatrixPlot::cell_clicked, this, [this](int row, int) { state_->set_query(row); });
  connect(plot_, &MatrixPlot::hovered, this, [this](int, int, const QString& t) { Q_EMIT hovered(t); });
  connect(bars_plot_, &QCustomPlot::beforeReplot, this, &RolloutView::update_bar_ticks);  // labels fit the current size
  connect(runner_, &JobRunner::failed, this, [this](int, const QString& m) {
    status_->setText(tr("rollout failed"));
    Q_EMIT failed(m);
  });
  plot_->set_colors(state_->colors());
  apply_theme();
  invalidate();
}

RolloutView::~RolloutView() = default;

void RolloutView::apply_theme() {
  const Theme& t = theme(state_->dark());
  plot_->set_theme(t);
  style_plot(bars_plot_, t);
  bars_->setPen(Qt::NoPen);
  bars_->setBrush(t.accent);
  bars_plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RolloutView::set_options(const RolloutOptions& options) {
  options_ = options;
  invalidate();
}

void RolloutView::invalidate() {
  stale_ = true;
  rollout_.reset();
  query_->clear();
  if (const auto& rec = state_->recording())
    for (int i = 0; i < rec->num_tokens(); ++i) query_->addItem(token_quoted(rec->meta(), i));
  if (isVisible()) compute();
  else show_rollout();
}

void RolloutView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (stale_) compute();
}

void RolloutView::compute() {
  const RecordingPtr rec = state_->recording();
  stale_ = false;
  if (!rec) {
    show_rollout();
    return;
  }
  status_->setText(tr("computing…"));
  const RolloutOptions options = options_;
  runner_->start([this, rec, options](JobContext& ctx) {
    auto result = std::make_shared<const RowMatrix>(attention_rollout(*rec, options));
    ctx.post([this, rec, result] {
      if (rec != state_->recording()) return;
      rollout_ = result;
      status_->clear();
      show_rollout();
      Q_EMIT computed();
    });
  });
}

void RolloutView::set_rollout(std::shared_ptr<const RowMatrix> rollout) {
  runner_->cancel();
  stale_ = false;
  rollout_ = std::move(rollout);
  status_->clear();
  show_rollout();
}

int RolloutView::query() const {
  const auto& rec = state_->recording();
  if (!rec) return -1;
  if (state_->query() >= 0) return state_->query();
  return rec->meta().causal ? rec->num_tokens() - 1 : 0;  // GPT-2: the last token; BERT: [CLS]
}

QString RolloutView::render_title() const {
  const auto& rec = state_->recording();
  if (!rec) return tr("Attention rollout");
  static const char* fusion[] = {"mean", "max", "min"};
  QString t = QStringLiteral("%1 · attention rollout (%2 of heads").arg(qstr(rec->meta().model), QLatin1String(fusion[int(options_.fusion)]));
  if (options_.discard_ratio > 0) t += QStringLiteral(", discard %1").arg(options_.discard_ratio);
  return t + QStringLiteral(")");
}

void RolloutView::show_rollout() {
  MatrixPlot::Content c;
  const auto& rec = state_->recording();
  if (rec && rollout_) {
    c.matrix = ConstMatrixMap(rollout_->data(), rollout_->rows(), rollout_->cols());
    c.owner = rollout_;
    c.row_labels = c.col_labels = token_labels(rec->meta());
    for (int i = 0; i < rec->num_tokens(); ++i) c.row_names << token_quoted(rec->meta(), i);
    c.col_names = c.row_names;
    c.title = render_title();
    c.row_axis = tr("position at the last layer");
    c.col_axis = tr("input token");
    c.value_name = tr("rollout");
    const double m = rollout_->size() ? double(rollout_->maxCoeff()) : 1.0;
    c.range = {0.0, m > 0 ? m : 1.0};
  }
  plot_->set_content(c);
  update_bars();
}

void RolloutView::update_bars() {
  const auto& rec = state_->recording();
  const int q = query();
  auto* title = qobject_cast<QCPTextElement*>(bars_plot_->plotLayout()->element(0, 0));
  if (!rec || !rollout_ || q < 0 || q >= rollout_->rows()) {
    bars_->data()->clear();
    title->setText(QString());
    bars_plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  if (query_->currentIndex() != q) query_->setCurrentIndex(q);
  QVector<double> keys, values;
  for (int j = 0; j < rollout_->cols(); ++j) {
    keys << j;
    values << (*rollout_)(q, j);
  }
  bars_->setData(keys, values, true);
  title->setText(tr("Rollout into %1: how much each input token contributes").arg(token_quoted(rec->meta(), q)));
  bars_plot_->xAxis->setRange(-0.7, rollout_->cols() - 0.3);
  double top = 0;
  for (double v : values) top = std::max(top, v);
  bars_plot_->yAxis->setRange(0, top > 0 ? top * 1.08 : 1.0);
  update_bar_ticks();
  bars_plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RolloutView::update_bar_ticks() {
  const auto& rec = state_->recording();
  if (!rec) return;
  const QCPRange r = bars_plot_->xAxis->range();
  const double label_px = QFontMetricsF(bars_plot_->xAxis->tickLabelFont()).height() * 1.15;
  bar_ticks_->setTicks(thinned_ticks(token_labels(rec->meta()), r.lower, r.upper, bars_plot_->axisRect()->width(), label_px));
}

void RolloutView::render(QCPPainter& painter, const QSize& size) {
  const int top = int(size.height() * 0.62);
  plot_->render(painter, QSize(size.width(), top));
  painter.save();
  painter.translate(0, top);
  const QRect old = bars_plot_->viewport();
  bars_plot_->setViewport(QRect(0, 0, size.width(), size.height() - top));
  bars_plot_->plotLayout()->update(QCPLayoutElement::upPreparation);
  bars_plot_->plotLayout()->update(QCPLayoutElement::upMargins);
  bars_plot_->plotLayout()->update(QCPLayoutElement::upLayout);
  update_bar_ticks();
  bars_plot_->toPainter(&painter, size.width(), size.height() - top);
  bars_plot_->setViewport(old);
  painter.restore();
  update_bar_ticks();
}

}  // namespace attn::ui
