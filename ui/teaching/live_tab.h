#pragma once
// Teaching mode, "Live": one query of one head of the current recording walked through
// attention step by step — q and the keys, Q·Kᵀ, ÷√d, the causal mask, softmax, Σ p·v —
// one panel per step with a picture, the numbers and a caption. Models of the Llama kind
// add the steps they take first, each shown only when the model takes it: key/value heads
// shared by a group of query heads, q/k norm, and the rotation by position (redone from the
// recording's raw projections, analysis/attention_steps.h rotary_steps). The dot products come from
// the recorded Q/K (analysis/attention_steps.h); scores, weights and output are the engine's
// own (recorded scores and attention, attention · V), and the tab reports how closely its
// recomputation agrees. The recording must hold Q/K/V (RunOptions::record_qkv); scores are
// recomputed when it has none.
#include <QWidget>
#include <array>

#include "analysis/attention_steps.h"
#include "views/renderable.h"
#include "qt_convert.h"

class QComboBox;
class QLabel;
class QSpinBox;

namespace attn::ui {

class BarPlot;
class GridPlot;
class StepPanel;

class LiveTab : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum Step { Inputs, Sharing, Norm, Rotate, Dots, Scale, Mask, Softmax, Output, StepCount };

  explicit LiveTab(QWidget* parent = nullptr);

  // Shows `recording` (null clears); without Q/K/V the tab says how to get them.
  void set_recording(const RecordingPtr& recording);
  const RecordingPtr& recording() const { return recording_; }
  // Picks what to walk through; values are clamped to the recording.
  void select(int layer, int head, int query);
  int layer() const { return layer_; }
  int head() const { return head_; }
  int query() const { return query_; }
  bool ready() const { return ready_; }

  // What the panels show, for tests and export.
  const QuerySteps& steps() const { return steps_; }
  // The query's own walk from its raw projection (rotary recordings; else empty).
  const RotarySteps& query_rotation() const { return rotation_; }
  // How far the recomputed numbers are from the engine's (the largest absolute difference).
  double recompute_difference() const { return difference_; }
  StepPanel* panel(Step step) const { return panels_[step]; }
  // Whether the recording's model takes `step` (Sharing, Norm and Rotate are the Llama
  // kind's); hidden panels are not drawn or exported.
  bool shows(Step step) const { return shown_[size_t(step)]; }
  GridPlot* grid(Step step) const;  // Inputs, Sharing, Norm, Rotate, Output; else null
  BarPlot* bars(Step step) const;  // Dots, Scale, Mask, Softmax; else null
  GridPlot* inputs_plot() const { return inputs_; }
  GridPlot* output_plot() const { return output_; }

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void selection_changed(int layer, int head, int query);

 private:
  void build_controls();
  void sync_controls();
  void update_steps();
  void update_model_steps();  // Sharing, Norm, Rotate
  void arrange_panels();
  QString key_numbers(const Vector& values) const;

  RecordingPtr recording_;
  bool ready_ = false;
  int layer_ = 0, head_ = 0, query_ = 0;
  QuerySteps steps_;
  RotarySteps rotation_;
  double difference_ = 0;
  QSpinBox* layer_box_;
  QSpinBox* head_box_;
  QComboBox* query_box_;
  QLabel* hint_;
  QWidget* steps_area_;
  GridPlot* inputs_;
  GridPlot* sharing_;
  GridPlot* norm_;
  GridPlot* rotate_;
  GridPlot* output_;
  std::array<BarPlot*, 4> bars_{};  // Dots, Scale, Mask, Softmax
  std::array<StepPanel*, StepCount> panels_{};
  std::array<bool, StepCount> shown_{};
  std::array<bool, StepCount> arranged_{};  // what the grid holds now
  bool syncing_ = false;
};

}  // namespace attn::ui
