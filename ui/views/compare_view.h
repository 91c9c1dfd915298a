#pragma once
// Compare view: the current recording (A) and a second one (B, from File > Compare with
// recording… or the previous run) side by side for the selected head or layer mean, on one
// colour range, with their difference A − B on a diverging map centred on 0 (±max |A − B|);
// or every head's difference as a model view. Hovering a cell shows A, B and A − B. When the
// recordings' tokens, layers or heads differ in number, A and B are side by side only and the
// sentence above them says why.
#include <QWidget>

#include "views/compare_content.h"
#include "views/renderable.h"

class QComboBox;
class QLabel;
class QStackedWidget;

namespace attn::ui {

class ViewState;

class CompareView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum class Mode { Selection, EveryHead };  // A | B | A − B of the selection, or every head's A − B
  explicit CompareView(ViewState* state, QWidget* parent = nullptr);

  Mode mode() const { return mode_; }
  void set_mode(Mode mode);
  MatrixPlot* plot_a() const { return a_; }
  MatrixPlot* plot_b() const { return b_; }
  MatrixPlot* plot_diff() const { return d_; }
  ModelView* heads() const { return heads_; }
  QString message() const;
  const CompareContent& content() const { return content_; }

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void hovered(const QString& text);

 private:
  void update_content();
  void update_heads();
  bool every_head_shown() const;

  ViewState* state_;
  ViewState* b_state_;  // B at A's selection, for its matrix
  Mode mode_ = Mode::Selection;
  CompareContent content_;
  QLabel* message_;
  QComboBox* mode_box_;
  QStackedWidget* stack_;
  MatrixPlot *a_, *b_, *d_;
  ModelView* heads_;
};

}  // namespace attn::ui
