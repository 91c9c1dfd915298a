#include "views/rollout_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSplitter>
#include <QStackedWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "run/rollout_cache.h"
#include "views/image_overlay.h"
#include "views/matrix_plot.h"
#include "views/matrix_ticks.h"
#include "views/overlay_view.h"
#include "views/plot_style.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

RolloutView::RolloutView(ViewState* state, QWidget* parent)
    : QWidget(parent), state_(state), plot_(new MatrixPlot(this)), bars_plot_(new QCustomPlot(this)), overlay_(new ImageOverlay(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  auto* bar = new QHBoxLayout;
  method_ = new QComboBox(this);
  method_->addItems({tr("Rollout"), tr("Flow")});
  method_->setToolTip(tr("Rollout multiplies the layers' attention; Flow (Abnar & Zuidema) takes it as the capacities of a "
                         "graph and computes the maximum flow from each input token to each position — slower"));
  fusion_ = new QComboBox(this);
  fusion_->addItems({tr("mean"), tr("max"), tr("min")});
  fusion_->setToolTip(tr("How each layer's heads are fused before the rollout"));
  discard_ = new QDoubleSpinBox(this);
  discard_->setRange(0.0, 0.95);
  discard_->setSingleStep(0.05);
  discard_->setToolTip(tr("Share of the weakest fused weights set to zero in each layer, as vit-explain does (never the first token's)"));
  query_ = new QComboBox(this);
  query_->setMinimumContentsLength(16);
  query_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  smooth_ = new QCheckBox(tr("Smooth"), this);
  smooth_->setChecked(true);
  smooth_->setToolTip(tr("Picture overlay: bilinear between patch centres, or one block per patch"));
  status_ = new QLabel(this);
  bar->addWidget(method_);
  bar->addWidget(new QLabel(tr("Head fusion"), this));
  bar->addWidget(fusion_);
  bar->addWidget(new QLabel(tr("Discard"), this));
  bar->addWidget(discard_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Query token"), this));
  bar->addWidget(query_);
  bar->addWidget(smooth_);
  bar->addStretch(1);
  bar->addWidget(status_);
  layout->addLayout(bar);
  split_ = new QSplitter(Qt::Vertical, this);
  below_ = new QStackedWidget(this);  // the bars (text) or the picture (images)
  below_->addWidget(bars_plot_);
  below_->addWidget(overlay_);
  split_->addWidget(plot_);
  split_->addWidget(below_);
  split_->setStretchFactor(0, 3);
  split_->setStretchFactor(1, 2);
  layout->addWidget(split_, 1);

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

  RolloutCache* cache = state_->rollout();
  connect(method_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (syncing_) return;
    RolloutOptions o = state_->rollout()->options();
    o.method = RolloutMethod(i);
    set_options(o);
  });
  connect(fusion_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (syncing_) return;
    RolloutOptions o = state_->rollout()->options();
    o.fusion = HeadFusion(i);
    set_options(o);
  });
  connect(discard_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
    if (syncing_) return;
    RolloutOptions o = state_->rollout()->options();
    o.discard_ratio = float(v);
    set_options(o);
  });
  connect(smooth_, &QCheckBox::toggled, this, &RolloutView::update_overlay);
  connect(query_, &QComboBox::activated, this, [this](int i) { state_->set_query(i); });
  connect(state_, &ViewState::recording_changed, this, &RolloutView::invalidate);
  connect(state_, &ViewState::query_changed, this, [this] {
    update_bars();
    update_overlay();
  });
  connect(state_, &ViewState::picture_changed, this, &RolloutView::update_overlay);
  connect(state_, &ViewState::colors_changed, this, [this] {
    plot_->set_colors(state_->colors());
    show_rollout();
  });
  connect(state_, &ViewState::theme_changed, this, [this] {
    apply_theme();
    update_overlay();
  });
  connect(cache, &RolloutCache::changed, this, [this] {
    sync_options();
    if (isVisible()) state_->rollout()->request();
    show_rollout();
  });
  connect(cache, &RolloutCache::computed, this, [this] {
    show_rollout();
    Q_EMIT computed();
  });
  connect(cache, &RolloutCache::progressed, this, [this](double f) {
    if (state_->recording() && !state_->rollout()->result()) status_->setText(tr("computing… %1%").arg(int(f * 100)));
  });
  connect(cache, &RolloutCache::failed, this, [this](const QString& m) {
    status_->setText(tr("%1 failed").arg(rollout_value_name(state_->rollout()->options())));
    Q_EMIT failed(m);
  });
  connect(plot_, &MatrixPlot::cell_clicked, this, [this](int row, int) { state_->set_query(row); });
  connect(plot_, &MatrixPlot::hovered, this, [this](int, int, const QString& t) { Q_EMIT hovered(t); });
  connect(overlay_, &ImageOverlay::patch_clicked, this, [this](int r, int c) {
    if (const auto& l = state_->patch_layout()) state_->set_query(l->token(r, c));
  });
  connect(overlay_, &ImageOverlay::hovered, this, &RolloutView::hovered);
  connect(bars_plot_, &QCustomPlot::beforeReplot, this, &RolloutView::update_bar_ticks);  // labels fit the current size
  plot_->set_colors(state_->colors());
  apply_theme();
  sync_options();
  invalidate();
}

RolloutView::~RolloutView() = default;

const std::shared_ptr<const RowMatrix>& RolloutView::rollout() const { return state_->rollout()->result(); }

bool RolloutView::showing_image() const { return state_->is_image(); }

void RolloutView::apply_theme() {
  const Theme& t = theme(state_->dark());
  plot_->set_theme(t);
  style_plot(bars_plot_, t);
  bars_->setPen(Qt::NoPen);
  bars_->setBrush(t.accent);
  bars_plot_->replot(QCustomPlot::rpQueuedReplot);
}

void RolloutView::set_options(const RolloutOptions& options) { state_->rollout()->set_options(options); }

void RolloutView::sync_options() {
  syncing_ = true;
  const RolloutOptions& o = state_->rollout()->options();
  method_->setCurrentIndex(int(o.method));
  fusion_->setCurrentIndex(int(o.fusion));
  discard_->setValue(o.discard_ratio);
  syncing_ = false;
}

void RolloutView::invalidate() {
  query_->clear();
  const auto& rec = state_->recording();
  if (rec)
    for (int i = 0; i < rec->num_tokens(); ++i) query_->addItem(token_quoted(rec->meta(), i));
  const bool image = state_->is_image();
  if ((split_->orientation() == Qt::Horizontal) != image) {
    split_->setOrientation(image ? Qt::Horizontal : Qt::Vertical);
    const int total = image ? split_->width() : split_->height();
    split_->setSizes(image ? QList<int>{total / 2, total / 2} : QList<int>{total * 3 / 5, total * 2 / 5});
  }
  below_->setCurrentIndex(image ? 1 : 0);
  smooth_->setVisible(image);
  if (isVisible()) compute();
  else show_rollout();
}

void RolloutView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  state_->rollout()->request();
}

void RolloutView::compute() { state_->rollout()->request(); }

void RolloutView::set_rollout(std::shared_ptr<const RowMatrix> rollout) { state_->rollout()->set_result(std::move(rollout)); }

int RolloutView::query() const {
  const auto& rec = state_->recording();
  if (!rec) return -1;
  if (state_->query() >= 0) return state_->query();
  return rec->meta().causal ? rec->num_tokens() - 1 : 0;  // GPT-2: the last token; BERT, ViT: [CLS]
}

QString RolloutView::render_title() const {
  const auto& rec = state_->recording();
  if (!rec) return tr("Attention rollout");
  return with_reading(QStringLiteral("%1 · %2").arg(qstr(rec->meta().model), rollout_name(state_->rollout()->options())) + state_->ablation_note(), rec->meta(), QStringLiteral("\n"));
}

QSize RolloutView::render_size() const { return state_->is_image() ? QSize(1700, 820) : QSize(1000, 1200); }

void RolloutView::show_rollout() {
  MatrixPlot::Content c;
  const auto& rec = state_->recording();
  const auto& rollout = state_->rollout()->result();
  status_->setText(rec && !rollout ? tr("computing…") : QString());
  if (rec && rollout) {
    c.matrix = ConstMatrixMap(rollout->data(), rollout->rows(), rollout->cols());
    c.owner = rollout;
    c.row_labels = c.col_labels = token_labels(rec->meta());
    for (int i = 0; i < rec->num_tokens(); ++i) c.row_names << token_quoted(rec->meta(), i);
    c.col_names = c.row_names;
    c.title = render_title();
    c.row_axis = tr("position at the last layer");
    c.col_axis = tr("input token");
    c.value_name = rollout_value_name(state_->rollout()->options());
    c.range = rollout_range(*rollout, state_->rollout()->options());
  }
  plot_->set_content(c);
  update_bars();
  update_overlay();
}

void RolloutView::update_overlay() {
  const auto& rollout = state_->rollout()->result();
  if (!state_->is_image() || !rollout) {
    overlay_->set_content(OverlayContent{});
    return;
  }
  OverlayOptions options;
  options.smooth = smooth_->isChecked();
  overlay_->set_content(overlay_content(*state_, options, query(), rollout.get()));
}

void RolloutView::update_bars() {
  const auto& rec = state_->recording();
  const auto& rollout = state_->rollout()->result();
  const int q = query();
  auto* title = qobject_cast<QCPTextElement*>(bars_plot_->plotLayout()->element(0, 0));
  if (!rec || !rollout || q < 0 || q >= rollout->rows()) {
    bars_->data()->clear();
    title->setText(QString());
    bars_plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  if (query_->currentIndex() != q) query_->setCurrentIndex(q);
  QVector<double> keys, values;
  for (int j = 0; j < rollout->cols(); ++j) {
    keys << j;
    values << (*rollout)(q, j);
  }
  bars_->setData(keys, values, true);
  const bool flow = state_->rollout()->options().method == RolloutMethod::Flow;
  title->setText((flow ? tr("Flow into %1: how much each input token can carry to it") : tr("Rollout into %1: how much each input token contributes"))
                     .arg(token_quoted(rec->meta(), q)));
  bars_plot_->yAxis->setLabel(flow ? tr("max flow") : tr("rollout weight"));
  bars_plot_->xAxis->setRange(-0.7, rollout->cols() - 0.3);
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
  if (state_->is_image()) {  // heatmap | the query's row over the picture
    const int left = int(size.width() * 0.5);
    plot_->render(painter, QSize(left, size.height()));
    painter.save();
    painter.translate(left, 0);
    overlay_->render(painter, QSize(size.width() - left, size.height()));
    painter.restore();
    return;
  }
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
