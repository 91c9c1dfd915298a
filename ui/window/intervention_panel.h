#pragma once
// The Interventions panel (side bar): the heads chosen to change in the next run (Ctrl+click
// or right-click heads in the Model view, or the selectors' "Off"), how — switched off,
// replaced by their mean over the positions, or patched from a clean input of the same length
// — "Run with these changes", and a sweep of every head (or layer) against a target token.
// It only asks; the main window runs.
#include <QWidget>

#include "nn/interventions.h"
#include "session/ablate.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace attn::ui {

class ViewState;

class InterventionPanel : public QWidget {
  Q_OBJECT
 public:
  explicit InterventionPanel(ViewState* state, QWidget* parent = nullptr);

  Ablation mode() const;
  void set_mode(Ablation mode);
  QString clean_text() const;
  void set_clean_text(const QString& text);
  SweepUnit sweep_unit() const;
  void set_sweep_unit(SweepUnit unit);
  QString target() const;  // empty: the top prediction
  void set_target(const QString& token);
  // A generation is shown: the sweep measures the token chosen at its step `step` (0-based;
  // the Timeline's), `token`. -1: a plain run, measured at the Target field's token.
  void set_generation_step(int step, const QString& token);
  int generation_step() const { return generation_step_; }
  // The line naming the chosen heads, as shown.
  QString heads_text() const;
  QPushButton* run_button() const { return run_; }
  QPushButton* sweep_button() const { return sweep_; }

 Q_SIGNALS:
  void run_requested();
  void sweep_requested();

 private:
  void refresh();

  ViewState* state_;
  QLabel* heads_;
  QComboBox* mode_;
  QLineEdit* clean_;
  QPushButton* run_;
  QPushButton* clear_;
  QComboBox* unit_;
  QLineEdit* target_;
  QPushButton* sweep_;
  int generation_step_ = -1;
};

}  // namespace attn::ui
