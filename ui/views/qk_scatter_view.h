#pragma once
// Query/key space (after AttentionViz): one head's query and key vectors projected together
// to 2-D (analysis/qk_projection.h: keys translated onto the queries' mean, both scaled to
// equal mean norms, PCA), queries and keys in the theme's two colours and shapes, both axes
// at one scale. Hovering a point shows its token; clicking a query makes it the shared query
// token and draws lines to the keys it attends to (width and opacity by weight, weights below
// kMinLinkWeight hidden). Follows the shared layer and head. A recording without Q/K shows
// why, with a button asking for a run with Q/K/V (qkv_requested; the main window re-runs).
// The projection is a d × d eigenproblem per head (d = the head size): done on the GUI thread.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <optional>
#include <string>

#include "analysis/qk_projection.h"
#include "views/renderable.h"

class QCPGraph;
class QCPTextElement;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QPushButton;

namespace attn::ui {

class ViewState;

class QkScatterView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  static constexpr float kMinLinkWeight = 0.02f;  // lighter attention draws no line

  explicit QkScatterView(ViewState* state, QWidget* parent = nullptr);

  QCustomPlot* plot() const { return plot_; }
  QPushButton* rerun_button() const { return rerun_; }
  // The projection shown, or null (no recording, no Q/K, or the mean / max of a layer).
  const QkProjection* projection() const { return projection_ ? &*projection_ : nullptr; }
  // Where token `token`'s query (or key) point is drawn, in the plot's pixels.
  QPoint point_pixel(int token, bool key) const;
  int shown_links() const { return links_; }  // lines drawn from the selected query
  // The caption under the plot (what was done to the vectors, the variance the axes hold).
  QString caption() const;

  QString render_title() const override;
  QSize render_size() const override { return {1000, 900}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void qkv_requested();                // run the input again, recording Q/K/V
  void hovered(const QString& text);   // the status bar's hover text

 private:
  void rebuild();       // the recording, layer, head or theme changed
  void update_links();  // the query changed
  void fit_ranges();    // both axes at one scale, every point inside
  void show_message(const QString& why);
  bool nearest_point(const QPointF& pixel, int* token, bool* key) const;
  QString token_text(int token) const;

  ViewState* state_;
  QPushButton* rerun_;
  QCustomPlot* plot_;
  QCPTextElement* title_;
  QCPTextElement* caption_;
  QCPItemText* message_;
  QCPGraph* queries_;
  QCPGraph* keys_;
  QCPGraph* marker_;
  std::optional<QkProjection> projection_;
  int links_ = 0;
};

// Why the view has nothing to show for `state` ("" when it has).
std::string qk_scatter_missing(const ViewState& state);
// The points as shown: CSV rows role,token_index,token,x,y (queries, then keys), or NPY
// (2, N, 2): queries then keys. Throws attn::Error when there is nothing to write.
QStringList write_qk_points(const ViewState& state, const QString& out, bool csv);

}  // namespace attn::ui
