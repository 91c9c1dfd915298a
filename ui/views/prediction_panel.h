#pragma once
// Prediction panel (side bar): what the model predicts for the current recording — the top 5
// classes of an image or text classifier, the filler of a [MASK], or the next token — with
// probability bars. Reads the predictions a run stores in the recording (run/predictions.h),
// so a saved recording shows them without its model. Draws itself for export.
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
  // The rows as shown: "label  12.3 %".
  QStringList row_texts() const;

  QString render_title() const override;
  QSize render_size() const override { return {700, 360}; }
  void render(QCPPainter& painter, const QSize& size) override;
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  void refresh();
  void paint(QPainter& painter, const QSize& size, bool figure) const;

  ViewState* state_;
  std::optional<Predictions> predictions_;
};

}  // namespace attn::ui
