#include "views/compare_content.h"

#include <algorithm>

#include "run/compare_cache.h"
#include "state/view_state.h"
#include "views/heatmap_view.h"

namespace attn::ui {

namespace {

QString signed_weight(double v) { return (v > 0 ? QStringLiteral("+") : QString()) + format_weight(v); }

// Token labels of A with B's token beside it where they differ: "cat/dog".
QStringList difference_labels(const RecordingMeta& a, const RecordingMeta& b, const CompareCheck& check) {
  QStringList labels = token_labels(a);
  const QStringList other = token_labels(b);
  for (int i : check.differing_tokens)
    if (i < labels.size() && i < other.size()) labels[i] += QStringLiteral("/") + other[i];
  return labels;
}

}  // namespace

std::string no_comparison(const ViewState& state) {
  if (state.recording() && state.comparison()->b()) return {};
  return "no recording B to compare with: choose one with File > Compare with recording… or File > Compare with previous run "
         "(attnscope export --recording-b FILE)";
}

CompareContent compare_content(const ViewState& state, ViewState& b_state) {
  CompareContent c;
  const CompareCache& cmp = *state.comparison();
  if (!state.recording()) {
    c.message = QStringLiteral("Run a model or open a recording: it is A. Then choose B to compare it with.");
    return c;
  }
  c.a = heatmap_content(state);
  c.a.title = QStringLiteral("A · ") + c.a.title.section(QStringLiteral(" · "), 1);  // the models are named above
  if (!cmp.b()) {
    c.message = qstr(no_comparison(state)).replace(0, 1, QStringLiteral("N"));
    return c;
  }
  if (b_state.recording() != cmp.b()) b_state.set_recording(cmp.b(), cmp.b_source());
  b_state.set_colors(state.colors());
  b_state.select(state.layer(), state.head());
  c.b = heatmap_content(b_state);
  c.b.title = QStringLiteral("B · ") + c.b.title.section(QStringLiteral(" · "), 1);
  const double hi = std::max(c.a.range.hi, c.b.range.hi);  // one scale: the colours of A and B compare
  c.a.range.hi = c.b.range.hi = hi;
  const QString source = QStringLiteral("A is %1, B is %2 (%3)").arg(qstr(state.recording()->meta().model), cmp.b_source(), qstr(cmp.b()->meta().model));
  const CompareCheck& check = cmp.check();
  if (!check.comparable) {
    c.message = source + QStringLiteral(". No difference is shown: ") + qstr(check.reason) + QLatin1Char('.');
    return c;
  }
  auto diff = std::make_shared<const RowMatrix>(attention_difference(*state.recording(), *cmp.b(), state.layer(), state.head()));
  const double m = diff->size() ? double(diff->cwiseAbs().maxCoeff()) : 0.0;
  MatrixPlot::Content d;
  d.matrix = MatrixRef(ConstMatrixMap(diff->data(), diff->rows(), diff->cols()));
  d.owner = diff;
  d.row_labels = d.col_labels = difference_labels(state.recording()->meta(), cmp.b()->meta(), check);
  d.row_names = c.a.row_names;
  d.col_names = c.a.col_names;
  d.title = QStringLiteral("A − B · ") + state.selection_title().section(QStringLiteral(" · "), 1);
  d.row_axis = c.a.row_axis;
  d.col_axis = c.a.col_axis;
  d.value_name = QStringLiteral("A − B");
  d.range = ValueRange{-std::max(m, 1e-6), std::max(m, 1e-6)};
  c.diff = std::move(d);
  QString selection = state.selection_title().section(QStringLiteral(" · "), 1);  // "layer 2 · head 1"
  selection[0] = selection[0].toUpper();
  QString summary = source + QStringLiteral(", ") + qstr(check.describe_tokens()) +
                    QStringLiteral(". %1: max |A − B| = %2 (red: A attends more, blue: B)").arg(selection, QString::number(m, 'g', 3));
  if (const ComparisonPtr& r = cmp.result())
    summary += QStringLiteral("; every head: max %1 at layer %2 head %3")
                   .arg(double(r->max_abs), 0, 'g', 3)
                   .arg(state.recording()->meta().model_layer(r->worst_layer))
                   .arg(r->worst_head);
  c.message = summary + QLatin1Char('.');
  return c;
}

QString compare_hover(const CompareContent& c, int row, int col) {
  const MatrixRef& a = c.a.matrix;
  if (row < 0 || col < 0 || row >= a.rows() || col >= a.cols()) return {};
  auto name = [](const QStringList& names, int i) { return i < names.size() ? names[i] : QString::number(i); };
  QString text = QStringLiteral("%1 → %2: A %3").arg(name(c.a.row_names, row), name(c.a.col_names, col), format_weight(a(row, col)));
  if (row < c.b.matrix.rows() && col < c.b.matrix.cols()) text += QStringLiteral(" · B %1").arg(format_weight(c.b.matrix(row, col)));
  if (c.diff) text += QStringLiteral(" · A − B %1").arg(signed_weight(c.diff->matrix(row, col)));
  return text;
}

std::optional<ModelView::Thumbs> difference_thumbs(const ViewState& state) {
  const ComparisonPtr r = state.comparison()->result();
  if (!r || !state.recording()) return std::nullopt;
  ModelView::Thumbs out;
  const double m = std::max(double(r->max_abs), 1e-6);
  const ValueMapper mapper(diverging_colors(), ValueRange{-m, m});
  const Thumbnails& t = r->thumbs;
  for (int l = 0; l < r->num_layers; ++l)
    for (int h = 0; h < r->num_heads; ++h) {
      QImage img(t.size, t.size, QImage::Format_RGB32);
      const float* v = t.head(l, h);
      for (int y = 0; y < t.size; ++y) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
        for (int x = 0; x < t.size; ++x) line[x] = mapper.rgb(v[y * t.size + x]);
      }
      out.images.push_back(std::move(img));
    }
  out.legend = colormap_table(ColorMapId::Diverging);
  out.legend_text = QStringLiteral("A − B: −%1 (B attends more) ← 0 → +%1 (A attends more)").arg(m, 0, 'g', 3);
  out.title = QStringLiteral("A − B of every head · %1 tokens").arg(r->num_tokens);
  const RecordingMeta& meta = state.recording()->meta();
  out.tooltip = [r, meta](int l, int h) {
    return QStringLiteral("layer %1, head %2\nmax |A − B| %3 · mean |A − B| %4")
        .arg(meta.model_layer(l)).arg(h).arg(double(r->max_of(l, h)), 0, 'g', 3).arg(double(r->mean_of(l, h)), 0, 'g', 3);
  };
  return out;
}

}  // namespace attn::ui
