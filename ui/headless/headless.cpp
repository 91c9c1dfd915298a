#include "headless/headless.h"

#include <QFileInfo>
#include <memory>

#include "analysis/rollout.h"
#include "headless/raw_export.h"
#include "headless/render_export.h"
#include "analysis/recording_analysis.h"
#include "util/error.h"
#include "views/head_view.h"
#include "views/heatmap_view.h"
#include "run/predictions.h"
#include "run/rollout_cache.h"
#include "views/model_view.h"
#include "views/overlay_view.h"
#include "views/prediction_panel.h"
#include "views/rollout_view.h"
#include "views/stats_view.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {

std::vector<std::string> labels(const RecordingMeta& meta) {
  std::vector<std::string> out;
  for (size_t i = 0; i < meta.tokens.size(); ++i) out.push_back(std::to_string(i) + ":" + meta.tokens[i]);
  return out;
}

StatsView::Metric metric_for(const QString& s) {
  const QString n = s.toLower();
  if (n.startsWith(QLatin1String("dist"))) return StatsView::Metric::MeanDistance;
  if (n.startsWith(QLatin1String("spec"))) return StatsView::Metric::SpecialShare;
  if (n.startsWith(QLatin1String("prev"))) return StatsView::Metric::PreviousShare;
  if (n.startsWith(QLatin1String("self"))) return StatsView::Metric::SelfShare;
  if (n.startsWith(QLatin1String("entropy"))) return StatsView::Metric::Entropy;
  throw Error("unknown statistic '" + s.toStdString() + "': use entropy, distance, special, previous or self");
}

// The overlays' numbers: one (rows, cols) grid, or every head's (and the mean's) stacked.
QStringList write_image_numbers(const QString& view, const ViewState& state, const OverlayOptions& options, int query,
                                const RowMatrix* rollout, const QString& out, bool csv) {
  const auto path = fspath(out);
  if (view == QLatin1String("overlay-heads")) {
    const OverlayGrid::Content g = head_grid_content(state, options, query);
    const int rows = g.base.layout.rows, cols = g.base.layout.cols;
    if (csv) {
      std::vector<std::vector<std::string>> table;
      for (const auto& cell : g.cells)
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c)
            table.push_back({cell.name.toStdString(), std::to_string(r), std::to_string(c), QString::number(cell.grid(r, c), 'g', 9).toStdString()});
      write_csv(path, {"head", "row", "col", "weight"}, table);
    } else {
      std::vector<float> v;
      for (const auto& cell : g.cells) v.insert(v.end(), cell.grid.data(), cell.grid.data() + cell.grid.size());
      write_npy(path, v.data(), {int64_t(g.cells.size()), rows, cols});
    }
    return {out};
  }
  const OverlayContent c = overlay_content(state, options, query, rollout);
  if (csv) write_matrix_csv(path, c.grid, numbered_labels("r", int(c.grid.rows())), numbered_labels("c", int(c.grid.cols())), "row\\col");
  else write_npy(path, c.grid);
  return {out};
}

QStringList write_prediction_numbers(const Predictions& p, const QString& out, bool csv) {
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < p.top.size(); ++i)
      rows.push_back({std::to_string(i + 1), p.top[i].label, std::to_string(p.top[i].id), QString::number(p.top[i].prob, 'g', 9).toStdString()});
    write_csv(fspath(out), {"rank", "label", "id", "probability"}, rows);
  } else {
    std::vector<float> v;
    for (const auto& e : p.top) v.push_back(float(e.prob));
    write_npy(fspath(out), v.data(), {int64_t(v.size())});
  }
  return {out};
}

QStringList write_numbers(const QString& view, const ViewState& state, const AnalysisPtr& analysis, const RowMatrix* rollout,
                          const QString& out, bool csv) {
  const auto& rec = *state.recording();
  const auto path = fspath(out);
  if (view == QLatin1String("stats")) {
    static const char* names[] = {"entropy", "mean_distance", "special_share", "previous_share", "self_share", "max_weight"};
    if (csv) {
      std::vector<std::vector<std::string>> rows;
      for (int l = 0; l < analysis->num_layers; ++l)
        for (int h = 0; h < analysis->num_heads; ++h) {
          const auto& s = analysis->stat(l, h);
          rows.push_back({std::to_string(l), std::to_string(h)});
          for (float v : {s.entropy, s.mean_distance, s.special_share, s.previous_share, s.self_share, s.max_weight})
            rows.back().push_back(QString::number(v, 'g', 9).toStdString());
        }
      std::vector<std::string> header{"layer", "head"};
      header.insert(header.end(), std::begin(names), std::end(names));
      write_csv(path, header, rows);
    } else {
      std::vector<float> v;
      for (const auto& s : analysis->stats)
        v.insert(v.end(), {s.entropy, s.mean_distance, s.special_share, s.previous_share, s.self_share, s.max_weight});
      write_npy(path, v.data(), {analysis->num_layers, analysis->num_heads, 6});
    }
    return {out};
  }
  if (view == QLatin1String("model")) {
    if (csv) throw Error(out.toStdString() + ": the model view has one matrix per head; export it as .npy (one file per layer)");
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    const auto stem = path.stem().string();
    QStringList files;
    const int H = rec.num_heads(), N = rec.num_tokens();
    for (int l = 0; l < rec.num_layers(); ++l) {
      std::vector<float> block(size_t(H) * N * N);
      for (int h = 0; h < H; ++h) {
        RowMatrix scratch;
        const ConstMatrixMap m = rec.head_for_sweep(l, h, scratch);
        std::copy(m.data(), m.data() + m.size(), block.begin() + size_t(h) * N * N);
      }
      const auto file = dir / (stem + "_layer" + std::to_string(l) + ".npy");
      write_npy(file, block.data(), {H, N, N});
      files << qpath(file);
    }
    return files;
  }
  const RowMatrix m = view == QLatin1String("rollout") ? *rollout : RowMatrix(state.current_matrix());
  if (csv) write_matrix_csv(path, m, labels(rec.meta()), labels(rec.meta()));
  else write_npy(path, m);
  return {out};
}

bool is_image_view(const QString& view) {
  return view == QLatin1String("overlay") || view == QLatin1String("overlay-heads") || view == QLatin1String("image-rollout");
}

}  // namespace

QStringList headless_views() { return {"model", "heatmap", "head", "rollout", "stats", "overlay", "overlay-heads", "image-rollout", "prediction"}; }

QStringList export_headless(const RecordingPtr& rec, const HeadlessRequest& req) {
  if (!rec) throw Error("nothing to export: no recording");
  if (!headless_views().contains(req.view))
    throw Error("unknown view '" + req.view.toStdString() + "': use " + headless_views().join(QStringLiteral(", ")).toStdString());
  const int layer = req.layer < 0 ? rec->num_layers() + req.layer : req.layer;
  if (layer < 0 || layer >= rec->num_layers())
    throw Error("layer " + std::to_string(req.layer) + " is out of range: the recording has " + std::to_string(rec->num_layers()) + " layers (0 to " +
                std::to_string(rec->num_layers() - 1) + ")");
  if (req.head >= rec->num_heads() || req.head < kHeadMax)
    throw Error("head " + std::to_string(req.head) + " is out of range: the recording has " + std::to_string(rec->num_heads()) + " heads");
  if (req.query >= rec->num_tokens())
    throw Error("query token " + std::to_string(req.query) + " is out of range: the recording has " + std::to_string(rec->num_tokens()) + " tokens");
  const auto layout = patch_layout(rec->meta());
  if (is_image_view(req.view) && !layout)
    throw Error("the " + req.view.toStdString() + " view needs an image recording (a ViT or DeiT run, with image_grid in its metadata); " +
                rec->meta().model + " is a text recording: use heatmap, head, rollout, model or stats");
  int query = req.query;
  if (req.patch_row >= 0 || req.patch_col >= 0) {
    if (!layout) throw Error("--query ROW,COL names a patch, but this is not an image recording: give a token number");
    if (req.patch_row < 0 || req.patch_col < 0 || req.patch_row >= layout->rows || req.patch_col >= layout->cols)
      throw Error("patch (" + std::to_string(req.patch_row) + ", " + std::to_string(req.patch_col) + ") is out of range: the patch grid is " +
                  std::to_string(layout->rows) + " rows × " + std::to_string(layout->cols) + " columns");
    query = layout->token(req.patch_row, req.patch_col);
  }
  const auto predictions = read_predictions(rec->meta());
  if (req.view == QLatin1String("prediction") && !predictions)
    throw Error("the recording holds no predictions (they are stored by the GUI's runs and by 'attnscope export --model'); "
                "run the model with 'attnscope predict' instead");

  ViewState state;
  state.set_dark(req.dark);
  state.set_colors(req.colors);
  state.set_recording(rec);
  const AnalysisPtr analysis = analyze(*rec);
  state.set_analysis(rec, analysis);
  state.select(layer, req.head);
  state.set_query(query);
  if (layout && (is_image_view(req.view) || req.view == QLatin1String("rollout")))
    state.set_picture(rec, load_recording_picture(*rec, req.recording_dir));
  state.rollout()->set_options(req.rollout);
  std::shared_ptr<const RowMatrix> rollout;
  if (req.view == QLatin1String("rollout") || req.view == QLatin1String("image-rollout")) {
    rollout = std::make_shared<const RowMatrix>(attention_rollout(*rec, req.rollout));
    state.rollout()->set_result(rollout);
  }
  OverlayOptions overlay;
  overlay.smooth = req.smooth;
  overlay.opacity = req.opacity;
  overlay.input_resolution = req.input_resolution;

  const QString suffix = QFileInfo(req.out).suffix().toLower();
  if (suffix == QLatin1String("csv") || suffix == QLatin1String("npy")) {
    const bool csv = suffix == QLatin1String("csv");
    if (req.view == QLatin1String("prediction")) return write_prediction_numbers(*predictions, req.out, csv);
    if (is_image_view(req.view)) return write_image_numbers(req.view, state, overlay, query, rollout.get(), req.out, csv);
    return write_numbers(req.view, state, analysis, rollout.get(), req.out, csv);
  }
  if (!image_format_for(req.out)) throw Error(req.out.toStdString() + ": unknown output type: use .png, .svg, .pdf, .csv or .npy");

  std::unique_ptr<QWidget> widget;
  Renderable* view = nullptr;
  if (is_image_view(req.view)) {
    auto* w = new OverlayView(&state);
    w->set_smooth(req.smooth);
    w->set_opacity(req.opacity);
    w->set_input_resolution(req.input_resolution);
    w->set_show_heads(req.view == QLatin1String("overlay-heads"));
    if (req.view == QLatin1String("image-rollout")) w->set_source(OverlayView::Source::Rollout);
    widget.reset(w), view = w;
  } else if (req.view == QLatin1String("prediction")) {
    auto* w = new PredictionPanel(&state);
    widget.reset(w), view = w;
  } else if (req.view == QLatin1String("model")) {
    auto* w = new ModelView(&state);
    widget.reset(w), view = w;
  } else if (req.view == QLatin1String("heatmap")) {
    auto* w = new HeatmapView(&state);
    widget.reset(w), view = w;
  } else if (req.view == QLatin1String("head")) {
    auto* w = new HeadView(&state);
    widget.reset(w), view = w;
  } else if (req.view == QLatin1String("rollout")) {
    auto* w = new RolloutView(&state);
    w->set_rollout(rollout);
    widget.reset(w), view = w;
  } else {
    auto* w = new StatsView(&state);
    w->set_metric(metric_for(req.stat));
    widget.reset(w), view = w;
  }
  export_image(*view, req.out, ImageOptions{req.size, req.dpi});
  return {req.out};
}

}  // namespace attn::ui
