#pragma once
// Overlay view (image recordings): the picture with attention over it — of the selected head,
// the mean / max of the layer's heads (the shared head selector) or the attention rollout —
// from [CLS] or from any patch the user clicks (that patch becomes the query, outlined).
// Blocks per patch or smooth (bilinear), an opacity slider, the current colour map; or every
// head of the layer as small overlays (click one to select it). Hover tells patch and weight.
#include <QWidget>

#include "analysis/rollout.h"
#include "views/renderable.h"
#include "views/image_overlay.h"
#include "views/overlay_grid.h"

class QComboBox;
class QLayout;
class QLabel;
class QSlider;
class QStackedWidget;
class QToolButton;

namespace attn::ui {

class ViewState;

// How the overlay is drawn (the view's own controls).
struct OverlayOptions {
  bool smooth = false;            // bilinear between patch centres, else blocks
  double opacity = 0.6;           // of the attention over the picture
  bool input_resolution = false;  // the picture as the model saw it, else the original
};

class OverlayView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum class Source { Head, Rollout };

  explicit OverlayView(ViewState* state, QWidget* parent = nullptr);

  void set_source(Source source);
  Source source() const { return source_; }
  void set_smooth(bool smooth);
  bool smooth() const { return options_.smooth; }
  bool input_resolution() const { return options_.input_resolution; }
  void set_opacity(double opacity);  // 0 … 1
  double opacity() const { return options_.opacity; }
  void set_input_resolution(bool input);  // the picture as the model saw it
  void set_show_heads(bool heads);        // every head of the layer as small overlays
  bool show_heads() const { return show_heads_; }

  // The query token whose attention is shown: the selected query, else [CLS] (token 0).
  int query_token() const;
  // What the single overlay shows ((rows, cols) weights, empty while a rollout is computed).
  const RowMatrix& grid() const { return overlay_->content().grid; }
  ValueRange range() const { return overlay_->content().style.range; }
  ImageOverlay* overlay() const { return overlay_; }
  OverlayGrid* head_grid() const { return heads_; }

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void hovered(const QString& text);

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  QLayout* build_controls();
  void sync_from_state();
  void update_content();

  ViewState* state_;
  Source source_ = Source::Head;
  OverlayOptions options_;
  bool show_heads_ = false;
  QComboBox* source_box_;
  QComboBox* from_box_;
  QComboBox* mode_box_;
  QComboBox* picture_box_;
  QSlider* opacity_slider_;
  QToolButton* heads_button_;
  QLabel* status_;
  QStackedWidget* stack_;
  ImageOverlay* overlay_;
  OverlayGrid* heads_;
  bool syncing_ = false;
};

// The overlay of `state`'s selection — or of the rollout row, when `rollout` is given — from
// `query` (a token; -1: [CLS]) as the view shows it; used by the view and the headless export.
OverlayContent overlay_content(const ViewState& state, const OverlayOptions& options, int query, const RowMatrix* rollout);
// The colour range of rollout values: [0, max]; of flow values, which crowd near the top
// (every token keeps half its own flow), [smallest positive value, max].
ValueRange rollout_range(const RowMatrix& values, const RolloutOptions& options);
// Every head of the selected layer (and their mean) as grid cells, for the query.
OverlayGrid::Content head_grid_content(const ViewState& state, const OverlayOptions& options, int query);

}  // namespace attn::ui
