#include "views/overlay_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>

#include "analysis/attention_grid.h"
#include "run/rollout_cache.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {

int resolved_query(const ViewState& state, int query) {
  const auto& rec = state.recording();
  if (!rec) return 0;
  return query >= 0 && query < rec->num_tokens() ? query : 0;  // [CLS] by default
}

ValueRange grid_range(const RowMatrix& grid) { return attention_range(grid.size() ? grid.maxCoeff() : 1.0, 1.0, false); }

QString picture_note(const ViewState& state) {
  const PicturePtr& p = state.picture();
  if (!p || p->note.isEmpty()) return {};
  return p->valid() ? QStringLiteral(" — %1").arg(p->note) : QStringLiteral(" — %1, attention alone").arg(p->note);
}

}  // namespace

ValueRange rollout_range(const RowMatrix& values, const RolloutOptions& options) {
  const double hi = values.size() ? values.maxCoeff() : 0.0;
  if (options.method != RolloutMethod::Flow) return attention_range(hi, hi, false);
  double lo = hi;
  for (Eigen::Index i = 0; i < values.size(); ++i)
    if (values.data()[i] > 0.0f) lo = std::min(lo, double(values.data()[i]));
  return lo < hi ? ValueRange{lo, hi} : attention_range(hi, hi, false);
}

OverlayContent overlay_content(const ViewState& state, const OverlayOptions& options, int query, const RowMatrix* rollout) {
  OverlayContent c;
  const auto& rec = state.recording();
  const auto& layout = state.patch_layout();
  c.dark = state.dark();
  if (!rec || !layout) return c;
  const int q = resolved_query(state, query);
  c.layout = *layout;
  c.picture = state.picture();
  c.input_resolution = options.input_resolution;
  c.query_name = image_token_name(rec->meta(), *layout, q);
  c.style.colors = state.colors();
  c.style.smooth = options.smooth;
  c.style.opacity = options.opacity;
  layout->patch_of(q, &c.style.mark_r, &c.style.mark_c);
  if (rollout) {
    c.grid = patch_row(*rollout, *layout, q);
    c.style.range = rollout_range(c.grid, state.rollout()->options());
    c.value_name = rollout_value_name(state.rollout()->options());
    c.title = QStringLiteral("%1 · %2 · into %3").arg(qstr(rec->meta().model), rollout_name(state.rollout()->options()), c.query_name);
  } else {
    c.grid = image_attention_grid(*rec, state.layer(), state.head(), q);
    c.style.range = grid_range(c.grid);
    if (state.colors().shared_range) {  // one scale for every head of the layer, for this query
      double m = c.grid.size() ? c.grid.maxCoeff() : 0.0;
      for (int h = 0; h < rec->num_heads(); ++h) m = std::max(m, double(image_attention_grid(*rec, state.layer(), h, q).maxCoeff()));
      c.style.range = attention_range(m, m, true);
    }
    c.value_name = state.head() == kHeadMean ? QStringLiteral("mean attention") : state.head() == kHeadMax ? QStringLiteral("max attention")
                                                                                                           : QStringLiteral("attention");
    c.title = QStringLiteral("%1 · attention from %2").arg(state.selection_title(), c.query_name);
  }
  c.title = with_reading(c.title + picture_note(state), rec->meta());
  return c;
}

OverlayGrid::Content head_grid_content(const ViewState& state, const OverlayOptions& options, int query) {
  OverlayGrid::Content g;
  g.base = overlay_content(state, options, query, nullptr);
  const auto& rec = state.recording();
  if (g.base.empty()) return g;
  const int q = resolved_query(state, query);
  double shared = 0;
  for (int h = 0; h <= rec->num_heads(); ++h) {
    OverlayGrid::Cell cell;
    const bool mean = h == rec->num_heads();
    cell.name = mean ? QStringLiteral("mean") : QStringLiteral("head %1").arg(h);
    cell.grid = image_attention_grid(*rec, state.layer(), mean ? kHeadMean : h, q);
    cell.range = grid_range(cell.grid);
    shared = std::max(shared, cell.range.hi);
    g.cells.push_back(std::move(cell));
  }
  if (state.colors().shared_range)
    for (auto& cell : g.cells) cell.range = ValueRange{0.0, shared};
  g.selected = state.head() >= 0 ? state.head() : state.head() == kHeadMean ? rec->num_heads() : -1;
  g.base.title = QStringLiteral("%1 · layer %2 · every head · attention from %3").arg(qstr(rec->meta().model)).arg(state.layer()).arg(g.base.query_name) +
                 picture_note(state);
  return g;
}

OverlayView::OverlayView(ViewState* state, QWidget* parent)
    : QWidget(parent), state_(state), stack_(new QStackedWidget(this)), overlay_(new ImageOverlay(this)), heads_(new OverlayGrid(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  layout->addLayout(build_controls());
  stack_->addWidget(overlay_);
  stack_->addWidget(heads_);
  layout->addWidget(stack_, 1);

  connect(overlay_, &ImageOverlay::patch_clicked, this, [this](int r, int c) {
    if (const auto& l = state_->patch_layout()) state_->set_query(l->token(r, c));
  });
  connect(overlay_, &ImageOverlay::hovered, this, &OverlayView::hovered);
  connect(heads_, &OverlayGrid::hovered, this, &OverlayView::hovered);
  connect(heads_, &OverlayGrid::cell_clicked, this, [this](int index) {
    const auto& rec = state_->recording();
    if (rec) state_->set_head(index < rec->num_heads() ? index : kHeadMean);
  });
  for (auto signal : {&ViewState::recording_changed, &ViewState::selection_changed, &ViewState::query_changed, &ViewState::colors_changed,
                      &ViewState::theme_changed, &ViewState::picture_changed})
    connect(state_, signal, this, [this] {
      sync_from_state();
      update_content();
    });
  connect(state_->rollout(), &RolloutCache::changed, this, [this] {
    if (source_ == Source::Rollout && isVisible()) state_->rollout()->request();
    update_content();
  });
  connect(state_->rollout(), &RolloutCache::computed, this, &OverlayView::update_content);
  sync_from_state();
  update_content();
}

QLayout* OverlayView::build_controls() {
  auto* bar = new QHBoxLayout;
  source_box_ = new QComboBox(this);
  source_box_->addItems({tr("Selected layer and head"), tr("Attention rollout")});
  source_box_->setToolTip(tr("Whose attention: the layer and head chosen above (or their mean / max), or the rollout through all layers"));
  from_box_ = new QComboBox(this);
  from_box_->setToolTip(tr("The query: [CLS], or a patch (click one on the picture)"));
  from_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  mode_box_ = new QComboBox(this);
  mode_box_->addItems({tr("Blocks"), tr("Smooth")});
  mode_box_->setToolTip(tr("One flat block per patch, or smooth (bilinear between patch centres)"));
  picture_box_ = new QComboBox(this);
  picture_box_->addItems({tr("Original picture"), tr("As the model saw it")});
  picture_box_->setToolTip(tr("The picture's cropped region at its own resolution, or at the model's input resolution"));
  opacity_slider_ = new QSlider(Qt::Horizontal, this);
  opacity_slider_->setRange(0, 100);
  opacity_slider_->setValue(int(options_.opacity * 100));
  opacity_slider_->setMaximumWidth(140);
  opacity_slider_->setToolTip(tr("Opacity of the attention over the picture"));
  heads_button_ = new QToolButton(this);
  heads_button_->setText(tr("All heads"));
  heads_button_->setCheckable(true);
  heads_button_->setToolTip(tr("Every head of the layer as a small overlay; click one to select it"));
  status_ = new QLabel(this);
  bar->addWidget(new QLabel(tr("Attention"), this));
  bar->addWidget(source_box_);
  bar->addWidget(new QLabel(tr("from"), this));
  bar->addWidget(from_box_);
  bar->addSpacing(12);
  bar->addWidget(mode_box_);
  bar->addWidget(new QLabel(tr("Opacity"), this));
  bar->addWidget(opacity_slider_);
  bar->addWidget(picture_box_);
  bar->addWidget(heads_button_);
  bar->addStretch(1);
  bar->addWidget(status_);

  connect(source_box_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!syncing_) set_source(Source(i));
  });
  connect(from_box_, &QComboBox::activated, this, [this](int i) { state_->set_query(from_box_->itemData(i).toInt()); });
  connect(mode_box_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!syncing_) set_smooth(i == 1);
  });
  connect(picture_box_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!syncing_) set_input_resolution(i == 1);
  });
  connect(opacity_slider_, &QSlider::valueChanged, this, [this](int v) {
    if (!syncing_) set_opacity(v / 100.0);
  });
  connect(heads_button_, &QToolButton::toggled, this, [this](bool on) {
    if (!syncing_) set_show_heads(on);
  });
  return bar;
}

void OverlayView::set_source(Source source) {
  source_ = source;
  if (source_ == Source::Rollout) state_->rollout()->request();
  sync_from_state();
  update_content();
}

void OverlayView::set_smooth(bool smooth) {
  options_.smooth = smooth;
  sync_from_state();
  update_content();
}

void OverlayView::set_opacity(double opacity) {
  options_.opacity = std::clamp(opacity, 0.0, 1.0);
  sync_from_state();
  update_content();
}

void OverlayView::set_input_resolution(bool input) {
  options_.input_resolution = input;
  sync_from_state();
  update_content();
}

void OverlayView::set_show_heads(bool heads) {
  show_heads_ = heads;
  stack_->setCurrentIndex(heads ? 1 : 0);
  sync_from_state();
  update_content();
}

int OverlayView::query_token() const { return resolved_query(*state_, state_->query()); }

void OverlayView::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (source_ == Source::Rollout) state_->rollout()->request();
}

void OverlayView::sync_from_state() {
  syncing_ = true;
  source_box_->setCurrentIndex(int(source_));
  mode_box_->setCurrentIndex(options_.smooth ? 1 : 0);
  picture_box_->setCurrentIndex(options_.input_resolution ? 1 : 0);
  opacity_slider_->setValue(int(std::lround(options_.opacity * 100)));
  heads_button_->setChecked(show_heads_);
  from_box_->clear();
  const auto& rec = state_->recording();
  const auto& layout = state_->patch_layout();
  if (rec && layout) {
    for (int i = 0; i < layout->first_patch; ++i) from_box_->addItem(qstr(rec->meta().tokens[size_t(i)]), i);
    const int q = query_token();
    if (q >= layout->first_patch) from_box_->addItem(image_token_name(rec->meta(), *layout, q), q);
    from_box_->setCurrentIndex(from_box_->findData(q));
  }
  const bool enabled = bool(layout);
  for (QWidget* w : std::initializer_list<QWidget*>{source_box_, from_box_, mode_box_, picture_box_, opacity_slider_, heads_button_}) w->setEnabled(enabled);
  picture_box_->setEnabled(enabled && state_->picture() && state_->picture()->valid());
  syncing_ = false;
}

void OverlayView::update_content() {
  const auto& rollout = state_->rollout()->result();
  const bool want_rollout = source_ == Source::Rollout;
  status_->setText(want_rollout && !rollout && state_->recording() ? tr("computing the rollout…") : QString());
  // Both pages stay current (cheap: one row per head), so grid() is right in either layout.
  if (show_heads_) heads_->set_content(head_grid_content(*state_, options_, state_->query()));
  if (want_rollout && !rollout) {
    OverlayContent c = overlay_content(*state_, options_, state_->query(), nullptr);
    c.grid = RowMatrix();  // nothing to show until the rollout is there
    if (state_->recording())
      c.title = QStringLiteral("%1 · %2 · computing…").arg(qstr(state_->recording()->meta().model), rollout_name(state_->rollout()->options()));
    overlay_->set_content(c);
    return;
  }
  overlay_->set_content(overlay_content(*state_, options_, state_->query(), want_rollout ? rollout.get() : nullptr));
}

QString OverlayView::render_title() const { return show_heads_ ? heads_->render_title() : overlay_->render_title(); }

QSize OverlayView::render_size() const { return show_heads_ ? heads_->render_size() : overlay_->render_size(); }

void OverlayView::render(QCPPainter& painter, const QSize& size) {
  if (show_heads_) heads_->render(painter, size);
  else overlay_->render(painter, size);
}

}  // namespace attn::ui
