#include "window/intervention_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "qt_convert.h"
#include "state/view_state.h"

namespace attn::ui {

InterventionPanel::InterventionPanel(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  auto* layout = new QVBoxLayout(this);
  heads_ = new QLabel(this);
  heads_->setWordWrap(true);
  heads_->setObjectName(QStringLiteral("AblatedHeads"));
  layout->addWidget(heads_);
  auto* form = new QFormLayout;
  mode_ = new QComboBox(this);
  mode_->setObjectName(QStringLiteral("AblationMode"));
  mode_->addItem(tr("Switch off (zero)"), int(Ablation::Zero));
  mode_->addItem(tr("Mean over the positions"), int(Ablation::Mean));
  mode_->addItem(tr("Patch from a clean input"), int(Ablation::Patch));
  mode_->setToolTip(tr("Zero: the head's attention (and so its output) becomes 0, as Hugging Face's head_mask.\n"
                       "Mean: the head's output at every position becomes its mean over the positions.\n"
                       "Patch: the head's output becomes its output on the clean input (as many tokens as the text)."));
  form->addRow(tr("How"), mode_);
  clean_ = new QLineEdit(this);
  clean_->setObjectName(QStringLiteral("CleanInput"));
  clean_->setPlaceholderText(tr("clean input, as many tokens as the text"));
  form->addRow(tr("Clean"), clean_);
  layout->addLayout(form);
  auto* buttons = new QHBoxLayout;
  run_ = new QPushButton(tr("Run with these changes"), this);
  run_->setObjectName(QStringLiteral("RunAblation"));
  clear_ = new QPushButton(tr("All on"), this);
  clear_->setToolTip(tr("Switch every head back on (the next run is plain)"));
  buttons->addWidget(run_, 1);
  buttons->addWidget(clear_);
  layout->addLayout(buttons);

  auto* sweep_form = new QFormLayout;
  unit_ = new QComboBox(this);
  unit_->setObjectName(QStringLiteral("SweepUnit"));
  unit_->addItem(tr("each head alone"), int(SweepUnit::Heads));
  unit_->addItem(tr("each layer's heads together"), int(SweepUnit::Layers));
  sweep_form->addRow(tr("Sweep"), unit_);
  target_ = new QLineEdit(this);
  target_->setObjectName(QStringLiteral("SweepTarget"));
  target_->setPlaceholderText(tr("the top prediction"));
  target_->setToolTip(tr("The token (or label) whose log-probability the sweep measures, e.g. \" ban\" or \"Ġban\"; "
                         "empty: the model's top prediction for the unchanged input"));
  sweep_form->addRow(tr("Target"), target_);
  layout->addLayout(sweep_form);
  sweep_ = new QPushButton(tr("Sweep"), this);
  sweep_->setObjectName(QStringLiteral("RunSweep"));
  layout->addWidget(sweep_);
  layout->addStretch(1);

  connect(mode_, &QComboBox::currentIndexChanged, this, &InterventionPanel::refresh);
  connect(run_, &QPushButton::clicked, this, &InterventionPanel::run_requested);
  connect(sweep_, &QPushButton::clicked, this, &InterventionPanel::sweep_requested);
  connect(clear_, &QPushButton::clicked, this, [this] { state_->set_ablated({}); });
  connect(state_, &ViewState::ablation_changed, this, &InterventionPanel::refresh);
  connect(state_, &ViewState::recording_changed, this, &InterventionPanel::refresh);
  refresh();
}

Ablation InterventionPanel::mode() const { return Ablation(mode_->currentData().toInt()); }
void InterventionPanel::set_mode(Ablation mode) { mode_->setCurrentIndex(mode_->findData(int(mode))); }
QString InterventionPanel::clean_text() const { return clean_->text(); }
void InterventionPanel::set_clean_text(const QString& text) { clean_->setText(text); }
SweepUnit InterventionPanel::sweep_unit() const { return SweepUnit(unit_->currentData().toInt()); }
void InterventionPanel::set_sweep_unit(SweepUnit unit) { unit_->setCurrentIndex(unit_->findData(int(unit))); }
QString InterventionPanel::target() const { return target_->text(); }
void InterventionPanel::set_target(const QString& token) { target_->setText(token); }
QString InterventionPanel::heads_text() const { return heads_->text(); }

void InterventionPanel::set_generation_step(int step, const QString& token) {
  generation_step_ = step;
  target_->setPlaceholderText(step >= 0 ? tr("step %1 of the Timeline: %2").arg(step + 1).arg(token) : tr("the top prediction"));
  refresh();
}

void InterventionPanel::refresh() {
  const auto& heads = state_->ablated();
  if (heads.empty()) {
    heads_->setText(tr("No head changed. Ctrl+click heads in the Model view (or right-click one) to switch them off for the next run."));
  } else {
    QString list = qstr(format_heads(heads)).replace(QLatin1Char(','), QStringLiteral(", "));
    heads_->setText(tr("Heads to change: %1").arg(list));
  }
  clean_->setEnabled(mode() == Ablation::Patch);
  run_->setEnabled(state_->recording() != nullptr);
  // On a generation the target is the Timeline's step, measured on the tokens before it.
  const bool step = generation_step_ >= 0;
  target_->setEnabled(!step);
  if (step) target_->clear();
  sweep_->setEnabled(!(step && mode() == Ablation::Patch));
  sweep_->setToolTip(step ? (mode() == Ablation::Patch ? tr("A generation's step can be switched off or mean-ablated, not patched")
                                                       : tr("Change every head (or layer) alone, as chosen above, and map how far the "
                                                            "probability of the token chosen at the Timeline's step moves"))
                          : tr("Change every head (or layer) alone, as chosen above, and map how far the target moves"));
  clear_->setEnabled(!heads.empty());
}

}  // namespace attn::ui
