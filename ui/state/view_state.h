#pragma once
// What every view shows: the recording (and its analysis; for image recordings the patch
// layout and the picture), the selected layer, head and query token, how attention is
// coloured, and the shared attention rollout. Views observe it; selectors and clicks change
// it. GUI thread only.
#include <QObject>
#include <QString>
#include <memory>
#include <optional>
#include <vector>

#include "colormap/colormap.h"
#include "colormap/value_mapper.h"
#include "image/picture.h"
#include "qt_convert.h"
#include "analysis/reading.h"
#include "analysis/recording_analysis.h"
#include "nn/interventions.h"

namespace attn {
struct SweepResult;
}

namespace attn::ui {

class CompareCache;
class RolloutCache;

class ViewState : public QObject {
  Q_OBJECT
 public:
  explicit ViewState(QObject* parent = nullptr);
  ~ViewState() override;

  // A new recording keeps the selection where it still fits; analysis and picture are cleared.
  // It is shown as it is until set_read_recording() delivers it read as reading() says.
  void set_recording(const RecordingPtr& recording, const QString& source = {});
  // How the recording is read (sinks hidden, words, sentences): the window derives the read
  // recording off the GUI thread (analysis/reading.h) and delivers it here with its analysis;
  // ignored unless `original` is still original(). Views show recording(), the read one.
  const Reading& reading() const { return reading_; }
  void set_reading(const Reading& reading);
  void set_read_recording(const RecordingPtr& original, const RecordingPtr& read, const AnalysisPtr& analysis);
  // The recording as run or opened (what File ▸ Save recording writes), before reading.
  const RecordingPtr& original() const { return original_; }
  // Image recordings: where the patches are (nullopt for text), and the picture the model saw
  // (null until delivered; ignored unless it belongs to the current recording).
  const std::optional<PatchLayout>& patch_layout() const { return layout_; }
  bool is_image() const { return layout_.has_value(); }
  void set_picture(const RecordingPtr& recording, const PicturePtr& picture);
  const PicturePtr& picture() const { return picture_; }
  // The rollout of the current recording, shared by the views that show it.
  RolloutCache* rollout() const { return rollout_; }
  // The recording the compare view sets against this one (B), and their comparison.
  CompareCache* comparison() const { return compare_; }
  // Ignored unless it belongs to the current recording. A partial analysis (the first layers,
  // while the rest is computed) is kept as latest_analysis(); analysis() is the complete one.
  void set_analysis(const RecordingPtr& recording, const AnalysisPtr& analysis);
  const RecordingPtr& recording() const { return recording_; }
  const AnalysisPtr& analysis() const { return analysis_; }
  const AnalysisPtr& latest_analysis() const { return latest_; }
  const QString& source() const { return source_; }  // the file it came from, or empty

  int layer() const { return layer_; }
  int head() const { return head_; }  // a head, kHeadMean or kHeadMax
  int query() const { return query_; }  // a token, or -1
  void select(int layer, int head);
  void set_layer(int layer) { select(layer, head_); }
  void set_head(int head) { select(layer_, head); }
  void set_query(int token);
  // Arrow keys: the next/previous head (wrapping into the neighbouring layer), the next layer.
  void step_head(int delta);
  void step_layer(int delta);

  const ColorSettings& colors() const { return colors_; }
  void set_colors(const ColorSettings& colors);
  bool dark() const { return dark_; }
  void set_dark(bool dark);

  // The selected matrix (N, N): one head, or the mean / max over the layer's heads (cached).
  // For a long recording's mean / max this reads every head of the layer whole: views read
  // windows of it with fuse_heads (record/recording.h) instead.
  ConstMatrixMap current_matrix() const;
  // The colour range of the selection, or of any head, under the current settings.
  ValueRange current_range() const;
  ValueRange head_range(int layer, int head) const;
  // "gpt2 · layer 3 · head 5"; with grouped heads and sliding windows
  // "gemma · layer 0 · head 3 (KV group 1) · sliding window 4"; an ablated head adds
  // " · switched off" (or mean-ablated, patched; "to switch off" before the run).
  QString selection_title() const;

  // Interventions: the heads (model layers) to switch off, mean-ablate or patch in the next
  // run. A recording sets them to the ones its run changed (`ablated_heads`); the model view
  // and the selectors toggle them. `layer` below is a recording layer.
  const std::vector<HeadRef>& ablated() const { return ablated_; }
  bool is_ablated(int layer, int head) const;
  // Whether the current recording's run changed that head (not only chosen for the next run).
  bool was_ablated(int layer, int head) const;
  // "switched off", "mean-ablated" or "patched": how the recording's run changed its heads.
  QString ablation_word() const;
  // " · heads 0.1, 1.2 switched off" when the recording's run changed heads, else "": every
  // view's title ends with it.
  QString ablation_note() const;
  // Whether the heads chosen differ from the ones the recording's run changed.
  bool ablation_pending() const;
  void toggle_ablated(int layer, int head);
  void set_ablated(std::vector<HeadRef> heads);
  // The latest ablation sweep (session/ablate.h), or null.
  const std::shared_ptr<const SweepResult>& sweep() const { return sweep_; }
  void set_sweep(std::shared_ptr<const SweepResult> sweep);

 Q_SIGNALS:
  void recording_changed();
  void analysis_changed();
  void selection_changed();
  void query_changed();
  void colors_changed();
  void theme_changed();
  void picture_changed();
  void ablation_changed();
  void sweep_changed();
  void reading_changed();

 private:
  double shared_max() const;
  // Shows `recording` (the original or its reading): the selection clamped to it, its
  // analysis and rollout cleared.
  void show(const RecordingPtr& recording);

  RecordingPtr original_, recording_;
  Reading reading_;
  AnalysisPtr analysis_, latest_;
  QString source_;
  std::optional<PatchLayout> layout_;
  PicturePtr picture_;
  RolloutCache* rollout_;
  CompareCache* compare_;
  int layer_ = 0, head_ = 0, query_ = -1;
  ColorSettings colors_;
  bool dark_ = false;
  mutable RowMatrix fused_;  // mean / max of (fused_layer_, fused_head_)
  mutable int fused_layer_ = -1, fused_head_ = 0;
  std::vector<HeadRef> ablated_, recorded_ablation_;  // chosen; changed by the recording's run
  std::shared_ptr<const SweepResult> sweep_;
};

}  // namespace attn::ui
