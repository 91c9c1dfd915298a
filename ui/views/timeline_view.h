#pragma once
// Timeline (generations): a slider, ←/→ and Play step through the generated tokens. For step t
// it shows the token chosen and the model's top candidates with their probabilities, and the
// attention row that produced it (the query at the position before the token) — every head of
// the selected layer and the layer's mean and max as a strip over the sequence, and the text
// itself shaded by the selected head's (or mean's / max's) weight. Hover a cell for its
// weight. Draws itself for export (one step; `attnscope export --view timeline --step all`
// writes every step).
#include <QWidget>
#include <optional>
#include <vector>

#include "session/generate.h"
#include "views/renderable.h"

class QLabel;
class QSlider;
class QTimer;
class QToolButton;

namespace attn::ui {

class ViewState;

// What one step of the timeline shows.
struct TimelineStep {
  int step = 0, steps = 0;
  int position = 0;                  // the producing row: the query before the chosen token
  int prompt_length = 0;             // tokens before it were the prompt, from it on generated
  GenerationStep chosen;
  std::string query_token;           // the token at `position`
  bool over_source = false;          // a translation: the rows are cross-attention over the source
  std::vector<std::string> tokens;   // keys 0 .. position (a translation: the source tokens)
  RowMatrix rows;                    // (heads + 2, keys): each head, then mean, then max
  int selected_row = 0;              // the row of the selected head (or mean / max)
  int model_layer = 0;
};

// The content of step `t` at the state's layer and head; nullopt when the recording is not a
// generation. Reads only the producing row of each head: of the decoder's cross-attention, over
// the source, for a translation (what an encoder-decoder looked at to choose the token).
std::optional<TimelineStep> timeline_step(const ViewState& state, int t);

class TimelineView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit TimelineView(ViewState* state, QWidget* parent = nullptr);

  int steps() const;
  int step() const { return step_; }
  // Shows step `t` (clamped; -1: the last).
  void set_step(int t);
  bool playing() const;
  void set_playing(bool play);
  // What the strip cell under `pos` (widget coordinates of the drawing) holds, or "".
  QString describe_at(const QPointF& pos) const;

  QString render_title() const override;
  QSize render_size() const override { return {1200, 600}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void step_changed(int step);
  void hovered(const QString& text);

 protected:
  void keyPressEvent(QKeyEvent* event) override;

 private:
  class Canvas;
  void refresh();
  void update_content();

  ViewState* state_;
  std::optional<GenerationInfo> info_;
  std::optional<TimelineStep> content_;
  int step_ = 0;
  QToolButton* prev_;
  QToolButton* next_;
  QToolButton* play_;
  QSlider* slider_;
  QLabel* label_;
  Canvas* canvas_;
  QTimer* timer_;
};

}  // namespace attn::ui
