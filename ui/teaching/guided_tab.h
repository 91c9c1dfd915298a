#pragma once
// Teaching mode, "Guided": four textbook heads found on the bundled models — a
// previous-token head (attnscope-gpt2-small), an induction head on a repeated sequence
// (attnscope-induction-toy), a head parking its attention on [CLS]/[SEP] (attnscope-bert-mini),
// and a translation's alignment head, whose cross-attention reads the source word each target
// token translates, in the target's order (attnscope-translate-dates).
// Each example loads its model and runs (or translates) a fixed input in the background (JobRunner), measures
// every head (analysis/guided_examples.h) and shows the best one with an explanation; nothing
// about which head it is is written down in advance.
#include <QWidget>
#include <array>
#include <map>
#include <memory>
#include <optional>

#include "analysis/guided_examples.h"
#include "session/cross_steps.h"
#include "views/renderable.h"
#include "qt_convert.h"
#include "run/job_runner.h"
#include "run/run_controller.h"

class QButtonGroup;
class QLabel;
class QPushButton;

namespace attn::ui {

class BarPlot;
class MatrixPlot;

// What one guided example runs and looks for.
struct GuidedExample {
  enum class Kind { PreviousToken, Induction, Parking, Alignment };
  Kind kind;
  QString title;
  QString model;  // bundled model folder name
  QString text;
  QString pair;   // may be empty
  QString intro;  // what to look for, before it has run
};

// The examples, in the order the tab lists them.
inline constexpr size_t kGuidedExamples = 4;
const std::array<GuidedExample, kGuidedExamples>& guided_examples();
// The induction example's prompt: 20 distinct random syllables ("ba", "ko", ... — the
// induction toy's vocabulary), fixed seed, said twice.
QString repeated_syllables(int count = 20, uint32_t seed = 4);

class GuidedTab : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit GuidedTab(QWidget* parent = nullptr);
  ~GuidedTab() override;

  // Uses `dir` instead of the bundled folder for example `index` (tests, other models).
  void set_model_dir(int index, const QString& dir);
  QString model_dir(int index) const;  // empty when the bundled model is missing
  // Loads and runs example `index` in the background; example_ready or example_failed follow.
  void show_example(int index);
  int current() const { return current_; }
  bool busy() const;

  // The shown example's result (null / not found before it has run).
  const RecordingPtr& recording() const { return recording_; }
  const HeadFinding& finding() const { return finding_; }
  // The alignment example's walk through one row of the head (q from the decoder, k and v from
  // the encoder); nullopt for the others.
  const std::optional<CrossSteps>& cross_steps() const { return cross_; }
  MatrixPlot* heatmap() const { return heatmap_; }
  BarPlot* scores_plot() const { return scores_; }
  QString explanation() const;

  QString render_title() const override;
  QSize render_size() const override { return {1200, 1000}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void example_ready(int index);
  void example_failed(int index, const QString& message);
  // Ask the main window to show this head; open_example_requested comes first with what to
  // run so the main window can show the same input.
  void open_example_requested(const QString& model_dir, const QString& text, const QString& pair);
  void open_head_requested(int layer, int head);

 private:
  struct Result {
    int index = 0;
    ModelPtr model;
    RecordingPtr recording;
    HeadFinding finding;
    std::optional<CrossSteps> cross;  // the alignment example: one row of its head, from the model
  };
  void show_result(const Result& result);
  void show_message(const QString& message);

  JobRunner runner_;
  std::map<QString, ModelPtr> models_;  // loaded models by folder (GUI thread only)
  std::array<QString, kGuidedExamples> dir_overrides_;
  int current_ = -1;
  RecordingPtr recording_;
  HeadFinding finding_;
  std::optional<CrossSteps> cross_;
  QButtonGroup* buttons_;
  QLabel* intro_;
  QLabel* status_;
  QLabel* explanation_;
  MatrixPlot* heatmap_;
  BarPlot* scores_;
  QPushButton* open_button_;
};

}  // namespace attn::ui
