#pragma once
// What the compare view shows, built from the ViewState and its CompareCache: recording A's
// and B's matrices of the selection on one colour range, their difference A − B on the
// diverging map (±max |A − B|), the hover text of a cell, the sentence above the plots and
// every head's difference as model-view thumbnails. Shared by the view and its tests.
#include <QString>
#include <optional>

#include "views/matrix_plot.h"
#include "views/model_view.h"

namespace attn::ui {

class ViewState;

// Why the compare view has no recording B, and how to choose one ("" when it has one).
std::string no_comparison(const ViewState& state);

struct CompareContent {
  MatrixPlot::Content a, b;
  std::optional<MatrixPlot::Content> diff;  // only when A − B can be shown
  QString message;                          // the sentence above the plots
};

// `b_state` is a ViewState of the view's own that shows B at A's selection (clamped to B's
// layers and heads).
CompareContent compare_content(const ViewState& state, ViewState& b_state);
// "“·cat” (2) → “The” (0): A 0.31 · B 0.12 · A − B +0.19", or "" outside the matrices.
QString compare_hover(const CompareContent& c, int row, int col);
// Every head's A − B coloured on the diverging map over ±the largest |A − B| (null without a result).
std::optional<ModelView::Thumbs> difference_thumbs(const ViewState& state);

}  // namespace attn::ui
