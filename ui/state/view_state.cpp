#include "state/view_state.h"

#include <algorithm>

#include "run/compare_cache.h"
#include "run/rollout_cache.h"
#include "session/ablate.h"
#include "util/error.h"

namespace attn::ui {

ViewState::ViewState(QObject* parent) : QObject(parent), rollout_(new RolloutCache(this)), compare_(new CompareCache(this)) {}

ViewState::~ViewState() = default;

void ViewState::set_recording(const RecordingPtr& recording, const QString& source) {
  original_ = recording;
  source_ = source;
  picture_.reset();
  show(recording);
}

void ViewState::set_reading(const Reading& reading) {
  if (reading == reading_) return;
  reading_ = reading;
  Q_EMIT reading_changed();
}

void ViewState::set_read_recording(const RecordingPtr& original, const RecordingPtr& read, const AnalysisPtr& analysis) {
  if (original != original_ || !read) return;
  show(read);
  set_analysis(read, analysis);
}

void ViewState::show(const RecordingPtr& recording) {
  recording_ = recording;
  analysis_.reset();
  latest_.reset();
  layout_ = recording_ ? ui::patch_layout(recording_->meta()) : std::nullopt;
  rollout_->set_recording(recording_);
  fused_layer_ = -1;
  fused_ = RowMatrix();
  if (recording_) {
    layer_ = std::clamp(layer_, 0, recording_->num_layers() - 1);
    if (head_ >= recording_->num_heads()) head_ = 0;
    if (query_ >= recording_->num_tokens()) query_ = -1;
  }
  compare_->set_a(recording_);  // after the selection fits the recording: the compare view reads it at once
  recorded_ablation_.clear();
  if (recording_)
    if (const auto it = recording_->meta().extra.find("ablated_heads"); it != recording_->meta().extra.end()) try {
        recorded_ablation_ = parse_heads(it->second, 1 << 20, recording_->num_heads());
      } catch (const Error&) {  // unreadable: shown as no ablation
      }
  ablated_ = recorded_ablation_;
  Q_EMIT recording_changed();
  Q_EMIT ablation_changed();
  Q_EMIT analysis_changed();
  Q_EMIT selection_changed();
  Q_EMIT query_changed();
  Q_EMIT picture_changed();
}

void ViewState::set_picture(const RecordingPtr& recording, const PicturePtr& picture) {
  if (recording != recording_ && recording != original_) return;
  picture_ = picture;
  Q_EMIT picture_changed();
}

void ViewState::set_analysis(const RecordingPtr& recording, const AnalysisPtr& analysis) {
  if (recording != recording_) return;
  latest_ = analysis;
  analysis_ = analysis && analysis->complete() ? analysis : nullptr;
  Q_EMIT analysis_changed();
}

void ViewState::select(int layer, int head) {
  if (!recording_) return;
  layer = std::clamp(layer, 0, recording_->num_layers() - 1);
  if (head != kHeadMean && head != kHeadMax) head = std::clamp(head, 0, recording_->num_heads() - 1);
  if (layer == layer_ && head == head_) return;
  layer_ = layer;
  head_ = head;
  Q_EMIT selection_changed();
}

void ViewState::set_query(int token) {
  if (recording_) token = std::clamp(token, -1, recording_->num_tokens() - 1);
  if (token == query_) return;
  query_ = token;
  Q_EMIT query_changed();
}

void ViewState::step_head(int delta) {
  if (!recording_) return;
  const int H = recording_->num_heads(), L = recording_->num_layers();
  if (head_ < 0) {  // from mean/max, arrows enter the layer's heads
    select(layer_, delta > 0 ? 0 : H - 1);
    return;
  }
  const int flat = std::clamp(layer_ * H + head_ + delta, 0, L * H - 1);
  select(flat / H, flat % H);
}

void ViewState::step_layer(int delta) { select(layer_ + delta, head_); }

void ViewState::set_colors(const ColorSettings& colors) {
  if (colors == colors_) return;
  colors_ = colors;
  Q_EMIT colors_changed();
}

void ViewState::set_dark(bool dark) {
  if (dark == dark_) return;
  dark_ = dark;
  Q_EMIT theme_changed();
}

ConstMatrixMap ViewState::current_matrix() const {
  if (!recording_) return ConstMatrixMap(nullptr, 0, 0);
  if (head_ >= 0) return recording_->head(layer_, head_);
  if (fused_layer_ != layer_ || fused_head_ != head_) {
    fused_ = head_ == kHeadMean ? recording_->layer_mean(layer_) : recording_->layer_max(layer_);
    fused_layer_ = layer_;
    fused_head_ = head_;
  }
  return ConstMatrixMap(fused_.data(), fused_.rows(), fused_.cols());
}

double ViewState::shared_max() const { return latest_ ? latest_->shared_max : 1.0; }

ValueRange ViewState::head_range(int layer, int head) const {
  double m = 1.0;
  if (latest_ && layer < latest_->layers_done) m = latest_->max_of(layer, head);
  else if (recording_ && !recording_->pyramid().empty()) m = recording_->pyramid_level(layer, head, recording_->pyramid().size() - 1).maxCoeff();
  else if (recording_) m = recording_->head(layer, head).maxCoeff();
  return attention_range(m, shared_max(), colors_.shared_range);
}

ValueRange ViewState::current_range() const {
  if (!recording_) return {};
  if (head_ >= 0) return head_range(layer_, head_);
  if (!recording_->pyramid().empty()) {
    // A long recording: from the heads' coarsest pyramid level, without reading whole heads
    // (exact for the max; for the mean, the largest mean of block maxima, an upper bound).
    const size_t top = recording_->pyramid().size() - 1;
    const RowMatrix m = fuse_heads(recording_->num_heads(), head_, [&](int h) { return recording_->pyramid_level(layer_, h, top); });
    return attention_range(m.size() ? m.maxCoeff() : 1.0, shared_max(), colors_.shared_range);
  }
  const ConstMatrixMap m = current_matrix();
  return attention_range(m.size() ? m.maxCoeff() : 1.0, shared_max(), colors_.shared_range);
}

QString ViewState::selection_title() const {
  if (!recording_) return {};
  const RecordingMeta& meta = recording_->meta();
  QString title = QStringLiteral("%1 · layer %2 · %3").arg(qstr(meta.model)).arg(meta.model_layer(layer_)).arg(head_name(meta, head_));
  if (const QString span = window_name(meta, layer_); !span.isEmpty()) title += QStringLiteral(" · ") + span;
  if (was_ablated(layer_, head_)) title += QStringLiteral(" · ") + ablation_word();
  else if (is_ablated(layer_, head_)) title += QStringLiteral(" · to switch off in the next run");
  return title;
}

namespace {

bool contains(const std::vector<HeadRef>& heads, HeadRef h) { return std::find(heads.begin(), heads.end(), h) != heads.end(); }

}  // namespace

bool ViewState::is_ablated(int layer, int head) const {
  return recording_ && layer >= 0 && layer < recording_->num_layers() && contains(ablated_, {recording_->meta().model_layer(layer), head});
}

bool ViewState::was_ablated(int layer, int head) const {
  return recording_ && layer >= 0 && layer < recording_->num_layers() &&
         contains(recorded_ablation_, {recording_->meta().model_layer(layer), head});
}

QString ViewState::ablation_word() const {
  const auto& extra = recording_ ? recording_->meta().extra : std::map<std::string, std::string>{};
  const auto it = extra.find("ablation");
  const std::string mode = it == extra.end() ? "zero" : it->second;
  return mode == "mean" ? QStringLiteral("mean-ablated") : mode == "patch" ? QStringLiteral("patched") : QStringLiteral("switched off");
}

QString ViewState::ablation_note() const {
  if (recorded_ablation_.empty()) return {};
  return QStringLiteral(" · heads %1 %2").arg(qstr(format_heads(recorded_ablation_)).replace(QLatin1Char(','), QStringLiteral(", ")), ablation_word());
}

bool ViewState::ablation_pending() const {
  auto a = ablated_, b = recorded_ablation_;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a != b;
}

void ViewState::toggle_ablated(int layer, int head) {
  if (!recording_ || layer < 0 || layer >= recording_->num_layers() || head < 0 || head >= recording_->num_heads()) return;
  const HeadRef h{recording_->meta().model_layer(layer), head};
  const auto it = std::find(ablated_.begin(), ablated_.end(), h);
  if (it == ablated_.end()) ablated_.push_back(h);
  else ablated_.erase(it);
  Q_EMIT ablation_changed();
}

void ViewState::set_ablated(std::vector<HeadRef> heads) {
  ablated_ = std::move(heads);
  Q_EMIT ablation_changed();
}

void ViewState::set_sweep(std::shared_ptr<const SweepResult> sweep) {
  sweep_ = std::move(sweep);
  Q_EMIT sweep_changed();
}

}  // namespace attn::ui
