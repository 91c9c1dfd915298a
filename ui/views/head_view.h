#pragma once
// Head view (after BertViz): the layer's heads as coloured lines from the tokens on the left
// to the tokens on the right, opacity = weight. A toggle per head; selecting one head in the
// shared selector shows only it, mean/max shows all.
#include <QWidget>
#include <vector>

#include "views/renderable.h"

class QToolButton;
class QHBoxLayout;
class QLabel;
class QScrollArea;

namespace attn::ui {

class ViewState;
class HeadLines;

class HeadView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit HeadView(ViewState* state, QWidget* parent = nullptr);

  HeadLines* lines() const { return lines_; }
  void set_heads(const std::vector<bool>& enabled);
  void set_all_heads(bool on);

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 private:
  void rebuild_toggles();
  void sync_to_selection();
  void style_toggles();
  void show_hint();

  ViewState* state_;
  HeadLines* lines_;
  QScrollArea* scroll_;
  QLabel* hint_;  // how to use the view, or that the strongest lines are being found
  QHBoxLayout* toggles_layout_;
  std::vector<QToolButton*> toggles_;
};

}  // namespace attn::ui
