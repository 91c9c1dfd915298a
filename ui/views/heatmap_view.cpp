#include "views/heatmap_view.h"

#include <QVBoxLayout>

#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

MatrixPlot::Content heatmap_content(const ViewState& state) {
  MatrixPlot::Content c;
  const RecordingPtr& rec = state.recording();
  if (!rec) return c;
  const int layer = state.layer(), head = state.head();
  if (head >= 0 && !rec->pyramid().empty()) {
    // A long recording's head: zoomed-out frames read its pyramid, hover reads single values,
    // and the whole head is made only when a frame shows cells one by one.
    const auto n = Eigen::Index(rec->num_tokens());
    c.matrix = MatrixRef(
        n, n, [rec, layer, head](Eigen::Index i, Eigen::Index j) { return rec->value(AttentionRecording::Part::Attention, layer, head, int(i), int(j)); },
        [rec, layer, head] { return rec->head(layer, head); },
        [rec, layer, head](int r0, int r1, int c0, int c1) {
          return rec->block(AttentionRecording::Part::Attention, layer, head, r0, r1, c0, c1);
        });
    c.pyramid = rec->pyramid();
    c.pyramid_level = [rec, layer, head](size_t level) { return rec->pyramid_level(layer, head, level); };
  } else if (!rec->pyramid().empty()) {
    // A long recording's mean or max of heads, made from what each frame shows of every head:
    // single values, windows, pyramid levels. The max of the heads' block maxima is the max's
    // own pyramid; for the mean, zoomed-out frames show the mean of the heads' block maxima
    // (the value name says so). Cells one by one are exact.
    const auto n = Eigen::Index(rec->num_tokens());
    const int H = rec->num_heads();
    auto whole = std::make_shared<RowMatrix>();
    c.matrix = MatrixRef(
        n, n,
        [rec, layer, head, H](Eigen::Index i, Eigen::Index j) {
          return fuse_heads(H, head, [&](int h) {
            return RowMatrix::Constant(1, 1, rec->value(AttentionRecording::Part::Attention, layer, h, int(i), int(j)));
          })(0, 0);
        },
        [rec, layer, head, whole] {
          if (whole->size() == 0) *whole = head == kHeadMean ? rec->layer_mean(layer) : rec->layer_max(layer);
          return ConstMatrixMap(whole->data(), whole->rows(), whole->cols());
        },
        [rec, layer, head, H](int r0, int r1, int c0, int c1) {
          return fuse_heads(H, head, [&](int h) { return rec->block(AttentionRecording::Part::Attention, layer, h, r0, r1, c0, c1); });
        });
    c.pyramid = rec->pyramid();
    c.pyramid_level = [rec, layer, head, H](size_t level) {
      return fuse_heads(H, head, [&](int h) { return rec->pyramid_level(layer, h, level); });
    };
  } else {
    c.matrix = state.current_matrix();
  }
  c.owner = rec;
  const auto reading = rec->meta().extra.find("reading");  // sentences (analysis/reading.h) get longer labels
  const bool sentences = reading != rec->meta().extra.end() && reading->second.find("sentences") != std::string::npos;
  c.row_labels = c.col_labels = token_labels(rec->meta(), sentences ? 24 : 14);
  for (int i = 0; i < rec->num_tokens(); ++i) c.row_names << token_quoted(rec->meta(), i);
  c.col_names = c.row_names;
  c.title = with_reading(state.selection_title(), rec->meta(), QStringLiteral("\n"));
  c.row_axis = QStringLiteral("query (attending token)");
  c.col_axis = QStringLiteral("key (attended-to token)");
  c.value_name = state.head() == kHeadMean && !rec->pyramid().empty() ? QStringLiteral("mean attention (zoomed out: mean of block maxima)")
                 : state.head() == kHeadMean                          ? QStringLiteral("mean attention")
                 : state.head() == kHeadMax ? QStringLiteral("max attention")
                                            : QStringLiteral("attention");
  c.range = state.current_range();
  c.window = rec->meta().window(state.layer());  // the title names it too (selection_title)
  return c;
}

HeatmapView::HeatmapView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state), plot_(new MatrixPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
  connect(state_, &ViewState::recording_changed, this, &HeatmapView::update_content);
  connect(state_, &ViewState::selection_changed, this, &HeatmapView::update_content);
  connect(state_, &ViewState::analysis_changed, this, &HeatmapView::update_content);
  connect(state_, &ViewState::colors_changed, this, [this] {
    plot_->set_colors(state_->colors());
    update_content();
  });
  connect(state_, &ViewState::theme_changed, this, [this] { plot_->set_theme(theme(state_->dark())); });
  connect(plot_, &MatrixPlot::hovered, this, [this](int, int, const QString& text) { Q_EMIT hovered(text); });
  connect(plot_, &MatrixPlot::cell_clicked, this, [this](int row, int) { state_->set_query(row); });
  plot_->set_colors(state_->colors());
  plot_->set_theme(theme(state_->dark()));
  update_content();
}

void HeatmapView::update_content() { plot_->set_content(heatmap_content(*state_)); }

}  // namespace attn::ui
