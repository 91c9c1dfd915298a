#pragma once
// Rollout view: attention rollout (Abnar & Zuidema 2020, core/analysis/rollout.h) as a
// heatmap of every query, and as bars for one chosen query token: how much each input token
// flows into it through all layers. Computed in the background when the view is shown.
#include <QWidget>
#include <memory>

#include "analysis/rollout.h"
#include "export/renderable.h"
#include "model/tensor_types.h"

class QComboBox;
class QDoubleSpinBox;
class QCustomPlot;
class QCPBars;
class QCPAxisTickerText;
class QLabel;

namespace attn::ui {

class ViewState;
class MatrixPlot;
class JobRunner;

class RolloutView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit RolloutView(ViewState* state, QWidget* parent = nullptr);
  ~RolloutView() override;

  // The rollout shown, or null while it is computed.
  const std::shared_ptr<const RowMatrix>& rollout() const { return rollout_; }
  MatrixPlot* plot() const { return plot_; }
  QCustomPlot* bars_plot() const { return bars_plot_; }
  QCPBars* bars() const { return bars_; }
  int query() const;  // the query token the bars show
  void set_options(const RolloutOptions& options);
  // Computes in the background (the view does so on its own when shown); computed() follows.
  void compute();
  // Shows a rollout computed elsewhere for the current recording (headless export).
  void set_rollout(std::shared_ptr<const RowMatrix> rollout);

  QString render_title() const override;
  QSize render_size() const override { return {1000, 1200}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void computed();
  void failed(const QString& message);
  void hovered(const QString& text);

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void invalidate();
  void show_rollout();
  void update_bars();
  void update_bar_ticks();
  void apply_theme();

  ViewState* state_;
  JobRunner* runner_;
  QComboBox* fusion_;
  QDoubleSpinBox* discard_;
  QComboBox* query_;
  QLabel* status_;
  MatrixPlot* plot_;
  QCustomPlot* bars_plot_;
  QCPBars* bars_ = nullptr;
  QSharedPointer<QCPAxisTickerText> bar_ticks_;
  std::shared_ptr<const RowMatrix> rollout_;
  RolloutOptions options_;
  bool stale_ = true;
};

}  // namespace attn::ui
