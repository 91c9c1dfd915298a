#include "views/head_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "views/head_lines.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

HeadView::HeadView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state), lines_(new HeadLines(state, this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Heads:"), this));
  toggles_layout_ = new QHBoxLayout;
  toggles_layout_->setSpacing(2);
  bar->addLayout(toggles_layout_);
  auto* all = new QToolButton(this);
  all->setText(tr("All"));
  auto* none = new QToolButton(this);
  none->setText(tr("None"));
  bar->addWidget(all);
  bar->addWidget(none);
  bar->addStretch(1);
  hint_ = new QLabel(this);
  bar->addWidget(hint_);
  layout->addLayout(bar);
  scroll_ = new QScrollArea(this);
  scroll_->setWidget(lines_);
  scroll_->setWidgetResizable(true);
  scroll_->setFrameShape(QFrame::NoFrame);
  layout->addWidget(scroll_, 1);

  connect(all, &QToolButton::clicked, this, [this] { set_all_heads(true); });
  connect(none, &QToolButton::clicked, this, [this] { set_all_heads(false); });
  connect(state_, &ViewState::recording_changed, this, &HeadView::rebuild_toggles);
  connect(state_, &ViewState::selection_changed, this, &HeadView::sync_to_selection);
  connect(state_, &ViewState::theme_changed, this, &HeadView::style_toggles);
  connect(lines_, &HeadLines::finding_changed, this, &HeadView::show_hint);
  rebuild_toggles();
  show_hint();
}

void HeadView::show_hint() {
  const auto& rec = state_->recording();
  if (lines_->finding_lines() && rec) {
    hint_->setText(tr("Finding the strongest lines of %1 tokens…").arg(QLocale().toString(rec->num_tokens())));
    hint_->setEnabled(true);
  } else if (!lines_->lines_error().isEmpty()) {
    hint_->setText(tr("Could not read the lines: %1").arg(lines_->lines_error()));
    hint_->setEnabled(true);
  } else {
    hint_->setText(tr("Hover a token to see only its lines; click a left token to pin it."));
    hint_->setEnabled(false);
  }
}

void HeadView::rebuild_toggles() {
  for (auto* b : toggles_) delete b;
  toggles_.clear();
  const int H = state_->recording() ? state_->recording()->num_heads() : 0;
  for (int h = 0; h < H; ++h) {
    auto* b = new QToolButton(this);
    b->setCheckable(true);
    b->setText(QString::number(h));
    b->setToolTip(tr("Show or hide head %1").arg(h));
    connect(b, &QToolButton::toggled, this, [this] {
      std::vector<bool> on;
      for (auto* t : toggles_) on.push_back(t->isChecked());
      lines_->set_heads(on);
    });
    toggles_layout_->addWidget(b);
    toggles_.push_back(b);
  }
  style_toggles();
  sync_to_selection();
}

void HeadView::style_toggles() {
  const Theme& t = theme(state_->dark());
  for (size_t h = 0; h < toggles_.size(); ++h)
    toggles_[h]->setStyleSheet(QStringLiteral("QToolButton { border: 2px solid %1; border-radius: 3px; padding: 1px 5px; color: %2; }"
                                              "QToolButton:checked { background: %1; color: white; }")
                                   .arg(head_color(int(h), int(toggles_.size())).name(), t.foreground.name()));
}

void HeadView::sync_to_selection() {
  const int H = int(toggles_.size());
  std::vector<bool> on(size_t(H), state_->head() < 0);
  if (state_->head() >= 0 && state_->head() < H) on[size_t(state_->head())] = true;
  set_heads(on);
}

void HeadView::set_heads(const std::vector<bool>& enabled) {
  for (size_t h = 0; h < toggles_.size() && h < enabled.size(); ++h) {
    const QSignalBlocker block(toggles_[h]);
    toggles_[h]->setChecked(enabled[h]);
  }
  lines_->set_heads(enabled);
}

void HeadView::set_all_heads(bool on) { set_heads(std::vector<bool>(toggles_.size(), on)); }

QString HeadView::render_title() const {
  const auto& rec = state_->recording();
  if (!rec) return tr("Head view");
  int shown = 0;
  for (bool b : lines_->heads()) shown += b;
  const QString heads = shown == rec->num_heads() ? tr("all heads")
                        : shown == 1 && state_->head() >= 0 ? tr("head %1").arg(state_->head())
                                                            : tr("%1 of %2 heads").arg(shown).arg(rec->num_heads());
  return with_reading(QStringLiteral("%1 · layer %2 · %3").arg(qstr(rec->meta().model)).arg(rec->meta().model_layer(state_->layer())).arg(heads) + state_->ablation_note(), rec->meta(),
                      QStringLiteral("\n"));
}

QSize HeadView::render_size() const { return {900, std::clamp(lines_->sizeHint().height() + 40, 400, 4000)}; }

void HeadView::render(QCPPainter& painter, const QSize& size) { lines_->paint(painter, size, true, render_title()); }

}  // namespace attn::ui
