#pragma once
// Rollout view: attention rollout or attention flow (Abnar & Zuidema 2020,
// core/analysis/rollout.h, flow.h; a choice in the view) as a heatmap of every query, and as bars for one chosen query token: how much each input token
// flows into it through all layers; for image recordings the chosen query's row (of [CLS]
// by default) over the picture instead of the bars, patches only. Computed in the background
// (the ViewState's shared RolloutCache) when the view is shown.
#include <QWidget>
#include <memory>

#include "analysis/rollout.h"
#include "views/renderable.h"
#include "model/tensor_types.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QCustomPlot;
class QCPBars;
class QCPAxisTickerText;
class QLabel;
class QSplitter;
class QStackedWidget;

namespace attn::ui {

class ViewState;
class MatrixPlot;
class ImageOverlay;


class RolloutView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  explicit RolloutView(ViewState* state, QWidget* parent = nullptr);
  ~RolloutView() override;

  // The rollout shown, or null while it is computed.
  const std::shared_ptr<const RowMatrix>& rollout() const;
  MatrixPlot* plot() const { return plot_; }
  // Image recordings: the query's rollout row over the picture (hidden for text).
  ImageOverlay* image_overlay() const { return overlay_; }
  bool showing_image() const;
  QCustomPlot* bars_plot() const { return bars_plot_; }
  QCPBars* bars() const { return bars_; }
  int query() const;  // the query token the bars show
  void set_options(const RolloutOptions& options);
  // Computes in the background (the view does so on its own when shown); computed() follows.
  void compute();
  // Shows a rollout computed elsewhere for the current recording (headless export).
  void set_rollout(std::shared_ptr<const RowMatrix> rollout);

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void computed();
  void failed(const QString& message);
  void hovered(const QString& text);

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void invalidate();
  void sync_options();
  void show_rollout();
  void update_bars();
  void update_overlay();
  void update_bar_ticks();
  void apply_theme();

  ViewState* state_;
  QComboBox* method_;
  QComboBox* fusion_;
  QDoubleSpinBox* discard_;
  QComboBox* query_;
  QCheckBox* smooth_;
  QLabel* status_;
  MatrixPlot* plot_;
  QCustomPlot* bars_plot_;
  QCPBars* bars_ = nullptr;
  QSharedPointer<QCPAxisTickerText> bar_ticks_;
  ImageOverlay* overlay_;
  QSplitter* split_;
  QStackedWidget* below_;
  bool syncing_ = false;
};

}  // namespace attn::ui
