#pragma once
// Prediction panel (side bar): what the model predicts for the current recording — the top 5
// classes of an image or text classifier, the filler of a [MASK], or the next token — with
// probability bars. Reads the predictions a run stores in the recording (run/predictions.h),
// so a saved recording shows them without its model. After a run with heads switched off
// (mean-ablated, patched) each row shows before → after: a thin bar for the plain run's
// probability above the changed run's. Draws itself for export.
#include <QWidget>
#include <optional>

#include "views/renderable.h"
#include "run/predictions.h"

namespace attn::ui {

class ViewState;

class PredictionPanel : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit PredictionPanel(ViewState* state, QWidget* parent = nullptr);

  const std::optional<Predictions>& predictions() const { return predictions_; }
  // The plain run's predictions when the recording's run changed heads, else nullopt.
  const std::optional<Predictions>& before() const { return before_; }
  // The rows as shown: "label  12.3 %", after an ablation "label  40.1 % → 12.3 %".
  QStringList row_texts() const;
  // What the panel says when there is no prediction to show ("" when there is one).
  QString empty_text() const;

  QString render_title() const override;
  QSize render_size() const override { return {700, 360}; }
  void render(QCPPainter& painter, const QSize& size) override;
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  void refresh();
  std::optional<double> before_prob(int id) const;
  QString prob_text(const Prediction& e) const;
  QString caption() const;
  void paint(QPainter& painter, const QSize& size, bool figure) const;

  ViewState* state_;
  std::optional<Predictions> predictions_, before_;
};

}  // namespace attn::ui
