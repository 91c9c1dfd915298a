#pragma once
// The attention rollout (or flow: options().method) of the current recording under the current options, computed once in
// the background when a view asks for it and shared by the views that show it (the Rollout
// tab, the image overlay). GUI thread only.
#include <QObject>
#include <memory>

#include "analysis/flow.h"
#include "model/tensor_types.h"
#include "qt_convert.h"
#include "run/job_runner.h"

namespace attn::ui {

// "attention rollout (mean of heads, discard 0.9)", "attention flow (mean of heads)".
QString rollout_name(const RolloutOptions& options);
// What one value is: "rollout" or "flow".
QString rollout_value_name(const RolloutOptions& options);

class RolloutCache : public QObject {
  Q_OBJECT
 public:
  explicit RolloutCache(QObject* parent = nullptr);

  // A new recording drops the result (ViewState calls this).
  void set_recording(const RecordingPtr& recording);
  const RolloutOptions& options() const { return options_; }
  // Different options drop the result; changed() follows.
  void set_options(const RolloutOptions& options);
  // The rollout (N, N), or null until computed.
  const std::shared_ptr<const RowMatrix>& result() const { return result_; }
  bool computing() const { return computing_; }
  // While computing: the share done (flow reports rows; rollout is quick and reports none).
  double progress() const { return progress_; }
  // Starts computing unless the result is there or on its way; computed() follows.
  void request();
  // Recomputes even when a result is there.
  void recompute();
  // A rollout computed elsewhere for the current recording (headless export).
  void set_result(std::shared_ptr<const RowMatrix> rollout);

 Q_SIGNALS:
  void changed();   // the result was dropped (new recording or options): ask again to see it
  void progressed(double fraction);
  void computed();  // result() is ready
  void failed(const QString& message);

 private:
  void drop();

  JobRunner runner_;
  RecordingPtr recording_;
  RolloutOptions options_;
  std::shared_ptr<const RowMatrix> result_;
  bool computing_ = false;
  double progress_ = 0.0;
};

}  // namespace attn::ui
