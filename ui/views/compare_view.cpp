#include "views/compare_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QStackedWidget>
#include <QToolTip>
#include <algorithm>
#include <qcustomplot.h>

#include "run/compare_cache.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

CompareView::CompareView(ViewState* state, QWidget* parent)
    : QWidget(parent), state_(state), b_state_(new ViewState(this)), message_(new QLabel(this)), mode_box_(new QComboBox(this)),
      stack_(new QStackedWidget(this)), a_(new MatrixPlot), b_(new MatrixPlot), d_(new MatrixPlot), heads_(new ModelView(state)) {
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  mode_box_->addItems({tr("A, B and A − B of the selected head"), tr("A − B of every head")});
  auto* top = new QHBoxLayout;
  top->addWidget(message_, 1);
  top->addWidget(mode_box_);
  auto* plots = new QWidget;
  auto* row = new QHBoxLayout(plots);
  row->setContentsMargins(0, 0, 0, 0);
  for (MatrixPlot* p : {a_, b_, d_}) {  // equal thirds, whatever their labels ask for
    p->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Expanding);
    row->addWidget(p, 1);
  }
  stack_->addWidget(plots);
  stack_->addWidget(heads_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 4, 6, 0);
  layout->addLayout(top);
  layout->addWidget(stack_, 1);
  d_->set_colors(diverging_colors());

  // A clicked thumbnail (ModelView selects its head) opens that head's A, B and A − B.
  connect(heads_, &ModelView::head_activated, this, [this] { set_mode(Mode::Selection); });
  CompareCache* cmp = state_->comparison();
  connect(mode_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) { set_mode(i == 0 ? Mode::Selection : Mode::EveryHead); });
  connect(state_, &ViewState::recording_changed, this, &CompareView::update_content);
  connect(state_, &ViewState::selection_changed, this, &CompareView::update_content);
  connect(state_, &ViewState::analysis_changed, this, &CompareView::update_content);
  connect(cmp, &CompareCache::changed, this, [this] {
    update_content();
    update_heads();
  });
  connect(cmp, &CompareCache::computed, this, [this] {
    update_content();
    update_heads();
  });
  connect(state_, &ViewState::colors_changed, this, [this] {
    a_->set_colors(state_->colors());
    b_->set_colors(state_->colors());
    update_content();
  });
  connect(state_, &ViewState::theme_changed, this, [this] {
    for (MatrixPlot* p : {a_, b_, d_}) p->set_theme(theme(state_->dark()));
  });
  for (MatrixPlot* p : {a_, b_, d_}) {
    p->set_theme(theme(state_->dark()));
    connect(p, &MatrixPlot::hovered, this, [this, p](int r, int c, const QString&) {
      const QString text = compare_hover(content_, r, c);
      if (!text.isEmpty()) QToolTip::showText(QCursor::pos(), text, p);
      Q_EMIT hovered(text);
    });
    connect(p, &MatrixPlot::cell_clicked, this, [this](int r, int) { state_->set_query(r); });
  }
  a_->set_colors(state_->colors());
  b_->set_colors(state_->colors());
  update_content();
  update_heads();
}

void CompareView::set_mode(Mode mode) {
  mode_ = mode;
  if (mode_box_->currentIndex() != int(mode)) mode_box_->setCurrentIndex(int(mode));
  update_heads();
}

bool CompareView::every_head_shown() const { return mode_ == Mode::EveryHead && state_->comparison()->check().comparable; }

QString CompareView::message() const { return message_->text(); }

void CompareView::update_content() {
  content_ = compare_content(*state_, *b_state_);
  message_->setText(content_.message);
  a_->set_content(content_.a);
  b_->set_content(content_.b);
  b_->setVisible(bool(state_->comparison()->b()));
  d_->setVisible(content_.diff.has_value());
  if (content_.diff) d_->set_content(*content_.diff);
  else d_->clear_content();
}

void CompareView::update_heads() {
  mode_box_->setEnabled(state_->comparison()->check().comparable);
  stack_->setCurrentIndex(every_head_shown() ? 1 : 0);
  if (every_head_shown()) state_->comparison()->request();
  auto thumbs = difference_thumbs(*state_);
  if (!thumbs) {  // while it is computed: an empty grid, not A's own attention
    thumbs.emplace();
    thumbs->title = tr("A − B of every head: computing…");
    thumbs->legend = colormap_table(ColorMapId::Diverging);
  }
  heads_->set_thumbs(std::move(thumbs));
}

QString CompareView::render_title() const {
  if (every_head_shown()) return heads_->render_title();
  return content_.diff ? content_.diff->title : content_.a.title;
}

QSize CompareView::render_size() const {
  if (every_head_shown()) return {std::max(900, heads_->render_size().width()), heads_->render_size().height() + 60};
  return {content_.diff ? 2100 : 1500, 800};
}

void CompareView::render(QCPPainter& painter, const QSize& size) {
  const Theme& t = theme(state_->dark());
  const int header = 56;
  painter.fillRect(QRect(QPoint(0, 0), size), t.background);
  painter.setPen(t.foreground);
  QFont font = painter.font();
  font.setPointSizeF(font.pointSizeF() * 1.15);
  painter.setFont(font);
  painter.drawText(QRect(16, 6, size.width() - 32, header - 8), Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, content_.message);
  painter.save();
  painter.translate(0, header);
  const QSize rest(size.width(), size.height() - header);
  if (every_head_shown()) {
    heads_->render(painter, rest);
  } else {
    std::vector<MatrixPlot*> shown{a_};
    if (state_->comparison()->b()) shown.push_back(b_);
    if (content_.diff) shown.push_back(d_);
    const int w = rest.width() / int(shown.size());
    for (size_t i = 0; i < shown.size(); ++i) {
      painter.save();
      painter.translate(int(i) * w, 0);
      shown[i]->render(painter, QSize(w, rest.height()));
      painter.restore();
    }
  }
  painter.restore();
}

}  // namespace attn::ui
